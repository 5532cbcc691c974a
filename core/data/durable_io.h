#ifndef HARDGNN_CORE_DATA_DURABLE_IO_H_
#define HARDGNN_CORE_DATA_DURABLE_IO_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace hardgnn::data {

// Writes that survive a crash at any moment and report every failure. Errors name the path
// and the system's reason ("No space left on device" is ResourceExhausted).

// Writes `contents` to a temporary file beside `path` (path.tmp.<pid>), fsyncs and closes
// it, renames it onto `path`, then fsyncs the folder: a reader sees the old file or the
// whole new one. On failure the temporary file is removed and `path` is untouched.
absl::Status WriteFileAtomically(const std::string& path, absl::string_view contents);

// An append-only file (a run's log). Each Append writes its bytes whole or, on failure,
// cuts the file back to where it was, so a reader never sees a torn record.
class AppendOnlyFile {
 public:
  static absl::StatusOr<AppendOnlyFile> Open(const std::string& path);
  AppendOnlyFile(AppendOnlyFile&& other) noexcept;
  AppendOnlyFile& operator=(AppendOnlyFile&& other) noexcept;
  ~AppendOnlyFile();

  absl::Status Append(absl::string_view bytes);
  absl::Status Sync();  // fsync: what was appended survives a power cut
  int64_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  AppendOnlyFile(std::string path, int fd, int64_t size) : path_(std::move(path)), fd_(fd), size_(size) {}
  std::string path_;
  int fd_ = -1;
  int64_t size_ = 0;
};

// Cuts `path` to its first `size` bytes (a missing file is created empty when size is 0).
absl::Status TruncateFile(const std::string& path, int64_t size);

// Removes the temporary files (NAME.tmp.PID) in `dir` whose process no longer runs: what a
// killed writer left behind. Returns the names removed.
std::vector<std::string> RemoveStaleTemporaries(const std::string& dir);

// Fault injection for the crash and full-disk tests, read once from the environment:
// HARDGNN_WRITE_FAULT=crash:N kills the process (SIGKILL) at its N-th write point;
// HARDGNN_WRITE_FAULT=fail:N makes the N-th write point fail with ENOSPC, as a full disk.
// The write points, counted from 1 over the process: in an atomic write, after half the
// temporary file, after all of it, after the rename; in an append, after half the bytes and
// after all of them. Returns 0, or the errno the caller must fail with.
int WritePoint(const std::string& path);

}  // namespace hardgnn::data

#endif  // HARDGNN_CORE_DATA_DURABLE_IO_H_
