#include "core/data/file_io.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace hardgnn::data {
namespace {

absl::Status ErrnoError(const std::string& what, const std::string& path) {
  return absl::NotFoundError(absl::StrCat(path, ": cannot ", what, ": ", std::strerror(errno)));
}

}  // namespace

absl::StatusOr<std::string> ReadFileToString(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return ErrnoError("open", path);
  std::string out;
  struct stat st;
  if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
    std::fclose(f);
    return absl::InvalidArgumentError(absl::StrCat(path, ": is a directory, expected a file"));
  }
  if (fstat(fileno(f), &st) == 0 && st.st_size > 0) out.reserve(static_cast<size_t>(st.st_size));
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) out.append(buf, n);
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) return ErrnoError("read", path);
  return out;
}

bool LooksGzipped(absl::string_view bytes) {
  return bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f &&
         static_cast<unsigned char>(bytes[1]) == 0x8b;
}

absl::StatusOr<std::string> Gunzip(absl::string_view compressed, const std::string& name,
                                   size_t max_output) {
  std::string out;
  z_stream zs;
  std::memset(&zs, 0, sizeof(zs));
  if (inflateInit2(&zs, 15 + 16) != Z_OK) {  // 15 + 16: gzip wrapper only
    return absl::InternalError(absl::StrCat(name, ": zlib initialisation failed"));
  }
  const auto* base = reinterpret_cast<const Bytef*>(compressed.data());
  zs.next_in = const_cast<Bytef*>(base);
  size_t fed = 0;  // bytes handed to zlib so far (avail_in is 32-bit)
  auto feed = [&] {
    if (zs.avail_in != 0 || fed == compressed.size()) return;
    const size_t more = std::min<size_t>(compressed.size() - fed, 1u << 30);
    zs.avail_in = static_cast<uInt>(more);
    fed += more;
  };
  auto position = [&] { return static_cast<size_t>(zs.next_in - base); };
  char buf[1 << 16];
  absl::Status status;
  while (true) {
    feed();
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof(buf);
    const int rc = inflate(&zs, Z_NO_FLUSH);
    const size_t produced = sizeof(buf) - zs.avail_out;
    if (produced > max_output - out.size()) {
      status = absl::ResourceExhaustedError(
          absl::StrCat(name, ": gzip output exceeds ", max_output, " bytes"));
      break;
    }
    out.append(buf, produced);
    if (rc == Z_STREAM_END) {
      const size_t pos = position();
      if (pos == compressed.size()) break;
      if (!LooksGzipped(compressed.substr(pos))) {
        status = absl::InvalidArgumentError(
            absl::StrCat(name, ": byte ", pos, ": trailing garbage after the gzip stream"));
        break;
      }
      inflateReset(&zs);  // another gzip member follows
      continue;
    }
    if (rc == Z_OK) continue;
    if (rc == Z_BUF_ERROR && zs.avail_in == 0 && fed == compressed.size()) {
      status = absl::DataLossError(absl::StrCat(
          name, ": byte ", position(),
          ": truncated gzip stream (the file ends before the end of the compressed data)"));
      break;
    }
    status = absl::DataLossError(absl::StrCat(name, ": byte ", position(), ": corrupt gzip stream (",
                                              zs.msg != nullptr ? zs.msg : "zlib error", ")"));
    break;
  }
  inflateEnd(&zs);
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<std::string> ReadMaybeGzippedFile(const std::string& path) {
  absl::StatusOr<std::string> raw = ReadFileToString(path);
  if (!raw.ok() || !LooksGzipped(*raw)) return raw;
  return Gunzip(*raw, path);
}

absl::Status MakeDirectories(const std::string& path) {
  if (path.empty()) return absl::OkStatus();
  for (size_t i = 1; i <= path.size(); ++i) {
    if (i < path.size() && path[i] != '/') continue;
    const std::string prefix = path.substr(0, i);
    if (::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) return ErrnoError("create directory", prefix);
  }
  if (!IsDirectory(path)) return absl::FailedPreconditionError(absl::StrCat(path, ": not a directory"));
  return absl::OkStatus();
}

bool IsDirectory(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool FileExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace hardgnn::data
