// Batch building (SPEC §1.5, §2.5, §2.6), the learning-rate schedule (§2.9), checkpoints,
// the selection metric, and the training loop's determinism and resume.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/optim/adam.h>

#include "core/cli/json.h"
#include "core/data/prepare.h"
#include "core/model/sampler.h"
#include "core/train/batch_builder.h"
#include "core/train/checkpoint.h"
#include "core/train/selection.h"
#include "core/train/trainer.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace hardgnn {
namespace {

data::PreparedDataset SmallDataset(int users = 40, int items = 60,
                                   std::vector<data::Triple> triples = {}) {
  for (int u = 0; u < users; ++u) {
    const int n = 4 + (u * 7) % 23;
    for (int j = 0; j < n; ++j) {
      triples.push_back({"u" + std::to_string(u), "i" + std::to_string((u * 13 + j * j) % items), 10 * j + u % 10});
    }
  }
  auto d = data::PrepareTriples(triples, /*num_slices=*/3, /*eval_negatives=*/30);
  EXPECT_TRUE(d.ok()) << d.status();
  return *d;
}

std::vector<int64_t> Row(const at::Tensor& t, int64_t r) {
  at::Tensor row = t[r].contiguous();
  return std::vector<int64_t>(row.data_ptr<int64_t>(), row.data_ptr<int64_t>() + row.numel());
}

TEST(LearningRateTest, StaircaseDecayOfThePublishedCode) {
  TrainOptions o;  // lr 1e-3, decay 0.96 every 19 steps
  EXPECT_DOUBLE_EQ(LearningRateAt(o, 0), 1e-3);
  EXPECT_DOUBLE_EQ(LearningRateAt(o, 18), 1e-3);
  EXPECT_DOUBLE_EQ(LearningRateAt(o, 19), 1e-3 * 0.96);
  EXPECT_DOUBLE_EQ(LearningRateAt(o, 57), 1e-3 * 0.96 * 0.96 * 0.96);
  EXPECT_NEAR(LearningRateAt(o, 3000), 1e-3 * std::pow(0.96, 157), 1e-18);  // ~0.00165 lr
}

TEST(LearningRateTest, AScheduleInEpochsIsOneInStepsOfThatManyEpochs) {
  TrainOptions o;
  EXPECT_EQ(DecayStairSteps(o, 50), 19) << "no epochs given: the steps";
  o.lr_decay_epochs = 3;
  EXPECT_EQ(DecayStairSteps(o, 50), 150);
  EXPECT_EQ(DecayStairSteps(o, 100), 300) << "twice the users per epoch: twice the steps per stair";
}

TEST(SelectionTest, ParsesEachProtocolAndMetricAndReadsThatField) {
  EvalResult r;
  r.validation.sampled.ndcg = {0.11, 0.12, 0.13};
  r.validation.sampled.hr = {0.21, 0.22, 0.23};
  r.validation.full.ndcg = {0.31, 0.32, 0.33};
  r.validation.full.hr = {0.41, 0.42, 0.43};
  r.validation.full.mrr = 0.5;
  r.test.sampled.ndcg = {0.61, 0.62, 0.63};
  const std::vector<std::pair<std::string, double>> cases = {
      {"paper:ndcg@10", 0.12}, {"paper:ndcg@5", 0.11}, {"paper:hr@20", 0.23},
      {"full:ndcg@10", 0.32},  {"full:hr@5", 0.41},    {"full:mrr", 0.5}};
  for (const auto& [text, value] : cases) {
    absl::StatusOr<Selection> s = ParseSelection(text);
    ASSERT_TRUE(s.ok()) << text << ": " << s.status();
    EXPECT_EQ(s->Of(r), value) << text;
  }
  Selection on_test = *ParseSelection("paper:ndcg@20");
  on_test.on_test = true;
  EXPECT_EQ(on_test.Of(r), 0.63);
  EXPECT_EQ(ParseSelection("full:ndcg@10")->Name(), "validation full-ranking NDCG@10");
  EXPECT_EQ(Selection().Name(), "validation paper NDCG@10");
  for (const char* bad : {"", "ndcg@10", "paper:", "paper:ndcg", "paper:ndcg@7", "sampled:hr@10", "full:auc@10",
                          "full:ndcg@10x", "paper:mrr:1"}) {
    absl::StatusOr<Selection> s = ParseSelection(bad);
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_NE(std::string(s.status().message()).find("paper:ndcg@10"), std::string::npos) << s.status();
  }
}

TEST(BatchBuilderTest, TargetsInputsAndRankingNegatives) {
  const data::PreparedDataset d = SmallDataset();
  BatchOptions o;
  o.max_seq_len = 8;
  o.pred_num = 5;
  o.rec_negatives = 40;
  BatchBuilder builder(d, o);
  std::vector<int32_t> users = {0, 3, 7, 11, 30};
  Batch b = builder.Build(users, 17);
  ASSERT_EQ(b.size(), 5);
  std::set<int64_t> touched;
  for (int64_t r = 0; r < b.size(); ++r) {
    const int32_t u = users[r];
    const int32_t* s = d.Sequence(u);
    const int64_t p = d.train_len[u];
    ASSERT_EQ(builder.TrainPrefix(u), p);
    // The target is s[p - c] for some c in 1..max(1, min(6, p - 3)); the input is s[0, p - c).
    const int64_t c_max = std::max<int64_t>(1, std::min<int64_t>(6, p - 3));
    int64_t c = -1;
    for (int64_t cc = 1; cc <= c_max; ++cc) {
      const std::vector<int64_t> seq = Row(b.seq, r);
      const int64_t kept = std::min<int64_t>(p - cc, o.max_seq_len);
      bool match = b.targets[r].item<int64_t>() == s[p - cc] &&
                   b.seq_mask[r].sum().item<float>() == kept;
      for (int64_t j = 0; match && j < kept; ++j) match = seq[o.max_seq_len - kept + j] == s[p - cc - kept + j];
      if (match) c = cc;
    }
    EXPECT_NE(c, -1) << "row " << r << ": target/input do not follow SPEC §1.5";
    touched.insert(b.targets[r].item<int64_t>());
  }
  // min(40, |P|) negatives per user, all outside the user's items.
  std::vector<int64_t> per_row(b.size(), 0);
  for (int64_t j = 0; j < b.pair_rows.size(0); ++j) {
    const int64_t r = b.pair_rows[j].item<int64_t>();
    ++per_row[r];
    EXPECT_EQ(b.pair_pos[j].item<int64_t>(), b.targets[r].item<int64_t>());
    EXPECT_FALSE(builder.Seen().Contains(users[r], b.pair_neg[j].item<int32_t>()));
    touched.insert(b.pair_neg[j].item<int64_t>());
  }
  for (int64_t r = 0; r < b.size(); ++r) EXPECT_EQ(per_row[r], std::min<int64_t>(40, d.train_len[users[r]]));
  for (int64_t j = 0; j < b.seq.numel(); ++j) {
    if (b.seq_mask.view(-1)[j].item<float>() > 0) touched.insert(b.seq.view(-1)[j].item<int64_t>());
  }
  EXPECT_EQ(std::vector<int64_t>(touched.begin(), touched.end()), Row(b.touched_items.unsqueeze(0), 0));
}

TEST(BatchBuilderTest, OfficialSplitDrawsFromAllButTheLastEvent) {
  const data::PreparedDataset d = SmallDataset();
  BatchOptions o;
  o.split = TrainSplit::kOfficial;
  o.pred_num = 0;  // c = 1: the target is the last event of the prefix (Amazon's setting)
  BatchBuilder builder(d, o);
  Batch b = builder.Build({5}, 1);
  EXPECT_EQ(builder.TrainPrefix(5), d.SequenceLength(5) - 1);
  EXPECT_EQ(b.targets[0].item<int64_t>(), d.val_item[5]) << "the published code trains on the validation item";
}

// Held-out items of user u that its training prefix does not contain.
std::vector<int32_t> HeldOutOnly(const data::PreparedDataset& d, int32_t u) {
  std::vector<int32_t> out;
  const int32_t* s = d.Sequence(u);
  for (int32_t item : {d.val_item[u], d.test_item[u]}) {
    if (item >= 0 && std::find(s, s + d.train_len[u], item) == s + d.train_len[u]) out.push_back(item);
  }
  return out;
}

TEST(BatchBuilderTest, CleanNegativesAvoidOnlyTheTrainingPrefix) {
  const data::PreparedDataset d = SmallDataset();
  BatchOptions o;
  o.rec_negatives = 40;
  BatchBuilder clean(d, o);
  o.seen = SeenItems::kWholeSequence;
  BatchBuilder published(d, o);
  int64_t held_out_users = 0;
  for (int32_t u = 0; u < d.num_users; ++u) {
    std::set<int32_t> prefix(d.Sequence(u), d.Sequence(u) + d.train_len[u]);
    EXPECT_EQ(std::vector<int32_t>(prefix.begin(), prefix.end()),
              std::vector<int32_t>(clean.Seen().RowBegin(u), clean.Seen().RowEnd(u))) << "user " << u;
    EXPECT_EQ(std::vector<int32_t>(d.interacted.RowBegin(u), d.interacted.RowEnd(u)),
              std::vector<int32_t>(published.Seen().RowBegin(u), published.Seen().RowEnd(u)));
    held_out_users += !HeldOutOnly(d, u).empty();
  }
  ASSERT_GE(held_out_users, 10);
  std::vector<int32_t> users;
  for (int32_t u = 0; u < d.num_users; ++u) users.push_back(u);
  int64_t clean_hits = 0, published_hits = 0;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    for (auto [builder, hits] : {std::pair{&clean, &clean_hits}, std::pair{&published, &published_hits}}) {
      Batch b = builder->Build(users, seed);
      for (int64_t j = 0; j < b.pair_neg.size(0); ++j) {
        const std::vector<int32_t> held = HeldOutOnly(d, users[b.pair_rows[j].item<int64_t>()]);
        *hits += std::count(held.begin(), held.end(), b.pair_neg[j].item<int32_t>());
      }
    }
  }
  EXPECT_GT(clean_hits, 0) << "under the clean protocol a held-out item is an ordinary unseen item";
  EXPECT_EQ(published_hits, 0);
}

TEST(BatchBuilderTest, EventRowsTrainOnExactlyThatEventAfterItsPrefix) {
  const data::PreparedDataset d = SmallDataset();
  BatchOptions o;
  o.max_seq_len = 50;
  o.rec_negatives = 1;
  BatchBuilder builder(d, o);
  const std::vector<TrainingEvent> events = builder.TrainingEvents();
  int64_t expected = 0;
  for (int32_t u : builder.TrainableUsers()) expected += d.train_len[u];
  ASSERT_EQ(static_cast<int64_t>(events.size()), expected) << "every prefix event once";
  std::set<std::pair<int32_t, int32_t>> distinct;
  for (const TrainingEvent& e : events) distinct.insert({e.user, e.pos});
  EXPECT_EQ(distinct.size(), events.size());
  // Two events of one user in one batch: each row its own target, input and negative draw.
  const int32_t u = builder.TrainableUsers()[3];
  ASSERT_GE(d.train_len[u], 3);
  const Batch b = builder.BuildRows(std::vector<TrainingEvent>{{u, 0}, {u, 2}}, 11);
  EXPECT_EQ(b.targets[0].item<int64_t>(), d.Sequence(u)[0]);
  EXPECT_EQ(b.targets[1].item<int64_t>(), d.Sequence(u)[2]);
  EXPECT_EQ(b.seq_mask[0].sum().item<float>(), 0);
  EXPECT_EQ(b.seq_mask[1].sum().item<float>(), 2);
  EXPECT_EQ(Row(b.seq, 1)[o.max_seq_len - 1], d.Sequence(u)[1]);
  EXPECT_EQ(b.pair_rows.size(0), 2) << "one negative per row (min(rec_negatives, |training prefix|))";
  // The user-row form draws the same batch as before the event form existed: row pos -1.
  EXPECT_TRUE(at::equal(builder.Build(std::vector<int32_t>{u}, 5).targets,
                        builder.BuildRows(std::vector<TrainingEvent>{{u, -1}}, 5).targets));
}

TEST(BatchBuilderTest, SalEntriesPairFirstHalfWithSecondHalf) {
  const data::PreparedDataset d = SmallDataset();
  BatchOptions o;
  o.sal_samples = 3;
  BatchBuilder builder(d, o);
  std::vector<int32_t> users = {1, 2, 4, 9};
  Batch b = builder.Build(users, 5);
  ASSERT_EQ(static_cast<int>(b.sal.size()), d.num_slices());
  for (int k = 0; k < d.num_slices(); ++k) {
    const SalPairs& p = b.sal[k];
    int64_t expected = 0;  // 2m entries per user, m = min(3, |P_k(u)| / 2)
    for (int32_t u : users) expected += 2 * std::min<int64_t>(3, d.slice_user_item[k].RowSize(u) / 2);
    ASSERT_EQ(p.rows_a.size(0) + p.rows_b.size(0), expected);
    ASSERT_EQ(p.rows_a.size(0), p.rows_b.size(0));
    // Entries were appended user by user: the concatenation a ++ b lists rows in batch order,
    // and every item comes from that user's slice k.
    at::Tensor rows = at::cat({p.rows_a, p.rows_b}), items = at::cat({p.items_a, p.items_b});
    for (int64_t j = 0; j < rows.size(0); ++j) {
      if (j > 0) {
        EXPECT_LE(rows[j - 1].item<int64_t>(), rows[j].item<int64_t>());
      }
      EXPECT_TRUE(d.slice_user_item[k].Contains(users[rows[j].item<int64_t>()], items[j].item<int32_t>()));
    }
  }
}

TEST(BatchBuilderTest, SamplingDependsOnlyOnSeedAndUser) {
  const data::PreparedDataset d = SmallDataset();
  BatchOptions o;
  o.rec_negatives = 10;
  BatchBuilder builder(d, o);
  Batch alone = builder.Build({8}, 99), together = builder.Build({3, 8}, 99), other = builder.Build({8}, 100);
  EXPECT_EQ(alone.targets[0].item<int64_t>(), together.targets[1].item<int64_t>());
  EXPECT_TRUE(at::equal(alone.pair_neg, together.pair_neg.slice(0, together.pair_neg.size(0) - alone.pair_neg.size(0))));
  EXPECT_FALSE(at::equal(alone.pair_neg, other.pair_neg));
}

TEST(BatchBuilderTest, PopularityNegativesFollowTrainingEventsOnly) {
  // A last user whose test item nobody else has: it has no training event.
  const data::PreparedDataset d = SmallDataset(40, 60, {{"late", "i0", 1}, {"late", "i1", 2}, {"late", "i2", 3},
                                                        {"late", "i3", 4}, {"late", "fresh", 5}});
  std::vector<int64_t> train_events(d.num_items, 0);
  for (int32_t u = 0; u < d.num_users; ++u) {
    for (int64_t j = 0; j < d.train_len[u]; ++j) ++train_events[d.Sequence(u)[j]];
  }
  BatchOptions o;
  o.rec_negatives = 40;
  o.negative_popularity = 1.0;
  BatchBuilder builder(d, o);
  std::vector<int32_t> users;
  for (int32_t u = 0; u < d.num_users; ++u) users.push_back(u);
  std::vector<int64_t> drawn(d.num_items, 0);
  int64_t total = 0;
  constexpr int kBatches = 20;
  for (uint64_t seed = 0; seed < kBatches; ++seed) {
    Batch b = builder.Build(users, seed);
    for (int64_t j = 0; j < b.pair_neg.size(0); ++j) {
      const int32_t item = b.pair_neg[j].item<int32_t>();
      EXPECT_FALSE(builder.Seen().Contains(users[b.pair_rows[j].item<int64_t>()], item));
      ++drawn[item];
      ++total;
    }
  }
  // Each draw for user u picks allowed item i with probability w_i / (sum of u's allowed
  // weights), w = training events (exponent 1): compare counts with that expectation.
  std::vector<int64_t> allowed(d.num_users, 0);  // each user's total weight of unseen items
  for (int32_t u = 0; u < d.num_users; ++u) {
    for (int32_t j = 0; j < d.num_items; ++j) allowed[u] += builder.Seen().Contains(u, j) ? 0 : train_events[j];
  }
  for (int32_t i = 0; i < d.num_items; ++i) {
    double expected = 0;
    for (int32_t u = 0; u < d.num_users; ++u) {
      if (builder.Seen().Contains(u, i)) continue;
      const int64_t draws = kBatches * std::min<int64_t>(o.rec_negatives, d.train_len[u]);
      expected += static_cast<double>(draws) * train_events[i] / allowed[u];
    }
    EXPECT_NEAR(drawn[i], expected, 5 * std::sqrt(expected) + 1) << "item " << i;
  }
  int64_t untrained = 0;
  for (int32_t i = 0; i < d.num_items; ++i) {
    if (train_events[i] > 0) continue;
    ++untrained;
    EXPECT_EQ(drawn[i], 0) << "item " << i << " has no training event";
  }
  EXPECT_GE(untrained, 1);
  o.negative_popularity = 0;
  BatchBuilder uniform(d, o);
  EXPECT_FALSE(at::equal(uniform.Build(users, 0).pair_neg, builder.Build(users, 0).pair_neg));
}

struct Tiny : torch::nn::Module {
  Tiny() {
    w = register_parameter("w", at::randn({3, 2}));
    register_buffer("b", at::arange(4.0));
  }
  at::Tensor w;
};

const CheckpointIdentity kIdentity{"00ff", "tiny (3 users, 2 items)", "encoder=tiny\ndim=2\n", "lr=0.1\nseed=1\n", "", ""};

TEST(CheckpointTest, RoundTripsModelAndOptimizerExactly) {
  const std::string path = ::testing::TempDir() + "/ck.pt";
  Tiny a;
  torch::optim::Adam opt(a.parameters(), torch::optim::AdamOptions(0.1));
  a.w.sum().backward();
  opt.step();
  ASSERT_TRUE(SaveCheckpoint(path, a, &opt, kIdentity, "state=7\n").ok());
  Tiny b;
  torch::optim::Adam opt_b(b.parameters(), torch::optim::AdamOptions(0.1));
  absl::StatusOr<std::string> state = LoadCheckpoint(path, b, &opt_b, kIdentity, IdentityCheck::kEverything);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(*state, "state=7\n");
  EXPECT_TRUE(at::equal(a.w, b.w));
  // The restored Adam state continues exactly as the original.
  a.w.grad().zero_();
  (a.w * a.w).sum().backward();
  opt.step();
  b.w.mutable_grad() = at::zeros_like(b.w);
  (b.w * b.w).sum().backward();
  opt_b.step();
  EXPECT_TRUE(at::equal(a.w, b.w));
  std::ifstream tmp(path + ".tmp." + std::to_string(getpid()));
  EXPECT_FALSE(tmp.good()) << "temporary file left behind";
}

std::string Message(const absl::Status& s) { return std::string(s.message()); }

TEST(CheckpointTest, RejectsMissingCorruptAndForeignFiles) {
  Tiny m;
  const std::string dir = ::testing::TempDir();
  EXPECT_EQ(LoadCheckpoint(dir + "/none.pt", m, nullptr, kIdentity, IdentityCheck::kModel).status().code(),
            absl::StatusCode::kNotFound);
  {
    std::ofstream garbage(dir + "/garbage.pt");
    garbage << "not a checkpoint";
  }
  absl::Status s = LoadCheckpoint(dir + "/garbage.pt", m, nullptr, kIdentity, IdentityCheck::kModel).status();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(Message(s).find("garbage.pt"), std::string::npos);
  ASSERT_TRUE(SaveCheckpoint(dir + "/no_opt.pt", m, nullptr, kIdentity).ok());
  torch::optim::Adam opt(m.parameters(), torch::optim::AdamOptions(0.1));
  EXPECT_FALSE(LoadCheckpoint(dir + "/no_opt.pt", m, &opt, kIdentity, IdentityCheck::kModel).ok())
      << "resume needs optimizer state";
}

TEST(CheckpointTest, AnyFlippedByteIsDetectedAndNothingIsLoaded) {
  const std::string path = ::testing::TempDir() + "/flip.pt";
  Tiny a;
  ASSERT_TRUE(SaveCheckpoint(path, a, nullptr, kIdentity).ok());
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  ASSERT_GT(bytes.size(), 100u);
  for (size_t at : {size_t{0}, bytes.size() / 3, bytes.size() / 2, bytes.size() - 20, bytes.size() - 1}) {
    std::string damaged = bytes;
    damaged[at] ^= 0x10;
    {
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      out << damaged;
    }
    Tiny b;
    const at::Tensor before = b.w.clone();
    absl::Status s = LoadCheckpoint(path, b, nullptr, kIdentity, IdentityCheck::kModel).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << "byte " << at << ": " << s;
    EXPECT_TRUE(at::equal(b.w, before)) << "byte " << at;
  }
}

TEST(CheckpointTest, ASettingNewerThanTheCheckpointMatchesOnlyItsDefault) {
  const std::string path = ::testing::TempDir() + "/older.pt";
  Tiny a;
  ASSERT_TRUE(SaveCheckpoint(path, a, nullptr, kIdentity).ok());
  CheckpointIdentity now = kIdentity;  // a flag added since, at its default: the same run
  now.config = "added=0\nlr=0.1\nseed=1\n";
  now.config_defaults = "added=0\nlr=0.001\nseed=100\n";
  Tiny b;
  CheckpointIdentity stored;
  ASSERT_TRUE(LoadCheckpoint(path, b, nullptr, now, IdentityCheck::kEverything, &stored).ok());
  EXPECT_EQ(stored.config, kIdentity.config) << "the stored identity is handed back";
  EXPECT_EQ(stored.architecture, kIdentity.architecture);
  now.config = "added=3\nlr=0.1\nseed=1\n";  // set to something else: another run
  absl::Status s = LoadCheckpoint(path, b, nullptr, now, IdentityCheck::kEverything).status();
  EXPECT_NE(Message(s).find("added: the checkpoint has (unset), now '3'"), std::string::npos) << s;
}

struct Wider : torch::nn::Module {
  Wider() { register_parameter("w", at::randn({4, 2})); }
};

TEST(CheckpointTest, ADifferentDatasetModelOrShapeIsRefusedNamingBothSides) {
  const std::string path = ::testing::TempDir() + "/identity.pt";
  Tiny a;
  ASSERT_TRUE(SaveCheckpoint(path, a, nullptr, kIdentity).ok());
  Tiny b;
  const at::Tensor before = b.w.clone();
  CheckpointIdentity other_data = kIdentity;
  other_data.dataset_fingerprint = "1234";
  other_data.dataset = "big (9 users, 9 items)";
  absl::Status s = LoadCheckpoint(path, b, nullptr, other_data, IdentityCheck::kModel).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(Message(s).find("tiny (3 users, 2 items) (fingerprint 00ff), --data is big (9 users, 9 items) (fingerprint 1234)"),
            std::string::npos) << s;
  CheckpointIdentity other_model = kIdentity;
  other_model.architecture = "encoder=tiny\ndim=3\n";
  s = LoadCheckpoint(path, b, nullptr, other_model, IdentityCheck::kModel).status();
  EXPECT_NE(Message(s).find("dim: the checkpoint has '2', now '3'"), std::string::npos) << s;
  // The config matters to a resume only.
  CheckpointIdentity other_config = kIdentity;
  other_config.config = "lr=0.2\nseed=1\n";
  other_config.config_note = "only --epochs may change";
  EXPECT_TRUE(LoadCheckpoint(path, b, nullptr, other_config, IdentityCheck::kModel).ok());
  s = LoadCheckpoint(path, b, nullptr, other_config, IdentityCheck::kEverything).status();
  EXPECT_NE(Message(s).find("lr: the checkpoint has '0.1', now '0.2' (only --epochs may change)"), std::string::npos) << s;
  // Same identity, other shapes: refused before anything is copied.
  Wider wide;
  s = LoadCheckpoint(path, wide, nullptr, kIdentity, IdentityCheck::kModel).status();
  EXPECT_NE(Message(s).find("do not fit this model"), std::string::npos) << s;
  EXPECT_NE(Message(s).find("parameter w Float [4,2]"), std::string::npos) << s;
}

absl::StatusOr<Model> MakeMf(const data::PreparedDataset& d, double l2 = 1e-4) {
  PluginChoice choice;
  choice.encoder = "mf";
  choice.losses = {{"bpr", 1.0}, {"l2", l2}};
  return CreateModel(choice, d, 7, [](const std::string& plugin, const PluginInfo&) {
    return plugin == "mf" ? ArgMap{{"init_std", "0.1"}} : ArgMap{};
  });
}

TrainOptions ShortRun(const std::string& dir, int64_t epochs) {
  TrainOptions o;
  o.epochs = epochs;
  o.batch_size = 16;
  o.users_per_epoch = 0;
  o.lr = 0.02;
  o.eval_every = 2;
  o.run_dir = dir;
  o.batch.max_seq_len = 20;
  o.eval.max_seq_len = 20;
  return o;
}

at::Tensor LastParameters(const data::PreparedDataset& d, const std::string& dir) {
  auto model = MakeMf(d);
  EXPECT_TRUE(LoadCheckpoint(dir + "/last.pt", *model->encoder, nullptr, {}, IdentityCheck::kModel).ok());
  std::vector<at::Tensor> flat;
  for (const at::Tensor& p : model->encoder->parameters()) flat.push_back(p.detach().reshape(-1));
  return at::cat(flat);
}

TEST(TrainerTest, LossFallsAndRunsAreDeterministic) {
  const data::PreparedDataset d = SmallDataset(120, 80);
  const std::string base = ::testing::TempDir();
  std::vector<TrainSummary> runs;
  for (const char* name : {"/det_a", "/det_b"}) {
    mkdir((base + name).c_str(), 0755);
    auto model = MakeMf(d);
    ASSERT_TRUE(model.ok()) << model.status();
    auto summary = Train(*model, d, ShortRun(base + name, 6));
    ASSERT_TRUE(summary.ok()) << summary.status();
    runs.push_back(*summary);
  }
  EXPECT_LT(runs[0].epoch_loss.back(), runs[0].epoch_loss.front());
  EXPECT_EQ(runs[0].epoch_loss, runs[1].epoch_loss);
  EXPECT_EQ(runs[0].best.ToJson().substr(0, 400), runs[1].best.ToJson().substr(0, 400));
  EXPECT_TRUE(at::equal(LastParameters(d, base + "/det_a"), LastParameters(d, base + "/det_b")));
}

// Gradients are dropped once Adam has used them, so none is held through the next step's
// forward pass (nor after the run).
TEST(TrainerTest, NoGradientOutlivesItsOptimizerStep) {
  const data::PreparedDataset d = SmallDataset(120, 80);
  const std::string dir = ::testing::TempDir() + "/no_grad_kept";
  mkdir(dir.c_str(), 0755);
  auto model = MakeMf(d);
  ASSERT_TRUE(model.ok()) << model.status();
  int64_t backward_passes = 0;
  TrainOptions o = ShortRun(dir, 2);
  o.after_backward = [&](int64_t, int64_t) {
    ++backward_passes;
    for (const at::Tensor& p : model->encoder->parameters()) EXPECT_TRUE(p.grad().defined());
    return absl::OkStatus();
  };
  ASSERT_TRUE(Train(*model, d, o).ok());
  EXPECT_GT(backward_passes, 2);
  for (const at::Tensor& p : model->encoder->parameters()) EXPECT_FALSE(p.grad().defined());
}

// The L2 term's gradient added by the optimizer (the fold) is the one autograd gives: the
// same losses and parameters to float rounding (the two add the same addends, rounded
// differently), and a penalty strong enough to move them (against no penalty).
TEST(TrainerTest, TheOptimizerAddsTheL2TermsGradientAsAutogradDoes) {
  const data::PreparedDataset d = SmallDataset(120, 80);
  std::vector<TrainSummary> runs;
  std::vector<at::Tensor> params;
  for (const auto& [name, l2, fold] : {std::tuple{"folded", 0.05, true}, {"autograd", 0.05, false}, {"no_l2", 0.0, true}}) {
    const std::string dir = ::testing::TempDir() + "/fold_" + name;
    mkdir(dir.c_str(), 0755);
    auto model = MakeMf(d, l2);
    ASSERT_TRUE(model.ok()) << model.status();
    TrainOptions o = ShortRun(dir, 4);
    o.fold_parameter_penalties = fold;
    auto summary = Train(*model, d, o);
    ASSERT_TRUE(summary.ok()) << summary.status();
    runs.push_back(*summary);
    std::vector<at::Tensor> flat;
    for (const at::Tensor& p : model->encoder->parameters()) flat.push_back(p.detach().reshape(-1));
    params.push_back(at::cat(flat));
  }
  ASSERT_EQ(runs[0].epoch_loss.size(), runs[1].epoch_loss.size());
  for (size_t e = 0; e < runs[0].epoch_loss.size(); ++e) {
    EXPECT_NEAR(runs[0].epoch_loss[e], runs[1].epoch_loss[e], 1e-5 * std::fabs(runs[1].epoch_loss[e])) << e;
  }
  const double fold_gap = (params[0] - params[1]).abs().max().item<double>();
  const double l2_effect = (params[1] - params[2]).abs().max().item<double>();
  EXPECT_LT(fold_gap, 1e-4) << "the fold's parameters drift from autograd's";
  EXPECT_GT(l2_effect, 100 * fold_gap) << "the penalty is too weak for the comparison to tell";
}

TEST(TrainerTest, ResumeContinuesExactlyWhereTheRunStopped) {
  const data::PreparedDataset d = SmallDataset(120, 80);
  const std::string straight = ::testing::TempDir() + "/straight", split = ::testing::TempDir() + "/split";
  mkdir(straight.c_str(), 0755);
  mkdir(split.c_str(), 0755);
  {
    auto model = MakeMf(d);
    ASSERT_TRUE(Train(*model, d, ShortRun(straight, 5)).ok());
  }
  {
    auto model = MakeMf(d);
    ASSERT_TRUE(Train(*model, d, ShortRun(split, 3)).ok());  // stops after epoch 2
  }
  {
    auto model = MakeMf(d);
    TrainOptions o = ShortRun(split, 5);
    o.resume = true;
    auto summary = Train(*model, d, o);
    ASSERT_TRUE(summary.ok()) << summary.status();
    EXPECT_EQ(summary->epochs_run, 2);
  }
  EXPECT_TRUE(at::equal(LastParameters(d, straight), LastParameters(d, split)));
}

absl::StatusOr<TrainSummary> TrainMf(const data::PreparedDataset& d, const TrainOptions& o) {
  absl::StatusOr<Model> model = MakeMf(d);
  if (!model.ok()) return model.status();
  return Train(*model, d, o);
}

// The log's lines without wall times or resume events: what must not depend on a stop.
std::vector<std::string> LoggedMetrics(const std::string& dir) {
  std::ifstream in(dir + "/log.jsonl");
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) {
    if (line.find("\"event\":\"resume\"") != std::string::npos) continue;
    for (size_t at; (at = line.find("\"seconds\":")) != std::string::npos;) {
      const size_t end = line.find_first_of(",}", at);
      line.erase(at, end - at);
    }
    out.push_back(line);
  }
  return out;
}

TEST(TrainerTest, ResumeCutsTheLogBackToItsCheckpoint) {
  const data::PreparedDataset d = SmallDataset(120, 80);
  const std::string straight = ::testing::TempDir() + "/log_straight", split = ::testing::TempDir() + "/log_split";
  mkdir(straight.c_str(), 0755);
  mkdir(split.c_str(), 0755);
  ASSERT_TRUE(TrainMf(d, ShortRun(straight, 5)).ok());
  ASSERT_TRUE(TrainMf(d, ShortRun(split, 3)).ok());
  {  // what a run killed after its last checkpoint leaves: lines of epochs it did not commit
    std::ofstream log(split + "/log.jsonl", std::ios::app);
    log << "{\"event\":\"epoch\",\"epoch\":3,\"loss\":123}\n{\"event\":\"ev";
  }
  TrainOptions o = ShortRun(split, 5);
  o.resume = true;
  ASSERT_TRUE(TrainMf(d, o).ok());
  // The 3-epoch run's closing "best" line came after its last checkpoint: it goes too.
  EXPECT_EQ(LoggedMetrics(split), LoggedMetrics(straight));
}

TEST(TrainerTest, ResumeWithoutACheckpointStartsFromScratch) {
  const data::PreparedDataset d = SmallDataset(120, 80);
  const std::string straight = ::testing::TempDir() + "/scratch_straight", killed = ::testing::TempDir() + "/scratch_killed";
  mkdir(straight.c_str(), 0755);
  mkdir(killed.c_str(), 0755);
  ASSERT_TRUE(TrainMf(d, ShortRun(straight, 3)).ok());
  {  // a run killed during its first epoch
    std::ofstream log(killed + "/log.jsonl");
    log << "{\"event\":\"epoch\",\"epoch\":0,\"loss\":9}\n";
  }
  TrainOptions o = ShortRun(killed, 3);
  o.resume = true;
  auto summary = TrainMf(d, o);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->epochs_run, 3);
  EXPECT_EQ(LoggedMetrics(killed), LoggedMetrics(straight));
  EXPECT_TRUE(at::equal(LastParameters(d, straight), LastParameters(d, killed)));
}

TEST(TrainerTest, ResumeRefusesAnotherConfigOrDataset) {
  const data::PreparedDataset d = SmallDataset(120, 80);
  const std::string dir = ::testing::TempDir() + "/refuse";
  mkdir(dir.c_str(), 0755);
  TrainOptions o = ShortRun(dir, 2);
  o.identity.config = "lr=0.02\n";
  ASSERT_TRUE(TrainMf(d, o).ok());
  o.resume = true;
  o.epochs = 4;
  o.identity.config = "lr=0.05\n";
  absl::StatusOr<TrainSummary> refused = TrainMf(d, o);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(Message(refused.status()).find("lr: the checkpoint has '0.02', now '0.05'"), std::string::npos)
      << refused.status();
  const data::PreparedDataset reordered = SmallDataset(120, 80, {{"extra", "i1", 1}, {"extra", "i2", 2},
                                                                 {"extra", "i3", 3}, {"extra", "i4", 4}});
  o.identity.config = "lr=0.02\n";
  refused = TrainMf(reordered, o);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(Message(refused.status()).find("trained on another dataset"), std::string::npos) << refused.status();
  EXPECT_TRUE(TrainMf(d, o).ok()) << "the run's own settings, more epochs";
}

// The log's events of one kind, parsed.
std::vector<Json> LoggedEvents(const std::string& dir, const std::string& event) {
  std::ifstream in(dir + "/log.jsonl");
  std::vector<Json> out;
  for (std::string line; std::getline(in, line);) {
    absl::StatusOr<Json> json = ParseJson(line);
    EXPECT_TRUE(json.ok()) << json.status() << ": " << line;
    if (json.ok() && json->At({"event"})->string == event) out.push_back(*json);
  }
  return out;
}

TEST(TrainerTest, TheEpochLogGivesEachTermsRawValueWeightAndContribution) {
  const data::PreparedDataset d = SmallDataset(120, 80);
  const std::string dir = ::testing::TempDir() + "/terms";
  mkdir(dir.c_str(), 0755);
  ASSERT_TRUE(TrainMf(d, ShortRun(dir, 2)).ok());
  const std::vector<Json> epochs = LoggedEvents(dir, "epoch");
  ASSERT_EQ(epochs.size(), 2u);
  for (const Json& e : epochs) {
    double total = 0;
    for (const auto& [name, weight] : {std::pair{"bpr", 1.0}, std::pair{"l2", 1e-4}}) {
      const double raw = e.At({"terms", name})->number, part = e.At({"weighted", name})->number;
      EXPECT_EQ(e.At({"weights", name})->number, weight) << name;
      EXPECT_NEAR(part, weight * raw, 1e-5 * std::fabs(part)) << name;
      total += part;
    }
    EXPECT_NEAR(total, e.At({"loss"})->number, 1e-5 * total) << "the contributions add up to the loss";
  }
}

TEST(TrainerTest, ADecayInEpochsKeepsItsPacePerEpochOnMoreUsers) {
  const data::PreparedDataset d = SmallDataset(120, 80);
  for (const bool in_epochs : {true, false}) {
    std::vector<std::vector<double>> lrs;  // per run, the logged lr after each epoch
    for (const int64_t users : {32, 64}) {  // 2 and 4 steps per epoch
      const std::string dir = absl::StrCat(::testing::TempDir(), "/decay_", in_epochs, "_", users);
      mkdir(dir.c_str(), 0755);
      TrainOptions o = ShortRun(dir, 3);
      o.users_per_epoch = users;
      o.lr_decay = 0.5;
      o.lr_decay_steps = in_epochs ? 0 : 2;
      o.lr_decay_epochs = in_epochs ? 1 : 0;
      ASSERT_TRUE(TrainMf(d, o).ok());
      lrs.emplace_back();
      for (const Json& e : LoggedEvents(dir, "epoch")) lrs.back().push_back(e.At({"lr"})->number);
    }
    if (in_epochs) {
      EXPECT_EQ(lrs[0], (std::vector<double>{0.01, 0.005, 0.0025}));
      EXPECT_EQ(lrs[1], lrs[0]) << "one stair per epoch, however many steps an epoch has";
    } else {
      EXPECT_EQ(lrs[0], (std::vector<double>{0.01, 0.005, 0.0025}));
      EXPECT_EQ(lrs[1], (std::vector<double>{0.005, 0.00125, 0.0003125})) << "steps: twice as fast per epoch";
    }
  }
}

TEST(TrainerTest, BestHoldsTheWeightsOnlyAndLastTheOptimizerToo) {
  const data::PreparedDataset d = SmallDataset(120, 80);
  const std::string dir = ::testing::TempDir() + "/files";
  mkdir(dir.c_str(), 0755);
  ASSERT_TRUE(TrainMf(d, ShortRun(dir, 2)).ok());
  auto model = MakeMf(d);
  torch::optim::Adam adam(model->encoder->parameters(), torch::optim::AdamOptions(0.1));
  EXPECT_TRUE(LoadCheckpoint(dir + "/best.pt", *model->encoder, nullptr, {}, IdentityCheck::kModel).ok());
  absl::Status s = LoadCheckpoint(dir + "/best.pt", *model->encoder, &adam, {}, IdentityCheck::kModel).status();
  EXPECT_NE(Message(s).find("holds no optimizer state"), std::string::npos) << s;
  EXPECT_TRUE(LoadCheckpoint(dir + "/last.pt", *model->encoder, &adam, {}, IdentityCheck::kModel).ok());
  struct stat best, last;
  ASSERT_EQ(stat((dir + "/best.pt").c_str(), &best), 0);
  ASSERT_EQ(stat((dir + "/last.pt").c_str(), &last), 0);
  EXPECT_LT(2 * best.st_size, last.st_size) << "Adam keeps two moments per weight";
}

TEST(TrainerTest, AnEventEpochVisitsEveryTrainingEventOnce) {
  const data::PreparedDataset d = SmallDataset(120, 80);
  TrainOptions o = ShortRun("", 2);
  o.epoch_scheme = EpochScheme::kEvents;
  int64_t events = 0;
  for (int32_t u = 0; u < d.num_users; ++u) events += d.train_len[u];
  absl::StatusOr<TrainSummary> run = TrainMf(d, o);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->steps, 2 * ((events + o.batch_size - 1) / o.batch_size));
  EXPECT_LT(run->epoch_loss.back(), run->epoch_loss.front());
}

TEST(TrainerTest, DivergenceStopsWithAnError) {
  const data::PreparedDataset d = SmallDataset(120, 80);
  TrainOptions o = ShortRun("", 5);
  o.lr = 1e3;
  absl::StatusOr<TrainSummary> run = TrainMf(d, o);
  ASSERT_FALSE(run.ok());
  EXPECT_NE(Message(run.status()).find("training diverged"), std::string::npos) << run.status();
  o.lr = 0.02;
  EXPECT_TRUE(TrainMf(d, o).ok());
}

TEST(TrainerTest, MoreNegativesThanAUserMayDrawIsRefusedAtStart) {
  const data::PreparedDataset d = SmallDataset(120, 80);
  BatchBuilder builder(d, BatchOptions());
  int64_t fewest = d.num_items;
  for (int32_t u : builder.TrainableUsers()) fewest = std::min<int64_t>(fewest, d.num_items - builder.Seen().RowSize(u));
  for (const int64_t k : {fewest, fewest + 1, int64_t{100000}}) {
    PluginChoice choice;
    choice.encoder = "mf";
    choice.sampler = "random";
    choice.anchor_view = "user";
    choice.losses = {{"bpr", 1.0}, {"infonce", 0.1}};
    auto model = CreateModel(choice, d, 7, [k](const std::string& plugin, const PluginInfo&) {
      return plugin == "random" ? ArgMap{{"k", std::to_string(k)}} : ArgMap{};
    });
    ASSERT_TRUE(model.ok()) << model.status();
    TrainOptions o = ShortRun("", 1);
    o.max_steps = 1;
    absl::StatusOr<TrainSummary> run = Train(*model, d, o);
    if (k <= fewest) {
      EXPECT_TRUE(run.ok()) << run.status();
    } else {
      ASSERT_FALSE(run.ok()) << "k = " << k;
      EXPECT_NE(Message(run.status()).find(absl::StrCat("choose K <= ", fewest)), std::string::npos) << run.status();
    }
  }
}

// Counts, over every request, the users whose history row holds their validation item
// (when the training prefix does not): what the trainer tells samplers a user has seen.
struct HistoryProbe {
  static inline const data::PreparedDataset* dataset = nullptr;
  static inline int64_t requests = 0, held_out_in_history = 0;
};

class HistoryProbeSampler : public Sampler {
 public:
  int64_t NumNegatives() const override { return 1; }
  bool NeedsItemTable() const override { return false; }
  absl::StatusOr<Result> Sample(const Request& r) override {
    const data::PreparedDataset& d = *HistoryProbe::dataset;
    ++HistoryProbe::requests;
    at::Tensor ids = at::empty({r.users.size(0), 1}, at::kLong);
    for (int64_t b = 0; b < r.users.size(0); ++b) {
      const int32_t u = static_cast<int32_t>(r.users[b].item<int64_t>());
      for (int32_t item : HeldOutOnly(d, u)) HistoryProbe::held_out_in_history += r.history->Contains(u, item);
      int32_t free = 0;
      while (r.history->Contains(u, free)) ++free;
      ids[b][0] = free;
    }
    return Result{ids, at::Tensor()};
  }
};

const Registration<Sampler> kHistoryProbe("test_history_probe", {"records the history it is given", {}},
                                          [](const PluginArgs&, const Sampler::Context&)
                                              -> absl::StatusOr<std::unique_ptr<Sampler>> {
                                            return std::make_unique<HistoryProbeSampler>();
                                          });

TEST(TrainerTest, SamplersSeeTheTrainingPrefixUnderTheCleanProtocol) {
  const data::PreparedDataset d = SmallDataset(120, 80);
  HistoryProbe::dataset = &d;
  for (const SeenItems seen : {SeenItems::kTrainingPrefix, SeenItems::kWholeSequence}) {
    HistoryProbe::requests = HistoryProbe::held_out_in_history = 0;
    PluginChoice choice;
    choice.encoder = "mf";
    choice.sampler = "test_history_probe";
    choice.anchor_view = "user";
    choice.losses = {{"bpr", 1.0}, {"infonce", 0.1}};
    auto model = CreateModel(choice, d, 7, NoArgs);
    ASSERT_TRUE(model.ok()) << model.status();
    TrainOptions o = ShortRun("", 1);
    o.batch.seen = seen;
    ASSERT_TRUE(Train(*model, d, o).ok());
    EXPECT_GT(HistoryProbe::requests, 0);
    if (seen == SeenItems::kTrainingPrefix) {
      EXPECT_EQ(HistoryProbe::held_out_in_history, 0) << "held-out items leaked into training's history";
    } else {
      EXPECT_GT(HistoryProbe::held_out_in_history, 0) << "the published code's history holds them";
    }
  }
}

}  // namespace
}  // namespace hardgnn
