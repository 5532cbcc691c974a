// SelfGNN and HardGNN training steps (forward, sampler, losses, backward, Adam) give the same
// losses, gradients and parameters, bit for bit, at 1 and at 2 threads (ARCHITECTURE.md,
// "Determinism"). The sizes reach every thread-dependent path of a stock LibTorch step: full
// sums of more than 32768 elements (the L2 term), at::layer_norm's γ/β gradients, and weight
// gradients whose product runs on the main thread with a long K (333 users x 3 slices).
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/optim/adam.h>

#include "core/data/prepare.h"
#include "core/model/encoder.h"
#include "core/train/batch_builder.h"
#include "core/train/model_setup.h"
#include "gtest/gtest.h"

namespace hardgnn {
namespace {

constexpr int64_t kSeqLen = 30;
constexpr size_t kBatchUsers = 333;  // K = 999 rows: a length OpenBLAS's threaded driver cuts differently
constexpr int kSteps = 3;

data::PreparedDataset Dataset() {
  std::vector<data::Triple> triples;
  for (int u = 0; u < 500; ++u) {
    for (int j = 0; j < 8 + u % 13; ++j) {
      const int item = (u * 7 + j * j * 3 + (u % 5) * j) % 240;
      triples.push_back({"u" + std::to_string(u), "i" + std::to_string(item), 20 * j + u % 17});
    }
  }
  auto d = data::PrepareTriples(triples, /*num_slices=*/3, /*eval_negatives=*/20);
  EXPECT_TRUE(d.ok()) << d.status();
  return *d;
}

// What one run records: each step's loss terms and gradients, and the final parameters.
struct Record {
  std::vector<double> terms;
  std::vector<std::string> names;
  std::vector<at::Tensor> tensors;
  void Add(const std::string& name, const at::Tensor& t) {
    names.push_back(name);
    tensors.push_back(t.defined() ? t.detach().clone() : t);
  }
};

Model MakeModel(const data::PreparedDataset& d, bool hardgnn) {
  PluginChoice choice;
  choice.encoder = "selfgnn";
  choice.losses = {{"bpr", 1}, {"sal", 1e-6}, {"l2", 1e-3}};
  choice.max_seq_len = kSeqLen;
  if (hardgnn) {
    choice.sampler = "hard_cosine";
    choice.losses.push_back({"infonce", 0.1});
  }
  auto model = CreateModel(choice, d, 7, [](const std::string& plugin, const PluginInfo&) -> ArgMap {
    if (plugin == "selfgnn") return {{"att_layers", "1"}, {"keep_rate", "0.9"}, {"ssl_dim", "48"}};
    if (plugin == "bpr") return {{"negatives", "10"}};
    if (plugin == "sal") return {{"samples", "10"}};
    return {};
  });
  EXPECT_TRUE(model.ok()) << model.status();
  return std::move(*model);
}

// One training step as the trainer takes it; returns the total loss.
at::Tensor StepLoss(Model& model, const BatchBuilder& builder, const data::PreparedDataset& d, const Batch& batch,
                    uint64_t seed, Record& record) {
  Encoder& encoder = *model.encoder;
  const bool all_items = model.sampler != nullptr;
  Views views = encoder.Forward(batch, all_items);
  Sampler::Result negatives;
  if (model.sampler != nullptr) {
    Sampler::Request request;
    request.anchors = views.Get(view::kUserShort).detach();
    request.items = views.Get(view::kItem).detach();
    request.users = batch.users;
    request.positives = batch.targets;
    request.history = &builder.Seen();
    request.num_items = d.num_items;
    request.seed = seed;
    negatives = *model.sampler->Sample(request);
    const at::Tensor picked = std::get<0>(at::_unique(negatives.ids.reshape(-1)));
    encoder.AddItemRows(views, picked.masked_select(at::isin(picked, batch.touched_items).logical_not()));
  }
  at::Tensor total = at::zeros({});
  for (WeightedLoss& l : model.losses) {
    Loss::Input input{batch, views, encoder, model.sampler ? &negatives : nullptr, &builder.Seen()};
    const at::Tensor term = l.loss->Compute(input);
    record.terms.push_back(term.item<double>());
    total = total + l.weight * term;
  }
  return total;
}

Record Train(const data::PreparedDataset& d, bool hardgnn, int threads) {
  at::set_num_threads(threads);
  Model model = MakeModel(d, hardgnn);
  BatchOptions o;
  o.max_seq_len = kSeqLen;
  for (const WeightedLoss& l : model.losses) {
    o.rec_negatives = std::max(o.rec_negatives, l.loss->Needs().rec_negatives);
    o.sal_samples = std::max(o.sal_samples, l.loss->Needs().sal_samples);
  }
  BatchBuilder builder(d, o);
  const std::vector<int32_t>& users = builder.TrainableUsers();
  EXPECT_GT(users.size(), kBatchUsers);
  torch::optim::Adam adam(model.encoder->parameters(), torch::optim::AdamOptions(1e-2));
  Record record;
  for (int step = 0; step < kSteps; ++step) {
    const size_t begin = (step * kBatchUsers) % users.size();
    const std::vector<int32_t> chunk(users.begin() + begin, users.begin() + std::min(users.size(), begin + kBatchUsers));
    const Batch batch = builder.Build(chunk, 100 + step);
    at::manual_seed(step);  // dropout
    for (at::Tensor& p : model.encoder->parameters()) p.mutable_grad() = at::Tensor();
    StepLoss(model, builder, d, batch, 200 + step, record).backward();
    for (const auto& p : model.encoder->named_parameters()) record.Add("step " + std::to_string(step) + " gradient of " + p.key(), p.value().grad());
    adam.step();
  }
  for (const auto& p : model.encoder->named_parameters()) record.Add("trained " + p.key(), p.value());
  return record;
}

void ExpectBitIdentical(const Record& one, const Record& two) {
  ASSERT_EQ(one.terms.size(), two.terms.size());
  for (size_t i = 0; i < one.terms.size(); ++i) EXPECT_EQ(one.terms[i], two.terms[i]) << "loss term " << i;
  ASSERT_EQ(one.names, two.names);
  for (size_t i = 0; i < one.tensors.size(); ++i) {
    const at::Tensor &a = one.tensors[i], &b = two.tensors[i];
    ASSERT_EQ(a.defined(), b.defined()) << one.names[i];
    if (a.defined()) {
      EXPECT_TRUE(at::equal(a, b)) << one.names[i] << " differs between 1 and 2 threads";
    }
  }
}

class ThreadCountTest : public ::testing::Test {
 protected:
  void TearDown() override { at::set_num_threads(1); }
  const data::PreparedDataset dataset_ = Dataset();
};

TEST_F(ThreadCountTest, SelfGnnStepsAreBitIdenticalAtOneAndTwoThreads) {
  ExpectBitIdentical(Train(dataset_, /*hardgnn=*/false, 1), Train(dataset_, false, 2));
}

TEST_F(ThreadCountTest, HardGnnStepsAreBitIdenticalAtOneAndTwoThreads) {
  ExpectBitIdentical(Train(dataset_, /*hardgnn=*/true, 1), Train(dataset_, true, 2));
}

}  // namespace
}  // namespace hardgnn
