// Preprocessing: filters, split, slices, negatives, noise, determinism, real-data figures.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <cstdio>
#include <set>
#include <tuple>

#include "core/data/cache.h"
#include "core/data/file_io.h"
#include "core/data/input_format.h"
#include "core/data/prepare.h"
#include "core/data/rng.h"
#include "core/data/slices.h"
#include "core/data/validate.h"
#include "gtest/gtest.h"
#include "tests/data/test_util.h"

namespace hardgnn::data {
namespace {

std::vector<int32_t> Seq(const PreparedDataset& ds, int32_t u) {
  return std::vector<int32_t>(ds.Sequence(u), ds.Sequence(u) + ds.SequenceLength(u));
}

// A random log: `users` users with 1..max_events events over `items` items, repeats allowed.
InteractionLog RandomLog(int users, int items, int max_events, uint64_t seed) {
  Rng rng(seed);
  InteractionLog log;
  for (int u = 0; u < users; ++u) {
    const int n = 1 + static_cast<int>(rng.Uniform(max_events));
    for (int j = 0; j < n; ++j) {
      // Skewed items so that filtering has work to do.
      const int item = static_cast<int>(rng.Uniform(1 + rng.Uniform(items)));
      log.Add("u" + std::to_string(u), "i" + std::to_string(item), 1000 + static_cast<int64_t>(rng.Uniform(100000)));
    }
  }
  return log;
}

TEST(Prepare, TinyLogHasTheKnownSplit) {
  PrepareReport report;
  PrepareOptions o;
  o.kcore = 0;
  o.num_slices = 2;
  o.eval_negatives = 4;
  absl::StatusOr<PreparedDataset> ds = Prepare(InteractionLog::FromTriples({
                                                   {"u1", "a", 3}, {"u1", "b", 1}, {"u1", "c", 2}, {"u1", "a", 4},
                                                   {"u3", "e", 1}, {"u3", "e", 2},  // 2 events: dropped
                                                   {"u2", "c", 5}, {"u2", "a", 6}, {"u2", "d", 7},
                                               }),
                                               o, &report);
  ASSERT_TRUE(ds.ok()) << ds.status();
  ASSERT_TRUE(ValidatePreparedDataset(*ds).ok());
  EXPECT_EQ(ds->num_users, 2);
  EXPECT_EQ(ds->num_items, 4);  // e vanished with u3
  EXPECT_EQ(ds->user_names, (std::vector<std::string>{"u1", "u2"}));
  EXPECT_EQ(ds->item_names, (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_EQ(Seq(*ds, 0), (std::vector<int32_t>{1, 2, 0, 0}));  // b c a a, by time
  EXPECT_EQ(std::vector<int64_t>(ds->seq_time.begin(), ds->seq_time.begin() + 4), (std::vector<int64_t>{1, 2, 3, 4}));
  EXPECT_EQ(Seq(*ds, 1), (std::vector<int32_t>{2, 0, 3}));
  EXPECT_EQ(ds->train_len, (std::vector<int32_t>{2, 1}));
  EXPECT_EQ(ds->val_item, (std::vector<int32_t>{0, 0}));
  EXPECT_EQ(ds->test_item, (std::vector<int32_t>{0, 3}));
  EXPECT_EQ(ds->test_input_len, (std::vector<int32_t>{3, 2}));
  // Training events: u1 b@1 c@2, u2 c@5. Bounds over [1, 5] in 2 slices: 1, 3, 5.
  EXPECT_EQ(ds->slice_bounds, (std::vector<int64_t>{1, 3, 5}));
  EXPECT_EQ(ds->slice_user_item[0].col, (std::vector<int32_t>{1, 2}));  // u1: b, c
  EXPECT_EQ(ds->slice_user_item[0].row_ptr, (std::vector<int64_t>{0, 2, 2}));
  EXPECT_EQ(ds->slice_user_item[1].col, (std::vector<int32_t>{2}));  // u2: c
  EXPECT_EQ(ds->slice_user_item[1].row_ptr, (std::vector<int64_t>{0, 0, 1}));
  EXPECT_EQ(ds->interacted.col, (std::vector<int32_t>{0, 1, 2, 0, 2, 3}));
  // u1 interacted with a, b, c: its only negative is d; u2 with a, c, d: only b.
  EXPECT_EQ(ds->eval_users, (std::vector<int32_t>{0, 1}));
  EXPECT_EQ(ds->eval_negatives, (std::vector<int32_t>{3, 3, 3, 3, 1, 1, 1, 1}));
  EXPECT_EQ(report.users_dropped_short, 1);
  EXPECT_EQ(report.events_dropped_short, 2);
  EXPECT_EQ(report.input.events, 9);
  EXPECT_EQ(report.output.events, 7);
}

TEST(Prepare, PrepareTriplesIsTheEasyEntryPoint) {
  absl::StatusOr<PreparedDataset> ds =
      PrepareTriples({{"u", "a", 1}, {"u", "b", 2}, {"u", "c", 3}, {"v", "d", 1}, {"v", "a", 2}, {"v", "b", 3}}, 1, 3);
  ASSERT_TRUE(ds.ok()) << ds.status();
  EXPECT_EQ(ds->num_users, 2);
  EXPECT_EQ(ds->num_items, 4);
  EXPECT_EQ(ds->num_slices(), 1);
  EXPECT_EQ(ds->negatives_per_user, 3);
  EXPECT_EQ(ds->eval_negatives, (std::vector<int32_t>{3, 3, 3, 2, 2, 2}));
}

TEST(Prepare, UserWithEveryItemIsNotEvaluatedAndCounted) {
  PrepareReport report;
  PrepareOptions o;
  o.kcore = 0;
  o.eval_negatives = 2;
  absl::StatusOr<PreparedDataset> ds = Prepare(
      InteractionLog::FromTriples({{"u", "a", 1}, {"u", "b", 2}, {"u", "c", 3}, {"v", "a", 1}, {"v", "a", 2}, {"v", "b", 3}}),
      o, &report);
  ASSERT_TRUE(ds.ok()) << ds.status();
  EXPECT_EQ(ds->eval_users, (std::vector<int32_t>{1}));
  EXPECT_EQ(ds->eval_negatives, (std::vector<int32_t>{2, 2}));
  EXPECT_EQ(report.users_without_negatives, 1);
}

TEST(Prepare, RejectsBadOptionsAndEmptyResults) {
  const InteractionLog log = InteractionLog::FromTriples({{"u", "a", 1}, {"u", "b", 2}});
  PrepareOptions o;
  o.kcore = 0;
  EXPECT_ERROR_MENTIONS(Prepare(log, o).status(), "no user has 3 or more interactions");
  o.num_slices = 0;
  EXPECT_ERROR_MENTIONS(Prepare(log, o).status(), "slices");
  o = PrepareOptions();
  o.noise = 1.5;
  EXPECT_ERROR_MENTIONS(Prepare(log, o).status(), "noise");
  o = PrepareOptions();
  o.time_begin = 10;
  o.time_end = 10;
  EXPECT_ERROR_MENTIONS(Prepare(log, o).status(), "empty time window");
  o = PrepareOptions();
  o.eval_negatives = -1;
  EXPECT_ERROR_MENTIONS(Prepare(log, o).status(), "eval_negatives");
}

TEST(KCore, ResultIsAFixedPointWithEveryDegreeAtLeastK) {
  const InteractionLog log = RandomLog(300, 200, 30, 11);
  for (const int k : {2, 5, 10}) {
    int32_t rounds = 0;
    const std::vector<Interaction> core = KCore(log.events(), k, &rounds);
    ASSERT_FALSE(core.empty());
    EXPECT_LT(core.size(), log.events().size());
    EXPECT_GE(rounds, 1);
    std::map<int32_t, int> uc, ic;
    for (const Interaction& e : core) ++uc[e.user], ++ic[e.item];
    for (const auto& [u, c] : uc) EXPECT_GE(c, k);
    for (const auto& [i, c] : ic) EXPECT_GE(c, k);
    const std::vector<Interaction> again = KCore(core, k, &rounds);
    EXPECT_EQ(again.size(), core.size());
    EXPECT_EQ(rounds, 0);
  }
}

TEST(KCore, IteratesUntilNothingChanges) {
  // Round 1 removes item z (2 events), leaving v and w with 2 events each; round 2 removes
  // them, leaving item y with 1 event; round 3 removes y, leaving t with 2; round 4 removes
  // t. A single pass would keep u, v, w and t.
  const InteractionLog log = InteractionLog::FromTriples({
      {"u", "x", 1}, {"u", "x", 2}, {"u", "x", 3},
      {"v", "y", 1}, {"v", "x", 2}, {"v", "z", 3},
      {"w", "y", 1}, {"w", "z", 2}, {"w", "x", 3},
      {"t", "y", 1}, {"t", "x", 2}, {"t", "x", 3},
  });
  int32_t rounds = 0;
  const std::vector<Interaction> core = KCore(log.events(), 3, &rounds);
  std::set<std::string> users;
  for (const Interaction& e : core) users.insert(log.user_name(e.user));
  EXPECT_EQ(users, (std::set<std::string>{"u"}));
  EXPECT_EQ(core.size(), 3u);
  EXPECT_EQ(rounds, 4);
}

TEST(SelfGnnFilter, CountsDistinctPairsAndNeverRefiltersItems) {
  // 20 users each with the same 20 items once (20 x 20 distinct pairs), plus user "r" who
  // saw item 0 25 times: r has 1 distinct item and goes in pass 0; "s" saw 20 items of which
  // 15 are popular and 5 are unpopular: the unpopular ones go in pass 0, leaving s at 15.
  std::vector<Triple> t;
  for (int u = 0; u < 20; ++u) {
    for (int i = 0; i < 20; ++i) t.push_back({"u" + std::to_string(u), "i" + std::to_string(i), u * 100 + i});
  }
  for (int j = 0; j < 25; ++j) t.push_back({"r", "i0", j});
  for (int i = 0; i < 15; ++i) t.push_back({"s", "i" + std::to_string(i), 5000 + i});
  for (int i = 0; i < 5; ++i) t.push_back({"s", "rare" + std::to_string(i), 6000 + i});
  const InteractionLog log = InteractionLog::FromTriples(t);
  std::vector<FilterPass> passes;
  const std::vector<Interaction> kept = SelfGnnFilter(log.events(), &passes);
  ASSERT_EQ(passes.size(), 3u);
  EXPECT_EQ(passes[0].users, 21);  // 20 + s
  EXPECT_EQ(passes[0].items, 20);
  EXPECT_EQ(passes[0].events, 400 + 15);
  EXPECT_EQ(passes[1].users, 21);  // s has exactly 15
  EXPECT_EQ(passes[2].events, 415);
}

TEST(Slices, EqualWidthBoundsAndSliceOf) {
  EXPECT_EQ(EqualWidthBounds(0, 10, 3), (std::vector<int64_t>{0, 3, 6, 10}));
  EXPECT_EQ(EqualWidthBounds(5, 5, 2), (std::vector<int64_t>{5, 5, 5}));
  const std::vector<int64_t> b = {0, 3, 6, 10};
  EXPECT_EQ(SliceOf(b, 0), 0);
  EXPECT_EQ(SliceOf(b, 2), 0);
  EXPECT_EQ(SliceOf(b, 3), 1);
  EXPECT_EQ(SliceOf(b, 9), 2);
  EXPECT_EQ(SliceOf(b, 10), 2);  // the last slice holds t = t_max
  EXPECT_EQ(SliceOf({5, 5, 5}, 5), 1);
}

class PrepareProperties : public ::testing::TestWithParam<std::tuple<int, double>> {};

TEST_P(PrepareProperties, SplitSlicesAndNegativesHoldTheirInvariants) {
  const auto [kcore, noise] = GetParam();
  PrepareOptions o;
  o.kcore = kcore;
  o.num_slices = 4;
  o.eval_negatives = 50;
  o.noise = noise;
  o.seed = 99;
  PrepareReport report;
  absl::StatusOr<PreparedDataset> ds = Prepare(RandomLog(400, 300, 40, 5), o, &report);
  ASSERT_TRUE(ds.ok()) << ds.status();
  ASSERT_TRUE(ValidatePreparedDataset(*ds).ok());
  int64_t training = 0;
  std::vector<std::set<std::pair<int32_t, int32_t>>> want(4);
  for (int32_t u = 0; u < ds->num_users; ++u) {
    const int64_t n = ds->SequenceLength(u), b = ds->seq_ptr[u];
    ASSERT_GE(n, 3);
    EXPECT_EQ(ds->train_len[u], n - 2);
    EXPECT_EQ(ds->test_input_len[u], n - 1);
    EXPECT_EQ(ds->val_item[u], ds->seq_item[b + n - 2]);
    EXPECT_EQ(ds->test_item[u], ds->seq_item[b + n - 1]);
    EXPECT_TRUE(std::is_sorted(ds->seq_time.begin() + b, ds->seq_time.begin() + b + n));
    for (int64_t p = b; p < b + ds->train_len[u]; ++p) {
      const int64_t t = ds->seq_time[p];
      ASSERT_GE(t, ds->slice_bounds.front());
      ASSERT_LE(t, ds->slice_bounds.back());
      want[SliceOf(ds->slice_bounds, t)].insert({u, ds->seq_item[p]});
      ++training;
    }
  }
  // Slice k is exactly the distinct pairs of the training events whose time falls in it.
  for (int k = 0; k < 4; ++k) {
    std::set<std::pair<int32_t, int32_t>> got;
    const Csr& m = ds->slice_user_item[k];
    for (int32_t u = 0; u < ds->num_users; ++u) {
      for (const int32_t* i = m.RowBegin(u); i != m.RowEnd(u); ++i) got.insert({u, *i});
    }
    EXPECT_EQ(got, want[k]) << "slice " << k;
  }
  EXPECT_EQ(report.noise_replaced, std::llround(noise * training));
  // Negatives never hit an interacted item.
  ASSERT_EQ(ds->eval_users.size(), static_cast<size_t>(ds->num_users));
  for (size_t r = 0; r < ds->eval_users.size(); ++r) {
    for (int j = 0; j < ds->negatives_per_user; ++j) {
      ASSERT_FALSE(ds->interacted.Contains(ds->eval_users[r], ds->EvalNegatives(r)[j]));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(KcoreAndNoise, PrepareProperties,
                         ::testing::Values(std::make_tuple(0, 0.0), std::make_tuple(5, 0.0), std::make_tuple(5, 0.2),
                                           std::make_tuple(3, 1.0)));

TEST(Prepare, IsDeterministicForASeedAndDependsOnIt) {
  const InteractionLog log = RandomLog(200, 150, 30, 3);
  PrepareOptions o;
  o.num_eval_users = 50;
  o.noise = 0.1;
  o.eval_negatives = 20;
  absl::StatusOr<PreparedDataset> a = Prepare(log, o), b = Prepare(log, o);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(Fingerprint(*a), Fingerprint(*b));
  EXPECT_EQ(a->eval_users.size(), 50u);
  EXPECT_TRUE(std::is_sorted(a->eval_users.begin(), a->eval_users.end()));
  o.seed += 1;
  absl::StatusOr<PreparedDataset> c = Prepare(log, o);
  ASSERT_TRUE(c.ok());
  EXPECT_NE(a->eval_users, c->eval_users);
  EXPECT_NE(a->eval_negatives, c->eval_negatives);
}

TEST(Prepare, NoiseOnlyTouchesTrainingEvents) {
  const InteractionLog log = RandomLog(200, 150, 30, 4);
  PrepareOptions o;
  PrepareReport report;
  absl::StatusOr<PreparedDataset> clean = Prepare(log, o);
  o.noise = 0.3;
  absl::StatusOr<PreparedDataset> noisy = Prepare(log, o, &report);
  ASSERT_TRUE(clean.ok() && noisy.ok());
  EXPECT_EQ(noisy->val_item, clean->val_item);
  EXPECT_EQ(noisy->test_item, clean->test_item);
  EXPECT_EQ(noisy->seq_time, clean->seq_time);
  int64_t changed = 0, training = 0;
  for (int32_t u = 0; u < clean->num_users; ++u) {
    for (int64_t p = clean->seq_ptr[u]; p < clean->seq_ptr[u + 1]; ++p) {
      const bool train = p < clean->seq_ptr[u] + clean->train_len[u];
      training += train;
      if (clean->seq_item[p] != noisy->seq_item[p]) {
        EXPECT_TRUE(train);
        ++changed;
      }
    }
  }
  EXPECT_EQ(changed, report.noise_replaced);  // a replacement is always a different item
  EXPECT_EQ(changed, std::llround(0.3 * training));
}

TEST(Prepare, TimeWindowKeepsOnlyEventsInside) {
  PrepareOptions o;
  o.kcore = 0;
  o.time_begin = 10;
  o.time_end = 20;
  PrepareReport report;
  absl::StatusOr<PreparedDataset> ds = Prepare(InteractionLog::FromTriples({{"u", "a", 5}, {"u", "a", 10}, {"u", "b", 12},
                                                                            {"u", "c", 19}, {"u", "d", 20}}),
                                               o, &report);
  ASSERT_TRUE(ds.ok()) << ds.status();
  EXPECT_EQ(ds->seq_time, (std::vector<int64_t>{10, 12, 19}));
  EXPECT_EQ(report.events_outside_window, 2);
}

// The embedded default dataset: iterated 5-core figures from the datasets README.
TEST(RealData, GowallaNycFiveCore) {
  absl::StatusOr<InteractionLog> log = ReadInteractionFile("data/gowalla-nyc/checkins.tsv.gz", InputFormat::kGowalla);
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ(log->size(), 138957);
  EXPECT_EQ(log->num_users(), 7115);
  EXPECT_EQ(log->num_items(), 21509);
  PrepareReport report;
  PrepareOptions o;
  o.name = "gowalla-nyc";
  absl::StatusOr<PreparedDataset> ds = Prepare(*log, o, &report);
  ASSERT_TRUE(ds.ok()) << ds.status();
  EXPECT_EQ(ds->seq_item.size(), 101687u);
  EXPECT_EQ(ds->num_users, 3456);
  EXPECT_EQ(ds->num_items, 6568);
  EXPECT_EQ(ds->interacted.nnz(), 69449);
  EXPECT_EQ(report.users_dropped_short, 0);
  EXPECT_EQ(ds->eval_users.size(), 3456u);
}

TEST(RealData, Yelp2019FiveCoreAndTimings) {
  const std::string path = testing::Yelp2019Path();
  if (!FileExists(path)) GTEST_SKIP() << path << " is absent (set HARDGNN_YELP2019 to the yelp2019 interactions.tsv)";
  const auto t0 = std::chrono::steady_clock::now();
  absl::StatusOr<InteractionLog> log = ReadInteractionFile(path, InputFormat::kGeneric);
  ASSERT_TRUE(log.ok()) << log.status();
  PrepareOptions o;
  o.name = "yelp2019";
  absl::StatusOr<PreparedDataset> ds = Prepare(*log, o);
  ASSERT_TRUE(ds.ok()) << ds.status();
  const auto t1 = std::chrono::steady_clock::now();
  EXPECT_EQ(log->size(), 283512);
  EXPECT_EQ(ds->seq_item.size(), 130954u);
  EXPECT_EQ(ds->num_users, 10172);
  EXPECT_EQ(ds->num_items, 10756);
  const std::string cache = testing::TempDir("yelp") + "/dataset.bin";
  ASSERT_TRUE(SavePreparedDataset(*ds, cache).ok());
  const auto t2 = std::chrono::steady_clock::now();
  absl::StatusOr<PreparedDataset> back = LoadPreparedDataset(cache);
  const auto t3 = std::chrono::steady_clock::now();
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(Fingerprint(*back), Fingerprint(*ds));
  const auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
  std::printf("yelp2019: read+prepare %.0f ms, save %.0f ms, load %.0f ms\n", ms(t1 - t0), ms(t2 - t1), ms(t3 - t2));
  EXPECT_LT(ms(t1 - t0), 5000);
  EXPECT_LT(ms(t3 - t2), 500);
}

}  // namespace
}  // namespace hardgnn::data
