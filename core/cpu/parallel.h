#ifndef HARDGNN_CORE_CPU_PARALLEL_H_
#define HARDGNN_CORE_CPU_PARALLEL_H_

// Parallel loops whose results do not depend on the number of threads: work is cut into
// fixed-size chunks (never into one piece per thread), and reductions across chunks are summed
// afterwards in chunk order.

#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdint>
#include <vector>

namespace hardgnn::cpu {

inline int64_t DivUp(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Calls f(begin, end, chunk_index) for the chunks [i*chunk, min(n, (i+1)*chunk)) of [0, n),
// in parallel over chunks.
template <typename F>
void ForEachChunk(int64_t n, int64_t chunk, const F& f) {
  const int64_t num_chunks = DivUp(n, chunk);
  at::parallel_for(0, num_chunks, 1, [&](int64_t cb, int64_t ce) {
    for (int64_t c = cb; c < ce; ++c) f(c * chunk, std::min(n, (c + 1) * chunk), c);
  });
}

// Per-chunk partial sums of `width` values, reduced in chunk order: deterministic.
template <typename T>
class ChunkPartials {
 public:
  ChunkPartials(int64_t num_chunks, int64_t width)
      : width_(width), data_(static_cast<size_t>(num_chunks * width), T(0)) {}
  T* Chunk(int64_t c) { return data_.data() + c * width_; }
  // out[j] (+)= sum over chunks of partial[c][j], in chunk order.
  void SumInto(T* out, bool accumulate) const {
    const int64_t num_chunks = width_ == 0 ? 0 : static_cast<int64_t>(data_.size()) / width_;
    for (int64_t j = 0; j < width_; ++j) {
      T s = accumulate ? out[j] : T(0);
      for (int64_t c = 0; c < num_chunks; ++c) s += data_[c * width_ + j];
      out[j] = s;
    }
  }

 private:
  int64_t width_;
  std::vector<T> data_;
};

}  // namespace hardgnn::cpu

#endif  // HARDGNN_CORE_CPU_PARALLEL_H_
