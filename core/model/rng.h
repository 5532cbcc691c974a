#ifndef HARDGNN_CORE_MODEL_RNG_H_
#define HARDGNN_CORE_MODEL_RNG_H_

#include <cstdint>

namespace hardgnn {

// A small, fast, seedable generator (SplitMix64). Samplers derive one stream per batch row
// from (step seed, row), so their output does not depend on the number of threads.
class Rng {
 public:
  static constexpr uint64_t kIncrement = 0x9E3779B97F4A7C15ULL;

  explicit Rng(uint64_t seed) : state_(seed) {}
  Rng(uint64_t seed, uint64_t stream) : state_(StreamState(seed, stream)) {}

  // The state of stream `stream`: its j-th draw (j = 1, 2, ...) is Mix(state + j * kIncrement),
  // so vector code can compute draws out of order.
  static uint64_t StreamState(uint64_t seed, uint64_t stream) { return Mix(seed ^ Mix(stream + 0x632BE59BD9B4E019ULL)); }

  uint64_t Next() {
    uint64_t z = (state_ += kIncrement);
    return Mix(z);
  }
  // Uniform in [0, n), n > 0 (Lemire's multiply-shift; bias below 2^-32 for n < 2^32).
  uint64_t Below(uint64_t n) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(Next()) * n) >> 64);
  }
  double Uniform() { return (Next() >> 11) * 0x1.0p-53; }  // [0, 1)

  static uint64_t Mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }

 private:
  uint64_t state_;
};

}  // namespace hardgnn

#endif  // HARDGNN_CORE_MODEL_RNG_H_
