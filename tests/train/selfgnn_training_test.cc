// A short SelfGNN training run on a small real subset of the embedded Gowalla-NYC check-ins:
// the loss falls and the selected model's HR@10 beats the popularity ranking.
#include <string>

#include "core/data/prepare.h"
#include "core/train/model_setup.h"
#include "core/train/trainer.h"
#include "gtest/gtest.h"
#include "tests/testing/gowalla_subset.h"

namespace hardgnn {
namespace {

using testing::GowallaSubset;

absl::StatusOr<TrainSummary> TrainModel(const data::PreparedDataset& d, const std::string& encoder,
                                        std::vector<LossSpec> losses, ArgMap encoder_args) {
  PluginChoice choice;
  choice.encoder = encoder;
  choice.losses = std::move(losses);
  choice.max_seq_len = 50;
  auto model = CreateModel(choice, d, 3, [&](const std::string& plugin, const PluginInfo&) {
    return plugin == encoder ? encoder_args : ArgMap{};
  });
  if (!model.ok()) return model.status();
  TrainOptions o;
  o.epochs = 12;
  o.eval_every = 3;
  o.users_per_epoch = 0;
  o.batch_size = 256;
  o.lr = 2e-3;
  o.batch.max_seq_len = 50;
  o.eval.max_seq_len = 50;
  o.eval.full_ranking = false;
  return Train(*model, d, o);
}

TEST(SelfGnnTrainingTest, LossFallsAndBeatsPopularity) {
  const data::PreparedDataset d = GowallaSubset();
  ASSERT_GT(d.num_users, 300);
  auto popularity = TrainModel(d, "popularity", {}, {});
  ASSERT_TRUE(popularity.ok()) << popularity.status();
  auto selfgnn = TrainModel(d, "selfgnn", {{"hinge", 1}, {"sal", 1e-6}, {"l2", 1e-3}},
                            {{"dim", "32"}, {"gnn_layers", "2"}, {"att_layers", "1"}});
  ASSERT_TRUE(selfgnn.ok()) << selfgnn.status();
  EXPECT_LT(selfgnn->epoch_loss.back(), 0.7 * selfgnn->epoch_loss.front());
  const double pop = popularity->best.validation.sampled.Hr(10), ours = selfgnn->best.validation.sampled.Hr(10);
  std::printf("users %d items %d: validation HR@10 popularity %.4f selfgnn %.4f (test %.4f vs %.4f)\n", d.num_users,
              d.num_items, pop, ours, popularity->best.test.sampled.Hr(10), selfgnn->best.test.sampled.Hr(10));
  EXPECT_GT(ours, pop);
}

}  // namespace
}  // namespace hardgnn
