// `lightgcn`: LightGCN (He et al., SIGIR 2020). One embedding table E^0 for users and items,
// K layers of propagation over the symmetric-normalized training graph,
//   E^{l+1} = D^-1/2 A D^-1/2 E^l,   A = [[0, R], [Rᵀ, 0]],
// R the binary users x items matrix of training interactions, and the final embedding the
// mean of E^0 .. E^K; score = dot product. Trained with `bpr`.
//
// The graph is R = the distinct (user, item) pairs of every user's training prefix
// Sequence(u)[0 .. train_len[u]): validation and test items are never in it, under either
// evaluation protocol (for prepared data it equals the union of the time slices; for a
// SelfGNN release, whose slices may hold held-out events, it does not).
//
// The `l2` loss, as LightGCN's weight decay, penalizes the layer-0 rows the step's pairs
// read, not the tables: RegularizedParameters() returns, from the last Forward, E^0 of each
// pair's user, positive and negative (each row of the batch's user and target when the batch
// has no pairs) scaled by 1/sqrt(2n), n the number of pairs (rows), so `l2:λ` adds
// λ · Σ_pairs (|e_u|² + |e_i|² + |e_j|²) / (2n): λ is LightGCN's weight_decay.
#include <cmath>
#include <memory>
#include <utility>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "absl/status/status.h"
#include "core/graph/spmm.h"
#include "core/model/encoder.h"
#include "plugins/encoders/table_scorer.h"

namespace hardgnn {
namespace {

// The binary users x items matrix of the training prefixes.
data::Csr TrainingGraph(const data::PreparedDataset& d) {
  std::vector<std::pair<int32_t, int32_t>> pairs;
  for (int32_t u = 0; u < d.num_users; ++u) {
    const int32_t* s = d.Sequence(u);
    for (int64_t j = 0; j < d.train_len[u]; ++j) pairs.emplace_back(u, s[j]);
  }
  return data::CsrFromPairs(d.num_users, d.num_items, std::move(pairs));
}

// 1/sqrt(deg(u) deg(i)) per edge, in the graph's forward edge order.
at::Tensor SymmetricNorm(const data::Csr& r) {
  std::vector<int64_t> item_degree(r.num_cols, 0);
  for (int32_t c : r.col) ++item_degree[c];
  std::vector<float> values;
  values.reserve(r.nnz());
  for (int64_t u = 0; u < r.num_rows; ++u) {
    for (const int32_t* c = r.RowBegin(u); c != r.RowEnd(u); ++c) {
      values.push_back(static_cast<float>(1.0 / std::sqrt(double(r.RowSize(u)) * double(item_degree[*c]))));
    }
  }
  return at::tensor(values);
}

class LightGcn : public Encoder {
 public:
  LightGcn(const data::PreparedDataset& d, int64_t dim, int64_t layers, double init_std, uint64_t seed)
      : num_users_(d.num_users), num_items_(d.num_items), layers_(layers) {
    at::Generator gen = at::detail::createCPUGenerator(seed);
    embedding_ = register_parameter("embedding", at::normal(0.0, init_std, {num_users_ + num_items_, dim}, gen));
    const data::Csr r = TrainingGraph(d);
    graph_ = graph::CsrGraph(r);
    edge_norm_ = SymmetricNorm(r);
  }

  std::vector<std::string> ProvidedViews() const override { return {view::kUser, view::kItem}; }

  Views Forward(const Batch& batch, bool) override {
    auto [users, items] = Propagated();
    Views v;
    v.Set(view::kUser, users.index_select(0, batch.users));
    v.Set(view::kItem, items);
    penalized_ = Layer0Rows(batch);
    return v;
  }

  std::vector<at::Tensor> RegularizedParameters() override {
    if (penalized_.defined()) return {penalized_};
    return {};
  }

  std::unique_ptr<EvalScorer> MakeEvalScorer() override {
    torch::NoGradGuard no_grad;
    auto [users, items] = Propagated();
    return std::make_unique<TableScorer>(users, items);
  }

 private:
  // The layer means of every user [U, d] and item [I, d].
  std::pair<at::Tensor, at::Tensor> Propagated() const {
    at::Tensor u = embedding_.narrow(0, 0, num_users_), i = embedding_.narrow(0, num_users_, num_items_);
    const at::Tensor norm = edge_norm_.to(embedding_.scalar_type());
    at::Tensor sum_u = u, sum_i = i;
    for (int64_t l = 0; l < layers_; ++l) {
      at::Tensor next_u = graph::Propagate(graph_, i, norm);
      at::Tensor next_i = graph::PropagateTransposed(graph_, u, norm);
      u = next_u;
      i = next_i;
      sum_u = sum_u + u;
      sum_i = sum_i + i;
    }
    return {sum_u / static_cast<double>(layers_ + 1), sum_i / static_cast<double>(layers_ + 1)};
  }

  // E^0 rows under the L2 penalty, scaled so that their sum of squares is LightGCN's
  // regularizer (see the top of this file).
  at::Tensor Layer0Rows(const Batch& batch) const {
    at::Tensor users, items;
    if (batch.pair_rows.defined() && batch.pair_rows.numel() > 0) {
      users = batch.users.index_select(0, batch.pair_rows);
      items = at::cat({batch.pair_pos, batch.pair_neg});
    } else if (batch.targets.defined() && batch.size() > 0) {
      users = batch.users;
      items = batch.targets;
    } else {
      return at::Tensor();
    }
    at::Tensor rows = embedding_.index_select(0, at::cat({users, items + num_users_}));
    return rows * (1.0 / std::sqrt(2.0 * static_cast<double>(users.numel())));
  }

  int64_t num_users_, num_items_, layers_;
  graph::CsrGraph graph_;
  at::Tensor edge_norm_;
  at::Tensor embedding_;
  at::Tensor penalized_;  // set by Forward: what the l2 loss penalizes
};

const Registration<Encoder> kRegistration(
    "lightgcn",
    {"LightGCN: K layers of symmetric-normalized propagation over the training user-item graph, "
     "embedding = mean over layers 0..K, score = dot product; l2 penalizes the step's layer-0 rows "
     "(l2:λ = LightGCN's weight decay)",
     {{"dim", ParamType::kInt, "64", "embedding width"},
      {"layers", ParamType::kInt, "3", "propagation layers K"},
      {"init_std", ParamType::kDouble, "0.1", "standard deviation of the normal initialization"}}},
    [](const PluginArgs& a, const Encoder::Context& ctx) -> absl::StatusOr<std::unique_ptr<Encoder>> {
      if (a.Int("dim") < 1) return absl::InvalidArgumentError("lightgcn: dim must be >= 1");
      if (a.Int("layers") < 0) return absl::InvalidArgumentError("lightgcn: layers must be >= 0");
      if (!(a.Double("init_std") > 0)) return absl::InvalidArgumentError("lightgcn: init_std must be > 0");
      return std::make_unique<LightGcn>(*ctx.dataset, a.Int("dim"), a.Int("layers"), a.Double("init_std"), ctx.seed);
    });

}  // namespace
}  // namespace hardgnn
