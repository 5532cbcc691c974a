#include "core/eval/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace hardgnn {
namespace {

// The published procedure, written out literally: append the positive after the negatives,
// stable-sort by descending score, find the positive's position.
int64_t StableSortRank(float positive, const std::vector<float>& negatives) {
  std::vector<std::pair<float, int>> list;
  for (float n : negatives) list.push_back({n, 0});
  list.push_back({positive, 1});
  std::stable_sort(list.begin(), list.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  for (size_t r = 0; r < list.size(); ++r) {
    if (list[r].second == 1) return static_cast<int64_t>(r);
  }
  return -1;
}

TEST(RankAmongNegativesTest, TiesPlaceThePositiveAfterEqualNegatives) {
  const std::vector<float> negatives = {0.5f, 0.9f, 0.5f, 0.1f};
  EXPECT_EQ(RankAmongNegatives(0.5f, negatives.data(), 4), 3);  // 0.9, 0.5, 0.5 go first
  EXPECT_EQ(RankAmongNegatives(0.95f, negatives.data(), 4), 0);
  EXPECT_EQ(RankAmongNegatives(0.0f, negatives.data(), 4), 4);
  const std::vector<float> all_equal(999, 1.0f);
  EXPECT_EQ(RankAmongNegatives(1.0f, all_equal.data(), 999), 999);  // worst, never lucky
}

TEST(RankAmongNegativesTest, NanScoresNeverHelpThePositive) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> negatives = {nan, 0.2f};
  EXPECT_EQ(RankAmongNegatives(0.5f, negatives.data(), 2), 1);
  EXPECT_EQ(RankAmongNegatives(nan, negatives.data(), 2), 2);
}

TEST(RankAmongNegativesTest, MatchesTheStableSortOnRandomScoresWithTies) {
  std::mt19937 gen(5);
  std::uniform_int_distribution<int> level(0, 20);  // few distinct values: many ties
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<float> negatives(99);
    for (float& n : negatives) n = level(gen) / 4.0f;
    const float positive = level(gen) / 4.0f;
    EXPECT_EQ(RankAmongNegatives(positive, negatives.data(), 99), StableSortRank(positive, negatives));
  }
}

TEST(MetricAccumulatorTest, HandComputedValues) {
  MetricAccumulator acc;
  for (int64_t rank : {0, 3, 9, 15, 500}) acc.Add(rank);
  RankingMetrics m = acc.Result();
  EXPECT_EQ(m.users, 5);
  EXPECT_DOUBLE_EQ(m.Hr(5), 2.0 / 5);   // ranks 0, 3
  EXPECT_DOUBLE_EQ(m.Hr(10), 3.0 / 5);  // + 9
  EXPECT_DOUBLE_EQ(m.Hr(20), 4.0 / 5);  // + 15
  EXPECT_NEAR(m.Ndcg(5), (1.0 + 1.0 / std::log2(5.0)) / 5, 1e-12);
  EXPECT_NEAR(m.Ndcg(10), (1.0 + 1.0 / std::log2(5.0) + 1.0 / std::log2(11.0)) / 5, 1e-12);
  EXPECT_NEAR(m.Ndcg(20), (1.0 + 1.0 / std::log2(5.0) + 1.0 / std::log2(11.0) + 1.0 / std::log2(17.0)) / 5,
              1e-12);
  EXPECT_NEAR(m.mrr, (1.0 + 1.0 / 4 + 1.0 / 10 + 1.0 / 16 + 1.0 / 501) / 5, 1e-12);
}

TEST(MetricAccumulatorTest, MergeEqualsOneAccumulator) {
  MetricAccumulator a, b, all;
  for (int64_t r = 0; r < 30; ++r) {
    (r % 2 ? a : b).Add(r * 7 % 23);
    all.Add(r * 7 % 23);
  }
  a.Merge(b);
  EXPECT_EQ(a.Result().ToJson(), all.Result().ToJson());
  EXPECT_EQ(MetricAccumulator().Result().users, 0);
}

}  // namespace
}  // namespace hardgnn
