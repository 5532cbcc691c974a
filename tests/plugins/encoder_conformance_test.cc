// Every registered encoder, with its default parameters, on a small dataset: the views it
// promises with consistent shapes, evaluation scores consistent with the training views,
// item rows independent of how many items the step fuses, determinism under a seed.
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "core/data/prepare.h"
#include "core/model/encoder.h"
#include "core/train/batch_builder.h"
#include "gtest/gtest.h"

namespace hardgnn {
namespace {

constexpr int64_t kSeqLen = 12;

data::PreparedDataset Dataset() {
  std::vector<data::Triple> triples;
  for (int u = 0; u < 25; ++u) {
    for (int j = 0; j < 5 + u % 9; ++j) {
      triples.push_back({"u" + std::to_string(u), "i" + std::to_string((u * 7 + j * 5) % 31), 10 * j + u});
    }
  }
  auto d = data::PrepareTriples(triples, /*num_slices=*/3, /*eval_negatives=*/20);
  EXPECT_TRUE(d.ok()) << d.status();
  return *d;
}

class EncoderConformance : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    dataset_ = Dataset();
    encoder_ = Make(11);
    BatchOptions o;
    o.max_seq_len = kSeqLen;
    o.rec_negatives = 4;
    o.sal_samples = 2;
    batch_ = BatchBuilder(dataset_, o).Build({0, 4, 9, 13, 24}, 3);
  }
  std::unique_ptr<Encoder> Make(uint64_t seed) {
    auto e = EncoderRegistry::Global().Create(GetParam(), {}, {&dataset_, seed, kSeqLen});
    EXPECT_TRUE(e.ok()) << e.status();
    return e.ok() ? std::move(*e) : nullptr;
  }
  data::PreparedDataset dataset_;
  std::unique_ptr<Encoder> encoder_;
  Batch batch_;
};

TEST_P(EncoderConformance, PublishesItsViewsWithConsistentShapes) {
  ASSERT_NE(encoder_, nullptr);
  Views v = encoder_->Forward(batch_, /*all_items=*/false);
  const int64_t b = batch_.size(), items = dataset_.num_items, g = dataset_.num_slices();
  for (const std::string& name : encoder_->ProvidedViews()) ASSERT_TRUE(v.Has(name)) << name;
  ASSERT_TRUE(v.Has(view::kUser) && v.Has(view::kItem));
  const int64_t d = v.Get(view::kUser).size(1);
  EXPECT_EQ(v.Get(view::kUser).sizes(), (std::vector<int64_t>{b, d}));
  EXPECT_EQ(v.Get(view::kItem).sizes(), (std::vector<int64_t>{items, d}));
  for (const char* name : {view::kUserLong, view::kUserSeq, view::kUserShort}) {
    if (v.Has(name)) {
      EXPECT_EQ(v.Get(name).sizes(), (std::vector<int64_t>{b, d})) << name;
    }
  }
  if (v.Has(view::kUserShortSlices)) {
    EXPECT_EQ(v.Get(view::kUserShortSlices).sizes(), (std::vector<int64_t>{g, b, d}));
  }
  if (v.Has(view::kItemShortSlices)) {
    EXPECT_EQ(v.Get(view::kItemShortSlices).sizes(), (std::vector<int64_t>{g, items, d}));
  }
  if (v.Has(view::kSeqHidden)) {  // [B,M,d], zero at padded positions
    const at::Tensor& h = v.Get(view::kSeqHidden);
    EXPECT_EQ(h.sizes(), (std::vector<int64_t>{b, kSeqLen, d}));
    EXPECT_EQ((h.abs().sum(2) * (1 - batch_.seq_mask)).sum().item<double>(), 0.0);
  }
  if (v.Has(view::kSalWeight)) {
    const at::Tensor& w = v.Get(view::kSalWeight);
    EXPECT_EQ(w.sizes(), (std::vector<int64_t>{g, b}));
    EXPECT_TRUE(((w > 0) & (w < 1)).all().item<bool>());
  }
  for (const std::string& name : v.Names()) EXPECT_TRUE(at::isfinite(v.Get(name)).all().item<bool>()) << name;
}

// An encoder that lets the trainer compute the L2 term before the forward pass must penalize
// the same tensors, with the same values, whatever the step's Forward did: a batch's rows
// (LightGCN's layer-0 rows of its pairs) are not.
TEST_P(EncoderConformance, RegularizedBeforeForwardMeansTheForwardDoesNotChangeThePenalty) {
  if (!encoder_->RegularizedBeforeForward()) GTEST_SKIP() << GetParam() << " penalizes what its Forward picks";
  const std::vector<at::Tensor> before = encoder_->RegularizedParameters();
  for (const at::Tensor& p : before) ASSERT_TRUE(p.defined() && p.requires_grad()) << GetParam();
  encoder_->Forward(batch_, false);
  BatchOptions o;
  o.max_seq_len = kSeqLen;
  encoder_->Forward(BatchBuilder(dataset_, o).Build({1, 2}, 5), true);
  const std::vector<at::Tensor> after = encoder_->RegularizedParameters();
  ASSERT_EQ(before.size(), after.size());
  for (size_t i = 0; i < before.size(); ++i) {
    EXPECT_TRUE(before[i].is_same(after[i])) << GetParam() << " #" << i;
    EXPECT_TRUE(at::equal(before[i], after[i])) << GetParam() << " #" << i;
  }
}

TEST_P(EncoderConformance, GradientsReachTheParameters) {
  if (!encoder_->Trainable()) GTEST_SKIP() << GetParam() << " has nothing to train";
  Views v = encoder_->Forward(batch_, false);
  at::Tensor scores = (v.Get(view::kUser).index_select(0, batch_.pair_rows) *
                       v.Get(view::kItem).index_select(0, batch_.pair_pos)).sum();
  scores.backward();
  int64_t with_grad = 0;
  for (const at::Tensor& p : encoder_->parameters()) with_grad += p.grad().defined() && p.grad().abs().sum().item<double>() > 0;
  EXPECT_GT(with_grad, 0);
}

TEST_P(EncoderConformance, EvalScoresEqualTrainingViewsWithoutDropout) {
  encoder_->eval();
  torch::NoGradGuard no_grad;
  Views partial = encoder_->Forward(batch_, false), full = encoder_->Forward(batch_, true);
  // Touched item rows do not depend on whether every item was fused.
  at::Tensor touched = batch_.touched_items;
  EXPECT_TRUE(at::allclose(partial.Get(view::kItem).index_select(0, touched),
                           full.Get(view::kItem).index_select(0, touched), 1e-5, 1e-6));
  // The evaluation scorer gives the same vectors as the training forward in eval mode.
  std::unique_ptr<EvalScorer> scorer = encoder_->MakeEvalScorer();
  EXPECT_TRUE(at::allclose(scorer->Items(), full.Get(view::kItem), 1e-5, 1e-6));
  EXPECT_TRUE(at::allclose(scorer->Queries(batch_), full.Get(view::kUser), 1e-5, 1e-6));
}

TEST_P(EncoderConformance, DeterministicUnderSeed) {
  torch::NoGradGuard no_grad;
  std::unique_ptr<Encoder> again = Make(11);
  encoder_->eval();
  again->eval();
  auto a = encoder_->MakeEvalScorer(), b = again->MakeEvalScorer();
  EXPECT_TRUE(at::equal(a->Items(), b->Items()));
  EXPECT_TRUE(at::equal(a->Queries(batch_), b->Queries(batch_)));
}

INSTANTIATE_TEST_SUITE_P(AllEncoders, EncoderConformance,
                         ::testing::ValuesIn(EncoderRegistry::Global().Names()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace hardgnn
