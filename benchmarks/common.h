#ifndef HARDGNN_BENCHMARKS_COMMON_H_
#define HARDGNN_BENCHMARKS_COMMON_H_

// Shared by the kernel benchmarks: synthetic inputs of the published Yelp shape, and the
// process set-up every benchmark binary gets (malloc keeps freed memory, see core/cpu/memory.h;
// without it, first-touch page faults of fresh 100 MB tensors dominate memory-bound kernels
// on this project's VMs).

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <random>
#include <utility>
#include <vector>

#include "core/cpu/memory.h"
#include "core/data/csr.h"

namespace hardgnn::bench {

inline const bool kMallocKeepsFreedMemory = cpu::KeepFreedMemory();

// Threads for the kernels: 2 (the machine's cores) unless BENCH_THREADS says otherwise.
inline int BenchThreads() {
  const char* env = std::getenv("BENCH_THREADS");
  return env != nullptr ? std::atoi(env) : 2;
}

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

// Settings every benchmark here uses: milliseconds, wall time as the measure, process CPU time
// (all threads) as the second column (under contention from other processes wall time inflates;
// CPU time much less), and at least one warm-up iteration: the first iteration of a large
// kernel pays first-touch page faults for its fresh buffers (seconds for the LSTM at 58k rows on
// this VM), later ones reuse them (KeepFreedMemory), as a training loop does.
inline void Timed(benchmark::internal::Benchmark* b) {
  b->Unit(benchmark::kMillisecond)->UseRealTime()->MeasureProcessCPUTime()->MinWarmUpTime(0.5);
}
// The same over the two row counts of the interval-fusion benchmarks: users + items, and 30k.
inline void TimedRows(benchmark::internal::Benchmark* b) {
  Timed(b);
  b->Arg(58000)->Arg(30000);
}

// A 2048^3 float matmul (with 2 threads ≈ 139-165 GFLOP/s on this machine when it is idle): run
// next to the kernels to tell how loaded the machine was.
inline void Calibration(benchmark::State& state) {
  at::set_num_threads(BenchThreads());
  const at::Tensor a = at::randn({2048, 2048}), b = at::randn({2048, 2048});
  at::Tensor c = at::empty({2048, 2048});
  for (auto _ : state) at::mm_out(c, a, b);
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * 2048 * 2048 * 2048 * state.iterations() / 1e9, benchmark::Counter::kIsRate);
}

}  // namespace hardgnn::bench

#endif  // HARDGNN_BENCHMARKS_COMMON_H_
