#ifndef HARDGNN_CORE_DATA_CACHE_H_
#define HARDGNN_CORE_DATA_CACHE_H_

// The prepared-dataset cache (`dataset.bin`): a versioned little-endian binary file with
// an XXH64 checksum, written atomically (temp file + rename).
//
//   offset  size  field
//   0       8     magic "HGNNDSET"
//   8       4     PreparedDataset::kFormatVersion
//   12      4     byte-order mark 0x01020304
//   16      8     metadata size M
//   24      8     content size C
//   32      8     XXH64(metadata ++ content)
//   40      M     metadata: name, source, user_names, item_names; zero-padded to 8 bytes
//   40+M    C     content: every other field of PreparedDataset
// Strings and arrays are a uint64 count then the data; array data starts at a multiple of
// 8 bytes from the start of the file (zero padding before it), so loading is one copy from
// a memory-mapped file.
// A wrong magic, another version, a size that disagrees with the file, a checksum mismatch
// or content failing ValidatePreparedDataset is an error naming the file.

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/data/dataset.h"

namespace hardgnn::data {

absl::Status SavePreparedDataset(const PreparedDataset& ds, const std::string& path);
absl::StatusOr<PreparedDataset> LoadPreparedDataset(const std::string& path);

// A content checksum: XXH64 of the serialized content section, i.e. of everything but the
// name, the source description and the original id names. Two datasets with the same
// users, items, sequences, split, slices and evaluation candidates share a fingerprint.
uint64_t Fingerprint(const PreparedDataset& ds);
// Fingerprint as 16 lowercase hex digits.
std::string FingerprintHex(const PreparedDataset& ds);

// The file's bytes, and their parser ("name" is used in errors). With verify_checksum =
// false (fuzzing), the checksum is not compared but everything else is still checked.
std::string SerializePreparedDataset(const PreparedDataset& ds);
absl::StatusOr<PreparedDataset> ParsePreparedDataset(absl::string_view bytes, const std::string& name,
                                                     bool verify_checksum = true);

}  // namespace hardgnn::data

#endif  // HARDGNN_CORE_DATA_CACHE_H_
