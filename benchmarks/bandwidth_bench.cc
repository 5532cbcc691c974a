// The machine's memory rates at the training step's working-set sizes: the reference against
// which REPORT §3 counts the floors of the parts bound by memory (the graph encoder, the
// optimizer, the gathers). 2 threads, each over its own contiguous share.
//   stream/read:  sum of 45M floats (180 MB: the per-slice tables' size)
//   stream/copy:  y = x over 180 MB
//   stream/triad: z = x + s·y over 180 MB each
//   rows/gather:  700,000 rows of 64 floats (256 B, one an edge of the published Yelp shape) at
//                 random from a [696,000, 64] table (the per-slice user and item rows, 178 MB)
//   rows/gather_slices: 232,800 distinct rows (the 12 slices of 19,400 touched items, which a
//                 SelfGNN step fuses, in its layout) from [12, 38,000, 64] (117 MB), 60 MB
//                 gathered (cpu::GatherRowsSparseGradient's forward)
//   rows/gather_gradient: the gradient of that gather, zeros with the rows added (117 MB;
//                 cpu::GatherRowsDenseGradient's backward; the fork's merge of a step's item
//                 gradients is the same pass)
// Counter GB/s: the bytes a loop must read and write (not the caches' write-allocate reads).
//   bazel run //benchmarks:bandwidth_bench
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <benchmark/benchmark.h>
#include <torch/csrc/autograd/autograd.h>

#include <cstdint>
#include <cstring>
#include <numeric>
#include <random>
#include <vector>

#include "benchmarks/common.h"
#include "core/cpu/sparse_rows.h"

namespace hardgnn::bench {
namespace {

constexpr int64_t kElements = 45000000;       // 180 MB of floats
constexpr int64_t kTableRows = 696000;        // (20,000 + 38,000) x 12 slices
constexpr int64_t kGathered = 700000;         // rows gathered (edges)
constexpr int64_t kRow = YelpShape::kDim;     // floats a row

void Finish(benchmark::State& state, double bytes) {
  state.counters["GB/s"] = benchmark::Counter(bytes * state.iterations() / 1e9, benchmark::Counter::kIsRate);
}

void StreamRead(benchmark::State& state) {
  at::set_num_threads(BenchThreads());
  std::vector<float> x(kElements, 1.0f);
  for (auto _ : state) {
    std::vector<double> part(BenchThreads() * 16, 0.0);
    at::parallel_for(0, kElements, kElements / BenchThreads(), [&](int64_t b, int64_t e) {
      float s[16] = {};  // sixteen independent sums, so the loop is not one addition's latency
      int64_t i = b;
      for (; i + 16 <= e; i += 16) {
        for (int j = 0; j < 16; ++j) s[j] += x[i + j];
      }
      for (; i < e; ++i) s[0] += x[i];
      part[at::get_thread_num() * 16] += std::accumulate(s, s + 16, 0.0);
    });
    benchmark::DoNotOptimize(part.data());
  }
  Finish(state, 4.0 * kElements);
}

void StreamCopy(benchmark::State& state) {
  at::set_num_threads(BenchThreads());
  std::vector<float> x(kElements, 1.0f), y(kElements, 0.0f);
  for (auto _ : state) {
    at::parallel_for(0, kElements, kElements / BenchThreads(), [&](int64_t b, int64_t e) {
      std::memcpy(y.data() + b, x.data() + b, (e - b) * sizeof(float));
    });
    benchmark::DoNotOptimize(y.data());
  }
  Finish(state, 8.0 * kElements);
}

void StreamTriad(benchmark::State& state) {
  at::set_num_threads(BenchThreads());
  std::vector<float> x(kElements, 1.0f), y(kElements, 2.0f), z(kElements, 0.0f);
  for (auto _ : state) {
    at::parallel_for(0, kElements, kElements / BenchThreads(), [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) z[i] = x[i] + 0.5f * y[i];
    });
    benchmark::DoNotOptimize(z.data());
  }
  Finish(state, 12.0 * kElements);
}

void RowGather(benchmark::State& state) {
  at::set_num_threads(BenchThreads());
  std::vector<float> table(kTableRows * kRow, 1.0f), out(kGathered * kRow);
  std::vector<int64_t> index(kGathered);
  std::mt19937_64 gen(1);
  for (int64_t& i : index) i = static_cast<int64_t>(gen() % kTableRows);
  for (auto _ : state) {
    at::parallel_for(0, kGathered, kGathered / BenchThreads(), [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r) std::memcpy(&out[r * kRow], &table[index[r] * kRow], kRow * sizeof(float));
    });
    benchmark::DoNotOptimize(out.data());
  }
  Finish(state, 2.0 * kGathered * kRow * sizeof(float) + kGathered * sizeof(int64_t));
}

// SelfGNN's per-slice item embeddings and the rows a step fuses: every slice of each of 19,400
// touched items (ascending), item-major, as GatherSlices lists them.
struct SliceRows {
  static constexpr int64_t kSlices = YelpShape::kSlices, kItems = YelpShape::kItems, kRows = 19400 * kSlices;
  at::Tensor x, flat;
  SliceRows() {
    at::manual_seed(1);
    x = at::randn({kSlices, kItems, kRow}).requires_grad_();
    const at::Tensor items = std::get<0>(at::randperm(kItems).narrow(0, 0, kRows / kSlices).sort());
    flat = (items.unsqueeze(1) + at::arange(kSlices, at::kLong).unsqueeze(0) * kItems).reshape(-1);
  }
};

void GatherSlices(benchmark::State& state) {
  at::set_num_threads(BenchThreads());
  const SliceRows s;
  for (auto _ : state) benchmark::DoNotOptimize(cpu::GatherRowsSparseGradient(s.x, s.flat).data_ptr());
  Finish(state, 2.0 * SliceRows::kRows * kRow * sizeof(float));
}

void GatherGradient(benchmark::State& state) {
  at::set_num_threads(BenchThreads());
  const SliceRows s;
  const at::Tensor &x = s.x, &flat = s.flat;
  constexpr int64_t kSlices = SliceRows::kSlices, kItems = SliceRows::kItems, kRows = SliceRows::kRows;
  const at::Tensor g = at::randn({kRows, kRow});
  const at::Tensor rows = cpu::GatherRowsDenseGradient(x, flat);
  for (auto _ : state) {  // the backward alone, on the graph kept from one forward
    const at::Tensor grad = torch::autograd::grad({rows}, {x}, {g}, /*retain_graph=*/true)[0];
    benchmark::DoNotOptimize(grad.data_ptr());
  }
  Finish(state, (kSlices * kItems + kRows) * kRow * sizeof(float));
}

BENCHMARK(StreamRead)->Name("stream/read")->Apply(Timed);
BENCHMARK(StreamCopy)->Name("stream/copy")->Apply(Timed);
BENCHMARK(StreamTriad)->Name("stream/triad")->Apply(Timed);
BENCHMARK(RowGather)->Name("rows/gather")->Apply(Timed);
BENCHMARK(GatherSlices)->Name("rows/gather_slices")->Apply(Timed);
BENCHMARK(GatherGradient)->Name("rows/gather_gradient")->Apply(Timed);
BENCHMARK(Calibration)->Apply(Timed);

}  // namespace
}  // namespace hardgnn::bench
