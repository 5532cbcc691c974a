// Interval attention (16 heads of width 4 over G = 12 slices, mean-pooled) and the (G, d)-block
// LayerNorm at the Yelp shape, N = 58,000 (users + items) or 30,000 rows.
// Run: bazel run -c opt --jobs=2 //benchmarks:attention_bench
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <benchmark/benchmark.h>

#include "benchmarks/common.h"
#include "plugins/encoders/selfgnn/interval_attention.h"
#include "plugins/encoders/selfgnn/layer_norm.h"
#include "plugins/encoders/selfgnn/reference.h"

namespace hardgnn::bench {
namespace {

using S = YelpShape;
using AttentionFn = at::Tensor (*)(const at::Tensor&, const at::Tensor&, const at::Tensor&, int64_t);

at::Tensor Fused(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b, int64_t heads) {
  return selfgnn::IntervalAttention(x, w, b, heads);
}

// Projection + attention + mean pooling, forward or forward + backward (x, W, b all need grads).
void Attention(benchmark::State& state, AttentionFn fn, bool backward) {
  at::set_num_threads(BenchThreads());
  const int64_t n = state.range(0), d = S::kDim;
  at::manual_seed(0);
  const at::Tensor x = at::randn({n, S::kSlices, d}).requires_grad_(backward);
  const at::Tensor w = ((at::rand({d, 3 * d}) * 2 - 1) * 0.2165).requires_grad_(backward);
  const at::Tensor b = at::zeros({3 * d}).requires_grad_(backward);
  for (auto _ : state) {
    const at::Tensor y = fn(x, w, b, S::kHeads);
    if (backward) y.backward(at::ones_like(y));
    benchmark::DoNotOptimize(y.data_ptr());
  }
}

#define ATTENTION_BENCH(name, fn)                                            \
  BENCHMARK_CAPTURE(Attention, name##_forward, fn, false)->Apply(TimedRows); \
  BENCHMARK_CAPTURE(Attention, name##_forward_backward, fn, true)->Apply(TimedRows)

ATTENTION_BENCH(fused, &Fused);
ATTENTION_BENCH(reference, &selfgnn::ReferenceIntervalAttention);
ATTENTION_BENCH(stock_mha, &selfgnn::StockIntervalAttention);

// The fused core alone (QKV given), forward or forward + backward.
void PooledCore(benchmark::State& state, bool backward) {
  at::set_num_threads(BenchThreads());
  const int64_t n = state.range(0);
  const at::Tensor qkv = at::randn({n, S::kSlices, 3 * S::kDim}).requires_grad_(backward);
  for (auto _ : state) {
    const at::Tensor y = selfgnn::PooledAttention(qkv, S::kHeads);
    if (backward) y.backward(at::ones_like(y));
    benchmark::DoNotOptimize(y.data_ptr());
  }
}
// 400 rows (2.8 MB of QKV) besides: the same time a row there as at 58,000 and 30,000 means the
// core is bound by its arithmetic, not by memory.
BENCHMARK_CAPTURE(PooledCore, forward, false)->Apply(TimedRows)->Arg(400);
BENCHMARK_CAPTURE(PooledCore, forward_backward, true)->Apply(TimedRows)->Arg(400);

using LayerNormFn = at::Tensor (*)(const at::Tensor&, const at::Tensor&, const at::Tensor&, double);

void LayerNorm(benchmark::State& state, LayerNormFn fn, bool backward) {
  at::set_num_threads(BenchThreads());
  const int64_t n = state.range(0);
  const at::Tensor x = at::randn({n, S::kSlices, S::kDim}).requires_grad_(backward);
  const at::Tensor g = at::ones({S::kDim}).requires_grad_(backward);
  const at::Tensor b = at::zeros({S::kDim}).requires_grad_(backward);
  for (auto _ : state) {
    const at::Tensor y = fn(x, g, b, 1e-12);
    if (backward) y.backward(at::ones_like(y));
    benchmark::DoNotOptimize(y.data_ptr());
  }
}
BENCHMARK_CAPTURE(LayerNorm, fused_forward, &selfgnn::BlockLayerNorm, false)->Apply(TimedRows);
BENCHMARK_CAPTURE(LayerNorm, fused_forward_backward, &selfgnn::BlockLayerNorm, true)->Apply(TimedRows);
BENCHMARK_CAPTURE(LayerNorm, at_layer_norm_forward, &selfgnn::ReferenceBlockLayerNorm, false)->Apply(TimedRows);
BENCHMARK_CAPTURE(LayerNorm, at_layer_norm_forward_backward, &selfgnn::ReferenceBlockLayerNorm, true)->Apply(TimedRows);
BENCHMARK(Calibration)->Apply(Timed);

}  // namespace
}  // namespace hardgnn::bench
