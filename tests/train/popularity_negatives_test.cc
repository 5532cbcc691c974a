// Popularity-proportional ranking negatives: the draw follows count^exponent (checked against
// the formula by frequency), never returns an excluded item, never returns an item with no
// training events, and falls back to uniform when every weighted item is excluded.
#include "core/train/popularity_negatives.h"

#include <cmath>
#include <vector>

#include "gtest/gtest.h"

namespace hardgnn {
namespace {

TEST(PopularityNegativesTest, ProbabilitiesAreCountToTheExponentNormalized) {
  const PopularityNegatives table({0, 1, 4, 9}, 0.5);  // weights 0, 1, 2, 3
  EXPECT_DOUBLE_EQ(table.Probability(0), 0.0);
  EXPECT_DOUBLE_EQ(table.Probability(1), 1.0 / 6);
  EXPECT_DOUBLE_EQ(table.Probability(2), 2.0 / 6);
  EXPECT_DOUBLE_EQ(table.Probability(3), 3.0 / 6);
  const PopularityNegatives flat({2, 7, 1}, 0.0);  // exponent 0: every item with events alike
  for (int i = 0; i < 3; ++i) EXPECT_DOUBLE_EQ(flat.Probability(i), 1.0 / 3);
}

TEST(PopularityNegativesTest, DrawFrequenciesMatchTheTableRenormalizedOverAllowedItems) {
  const std::vector<int64_t> count = {5, 0, 40, 1, 12, 3, 0, 25};
  const double exponent = 0.75;
  const PopularityNegatives table(count, exponent);
  const std::vector<int32_t> excluded = {2, 5};  // ascending
  double allowed_weight = 0;
  for (int i = 0; i < 8; ++i) {
    if (i != 2 && i != 5 && count[i] > 0) allowed_weight += std::pow(count[i], exponent);
  }
  const int draws = 200000;
  std::vector<int> seen(8, 0);
  Rng rng(7);
  for (int t = 0; t < draws; ++t) ++seen[table.Draw(rng, excluded.data(), excluded.size())];
  for (int i = 0; i < 8; ++i) {
    const bool allowed = i != 2 && i != 5 && count[i] > 0;
    const double p = allowed ? std::pow(count[i], exponent) / allowed_weight : 0.0;
    // Five binomial standard deviations.
    EXPECT_NEAR(seen[i] / double(draws), p, 5 * std::sqrt(p * (1 - p) / draws) + 1e-12) << "item " << i;
  }
}

TEST(PopularityNegativesTest, FallsBackToUniformWhenEveryWeightedItemIsExcluded) {
  const PopularityNegatives table({3, 0, 8, 0, 0}, 1.0);
  const std::vector<int32_t> excluded = {0, 2};
  std::vector<int> seen(5, 0);
  Rng rng(3);
  const int draws = 30000;
  for (int t = 0; t < draws; ++t) ++seen[table.Draw(rng, excluded.data(), excluded.size())];
  EXPECT_EQ(seen[0] + seen[2], 0);
  for (int i : {1, 3, 4}) EXPECT_NEAR(seen[i] / double(draws), 1.0 / 3, 0.015) << "item " << i;
}

TEST(PopularityNegativesTest, NoCountsAtAllMeansUniformDraws) {
  const PopularityNegatives table({0, 0, 0, 0}, 0.75);
  const std::vector<int32_t> excluded = {1};
  std::vector<int> seen(4, 0);
  Rng rng(5);
  for (int t = 0; t < 30000; ++t) ++seen[table.Draw(rng, excluded.data(), excluded.size())];
  EXPECT_EQ(seen[1], 0);
  for (int i : {0, 2, 3}) EXPECT_NEAR(seen[i] / 30000.0, 1.0 / 3, 0.015) << "item " << i;
}

TEST(PopularityNegativesTest, SameRngStateGivesTheSameDraws) {
  const PopularityNegatives table({4, 1, 9, 2}, 0.75);
  const std::vector<int32_t> excluded = {1};
  Rng a(11, 5), b(11, 5);
  for (int t = 0; t < 100; ++t) {
    EXPECT_EQ(table.Draw(a, excluded.data(), 1), table.Draw(b, excluded.data(), 1));
  }
}

}  // namespace
}  // namespace hardgnn
