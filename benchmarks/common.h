#ifndef HARDGNN_BENCHMARKS_COMMON_H_
#define HARDGNN_BENCHMARKS_COMMON_H_

// Shared by the kernel benchmarks: synthetic inputs of the published Yelp shape, and the
// process set-up every benchmark binary gets (malloc keeps freed memory, see core/cpu/memory.h;
// without it, first-touch page faults of fresh 100 MB tensors dominate memory-bound kernels
// on this project's VMs).

#include <cstdint>
#include <random>
#include <utility>
#include <vector>

#include "core/cpu/memory.h"
#include "core/data/csr.h"

namespace hardgnn::bench {

inline const bool kMallocKeepsFreedMemory = cpu::KeepFreedMemory();

struct YelpShape {
  static constexpr int64_t kUsers = 20000;
  static constexpr int64_t kItems = 38000;
  static constexpr int64_t kSlices = 12;
  static constexpr int64_t kDim = 64;
  static constexpr int64_t kHeads = 16;
  static constexpr int64_t kLayers = 3;
  static constexpr int64_t kInteractions = 700000;
};

// A random bipartite interaction graph split into `slices` time slices (each interaction goes
// to a uniform slice), with skewed user activity and item popularity (u^2 densities, so some
// rows are long and many short), duplicates collapsed within a slice.
inline std::vector<data::Csr> SyntheticSlices(int64_t users, int64_t items, int64_t slices, int64_t interactions,
                                              uint32_t seed = 2024) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<std::vector<std::pair<int32_t, int32_t>>> pairs(slices);
  for (int64_t k = 0; k < interactions; ++k) {
    const double a = u(rng), b = u(rng);
    const auto user = static_cast<int32_t>(users * a * a);
    const auto item = static_cast<int32_t>(items * b * b);
    pairs[static_cast<int64_t>(u(rng) * slices)].emplace_back(user, item);
  }
  std::vector<data::Csr> out;
  for (auto& p : pairs) out.push_back(data::CsrFromPairs(users, items, std::move(p)));
  return out;
}

}  // namespace hardgnn::bench

#endif  // HARDGNN_BENCHMARKS_COMMON_H_
