// The SelfGNN long-term encoder's kernels chained as the encoder uses them, at the Yelp shape:
//   short-term GCN (3 layers, 12 slices, both sides) -> [G, U+I, d] -> LSTM (shared by users and
//   items, time-major input view) -> dropout (keep 0.5) -> per side: (G, d) LayerNorm ->
//   interval attention (16 heads) + mean -> final user [U, d] and item [I, d] embeddings.
// Fused kernels vs the stock-LibTorch versions of each stage (stock: torch::nn-equivalent LSTM
// and MultiheadAttention, at::layer_norm; the GCN stays the fused one in both, since the stock
// alternative is torch sparse mm, see propagate_bench). Forward + backward of a scalar loss.
// Run: bazel run -c opt --jobs=2 //benchmarks:pipeline_bench
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <benchmark/benchmark.h>

#include "benchmarks/common.h"
#include "core/graph/residual_gcn.h"
#include "core/graph/spmm.h"
#include "plugins/encoders/selfgnn/fused_lstm.h"
#include "plugins/encoders/selfgnn/interval_attention.h"
#include "plugins/encoders/selfgnn/layer_norm.h"
#include "plugins/encoders/selfgnn/reference.h"

namespace hardgnn::bench {
namespace {

using S = YelpShape;

struct Params {
  at::Tensor u0, i0, lstm_k, lstm_b, ln_g[2], ln_b[2], att_w[2], att_b[2];
  explicit Params(bool grad) {
    at::manual_seed(0);
    const int64_t d = S::kDim;
    u0 = (at::randn({S::kSlices, S::kUsers, d}) * 0.01).requires_grad_(grad);
    i0 = (at::randn({S::kSlices, S::kItems, d}) * 0.01).requires_grad_(grad);
    lstm_k = (at::rand({2 * d, 4 * d}) * 0.25 - 0.125).requires_grad_(grad);
    lstm_b = at::zeros({4 * d}).requires_grad_(grad);
    for (int s = 0; s < 2; ++s) {
      ln_g[s] = at::ones({d}).requires_grad_(grad);
      ln_b[s] = at::zeros({d}).requires_grad_(grad);
      att_w[s] = ((at::rand({d, 3 * d}) * 2 - 1) * 0.2165).requires_grad_(grad);
      att_b[s] = at::zeros({3 * d}).requires_grad_(grad);
    }
  }
};

void Pipeline(benchmark::State& state, bool fused) {
  at::set_num_threads(BenchThreads());
  static const graph::CsrGraph* graph = new graph::CsrGraph(
      graph::CsrGraph::BlockDiagonal(SyntheticSlices(S::kUsers, S::kItems, S::kSlices, S::kInteractions)));
  const Params p(/*grad=*/true);
  for (auto _ : state) {
    const graph::ResidualGcnResult gcn = graph::ResidualGcn(*graph, p.u0, p.i0, S::kLayers, 0.5);
    const at::Tensor seq = at::cat({gcn.rows, gcn.cols}, 1).transpose(0, 1);  // [U+I, G, d] view
    at::Tensor h = fused ? selfgnn::FusedLstm(seq, p.lstm_k, p.lstm_b) : selfgnn::StockLstm(seq, p.lstm_k, p.lstm_b);
    h = at::dropout(h, 0.5, /*train=*/true);
    at::Tensor loss = at::zeros({});
    for (int s = 0; s < 2; ++s) {
      const at::Tensor part = s == 0 ? h.slice(0, 0, S::kUsers) : h.slice(0, S::kUsers);
      const at::Tensor normed = fused ? selfgnn::BlockLayerNorm(part, p.ln_g[s], p.ln_b[s])
                                      : selfgnn::ReferenceBlockLayerNorm(part, p.ln_g[s], p.ln_b[s]);
      const at::Tensor pooled = fused ? selfgnn::IntervalAttention(normed, p.att_w[s], p.att_b[s], S::kHeads)
                                      : selfgnn::StockIntervalAttention(normed, p.att_w[s], p.att_b[s], S::kHeads);
      loss = loss + pooled.sum();
    }
    loss.backward();
    benchmark::DoNotOptimize(loss.item<float>());
  }
}
BENCHMARK_CAPTURE(Pipeline, fused, true)->Apply(Timed);
BENCHMARK_CAPTURE(Pipeline, stock, false)->Apply(Timed);
BENCHMARK(Calibration)->Apply(Timed);

}  // namespace
}  // namespace hardgnn::bench
