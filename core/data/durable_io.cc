#include "core/data/durable_io.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace hardgnn::data {
namespace {

absl::Status WriteError(const std::string& what, const std::string& path, int err) {
  const std::string message = absl::StrCat(path, ": cannot ", what, ": ", std::strerror(err));
  if (err == ENOSPC || err == EDQUOT) return absl::ResourceExhaustedError(message);
  return absl::InternalError(message);
}

// Writes all of [data, data + size) to fd; returns 0 or the errno.
int WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return 0;
}

std::string Folder(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

int SyncFolder(const std::string& folder) {
  const int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno;
  const int err = ::fsync(fd) != 0 ? errno : 0;
  ::close(fd);
  return err;
}

struct FaultPlan {
  enum Kind { kNone, kCrash, kFail } kind = kNone;
  int64_t at = 0;
};

FaultPlan ReadFaultPlan() {
  FaultPlan plan;
  const char* spec = std::getenv("HARDGNN_WRITE_FAULT");
  if (spec == nullptr || *spec == '\0') return plan;
  const std::string s = spec;
  const size_t colon = s.find(':');
  const std::string kind = s.substr(0, colon);
  if (colon == std::string::npos || (kind != "crash" && kind != "fail") ||
      !absl::SimpleAtoi(s.substr(colon + 1), &plan.at) || plan.at < 1) {
    std::fprintf(stderr, "hardgnn: HARDGNN_WRITE_FAULT='%s' is not crash:N or fail:N (N >= 1)\n", spec);
    std::exit(2);
  }
  plan.kind = kind == "crash" ? FaultPlan::kCrash : FaultPlan::kFail;
  return plan;
}

}  // namespace

int WritePoint(const std::string& path) {
  static const FaultPlan plan = ReadFaultPlan();
  static std::atomic<int64_t> count{0};
  if (plan.kind == FaultPlan::kNone) return 0;
  const int64_t n = ++count;
  if (n != plan.at) return 0;
  if (plan.kind == FaultPlan::kFail) return ENOSPC;
  std::fprintf(stderr, "hardgnn: injected crash at write point %lld (%s)\n", static_cast<long long>(n), path.c_str());
  std::fflush(stderr);
  ::raise(SIGKILL);
  return 0;
}

absl::Status WriteFileAtomically(const std::string& path, absl::string_view contents) {
  const std::string tmp = absl::StrCat(path, ".tmp.", getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return WriteError("create", tmp, errno);
  const size_t half = contents.size() / 2;
  int err = WriteAll(fd, contents.data(), half);
  if (err == 0) err = WritePoint(tmp);
  if (err == 0) err = WriteAll(fd, contents.data() + half, contents.size() - half);
  if (err == 0 && ::fsync(fd) != 0) err = errno;
  if (::close(fd) != 0 && err == 0) err = errno;
  if (err == 0) err = WritePoint(tmp);
  if (err != 0) {
    ::unlink(tmp.c_str());
    return WriteError("write", tmp, err);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    err = errno;
    ::unlink(tmp.c_str());
    return WriteError(absl::StrCat("rename ", tmp, " onto it"), path, err);
  }
  err = WritePoint(path);
  if (err == 0) err = SyncFolder(Folder(path));
  if (err != 0) return WriteError("flush its folder after the rename", path, err);
  return absl::OkStatus();
}

absl::StatusOr<AppendOnlyFile> AppendOnlyFile::Open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return WriteError("open for appending", path, errno);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return WriteError("stat", path, err);
  }
  return AppendOnlyFile(path, fd, st.st_size);
}

AppendOnlyFile::AppendOnlyFile(AppendOnlyFile&& other) noexcept
    : path_(std::move(other.path_)), fd_(other.fd_), size_(other.size_) {
  other.fd_ = -1;
}

AppendOnlyFile& AppendOnlyFile::operator=(AppendOnlyFile&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    path_ = std::move(other.path_);
    fd_ = other.fd_;
    size_ = other.size_;
    other.fd_ = -1;
  }
  return *this;
}

AppendOnlyFile::~AppendOnlyFile() {
  if (fd_ >= 0) ::close(fd_);
}

absl::Status AppendOnlyFile::Append(absl::string_view bytes) {
  const size_t half = bytes.size() / 2;
  int err = WriteAll(fd_, bytes.data(), half);
  if (err == 0) err = WritePoint(path_);
  if (err == 0) err = WriteAll(fd_, bytes.data() + half, bytes.size() - half);
  if (err == 0) err = WritePoint(path_);
  if (err != 0) {
    (void)::ftruncate(fd_, size_);  // no torn record left behind
    return WriteError("append to", path_, err);
  }
  size_ += static_cast<int64_t>(bytes.size());
  return absl::OkStatus();
}

absl::Status AppendOnlyFile::Sync() {
  if (::fsync(fd_) != 0) return WriteError("flush", path_, errno);
  return absl::OkStatus();
}

absl::Status TruncateFile(const std::string& path, int64_t size) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return WriteError("open", path, errno);
  int err = ::ftruncate(fd, size) != 0 ? errno : 0;
  if (err == 0 && ::fsync(fd) != 0) err = errno;
  ::close(fd);
  if (err != 0) return WriteError(absl::StrCat("truncate to ", size, " bytes"), path, err);
  return absl::OkStatus();
}

std::vector<std::string> RemoveStaleTemporaries(const std::string& dir) {
  std::vector<std::string> removed;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return removed;
  while (const dirent* entry = ::readdir(d)) {
    const std::string name = entry->d_name;
    const size_t mark = name.rfind(".tmp.");
    int64_t pid = 0;
    if (mark == std::string::npos || !absl::SimpleAtoi(name.substr(mark + 5), &pid) || pid <= 0) continue;
    if (pid == getpid() || ::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;
    if (::unlink((dir + "/" + name).c_str()) == 0) removed.push_back(name);
  }
  ::closedir(d);
  return removed;
}

}  // namespace hardgnn::data
