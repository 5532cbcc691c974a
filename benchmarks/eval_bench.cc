// Evaluation cost on a prepared dataset with an (untrained) SelfGNN of the published Yelp
// shape: hardgnn's evaluator (long-term embeddings computed once, then every user batch
// scored) against the straightforward loop of the published code (for every batch of 512
// users, the full-graph forward over every user and item, then scoring), the latter both
// with the stock LibTorch modules and with the fused kernels. One iteration each. Linked with
// tcmalloc, as the hardgnn binary is.
//   bazel run //benchmarks:eval_bench -- --dataset=<prepared dir>/dataset.bin
#include <algorithm>
#include <cstring>
#include <string>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <benchmark/benchmark.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "core/cli/runtime_info.h"
#include "core/data/cache.h"
#include "core/eval/evaluator.h"
#include "core/eval/metrics.h"
#include "core/model/encoder.h"
#include "core/train/batch_builder.h"

namespace hardgnn::bench {
namespace {

std::string g_dataset;
constexpr int64_t kSeqLen = 200;

const data::PreparedDataset& Dataset() {
  static const data::PreparedDataset* d = [] {
    auto loaded = data::LoadPreparedDataset(g_dataset);
    if (!loaded.ok()) {
      std::fprintf(stderr, "eval_bench: %s\n", std::string(loaded.status().message()).c_str());
      std::exit(2);
    }
    return new data::PreparedDataset(std::move(*loaded));
  }();
  return *d;
}

std::unique_ptr<Encoder> SelfGnn(bool fused, bool all_rows) {
  ArgMap args = {{"gnn_layers", "3"}, {"att_layers", "2"}, {"fused", fused ? "true" : "false"},
                 {"all_rows", all_rows ? "true" : "false"}};
  auto e = EncoderRegistry::Global().Create("selfgnn", args, {&Dataset(), 1, kSeqLen});
  if (!e.ok()) std::exit(2);
  (*e)->eval();
  return std::move(*e);
}

// hardgnn's evaluator, test split only, the paper protocol alone or with full ranking; the
// scores by chain products (the default) or as a score matrix by LibTorch's product. Timed: the
// process's first evaluation (eval_speed.sh runs each benchmark in a fresh process, as `hardgnn
// eval` runs); again_s: a second one in the same process, whose tensors reuse the memory the
// first freed (tcmalloc keeps it, as during training, where the steps have grown the heap).
void Ours(benchmark::State& state, bool full, bool chains) {
  auto encoder = SelfGnn(true, false);
  EvalOptions o;
  o.validation = false;
  o.full_ranking = full;
  o.chain_scores = chains;
  for (auto _ : state) {
    EvalResult r = Evaluate(*encoder, Dataset(), o);
    state.counters["users"] = static_cast<double>(r.test.sampled.users);
    state.counters["embeddings_s"] = r.phases.embeddings;
    state.counters["queries_s"] = r.phases.queries;
    state.counters["scores_s"] = r.phases.scores;
    state.counters["ranks_s"] = r.phases.ranks;
  }
  const EvalResult again = Evaluate(*encoder, Dataset(), o);
  state.counters["again_s"] = again.seconds;
  state.counters["again_embeddings_s"] = again.phases.embeddings;
}

// The published loop: a full forward per batch of 512 users, then the scores.
void Straightforward(benchmark::State& state, bool fused, bool full) {
  auto encoder = SelfGnn(fused, true);
  const data::PreparedDataset& d = Dataset();
  torch::NoGradGuard no_grad;
  for (auto _ : state) {
    MetricAccumulator acc;
    for (size_t begin = 0; begin < d.eval_users.size(); begin += 512) {
      const int64_t n = std::min<int64_t>(512, d.eval_users.size() - begin);
      Batch batch;
      batch.users = at::empty({n}, at::kLong);
      batch.seq = at::zeros({n, kSeqLen}, at::kLong);
      batch.seq_mask = at::zeros({n, kSeqLen});
      for (int64_t b = 0; b < n; ++b) {
        const int32_t u = d.eval_users[begin + b];
        batch.users[b] = u;
        FillSequenceRow(d.Sequence(u), d.test_input_len[u], b, kSeqLen, batch.seq.data_ptr<int64_t>(),
                        batch.seq_mask.data_ptr<float>());
      }
      batch.touched_items = at::arange(d.num_items, at::kLong);
      Views v = encoder->Forward(batch, /*all_items=*/true);
      at::Tensor scores = at::mm(v.Get(view::kUser), v.Get(view::kItem).t()).contiguous();
      for (int64_t b = 0; b < n; ++b) {
        const float* row = scores.data_ptr<float>() + b * d.num_items;
        const int32_t u = d.eval_users[begin + b];
        std::vector<float> neg(d.negatives_per_user);
        for (int64_t j = 0; j < d.negatives_per_user; ++j) neg[j] = row[d.EvalNegatives(begin + b)[j]];
        acc.Add(RankAmongNegatives(row[d.test_item[u]], neg.data(), d.negatives_per_user));
        if (full) {
          int64_t ahead = 0;  // every item at least as good, the user's history not excluded: a lower bound on the work
          for (int64_t i = 0; i < d.num_items; ++i) ahead += row[i] >= row[d.test_item[u]];
          benchmark::DoNotOptimize(ahead);
        }
      }
    }
    state.counters["users"] = static_cast<double>(acc.Result().users);
  }
}

}  // namespace
}  // namespace hardgnn::bench

int main(int argc, char** argv) {
  using namespace hardgnn::bench;
  hardgnn::EnsureStartupEnvironment(argv, /*passive_openmp_waits=*/false);  // may re-execute
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--dataset=", 10) == 0) g_dataset = argv[i] + 10;
  }
  if (g_dataset.empty()) {
    std::fprintf(stderr, "usage: eval_bench --dataset=<prepared>/dataset.bin [benchmark flags]\n");
    return 2;
  }
  at::set_num_threads(2);
  for (bool full : {false, true}) {
    const std::string what = full ? "paper_protocol+full_ranking" : "paper_protocol";
    benchmark::RegisterBenchmark(("hardgnn_evaluator/" + what).c_str(), Ours, full, true)
        ->Iterations(1)->Unit(benchmark::kSecond)->UseRealTime();
    benchmark::RegisterBenchmark(("hardgnn_evaluator_score_matrix/" + what).c_str(), Ours, full, false)
        ->Iterations(1)->Unit(benchmark::kSecond)->UseRealTime();
    benchmark::RegisterBenchmark(("per_batch_forward_fused/" + what).c_str(), Straightforward, true, full)
        ->Iterations(1)->Unit(benchmark::kSecond)->UseRealTime();
    benchmark::RegisterBenchmark(("per_batch_forward_stock/" + what).c_str(), Straightforward, false, full)
        ->Iterations(1)->Unit(benchmark::kSecond)->UseRealTime();
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
