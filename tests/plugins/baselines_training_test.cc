// LightGCN (bpr) and SASRec (next_item) trained briefly on a real subset of the embedded
// Gowalla-NYC check-ins beat the popularity ranking; both resume exactly (SASRec's dropout
// and next_item's negatives follow the per-step seed) and train with an InfoNCE term
// anchored on `user`.
#include <sys/stat.h>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "core/data/prepare.h"
#include "core/train/checkpoint.h"
#include "core/train/model_setup.h"
#include "core/train/trainer.h"
#include "gtest/gtest.h"
#include "tests/testing/gowalla_subset.h"

namespace hardgnn {
namespace {

struct Recipe {
  std::string encoder;
  std::vector<LossSpec> losses;
  std::map<std::string, ArgMap> args;  // by plugin
  EpochScheme scheme;
  int64_t batch_size;
  double lr;
  std::string sampler = "";
  std::string anchor = "";
};

Recipe LightGcn() {
  return {"lightgcn", {{"bpr", 1}, {"l2", 1e-4}},
          {{"lightgcn", {{"dim", "32"}, {"layers", "2"}}}, {"bpr", {{"negatives", "1"}}}},
          EpochScheme::kEvents, 1024, 5e-3};
}

Recipe SasRec() {
  return {"sasrec", {{"next_item", 1}}, {{"sasrec", {{"dim", "32"}, {"blocks", "2"}, {"dropout", "0.2"}}}},
          EpochScheme::kUsers, 128, 2e-3};
}

absl::StatusOr<Model> MakeModel(const data::PreparedDataset& d, const Recipe& r) {
  PluginChoice choice;
  choice.encoder = r.encoder;
  choice.losses = r.losses;
  choice.sampler = r.sampler;
  if (!r.anchor.empty()) choice.anchor_view = r.anchor;
  choice.max_seq_len = 50;
  return CreateModel(choice, d, 3, [&](const std::string& plugin, const PluginInfo&) {
    auto it = r.args.find(plugin);
    return it == r.args.end() ? ArgMap{} : it->second;
  });
}

TrainOptions Options(const Recipe& r, int64_t epochs) {
  TrainOptions o;
  o.epochs = epochs;
  o.eval_every = 3;
  o.epoch_scheme = r.scheme;
  o.users_per_epoch = 0;      // users: every user once per epoch ...
  o.batch.pred_num = 0;       // ... with the last training item as the target
  o.batch_size = r.batch_size;
  o.lr = r.lr;
  o.lr_decay = 1;
  o.batch.max_seq_len = 50;
  o.eval.max_seq_len = 50;
  o.eval.full_ranking = false;
  return o;
}

absl::StatusOr<TrainSummary> TrainRecipe(const data::PreparedDataset& d, const Recipe& r, TrainOptions o) {
  absl::StatusOr<Model> model = MakeModel(d, r);
  if (!model.ok()) return model.status();
  return Train(*model, d, o);
}

using testing::GowallaSubset;

TEST(BaselinesTrainingTest, LightGcnAndSasRecBeatPopularity) {
  const data::PreparedDataset d = GowallaSubset();
  ASSERT_GT(d.num_users, 300);
  Recipe popularity{"popularity", {}, {}, EpochScheme::kUsers, 128, 1e-3};
  auto pop = TrainRecipe(d, popularity, Options(popularity, 1));
  ASSERT_TRUE(pop.ok()) << pop.status();
  const double pop_hr = pop->best.validation.sampled.Hr(10);
  for (const Recipe& r : {LightGcn(), SasRec()}) {
    auto summary = TrainRecipe(d, r, Options(r, 12));
    ASSERT_TRUE(summary.ok()) << summary.status();
    const double hr = summary->best.validation.sampled.Hr(10);
    std::printf("users %d items %d: validation HR@10 popularity %.4f %s %.4f (test %.4f vs %.4f), loss %.4f -> %.4f\n",
                d.num_users, d.num_items, pop_hr, r.encoder.c_str(), hr, pop->best.test.sampled.Hr(10),
                summary->best.test.sampled.Hr(10), summary->epoch_loss.front(), summary->epoch_loss.back());
    EXPECT_LT(summary->epoch_loss.back(), 0.9 * summary->epoch_loss.front()) << r.encoder;
    EXPECT_GT(hr, pop_hr) << r.encoder;
  }
}

data::PreparedDataset Small() {
  std::vector<data::Triple> triples;
  for (int u = 0; u < 60; ++u) {
    for (int j = 0; j < 5 + u % 11; ++j) {
      triples.push_back({"u" + std::to_string(u), "i" + std::to_string((u * 13 + j * j) % 45), 10 * j + u % 10});
    }
  }
  auto d = data::PrepareTriples(triples, /*num_slices=*/2, /*eval_negatives=*/20);
  EXPECT_TRUE(d.ok()) << d.status();
  return *d;
}

at::Tensor LastParameters(const data::PreparedDataset& d, const Recipe& r, const std::string& dir) {
  auto model = MakeModel(d, r);
  EXPECT_TRUE(LoadCheckpoint(dir + "/last.pt", *model->encoder, nullptr, {}, IdentityCheck::kModel).ok());
  std::vector<at::Tensor> flat;
  for (const at::Tensor& p : model->encoder->parameters()) flat.push_back(p.detach().reshape(-1));
  return at::cat(flat);
}

TEST(BaselinesTrainingTest, ResumeContinuesExactly) {
  const data::PreparedDataset d = Small();
  Recipe infonce = SasRec();
  infonce.losses.push_back({"infonce", 0.1});
  infonce.sampler = "random";
  infonce.anchor = "user";
  Recipe lightgcn_infonce = LightGcn();
  lightgcn_infonce.losses.push_back({"infonce", 0.1});
  lightgcn_infonce.sampler = "random";
  lightgcn_infonce.anchor = "user";
  int n = 0;
  for (const Recipe& r : {LightGcn(), SasRec(), infonce, lightgcn_infonce}) {
    const std::string straight = ::testing::TempDir() + "/straight" + std::to_string(n),
                      split = ::testing::TempDir() + "/split" + std::to_string(n);
    ++n;
    mkdir(straight.c_str(), 0755);
    mkdir(split.c_str(), 0755);
    TrainOptions o = Options(r, 4);
    o.batch_size = 16;
    o.run_dir = straight;
    auto full = TrainRecipe(d, r, o);
    ASSERT_TRUE(full.ok()) << full.status();
    EXPECT_LT(full->epoch_loss.back(), full->epoch_loss.front()) << r.encoder << " " << r.losses.size();
    o.run_dir = split;
    o.epochs = 2;
    ASSERT_TRUE(TrainRecipe(d, r, o).ok());
    o.epochs = 4;
    o.resume = true;
    auto rest = TrainRecipe(d, r, o);
    ASSERT_TRUE(rest.ok()) << rest.status();
    EXPECT_EQ(rest->epochs_run, 2);
    EXPECT_TRUE(at::equal(LastParameters(d, r, straight), LastParameters(d, r, split))) << r.encoder;
  }
}

}  // namespace
}  // namespace hardgnn
