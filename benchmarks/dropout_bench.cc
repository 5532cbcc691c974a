// SelfGNN's row dropout (plugins/encoders/selfgnn/dropout.cc) on the interval RNN's output at
// the published Yelp shape: [rows, 12 slices, 64] floats, keep rate 0.5, one forward (the
// backward regenerates the same mask and costs the same). The kernel (at 16 lanes where the CPU
// has AVX-512, and forced to its 8-lane path) against the LibTorch formulation of the same mask
// (int64 tensor ops, what CUDA runs), in one process.
//   bazel run //benchmarks:dropout_bench
#include <optional>

#include <ATen/ATen.h>
#include <benchmark/benchmark.h>
#include <ATen/core/grad_mode.h>

#include "benchmarks/common.h"
#include "core/cpu/kernel_path.h"
#include "plugins/encoders/selfgnn/dropout.h"

namespace hardgnn::bench {
namespace {

enum class Path { kKernel, kKernel8Lanes, kAten };

void RowDropout(benchmark::State& state, Path path) {
  at::set_num_threads(BenchThreads());
  at::NoGradGuard no_grad;
  const int64_t rows = state.range(0);
  at::manual_seed(1);
  const at::Tensor x = at::randn({rows, YelpShape::kSlices, YelpShape::kDim});
  const at::Tensor keys = at::arange(rows, at::kLong);
  std::optional<cpu::ScopedAtenKernels> forced;
  if (path == Path::kAten) forced.emplace();
  std::optional<cpu::ScopedNarrowVectors> eight_lanes;
  if (path == Path::kKernel8Lanes) eight_lanes.emplace();
  for (auto _ : state) {
    at::Tensor y = selfgnn::RowDropout(x, 0.5, /*training=*/true, 0x1234567ULL, keys);
    benchmark::DoNotOptimize(y.data_ptr<float>());
  }
  state.counters["elements/s"] =
      benchmark::Counter(static_cast<double>(x.numel()) * state.iterations(), benchmark::Counter::kIsRate);
}

BENCHMARK_CAPTURE(RowDropout, kernel, Path::kKernel)->Arg(512)->Arg(20000)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(RowDropout, kernel_8_lanes, Path::kKernel8Lanes)
    ->Arg(512)
    ->Arg(20000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(RowDropout, aten_ops, Path::kAten)->Arg(512)->Arg(20000)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace hardgnn::bench
