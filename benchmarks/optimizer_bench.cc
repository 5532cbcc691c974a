// Adam's step over SelfGNN's parameters at the published Yelp shape: the per-slice user and item
// tables ([12, 20,000, 64] and [12, 38,000, 64], 44.5M of the model's 45M parameters), stock
// torch::optim::Adam (eight ATen ops a parameter) against FusedAdam (one pass, the same bits).
// Counter GB/s: the 28 bytes an element the update must move (read p, g, m, v; write p, m, v).
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include "benchmarks/common.h"
#include "core/train/fused_adam.h"

namespace hardgnn::bench {
namespace {

template <typename Optimizer>
void AdamStep(benchmark::State& state) {
  at::set_num_threads(BenchThreads());
  torch::manual_seed(1);
  std::vector<torch::Tensor> params = {torch::randn({12, 20000, 64}), torch::randn({12, 38000, 64})};
  int64_t elements = 0;
  for (auto& p : params) {
    p.set_requires_grad(true);
    p.mutable_grad() = torch::randn_like(p);
    elements += p.numel();
  }
  Optimizer adam(params, torch::optim::AdamOptions(1e-3));
  adam.step();  // the moments exist from here on, as in training
  for (auto _ : state) adam.step();
  state.counters["GB/s"] = benchmark::Counter(28.0 * elements * state.iterations() / 1e9, benchmark::Counter::kIsRate);
}

BENCHMARK_TEMPLATE(AdamStep, torch::optim::Adam)->Name("adam_step/stock")->Apply(Timed);
BENCHMARK_TEMPLATE(AdamStep, FusedAdam)->Name("adam_step/fused")->Apply(Timed);
BENCHMARK(Calibration)->Apply(Timed);

}  // namespace
}  // namespace hardgnn::bench
