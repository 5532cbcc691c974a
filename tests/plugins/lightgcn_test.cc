// The lightgcn encoder against the dense formula: E = mean_{l=0..K} Â^l E^0 with
// Â = D^-1/2 A D^-1/2, A = [[0, R], [Rᵀ, 0]] and R the training prefixes' user-item pairs (no
// validation or test item), values and gradients; and its L2 rows (LightGCN's regularizer).
#include <cmath>
#include <memory>
#include <vector>

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "core/data/dataset.h"
#include "core/model/encoder.h"
#include "gtest/gtest.h"

namespace hardgnn {
namespace {

at::Tensor Longs(std::vector<int64_t> v) { return at::tensor(at::ArrayRef<int64_t>(v), at::kLong); }

// 3 users, 5 items. Each user's last two events are validation and test; their items (3 and
// 4 for user 0, 4 for user 2) must not be edges: item 4 is in nobody's training prefix.
data::PreparedDataset Tiny() {
  data::PreparedDataset d;
  d.num_users = 3;
  d.num_items = 5;
  const std::vector<std::vector<int32_t>> sequences = {{0, 1, 1, 3, 4}, {1, 2, 3, 0, 2}, {2, 0, 4, 4}};
  for (const auto& s : sequences) {
    d.seq_item.insert(d.seq_item.end(), s.begin(), s.end());
    d.seq_ptr.push_back(static_cast<int64_t>(d.seq_item.size()));
    d.train_len.push_back(static_cast<int32_t>(s.size()) - 2);
    d.val_item.push_back(s[s.size() - 2]);
    d.test_item.push_back(s.back());
    d.test_input_len.push_back(static_cast<int32_t>(s.size()) - 1);
  }
  return d;
}

// The dense normalized adjacency over users then items, from the training prefixes.
at::Tensor DenseNormalizedAdjacency(const data::PreparedDataset& d) {
  const int64_t n = d.num_users + d.num_items;
  at::Tensor a = at::zeros({n, n}, at::kDouble);
  for (int32_t u = 0; u < d.num_users; ++u) {
    for (int32_t j = 0; j < d.train_len[u]; ++j) {
      const int64_t i = d.num_users + d.Sequence(u)[j];
      a[u][i] = 1.0;
      a[i][u] = 1.0;
    }
  }
  at::Tensor degree = a.sum(1);
  at::Tensor inv_sqrt = at::where(degree > 0, degree.rsqrt(), at::zeros_like(degree));
  return inv_sqrt.unsqueeze(1) * a * inv_sqrt.unsqueeze(0);
}

at::Tensor DenseLayerMean(const at::Tensor& adjacency, const at::Tensor& e0, int64_t layers) {
  at::Tensor e = e0, sum = e0;
  for (int64_t l = 0; l < layers; ++l) {
    e = at::mm(adjacency, e);
    sum = sum + e;
  }
  return sum / static_cast<double>(layers + 1);
}

std::unique_ptr<Encoder> Make(const data::PreparedDataset& d, int64_t layers, int64_t dim = 4) {
  auto e = EncoderRegistry::Global().Create(
      "lightgcn", {{"layers", std::to_string(layers)}, {"dim", std::to_string(dim)}}, {&d, 5, 4});
  EXPECT_TRUE(e.ok()) << e.status();
  return std::move(*e);
}

at::Tensor Embedding(Encoder& e) { return e.named_parameters()["embedding"]; }

Batch UsersBatch() {
  Batch b;
  b.users = Longs({2, 0, 1, 0});
  b.targets = Longs({0, 1, 2, 3});
  b.pair_rows = Longs({0, 1, 1, 3});
  b.pair_pos = Longs({0, 1, 1, 3});
  b.pair_neg = Longs({4, 2, 0, 2});
  return b;
}

TEST(LightGcnTest, TheNormalizedAdjacencyHasNoHeldOutItem) {
  const data::PreparedDataset d = Tiny();
  const at::Tensor adj = DenseNormalizedAdjacency(d);
  EXPECT_EQ(adj[0][3 + 3].item<double>(), 0.0);  // user 0's validation item
  EXPECT_EQ(adj.select(0, 3 + 4).abs().sum().item<double>(), 0.0);  // only ever held out
  // User 1 - item 2: degrees 3 (items 1, 2, 3) and 2 (users 1, 2).
  EXPECT_DOUBLE_EQ(adj[1][3 + 2].item<double>(), 1 / std::sqrt(6.0));
}

TEST(LightGcnTest, ViewsAreTheLayerMeanOfTheDenseFormula) {
  const data::PreparedDataset d = Tiny();
  const at::Tensor adj = DenseNormalizedAdjacency(d);
  const Batch batch = UsersBatch();
  for (int64_t layers : {0, 1, 2, 3}) {
    std::unique_ptr<Encoder> encoder = Make(d, layers);
    const at::Tensor e0 = Embedding(*encoder).detach().to(at::kDouble);
    const at::Tensor want = DenseLayerMean(adj, e0, layers);
    Views v = encoder->Forward(batch, false);
    EXPECT_TRUE(at::allclose(v.Get(view::kUser).to(at::kDouble), want.index_select(0, batch.users), 1e-5, 1e-6))
        << "layers " << layers;
    EXPECT_TRUE(at::allclose(v.Get(view::kItem).to(at::kDouble), want.narrow(0, 3, 5), 1e-5, 1e-6))
        << "layers " << layers;
    // Item 4 has no training edge: its layers 1..K are zero, so it is E^0 / (K + 1).
    EXPECT_TRUE(at::allclose(v.Get(view::kItem)[4].to(at::kDouble), e0[3 + 4] / double(layers + 1), 1e-6, 1e-7));
    torch::NoGradGuard no_grad;
    encoder->eval();
    std::unique_ptr<EvalScorer> scorer = encoder->MakeEvalScorer();
    EXPECT_TRUE(at::allclose(scorer->Items().to(at::kDouble), want.narrow(0, 3, 5), 1e-5, 1e-6));
    EXPECT_TRUE(at::allclose(scorer->Queries(batch).to(at::kDouble), want.index_select(0, batch.users), 1e-5, 1e-6));
  }
}

TEST(LightGcnTest, GradientsAreTheDenseFormulas) {
  const data::PreparedDataset d = Tiny();
  const at::Tensor adj = DenseNormalizedAdjacency(d);
  const Batch batch = UsersBatch();
  std::unique_ptr<Encoder> encoder = Make(d, 2);
  at::manual_seed(3);
  const at::Tensor wu = at::randn({4, 4}, at::kDouble), wi = at::randn({5, 4}, at::kDouble);
  // A scalar function of both views, non-linear so every entry's gradient differs.
  auto f = [&](const at::Tensor& users, const at::Tensor& items) {
    return (users * wu).sum() + (items * wi).sum() + at::mm(users, items.t()).square().sum();
  };
  Views v = encoder->Forward(batch, false);
  f(v.Get(view::kUser).to(at::kDouble), v.Get(view::kItem).to(at::kDouble)).backward();
  const at::Tensor got = Embedding(*encoder).grad().to(at::kDouble);

  at::Tensor e0 = Embedding(*encoder).detach().to(at::kDouble).clone().set_requires_grad(true);
  at::Tensor mean = DenseLayerMean(adj, e0, 2);
  f(mean.index_select(0, batch.users), mean.narrow(0, 3, 5)).backward();
  EXPECT_TRUE(at::allclose(got, e0.grad(), 1e-4, 1e-5)) << got << e0.grad();
  // User 0 appears twice in the batch; item 4 still gets its layer-0 gradient.
  EXPECT_GT(got[3 + 4].abs().sum().item<double>(), 0);
}

TEST(LightGcnTest, L2RowsAreLightGcnsBatchRegularizer) {
  const data::PreparedDataset d = Tiny();
  std::unique_ptr<Encoder> encoder = Make(d, 2);
  const Batch batch = UsersBatch();
  EXPECT_TRUE(encoder->RegularizedParameters().empty());  // nothing before a step
  encoder->Forward(batch, false);
  const at::Tensor e0 = Embedding(*encoder).detach().to(at::kDouble);
  // sum over pairs of |e_u|² + |e_pos|² + |e_neg|², over 2 x pairs.
  double want = 0;
  const std::vector<int64_t> rows = {0, 1, 1, 3}, pos = {0, 1, 1, 3}, neg = {4, 2, 0, 2}, users = {2, 0, 1, 0};
  for (size_t p = 0; p < rows.size(); ++p) {
    want += e0[users[rows[p]]].square().sum().item<double>() + e0[3 + pos[p]].square().sum().item<double>() +
            e0[3 + neg[p]].square().sum().item<double>();
  }
  want /= 2.0 * rows.size();
  double got = 0;
  for (const at::Tensor& t : encoder->RegularizedParameters()) got += t.to(at::kDouble).square().sum().item<double>();
  EXPECT_NEAR(got, want, 1e-6 * want);
  // The penalty's gradient reaches only the rows it names: user 1 is in no pair.
  encoder->RegularizedParameters()[0].square().sum().backward();
  const at::Tensor g = Embedding(*encoder).grad();
  EXPECT_EQ(g[1].abs().sum().item<double>(), 0.0);
  EXPECT_GT(g[0].abs().sum().item<double>(), 0.0);
}

}  // namespace
}  // namespace hardgnn
