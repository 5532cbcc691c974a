#ifndef HARDGNN_CORE_DATA_RNG_H_
#define HARDGNN_CORE_DATA_RNG_H_

#include <cstdint>

#include "absl/strings/string_view.h"

namespace hardgnn::data {

// xoshiro256** seeded through splitmix64: the same stream on every platform and standard
// library (std::uniform_int_distribution is not), so prepared datasets are reproducible.
class Rng {
 public:
  explicit Rng(uint64_t seed);
  uint64_t Next();
  // Uniform in [0, n), unbiased (Lemire's method). n must be > 0.
  uint64_t Uniform(uint64_t n);
  // Uniform in [0, 1).
  double UniformDouble();

 private:
  uint64_t s_[4];
};

// A seed for one purpose ("negatives", "noise", ...) derived from the user's seed, so
// changing what one step draws does not shift another step's stream.
uint64_t DeriveSeed(uint64_t seed, absl::string_view purpose);

}  // namespace hardgnn::data

#endif  // HARDGNN_CORE_DATA_RNG_H_
