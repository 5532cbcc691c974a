// The evaluator against a brute-force reference: scores computed item by item, the paper
// protocol's stable sort written out, full ranking by sorting every unseen item.
#include "core/eval/evaluator.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <tuple>

#include <ATen/ATen.h>

#include "core/data/prepare.h"
#include "gtest/gtest.h"

namespace hardgnn {
namespace {

constexpr int64_t kDim = 4;

// Query = user vector + 0.25 * sum of the input sequence's item vectors, so the test also
// checks that each protocol feeds the right input. Values lie on a grid of halves, so every
// score is exact in float whatever the summation order, and ties are real.
class FixedScorer : public EvalScorer {
 public:
  FixedScorer(at::Tensor users, at::Tensor items) : users_(users), items_(items) {}
  at::Tensor Items() override { return items_; }
  at::Tensor Queries(const Batch& b) override {
    at::Tensor bag = (items_.index_select(0, b.seq.reshape(-1)).view({b.size(), b.seq.size(1), -1}) *
                      b.seq_mask.unsqueeze(-1)).sum(1);
    return users_.index_select(0, b.users) + 0.25 * bag;
  }
  at::Tensor users_, items_;
};

class FixedEncoder : public Encoder {
 public:
  FixedEncoder(int64_t num_users, int64_t num_items) {
    at::manual_seed(9);
    // Rounded to a coarse grid so that ties really occur.
    users = at::round(at::randn({num_users, kDim}) * 2) / 2;
    items = at::round(at::randn({num_items, kDim}) * 2) / 2;
  }
  std::vector<std::string> ProvidedViews() const override { return {}; }
  Views Forward(const Batch&, bool) override { return {}; }
  std::vector<at::Tensor> RegularizedParameters() override { return {}; }
  std::unique_ptr<EvalScorer> MakeEvalScorer() override { return std::make_unique<FixedScorer>(users, items); }
  at::Tensor users, items;
};

data::PreparedDataset Dataset(int num_users = 30) {
  std::vector<data::Triple> triples;
  for (int u = 0; u < num_users; ++u) {
    const int n = 3 + u % 7;
    for (int j = 0; j < n; ++j) {
      // Repeats on purpose: the test item is often also a training item.
      const int item = (u * 5 + j * 3 + (j % 3 == 0 ? 0 : u)) % 40;
      triples.push_back({"u" + std::to_string(u), "i" + std::to_string(item), 100 * j + u});
    }
  }
  auto d = data::PrepareTriples(triples, 2, /*eval_negatives=*/25);
  EXPECT_TRUE(d.ok()) << d.status();
  return *d;
}

// Reference: the score of item i for the user with input `input`.
double Score(const FixedEncoder& e, int32_t u, const std::vector<int32_t>& input, int32_t i) {
  at::Tensor q = e.users[u].clone();
  for (int32_t x : input) q += 0.25 * e.items[x];
  return (q * e.items[i]).sum().item<float>();  // float: the same rounding as the evaluator
}

struct Expected {
  MetricAccumulator sampled, full, sampled_by[2], full_by[2];  // by[1]: revisits
  std::vector<UserRank> ranks;
};

Expected Reference(const FixedEncoder& e, const data::PreparedDataset& d, bool validation, bool official) {
  Expected out;
  for (size_t r = 0; r < d.eval_users.size(); ++r) {
    const int32_t u = d.eval_users[r];
    const int32_t target = validation ? d.val_item[u] : d.test_item[u];
    const int64_t len = validation ? d.train_len[u] : official ? d.SequenceLength(u) : d.test_input_len[u];
    std::vector<int32_t> input(d.Sequence(u), d.Sequence(u) + len);
    const int64_t before = validation ? d.train_len[u] : d.test_input_len[u];  // events before the target's
    const int revisit = std::count(d.Sequence(u), d.Sequence(u) + before, target) > 0 ? 1 : 0;
    // Paper protocol: [negatives..., positive], stable sort by descending score.
    std::vector<std::pair<double, bool>> list;
    for (int j = 0; j < d.negatives_per_user; ++j) list.push_back({Score(e, u, input, d.EvalNegatives(r)[j]), false});
    list.push_back({Score(e, u, input, target), true});
    std::stable_sort(list.begin(), list.end(), [](auto& a, auto& b) { return a.first > b.first; });
    int64_t sampled_rank = -1;
    for (size_t p = 0; p < list.size(); ++p) {
      if (!list[p].second) continue;
      sampled_rank = p;
      out.sampled.Add(p);
      out.sampled_by[revisit].Add(p);
    }
    // Full ranking: every item outside the input, plus the target; ties against the target.
    std::set<int32_t> known(input.begin(), input.end());
    const double pos = Score(e, u, input, target);
    int64_t ahead = 0;
    for (int32_t i = 0; i < d.num_items; ++i) {
      if (i != target && !known.count(i) && Score(e, u, input, i) >= pos) ++ahead;
    }
    out.full.Add(ahead);
    out.full_by[revisit].Add(ahead);
    if (target >= 0) out.ranks.push_back({u, target, revisit == 1, sampled_rank, ahead});
  }
  return out;
}

void ExpectSame(const RankingMetrics& a, const RankingMetrics& b) {
  EXPECT_EQ(a.users, b.users);
  for (int k : kCutoffs) {
    EXPECT_NEAR(a.Hr(k), b.Hr(k), 1e-12) << "HR@" << k;
    EXPECT_NEAR(a.Ndcg(k), b.Ndcg(k), 1e-12) << "NDCG@" << k;
  }
  EXPECT_NEAR(a.mrr, b.mrr, 1e-12);
}

// Both ways of scoring: chain products (the ranks from bits, no score matrix) and LibTorch's
// product into a score matrix; the grid's scores are the same in both.
class EvaluatorScoresTest : public ::testing::TestWithParam<bool> {};

TEST_P(EvaluatorScoresTest, MatchesBruteForceOnBothProtocolsAndInputs) {
  const data::PreparedDataset d = Dataset();
  FixedEncoder encoder(d.num_users, d.num_items);
  for (bool official : {false, true}) {
    EvalOptions options;
    options.chain_scores = GetParam();
    options.batch_size = 7;  // several batches, a partial last one
    options.max_seq_len = 50;
    options.test_input = official ? TestInput::kOfficial : TestInput::kClean;
    EvalResult result = Evaluate(encoder, d, options);
    Expected val = Reference(encoder, d, true, official), test = Reference(encoder, d, false, official);
    SCOPED_TRACE(official ? "official" : "clean");
    ExpectSame(result.validation.sampled, val.sampled.Result());
    ExpectSame(result.validation.full, val.full.Result());
    ExpectSame(result.test.sampled, test.sampled.Result());
    ExpectSame(result.test.full, test.full.Result());
    EXPECT_EQ(result.test.sampled.users, static_cast<int64_t>(d.eval_users.size()));
    for (const auto& [got, want] : {std::pair{&result.validation, &val}, std::pair{&result.test, &test}}) {
      ExpectSame(got->sampled_revisit, want->sampled_by[1].Result());
      ExpectSame(got->sampled_novel, want->sampled_by[0].Result());
      ExpectSame(got->full_revisit, want->full_by[1].Result());
      ExpectSame(got->full_novel, want->full_by[0].Result());
      EXPECT_EQ(got->full_revisit.users + got->full_novel.users, got->full.users);
    }
    EXPECT_GT(result.test.full_revisit.users, 0);
    EXPECT_GT(result.test.full_novel.users, 0);
    EXPECT_TRUE(result.test.ranks.empty()) << "ranks are kept only when asked";
  }
}

// Batches of 7 users (the score buffer reused by a smaller last one), and one batch of 150;
// with full ranking and without (whose chain scores rank the negatives by their scores).
TEST_P(EvaluatorScoresTest, KeptRanksAreEachUsersBruteForceRanks) {
  for (const auto& [num_users, batch_size, full] :
       {std::tuple{30, 7, true}, std::tuple{150, 512, true}, std::tuple{150, 64, false}}) {
    SCOPED_TRACE(testing::Message() << num_users << " users, full ranking " << full);
    const data::PreparedDataset d = Dataset(num_users);
    FixedEncoder encoder(d.num_users, d.num_items);
    EvalOptions options;
    options.chain_scores = GetParam();
    options.full_ranking = full;
    options.batch_size = batch_size;
    options.max_seq_len = 50;
    options.keep_ranks = true;
    EvalResult result = Evaluate(encoder, d, options);
    for (const auto& [got, want] : {std::pair{&result.validation, Reference(encoder, d, true, false)},
                                    std::pair{&result.test, Reference(encoder, d, false, false)}}) {
      ASSERT_EQ(got->ranks.size(), want.ranks.size());
      ASSERT_EQ(static_cast<int64_t>(got->ranks.size()), got->sampled.users);
      MetricAccumulator again;
      for (size_t i = 0; i < got->ranks.size(); ++i) {
        const UserRank &g = got->ranks[i], &w = want.ranks[i];
        EXPECT_EQ(g.user, w.user);
        EXPECT_EQ(g.target, w.target);
        EXPECT_EQ(g.revisit, w.revisit) << "user " << g.user;
        EXPECT_EQ(g.sampled, w.sampled) << "user " << g.user;
        EXPECT_EQ(g.full, full ? w.full : -1) << "user " << g.user;
        again.Add(full ? g.full : g.sampled);
      }
      ExpectSame(again.Result(), full ? got->full : got->sampled);  // the ranks are the ones the metrics summed
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Scores, EvaluatorScoresTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "ChainProducts" : "ScoreMatrix"; });

// A model whose tables are double (not float) is scored outside the float buffer and ranks the
// same: the grid's scores are exact in both types.
TEST(EvaluatorTest, DoubleTablesRankLikeTheBruteForce) {
  const data::PreparedDataset d = Dataset();
  FixedEncoder encoder(d.num_users, d.num_items);
  encoder.users = encoder.users.to(at::kDouble);
  encoder.items = encoder.items.to(at::kDouble);
  EvalOptions options;
  options.max_seq_len = 50;
  EvalResult result = Evaluate(encoder, d, options);
  Expected test = Reference(encoder, d, false, false);
  ExpectSame(result.test.sampled, test.sampled.Result());
  ExpectSame(result.test.full, test.full.Result());
}

TEST(EvaluatorTest, SegmentsSplitRevisitsFromNovelTargetsByHand) {
  // User a's test item x is one it visited before; user b's test item w is new to it.
  auto d = data::PrepareTriples({{"a", "x", 1}, {"a", "y", 2}, {"a", "z", 3}, {"a", "x", 4},
                                 {"b", "y", 1}, {"b", "z", 2}, {"b", "v", 3}, {"b", "w", 4}},
                                1, /*eval_negatives=*/2);
  ASSERT_TRUE(d.ok()) << d.status();
  // Every item scores the same for every user: every candidate ties with the positive, so
  // the positive ranks last among those the protocol keeps.
  FixedEncoder encoder(d->num_users, d->num_items);
  encoder.users = at::ones({d->num_users, kDim});
  encoder.items = at::ones({d->num_items, kDim});
  EvalResult r = Evaluate(encoder, *d, EvalOptions());
  ASSERT_EQ(r.test.full.users, 2);
  EXPECT_EQ(r.test.full_revisit.users, 1);
  EXPECT_EQ(r.test.full_novel.users, 1);
  // Full ranking keeps the items a user has not seen before, plus the target: a (seen x, y, z
  // of 5 items) ranks x behind the 2 unseen ones: rank 2; b (seen y, z, v) ranks w behind the
  // other unseen one, x: rank 1. NDCG@5 of rank r is 1 / log2(r + 2).
  EXPECT_DOUBLE_EQ(r.test.full_revisit.Ndcg(5), 1.0 / std::log2(4.0));
  EXPECT_DOUBLE_EQ(r.test.full_novel.Ndcg(5), 1.0 / std::log2(3.0));
  EXPECT_EQ(r.validation.full_revisit.users, 0) << "neither validation item was visited before";
  EXPECT_EQ(r.validation.full_novel.users, 2);
  // The official test input holds the test event itself; the segment still looks before it.
  EvalOptions official;
  official.test_input = TestInput::kOfficial;
  EXPECT_EQ(Evaluate(encoder, *d, official).test.full_revisit.users, 1);
  const std::string json = r.ToJson();
  for (const char* key : {"\"full_revisit\":{\"users\":1", "\"full_novel\":{\"users\":1", "\"sampled_revisit\":"}) {
    EXPECT_NE(json.find(key), std::string::npos) << key << " in " << json;
  }
}

TEST(EvaluatorTest, OfficialInputSeesTheTestItem) {
  // A model that only looks at its input: it scores an item by how often the input holds it.
  const data::PreparedDataset d = Dataset();
  FixedEncoder encoder(d.num_users, d.num_items);
  encoder.users = at::zeros({d.num_users, d.num_items});
  encoder.items = at::eye(d.num_items);  // score(i) = 0.25 * count of i in the input
  EvalOptions clean, official;
  official.test_input = TestInput::kOfficial;
  const double leak = Evaluate(encoder, d, official).test.sampled.Hr(5);
  const double honest = Evaluate(encoder, d, clean).test.sampled.Hr(5);
  EXPECT_DOUBLE_EQ(leak, 1.0) << "the official input contains the test item itself";
  EXPECT_LT(honest, leak);
}

}  // namespace
}  // namespace hardgnn
