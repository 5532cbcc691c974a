// Interval-fusion LSTM at the Yelp shape: N = 58,000 (users + items) or 30,000 rows, G = 12
// steps, d = 64. Fused kernel vs plain-ops reference vs stock at::lstm (torch::nn::LSTM's kernel).
// Run: bazel run -c opt --jobs=2 //benchmarks:lstm_bench
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <benchmark/benchmark.h>

#include "benchmarks/common.h"
#include "plugins/encoders/selfgnn/dropout.h"
#include "plugins/encoders/selfgnn/fused_lstm.h"
#include "plugins/encoders/selfgnn/layer_norm.h"
#include "plugins/encoders/selfgnn/reference.h"

namespace hardgnn::bench {
namespace {

using S = YelpShape;
using LstmFn = at::Tensor (*)(const at::Tensor&, const at::Tensor&, const at::Tensor&, double);

// Matmul FLOPs of forward (2·N·G·(d_in + h)·4h) and backward (twice that).
double LstmFlops(int64_t n, bool backward) {
  const double fwd = 2.0 * n * S::kSlices * (2 * S::kDim) * (4 * S::kDim);
  return backward ? 3 * fwd : fwd;
}

void Lstm(benchmark::State& state, LstmFn fn, bool backward) {
  at::set_num_threads(BenchThreads());
  const int64_t n = state.range(0);
  at::manual_seed(0);
  const at::Tensor x = at::randn({n, S::kSlices, S::kDim}).requires_grad_(backward);
  const at::Tensor k = (at::rand({2 * S::kDim, 4 * S::kDim}) * 0.25 - 0.125).requires_grad_(backward);
  const at::Tensor b = at::zeros({4 * S::kDim}).requires_grad_(backward);
  for (auto _ : state) {
    const at::Tensor y = fn(x, k, b, 1.0);
    if (backward) y.backward(at::ones_like(y));
    benchmark::DoNotOptimize(y.data_ptr());
  }
  state.counters["GFLOP/s"] =
      benchmark::Counter(LstmFlops(n, backward) * state.iterations() / 1e9, benchmark::Counter::kIsRate);
}

#define LSTM_BENCH(name, fn)                                            \
  BENCHMARK_CAPTURE(Lstm, name##_forward, fn, false)->Apply(TimedRows); \
  BENCHMARK_CAPTURE(Lstm, name##_forward_backward, fn, true)->Apply(TimedRows)

// The output's row dropout (SelfGNN's keep rate 0.5, one key per row) after the fused LSTM, and
// inside it (FusedLstmWithDropout: the same bits without the dropout's passes).
constexpr uint64_t kDropoutSeed = 0x5eed;
at::Tensor FusedThenDropout(const at::Tensor& x, const at::Tensor& k, const at::Tensor& b, double forget_bias) {
  return selfgnn::RowDropout(selfgnn::FusedLstm(x, k, b, forget_bias), 0.5, true, kDropoutSeed, at::arange(x.size(0)));
}
at::Tensor FusedWithDropout(const at::Tensor& x, const at::Tensor& k, const at::Tensor& b, double forget_bias) {
  return selfgnn::FusedLstmWithDropout(x, k, b, forget_bias, {0.5, kDropoutSeed, at::arange(x.size(0))});
}

// The interval attention's block layer norm (SelfGNN's ε; γ and β fixed, not differentiated here)
// after the fused LSTM and its dropout, and inside it (FusedLstmLayerNorm: the same bits).
const at::Tensor& NormGamma() {
  static const at::Tensor gamma = at::rand({S::kDim}) + 0.5;
  return gamma;
}
const at::Tensor& NormBeta() {
  static const at::Tensor beta = at::randn({S::kDim}) * 0.1;
  return beta;
}
at::Tensor FusedThenNorm(const at::Tensor& x, const at::Tensor& k, const at::Tensor& b, double forget_bias) {
  return selfgnn::BlockLayerNorm(FusedWithDropout(x, k, b, forget_bias), NormGamma(), NormBeta(), 1e-12);
}
at::Tensor FusedWithNorm(const at::Tensor& x, const at::Tensor& k, const at::Tensor& b, double forget_bias) {
  return selfgnn::FusedLstmLayerNorm(x, k, b, forget_bias, {0.5, kDropoutSeed, at::arange(x.size(0))},
                                     {NormGamma(), NormBeta(), 1e-12});
}

LSTM_BENCH(fused, &selfgnn::FusedLstm);
LSTM_BENCH(fused_then_dropout, &FusedThenDropout);
LSTM_BENCH(fused_with_dropout, &FusedWithDropout);
LSTM_BENCH(fused_dropout_then_norm, &FusedThenNorm);
LSTM_BENCH(fused_with_norm, &FusedWithNorm);
LSTM_BENCH(reference, &selfgnn::ReferenceLstm);
LSTM_BENCH(stock, &selfgnn::StockLstm);

// The matmul ceiling: the same FLOPs as the LSTM forward in one [N·G, 128] x [128, 256] GEMM.
void MatmulCeiling(benchmark::State& state) {
  at::set_num_threads(BenchThreads());
  const int64_t n = state.range(0);
  const at::Tensor a = at::randn({n * S::kSlices, 2 * S::kDim});
  const at::Tensor w = at::randn({2 * S::kDim, 4 * S::kDim});
  at::Tensor c = at::empty({n * S::kSlices, 4 * S::kDim});
  for (auto _ : state) at::mm_out(c, a, w);
  state.counters["GFLOP/s"] =
      benchmark::Counter(LstmFlops(n, false) * state.iterations() / 1e9, benchmark::Counter::kIsRate);
}
BENCHMARK(MatmulCeiling)->Apply(Timed)->Arg(58000);
BENCHMARK(Calibration)->Apply(Timed);

}  // namespace
}  // namespace hardgnn::bench
