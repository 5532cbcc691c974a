#ifndef HARDGNN_CORE_DATA_CHECKSUM_H_
#define HARDGNN_CORE_DATA_CHECKSUM_H_

#include <cstddef>
#include <cstdint>

namespace hardgnn::data {

// XXH64 (xxHash, 64-bit), bit-identical to the reference library: the checksum of the
// prepared-dataset cache and the basis of Fingerprint().
uint64_t Xxh64(const void* data, size_t size, uint64_t seed = 0);

}  // namespace hardgnn::data

#endif  // HARDGNN_CORE_DATA_CHECKSUM_H_
