// SASRec: the attention by hand on a tiny case, causality, padding that changes nothing, and
// the next_item loss against an independent computation.
#include <array>
#include <cmath>
#include <memory>
#include <vector>

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "core/data/csr.h"
#include "core/data/dataset.h"
#include "core/model/encoder.h"
#include "core/model/loss.h"
#include "gtest/gtest.h"
#include "plugins/encoders/sasrec_modules.h"

namespace hardgnn {
namespace {

constexpr int64_t kWidth = 6, kItems = 9;

at::Tensor Longs(std::vector<int64_t> v) { return at::tensor(at::ArrayRef<int64_t>(v), at::kLong); }

double Sigmoid(double x) { return 1 / (1 + std::exp(-x)); }

TEST(SasRecAttentionTest, OneHeadInTwoDimensionsByHand) {
  at::Generator gen = at::detail::createCPUGenerator(1);
  sasrec::CausalSelfAttention attention(2, 1, 0.0, gen);
  {
    torch::NoGradGuard no_grad;  // q = x, k = x, v = (x1, 2 x2): Linear computes x Wᵀ + b
    attention->query->weight.copy_(at::eye(2));
    attention->key->weight.copy_(at::eye(2));
    attention->value->weight.copy_(at::tensor({1.0f, 0.0f, 0.0f, 2.0f}).view({2, 2}));
    for (auto* l : {&attention->query, &attention->key, &attention->value}) (*l)->bias.zero_();
  }
  // Row 0: a padded position 0 (whatever it holds), then (1,0), (1,1). Row 1: (1,0), (0,1), (1,1).
  const at::Tensor x = at::tensor({5.0f, 5.0f, 1.0f, 0.0f, 1.0f, 1.0f, 1.0f, 0.0f, 0.0f, 1.0f, 1.0f, 1.0f}).view({2, 3, 2});
  const at::Tensor mask = at::tensor({0.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f}).view({2, 3});
  const at::Tensor out = attention(x, mask);
  const double a = 1 / std::sqrt(2.0);  // <(1,0),(1,1)> / sqrt(2); <(1,1),(1,1)> / sqrt(2) = 2a
  // Row 0: position 1 sees only itself -> v = (1, 0); position 2 sees positions 1 and 2 with
  // weights ∝ e^a, e^{2a}: (1, 2 σ(a)) since v1 = (1,0), v2 = (1,2).
  const double w = Sigmoid(a);
  // Row 1: position 0 -> (1,0); position 1 (q = (0,1)): scores 0 and a -> (1-w) (1,0) + w (0,2);
  // position 2: scores a, a, 2a -> weights e^a, e^a, e^{2a} over (1,0), (0,2), (1,2).
  const double z = 2 * std::exp(a) + std::exp(2 * a), w0 = std::exp(a) / z, w2 = std::exp(2 * a) / z;
  const at::Tensor want = at::tensor({0.0, 0.0, 1.0, 0.0, 1.0, 2 * w,  //
                                      1.0, 0.0, 1 - w, 2 * w, w0 + w2, 2 * w0 + 2 * w2}, at::kDouble)
                              .view({2, 3, 2});
  EXPECT_TRUE(at::allclose(out.to(at::kDouble), want, 1e-6, 1e-6)) << out << want;
}

TEST(SasRecAttentionTest, HeadsAttendSeparately) {
  // Two heads of width 1 are two one-dimensional attentions over the halves of q, k, v.
  at::Generator gen = at::detail::createCPUGenerator(2);
  sasrec::CausalSelfAttention both(2, 2, 0.0, gen);
  at::manual_seed(4);
  const at::Tensor x = at::randn({3, 4, 2}), mask = at::tensor({0.f, 0.f, 1.f, 1.f, 1.f, 1.f, 1.f, 1.f, 0.f, 1.f, 1.f, 1.f}).view({3, 4});
  const at::Tensor out = both(x, mask);
  for (int64_t h = 0; h < 2; ++h) {
    auto proj = [&](torch::nn::Linear& l) { return at::linear(x, l->weight.narrow(0, h, 1), l->bias.narrow(0, h, 1)); };
    const at::Tensor q = proj(both->query), k = proj(both->key), v = proj(both->value);  // [B,M,1]
    for (int64_t b = 0; b < 3; ++b) {
      for (int64_t i = 0; i < 4; ++i) {
        if (mask[b][i].item<float>() == 0) {
          EXPECT_EQ(out[b][i][h].item<float>(), 0.0f);
          continue;
        }
        double num = 0, den = 0;
        for (int64_t j = 0; j <= i; ++j) {
          if (mask[b][j].item<float>() == 0) continue;
          const double e = std::exp(q[b][i][0].item<double>() * k[b][j][0].item<double>());
          num += e * v[b][j][0].item<double>();
          den += e;
        }
        EXPECT_NEAR(out[b][i][h].item<double>(), num / den, 1e-5) << b << " " << i << " " << h;
      }
    }
  }
}

TEST(SasRecNetTest, RowsRunOverTheirSpanGiveTheFullWidthResult) {
  at::Generator gen = at::detail::createCPUGenerator(3);
  sasrec::Net net(30, sasrec::NetOptions{8, 2, 2, 0.0, 40}, gen);
  // Spans 3, 10, 20, 40, 0 (empty) and 9: groups of width 8, 16, 32 and 40.
  const std::vector<int64_t> lengths = {3, 10, 20, 40, 0, 9};
  at::Tensor seq = at::zeros({6, 40}, at::kLong), mask = at::zeros({6, 40});
  for (int64_t r = 0; r < 6; ++r) {
    for (int64_t j = 0; j < lengths[r]; ++j) {
      seq[r][40 - lengths[r] + j] = (r * 7 + j * 3) % 30;
      mask[r][40 - lengths[r] + j] = 1;
    }
  }
  const at::Tensor full = net->forward(seq, mask), grouped = net->ForwardBySpan(seq, mask);
  EXPECT_TRUE(at::allclose(full, grouped, 1e-5, 1e-6));
  EXPECT_EQ(grouped[4].abs().sum().item<float>(), 0.0f);
  // And the same gradients.
  const at::Tensor w = at::randn({6, 40, 8});
  auto grads = [&](const at::Tensor& h) {
    net->zero_grad();
    (h * w).sum().backward();
    std::vector<at::Tensor> g;
    for (const at::Tensor& p : net->parameters()) g.push_back(p.grad().clone());
    return g;
  };
  const std::vector<at::Tensor> a = grads(net->forward(seq, mask)), b = grads(net->ForwardBySpan(seq, mask));
  for (size_t k = 0; k < a.size(); ++k) EXPECT_TRUE(at::allclose(a[k], b[k], 1e-4, 1e-5)) << k;
}

data::PreparedDataset Items(int32_t num_items) {
  data::PreparedDataset d;
  d.num_items = num_items;
  d.num_users = 4;
  return d;
}

class SasRecTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dataset_ = Items(kItems);
    auto e = EncoderRegistry::Global().Create("sasrec", {{"dim", "8"}, {"heads", "2"}, {"dropout", "0.3"}},
                                              {&dataset_, 7, kWidth});
    ASSERT_TRUE(e.ok()) << e.status();
    encoder_ = std::move(*e);
    encoder_->eval();
  }
  // Right-aligned rows of items (0 pad).
  static Batch Rows(const std::vector<std::vector<int64_t>>& rows) {
    Batch b;
    const int64_t n = static_cast<int64_t>(rows.size());
    b.users = at::arange(n, at::kLong);
    b.targets = at::zeros({n}, at::kLong);
    b.seq = at::zeros({n, kWidth}, at::kLong);
    b.seq_mask = at::zeros({n, kWidth});
    for (int64_t r = 0; r < n; ++r) {
      const int64_t len = static_cast<int64_t>(rows[r].size());
      for (int64_t j = 0; j < len; ++j) {
        b.seq[r][kWidth - len + j] = rows[r][j];
        b.seq_mask[r][kWidth - len + j] = 1;
      }
    }
    return b;
  }
  at::Tensor Hidden(const Batch& b) {
    torch::NoGradGuard no_grad;
    return encoder_->Forward(b, false).Get(view::kSeqHidden);
  }
  data::PreparedDataset dataset_;
  std::unique_ptr<Encoder> encoder_;
};

TEST_F(SasRecTest, APositionDoesNotSeeLaterItems) {
  const at::Tensor a = Hidden(Rows({{1, 2, 3, 4, 5, 6}, {3, 1, 4}}));
  const at::Tensor b = Hidden(Rows({{1, 2, 3, 7, 8, 0}, {3, 1, 8}}));
  // Row 0 differs from position 3 on, row 1 (positions 3..5) from its last item.
  EXPECT_TRUE(at::allclose(a[0].narrow(0, 0, 3), b[0].narrow(0, 0, 3), 1e-6, 1e-6));
  EXPECT_TRUE(at::allclose(a[1].narrow(0, 3, 2), b[1].narrow(0, 3, 2), 1e-6, 1e-6));
  EXPECT_FALSE(at::allclose(a[0][3], b[0][3], 1e-3, 1e-3));
  EXPECT_FALSE(at::allclose(a[1][5], b[1][5], 1e-3, 1e-3));
}

TEST_F(SasRecTest, PaddingChangesNothingAndIsZero) {
  Batch a = Rows({{2, 5}, {1, 2, 3, 4, 5, 6}});
  Batch b = a;
  b.seq = a.seq.clone();
  b.seq[0].narrow(0, 0, 4).copy_(Longs({8, 7, 6, 5}));  // what sits in row 0's padding
  const at::Tensor ha = Hidden(a), hb = Hidden(b);
  EXPECT_TRUE(at::equal(ha, hb));
  EXPECT_EQ(ha[0].narrow(0, 0, 4).abs().sum().item<float>(), 0.0f);
  // A short row's states do not depend on how wide the rest of its batch is.
  const at::Tensor alone = Hidden(Rows({{2, 5}}));
  EXPECT_TRUE(at::allclose(alone[0], ha[0], 1e-5, 1e-6));
  // Padded positions get no gradient: row 0's padding items are not touched.
  encoder_->train();
  at::manual_seed(1);
  Views v = encoder_->Forward(Rows({{2, 5}}), false);
  // (A plain sum would be constant: each LayerNorm-ed row sums to the sum of its bias.)
  (v.Get(view::kSeqHidden) * at::randn(v.Get(view::kSeqHidden).sizes())).sum().backward();
  const at::Tensor g = encoder_->named_parameters()["net.item"].grad();
  EXPECT_GT(g[2].abs().sum().item<float>(), 0.0f);
  EXPECT_EQ(g[0].abs().sum().item<float>(), 0.0f);  // 0 is the padding id
}

TEST_F(SasRecTest, UserIsTheLastPositionAndTheScorerAgrees) {
  const Batch batch = Rows({{1, 2}, {3, 4, 5, 6, 7, 8}, {4}});
  torch::NoGradGuard no_grad;
  Views v = encoder_->Forward(batch, false);
  EXPECT_TRUE(at::equal(v.Get(view::kUser), v.Get(view::kSeqHidden).select(1, kWidth - 1)));
  EXPECT_TRUE(at::equal(v.Get(view::kUserSeq), v.Get(view::kUser)));
  std::unique_ptr<EvalScorer> scorer = encoder_->MakeEvalScorer();
  EXPECT_TRUE(at::allclose(scorer->Queries(batch), v.Get(view::kUser), 1e-6, 1e-6));
  EXPECT_TRUE(at::equal(scorer->Items(), v.Get(view::kItem)));
}

TEST_F(SasRecTest, DropoutIsAFunctionOfTheGlobalSeed) {
  encoder_->train();
  const Batch batch = Rows({{1, 2, 3}, {3, 4, 5, 6, 7, 8}});
  at::Tensor h[3];
  for (int k = 0; k < 3; ++k) {
    at::manual_seed(k < 2 ? 10 : 11);
    torch::NoGradGuard no_grad;
    h[k] = encoder_->Forward(batch, false).Get(view::kSeqHidden);
  }
  EXPECT_TRUE(at::equal(h[0], h[1]));
  EXPECT_FALSE(at::equal(h[0], h[2]));
}

// ---------------------------------------------------------------- next_item

class NoParams : public Encoder {
 public:
  std::vector<std::string> ProvidedViews() const override { return {}; }
  Views Forward(const Batch&, bool) override { return {}; }
  std::vector<at::Tensor> RegularizedParameters() override { return {}; }
  std::unique_ptr<EvalScorer> MakeEvalScorer() override { return nullptr; }
};

class NextItemTest : public ::testing::Test {
 protected:
  // Two rows of width 3: row 0 holds items 1, 2 (position 0 padded), target 3; row 1 holds
  // 0, 2, 1, target 2. Positions and their targets: (0,1)->2, (0,2)->3, (1,0)->2, (1,1)->1, (1,2)->2.
  void SetUp() override {
    batch_.users = Longs({0, 1});
    batch_.seq = Longs({4, 1, 2, 0, 2, 1}).view({2, 3});
    batch_.seq_mask = at::tensor({0.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f}).view({2, 3});
    batch_.targets = Longs({3, 2});
    at::manual_seed(2);
    hidden_ = at::randn({2, 3, 2}, at::kDouble);
    items_ = at::randn({5, 2}, at::kDouble);
    views_.Set(view::kSeqHidden, hidden_);
    views_.Set(view::kItem, items_);
  }
  double Value(ArgMap args, const data::Csr* history) {
    auto loss = LossRegistry::Global().Create("next_item", args, Loss::Context{});
    EXPECT_TRUE(loss.ok()) << loss.status();
    return (*loss)->Compute(Loss::Input{batch_, views_, encoder_, nullptr, history}).item<double>();
  }
  double Score(int64_t b, int64_t t, int64_t item) const {
    return (hidden_[b][t] * items_[item]).sum().item<double>();
  }
  const std::vector<std::array<int64_t, 3>> kPositions = {{0, 1, 2}, {0, 2, 3}, {1, 0, 2}, {1, 1, 1}, {1, 2, 2}};
  Batch batch_;
  Views views_;
  at::Tensor hidden_, items_;
  NoParams encoder_;
};

TEST_F(NextItemTest, SoftmaxIsTheMeanCrossEntropyOverValidPositions) {
  double want = 0;
  for (const auto& [b, t, y] : kPositions) {
    double z = 0;
    for (int64_t i = 0; i < 5; ++i) z += std::exp(Score(b, t, i));
    want += std::log(z) - Score(b, t, y);
  }
  want /= kPositions.size();
  EXPECT_NEAR(Value({{"softmax", "true"}}, nullptr), want, 1e-10);
}

TEST_F(NextItemTest, BinaryCrossEntropyWithTheOnlyAllowedNegative) {
  // User 0 has seen every item but 4, user 1 every item but 0: the negatives are forced.
  const data::Csr history = data::CsrFromPairs(2, 5, {{0, 0}, {0, 1}, {0, 2}, {0, 3}, {1, 1}, {1, 2}, {1, 3}, {1, 4}});
  for (int64_t k : {1, 3}) {
    double want = 0;
    for (const auto& [b, t, y] : kPositions) {
      const int64_t negative = b == 0 ? 4 : 0;
      want += -std::log(Sigmoid(Score(b, t, y))) - k * std::log(1 - Sigmoid(Score(b, t, negative)));
    }
    want /= kPositions.size();
    EXPECT_NEAR(Value({{"negatives", std::to_string(k)}}, &history), want, 1e-10) << k;
  }
}

TEST_F(NextItemTest, NegativesAvoidTheHistoryAndFollowTheSeedAlone) {
  // 200 items; the user's history (items 0..99) scores 30 against every state, the others 0:
  // the loss is softplus(-pos) + K log 2 exactly when no negative comes from the history.
  const int64_t n = 200, k = 16;
  std::vector<std::pair<int32_t, int32_t>> seen;
  for (int32_t u = 0; u < 2; ++u) {
    for (int32_t i = 0; i < 100; ++i) seen.emplace_back(u, i);
  }
  const data::Csr history = data::CsrFromPairs(2, n, seen);
  hidden_ = at::ones({2, 3, 2}, at::kDouble);
  items_ = at::zeros({n, 2}, at::kDouble);
  items_.narrow(0, 0, 100).fill_(15.0);
  views_.Set(view::kSeqHidden, hidden_);
  views_.Set(view::kItem, items_);
  const double want = std::log1p(std::exp(-30.0)) + k * std::log(2.0);  // every target is in 0..4
  at::manual_seed(5);
  const double first = Value({{"negatives", std::to_string(k)}}, &history);
  EXPECT_NEAR(first, want, 1e-9);
  // Give the items 100..199 distinct scores: the value then names the negatives drawn.
  items_.narrow(0, 100, 100).copy_(at::linspace(0, 1, 200, at::kDouble).view({100, 2}));
  views_.Set(view::kItem, items_);
  at::manual_seed(5);
  const double a = Value({{"negatives", "2"}}, &history), b = Value({{"negatives", "2"}}, &history);
  EXPECT_EQ(a, b);  // the generator is read, not advanced
  at::manual_seed(6);
  EXPECT_NE(Value({{"negatives", "2"}}, &history), a);
}

TEST_F(NextItemTest, GradientsReachStatesAndItemsOfValidPositionsOnly) {
  at::Tensor h = hidden_.clone().set_requires_grad(true), e = items_.clone().set_requires_grad(true);
  views_.Set(view::kSeqHidden, h);
  views_.Set(view::kItem, e);
  auto loss = LossRegistry::Global().Create("next_item", {{"softmax", "true"}}, Loss::Context{});
  (*loss)->Compute(Loss::Input{batch_, views_, encoder_, nullptr, nullptr}).backward();
  EXPECT_EQ(h.grad()[0][0].abs().sum().item<double>(), 0.0);  // row 0's padded position
  EXPECT_GT(h.grad()[1][0].abs().sum().item<double>(), 0.0);
}

}  // namespace
}  // namespace hardgnn
