#ifndef HARDGNN_CORE_DATA_FILE_IO_H_
#define HARDGNN_CORE_DATA_FILE_IO_H_

#include <cstddef>
#include <limits>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/data/durable_io.h"  // WriteFileAtomically

namespace hardgnn::data {

// The whole file, as bytes. Errors name the path and the system's reason.
absl::StatusOr<std::string> ReadFileToString(const std::string& path);

// True if `bytes` starts with the gzip magic number.
bool LooksGzipped(absl::string_view bytes);

// Decompresses a gzip stream (several concatenated members allowed). A truncated or
// corrupt stream, trailing garbage, or output above `max_output` bytes is an error that
// names `name` and the byte offset in the compressed input.
absl::StatusOr<std::string> Gunzip(absl::string_view compressed, const std::string& name,
                                   size_t max_output = std::numeric_limits<size_t>::max());

// ReadFileToString, then Gunzip if the content is gzipped (by content, not by name).
absl::StatusOr<std::string> ReadMaybeGzippedFile(const std::string& path);

// mkdir -p.
absl::Status MakeDirectories(const std::string& path);

bool IsDirectory(const std::string& path);
bool FileExists(const std::string& path);

}  // namespace hardgnn::data

#endif  // HARDGNN_CORE_DATA_FILE_IO_H_
