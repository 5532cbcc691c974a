// Every registered loss: finite value and autograd gradients equal to finite differences
// with respect to every view it reads; and known answers for each published loss.
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "core/cpu/sparse_rows.h"
#include "core/data/csr.h"
#include "core/model/encoder.h"
#include "core/model/loss.h"
#include "core/model/tensor_memory.h"
#include "gtest/gtest.h"
#include "tests/testing/gradcheck.h"

namespace hardgnn {
namespace {

constexpr int64_t kB = 4, kI = 9, kD = 3, kG = 2, kK = 3, kM = 3;

// An encoder whose only role here is to own parameters for the l2 loss.
class ParamsOnly : public Encoder {
 public:
  std::vector<std::string> ProvidedViews() const override { return {}; }
  Views Forward(const Batch&, bool) override { return {}; }
  std::vector<at::Tensor> RegularizedParameters() override { return params; }
  std::unique_ptr<EvalScorer> MakeEvalScorer() override { return nullptr; }
  std::vector<at::Tensor> params;
};

const std::vector<std::string> kAllViews = {view::kUser, view::kItem, view::kUserLong, view::kUserSeq,
                                            view::kUserShort, view::kUserShortSlices,
                                            view::kItemShortSlices, view::kSalWeight, view::kSeqHidden};

std::vector<int64_t> Shape(const std::string& name) {
  if (name == view::kItem) return {kI, kD};
  if (name == view::kUserShortSlices) return {kG, kB, kD};
  if (name == view::kItemShortSlices) return {kG, kI, kD};
  if (name == view::kSalWeight) return {kG, kB};
  if (name == view::kSeqHidden) return {kB, kM, kD};
  return {kB, kD};
}

at::Tensor Longs(std::vector<int64_t> v) { return at::tensor(at::ArrayRef<int64_t>(v), at::kLong); }

Batch MakeBatch() {
  Batch b;
  b.users = Longs({0, 1, 2, 3});
  b.targets = Longs({0, 3, 5, 8});
  b.pair_rows = Longs({0, 0, 1, 2, 3, 3});
  b.pair_pos = Longs({0, 0, 3, 5, 8, 8});
  b.pair_neg = Longs({1, 2, 4, 6, 7, 1});
  b.seq = Longs({0, 2, 3, 0, 0, 4, 5, 6, 7, 0, 0, 1}).view({kB, kM});  // right-aligned, 0 pad
  b.seq_mask = at::tensor({0.0f, 1.0f, 1.0f, 0.0f, 0.0f, 1.0f, 1.0f, 1.0f, 1.0f, 0.0f, 0.0f, 1.0f}).view({kB, kM});
  for (int64_t k = 0; k < kG; ++k) {
    b.sal.push_back({Longs({0, 1, 2}), Longs({1, 4, 6}), Longs({3, 2, 0}), Longs({7, 2, 5 - k})});
  }
  return b;
}

class LossConformance : public ::testing::TestWithParam<std::string> {};

TEST_P(LossConformance, FiniteValueAndGradientsMatchFiniteDifferences) {
  auto created = LossRegistry::Global().Create(GetParam(), {}, Loss::Context{});
  ASSERT_TRUE(created.ok()) << created.status();
  Loss& loss = **created;
  std::vector<std::string> views = loss.RequiredViews();
  if (loss.NeedsNegatives()) views.push_back(loss.AnchorView());
  std::sort(views.begin(), views.end());
  views.erase(std::unique(views.begin(), views.end()), views.end());
  for (const std::string& v : views) {
    ASSERT_NE(std::find(kAllViews.begin(), kAllViews.end(), v), kAllViews.end()) << "unknown view " << v;
  }
  const Batch batch = MakeBatch();
  at::manual_seed(1);
  Sampler::Result negatives{Longs({1, 2, 4, 3, 4, 5, 6, 7, 0, 1, 2, 3}).view({kB, kK}),
                            at::rand({kB, kK}, at::kDouble) + 0.5};
  std::vector<at::Tensor> inputs;
  for (const std::string& v : views) {
    at::Tensor t = at::randn(Shape(v), at::kDouble);
    if (v == view::kSalWeight) t = at::sigmoid(t);
    inputs.push_back(t);
  }
  inputs.push_back(at::randn({2, kD}, at::kDouble));  // the encoder's regularized parameter
  ParamsOnly encoder;
  // Row 1's user touched item 4: contrastive losses must mask that negative.
  const data::Csr history = data::CsrFromPairs(kB, kI, {{0, 0}, {1, 3}, {1, 4}, {2, 5}, {3, 8}});
  auto f = [&](const std::vector<at::Tensor>& x) {
    Views v;
    for (size_t n = 0; n < views.size(); ++n) v.Set(views[n], x[n]);
    encoder.params = {x.back()};
    return loss.Compute(Loss::Input{batch, v, encoder, &negatives, &history});
  };
  at::Tensor value = f(inputs);
  ASSERT_EQ(value.dim(), 0);
  EXPECT_TRUE(std::isfinite(value.item<double>()));
  const std::vector<std::string> stopped = loss.DetachedViews();
  std::vector<bool> detached;
  for (const std::string& v : views) {
    detached.push_back(std::find(stopped.begin(), stopped.end(), v) != stopped.end());
  }
  EXPECT_EQ(testing::GradCheck(f, inputs, detached), "");
}

// A loss that lets the optimizer add its gradient (Loss::CoupledDecay() = c) reads no view,
// counts once per step, and its gradient is c p on each regularized parameter (and its value
// (c / 2) sum ||p||^2): what the trainer's fold assumes.
TEST_P(LossConformance, ACoupledDecayIsTheTermsGradient) {
  auto created = LossRegistry::Global().Create(GetParam(), {}, Loss::Context{});
  ASSERT_TRUE(created.ok()) << created.status();
  Loss& loss = **created;
  const double c = loss.CoupledDecay();
  if (c == 0) GTEST_SKIP() << GetParam() << " takes its gradient from autograd";
  EXPECT_TRUE(loss.RequiredViews().empty());
  ParamsOnly encoder;
  at::manual_seed(2);
  encoder.params = {at::randn({3, 4}, at::kDouble).requires_grad_(true), at::randn({5}, at::kDouble).requires_grad_(true)};
  const Views no_views;
  const Batch batch;
  const Loss::Input input{batch, no_views, encoder};
  EXPECT_EQ(loss.BatchReduction(input).kind, Loss::Reduction::kParameters);
  const at::Tensor value = loss.Compute(input);
  double half_sum = 0;
  for (const at::Tensor& p : encoder.params) half_sum += c / 2 * p.detach().square().sum().item<double>();
  EXPECT_NEAR(value.item<double>(), half_sum, 1e-12 * half_sum);
  value.backward();
  for (const at::Tensor& p : encoder.params) EXPECT_TRUE(at::allclose(p.grad(), c * p.detach(), 1e-14, 0));
}

INSTANTIATE_TEST_SUITE_P(AllLosses, LossConformance,
                         ::testing::ValuesIn(LossRegistry::Global().Names()),
                         [](const auto& info) { return info.param; });

class LossValues : public ::testing::Test {
 protected:
  double Compute(const std::string& name, const Views& views, const Batch& batch, ArgMap args = {}) {
    auto loss = LossRegistry::Global().Create(name, args, Loss::Context{});
    EXPECT_TRUE(loss.ok()) << loss.status();
    return (*loss)->Compute(Loss::Input{batch, views, encoder_, nullptr}).item<double>();
  }
  Views PairViews() {
    Views v;
    v.Set(view::kUser, at::tensor({1.0, 0.0, 0.0, 2.0}).view({2, 2}));
    v.Set(view::kItem, at::tensor({1.0, 1.0, 2.0, 0.0, 0.0, 1.0}).view({3, 2}));
    return v;
  }
  Batch PairBatch() {
    Batch b;  // scores: (1 vs 2), (2 vs 2), (2 vs 0)
    b.pair_rows = Longs({0, 1, 1});
    b.pair_pos = Longs({0, 2, 2});
    b.pair_neg = Longs({1, 0, 1});
    return b;
  }
  ParamsOnly encoder_;
};

TEST_F(LossValues, HingeIsTheMeanOfMarginViolations) {
  // max(0, 1 - (1-2)) = 2, max(0, 1 - 0) = 1, max(0, 1 - 2) = 0.
  EXPECT_NEAR(Compute("hinge", PairViews(), PairBatch()), 1.0, 1e-12);
  EXPECT_NEAR(Compute("hinge", PairViews(), PairBatch(), {{"sum", "true"}}), 3.0, 1e-12);
  EXPECT_NEAR(Compute("hinge", PairViews(), PairBatch(), {{"margin", "0.5"}}), 2.0 / 3, 1e-12);
}

TEST_F(LossValues, BprIsTheMeanOfSoftplusOfNegMinusPos) {
  const double expected = (std::log1p(std::exp(1.0)) + std::log(2.0) + std::log1p(std::exp(-2.0))) / 3;
  EXPECT_NEAR(Compute("bpr", PairViews(), PairBatch()), expected, 1e-12);
}

TEST_F(LossValues, SalMatchesTheHandComputedPairs) {
  Views v;  // one slice, two users; see the arithmetic below
  v.Set(view::kUserLong, at::tensor({1.0, 2.0, 0.5, -1.0}).view({2, 2}));
  v.Set(view::kItem, at::tensor({1.0, 0.0, 2.0, 1.0, -1.0, 1.0}).view({3, 2}));
  v.Set(view::kUserShortSlices, at::tensor({1.0, 1.0, 2.0, 1.0}).view({1, 2, 2}));
  v.Set(view::kItemShortSlices, at::tensor({0.0, 1.0, 1.0, 1.0, 1.0, -1.0}).view({1, 3, 2}));
  v.Set(view::kSalWeight, at::tensor({0.5, 0.25}).view({1, 2}));
  Batch b;
  b.sal.push_back({Longs({0, 1}), Longs({1, 0}), Longs({1, 0}), Longs({2, 2})});
  // Pair 1, a=(u0,i1) b=(u1,i2): long 4 and -0.75, gap 0.5*4 - 0.25*(-0.75) = 2.1875;
  //   short 2 and 1.5, gap 0.5: max(0, 1 - 1.09375) = 0.
  // Pair 2, a=(u1,i0) b=(u0,i2): long 0.5 and 1.5, gap 0.125 - 0.75 = -0.625;
  //   short 1 and 0.5, gap 0.5: max(0, 1 + 0.3125) = 1.3125.
  EXPECT_NEAR(Compute("sal", v, b), 1.3125, 1e-12);
}

// SelfGNN's per-slice item embeddings (117 MB at the published Yelp shape) get sparse rows from
// the fusion's gathers, made before the losses, and a dense gradient from SAL: SAL's must be a
// buffer the engine adds those rows into in place, so that it is the only full-size one alive.
TEST_F(LossValues, SalsItemGradientTakesTheFusionsRowsInPlace) {
  const int64_t items = 100000;  // 2.4 MB of item slices
  Views v;
  v.Set(view::kUserLong, at::randn({2, 3}));
  v.Set(view::kItem, at::randn({3, 3}));
  v.Set(view::kUserShortSlices, at::randn({2, 2, 3}));
  v.Set(view::kSalWeight, at::rand({2, 2}));
  Batch b;
  for (int k = 0; k < 2; ++k) b.sal.push_back({Longs({0, 1}), Longs({1, 0}), Longs({1, 0}), Longs({2, 2})});
  const at::Tensor item_short = at::randn({2, items, 3}).requires_grad_(true);
  v.Set(view::kItemShortSlices, item_short);
  const at::Tensor fused_rows = cpu::GatherRowsSparseGradient(item_short, at::arange(0, 2 * items, 97, at::kLong));
  auto sal = LossRegistry::Global().Create("sal", {}, {});
  ASSERT_TRUE(sal.ok()) << sal.status();
  const at::Tensor loss = fused_rows.sum() + (*sal)->Compute(Loss::Input{b, v, encoder_, nullptr, nullptr});
  TensorMemory::StartTracking();
  const int64_t before = TensorMemory::Live();
  TensorMemory::ResetPeak();
  loss.backward();
  EXPECT_LT(TensorMemory::Peak() - before, item_short.numel() * 4 * 5 / 4) << "the rows went into a copy";
  // Every 97th flat row has its fused row's 1 added; SAL's pairs read items 0 to 2 only.
  const at::Tensor g = item_short.grad().reshape({-1, 3});
  EXPECT_TRUE(at::equal(g.index_select(0, at::arange(97, items, 97, at::kLong)), at::ones({(items - 1) / 97, 3})));
  const at::Tensor read = at::zeros({2 * items}, at::kBool)
                             .index_fill_(0, at::arange(0, 2 * items, 97, at::kLong), true)
                             .index_fill_(0, Longs({0, 1, 2, items, items + 1, items + 2}), true);
  EXPECT_EQ(g.index_select(0, read.logical_not().nonzero().view(-1)).count_nonzero().item<int64_t>(), 0)
      << "a gradient on rows no gather read";
}

// One anchor, d = 2, tau = 0.5: anchor (1,0); positive item 0 = (1,1) -> cosine 1/sqrt2;
// negatives item 1 = (0,2) -> cosine 0, item 2 = (-3,0) -> cosine -1, item 3 = (2,0) -> 1.
class ContrastiveValues : public ::testing::Test {
 protected:
  double Compute(const std::string& name, ArgMap args, const data::Csr* history = nullptr,
                 at::Tensor weights = at::Tensor()) {
    args["tau"] = "0.5";
    auto loss = LossRegistry::Global().Create(name, args, Loss::Context{view::kUserShort});
    EXPECT_TRUE(loss.ok()) << loss.status();
    Views v;
    v.Set(view::kUserShort, at::tensor({1.0, 0.0}).view({1, 2}));
    v.Set(view::kItem, at::tensor({1.0, 1.0, 0.0, 2.0, -3.0, 0.0, 2.0, 0.0}).view({4, 2}));
    Batch b;
    b.users = Longs({0});
    b.targets = Longs({0});
    Sampler::Result negatives{Longs({1, 2, 3}).view({1, 3}), weights};
    return (*loss)->Compute(Loss::Input{b, v, encoder_, &negatives, history}).item<double>();
  }
  ParamsOnly encoder_;
  const double pos_ = std::exp(std::sqrt(0.5) / 0.5);                  // e^{s+}
  const std::vector<double> neg_ = {1.0, std::exp(-2.0), std::exp(2.0)};  // e^{s_j}
};

TEST_F(ContrastiveValues, InfoNceIsTheFormula) {
  const double expected = -std::log(pos_ / (pos_ + neg_[0] + neg_[1] + neg_[2]));
  EXPECT_NEAR(Compute("infonce", {}), expected, 1e-12);
}

TEST_F(ContrastiveValues, NegativesFromTheHistoryAreMasked) {
  const data::Csr history = data::CsrFromPairs(1, 4, {{0, 0}, {0, 3}});  // item 3 was seen
  EXPECT_NEAR(Compute("infonce", {}, &history), -std::log(pos_ / (pos_ + neg_[0] + neg_[1])), 1e-12);
}

TEST_F(ContrastiveValues, ImportanceWeightsScaleTheNegatives) {
  // Weights (1, 2, 3) are rescaled to mean 1: (0.5, 1, 1.5).
  const double expected = -std::log(pos_ / (pos_ + 0.5 * neg_[0] + neg_[1] + 1.5 * neg_[2]));
  EXPECT_NEAR(Compute("infonce", {}, nullptr, at::tensor({1.0, 2.0, 3.0}).view({1, 3})), expected, 1e-12);
}

TEST_F(ContrastiveValues, DclIsTheDebiasedFormulaWithItsClamp) {
  const double n = 3, tau_plus = 0.1, sum = neg_[0] + neg_[1] + neg_[2];
  const double ng = std::max((sum - tau_plus * n * pos_) / (1 - tau_plus), n * std::exp(-2.0));
  EXPECT_NEAR(Compute("dcl", {{"tau_plus", "0.1"}}), -std::log(pos_ / (pos_ + ng)), 1e-12);
  // A large prior drives the estimate below the clamp N e^{-1/tau}.
  const double clamped = -std::log(pos_ / (pos_ + n * std::exp(-2.0)));
  EXPECT_NEAR(Compute("dcl", {{"tau_plus", "0.9"}}), clamped, 1e-12);
}

TEST_F(ContrastiveValues, HclTiltsTowardsTheAnchorAndReducesToInfoNce) {
  const double n = 3, beta = 1, tau_plus = 0.1;
  // Reference: w_j = neg_j^beta, E = sum_j w_j neg_j / mean_j w_j.
  double w_sum = 0, e = 0;
  for (double x : neg_) w_sum += std::pow(x, beta);
  for (double x : neg_) e += std::pow(x, beta) * x;
  e /= w_sum / n;
  const double ng = std::max((e - tau_plus * n * pos_) / (1 - tau_plus), n * std::exp(-2.0));
  EXPECT_NEAR(Compute("hcl", {{"beta", "1"}, {"tau_plus", "0.1"}}), -std::log(pos_ / (pos_ + ng)), 1e-12);
  const double infonce = Compute("infonce", {});
  EXPECT_NEAR(Compute("hcl", {{"beta", "0"}, {"tau_plus", "0"}}), infonce, 1e-12);
  EXPECT_NEAR(Compute("dcl", {{"tau_plus", "0"}}), infonce, 1e-12);
}

TEST_F(LossValues, L2IsTheSumOfSquaresWithoutAHalf) {
  encoder_.params = {at::tensor({1.0, 2.0}), at::tensor({3.0})};
  EXPECT_NEAR(Compute("l2", Views(), Batch()), 14.0, 1e-12);
}

// A sum of squares the trainer already knows (its optimizer's pass) stands in for a parameter's
// own where autograd is off, and only there: with autograd on, each parameter's sum is computed
// and carries its gradient.
TEST_F(LossValues, L2TakesAKnownSumOfSquaresOnlyWithoutAutograd) {
  encoder_.params = {at::tensor({1.0, 2.0}).requires_grad_(true), at::tensor({3.0}).requires_grad_(true)};
  auto l2 = LossRegistry::Global().Create("l2", {}, Loss::Context{});
  ASSERT_TRUE(l2.ok()) << l2.status();
  const Views no_views;
  const Batch batch;
  Loss::Input input{batch, no_views, encoder_};
  input.known_sum_of_squares = [&](const at::Tensor& p) -> std::optional<double> {
    if (p.is_same(encoder_.params[0])) return 100.0;  // not 1 + 4: shows which one was taken
    return std::nullopt;
  };
  {
    at::NoGradGuard no_grad;
    EXPECT_EQ((*l2)->Compute(input).item<double>(), 109.0);  // 100 known + 9 computed
  }
  const at::Tensor with_grad = (*l2)->Compute(input);
  EXPECT_EQ(with_grad.item<double>(), 14.0);
  with_grad.backward();
  EXPECT_TRUE(at::equal(encoder_.params[0].grad(), at::tensor({2.0, 4.0})));
}

}  // namespace
}  // namespace hardgnn
