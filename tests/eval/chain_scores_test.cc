// ChainScores against the scores written out as scalar FMA chains: each query's bits and count
// of items not below its target (ties, NaN items and NaN targets included) over a catalog of
// several panels with a partial last one, in more rows than one pass over the panels takes.
#include "core/eval/chain_scores.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include <ATen/ATen.h>

#include "core/cpu/chain_product.h"
#include "core/cpu/kernel_path.h"
#include "gtest/gtest.h"

namespace hardgnn {
namespace {

float Chain(const float* a, const float* b, int64_t k) {
  float t = 0;
  for (int64_t p = 0; p < k; ++p) t = std::fma(a[p], b[p], t);
  return 0.0f + t;
}

class ChainScoresTest : public ::testing::TestWithParam<bool> {  // param: AVX2 path forced
 protected:
  void SetUp() override {
    if (!cpu::ChainProductsApply()) GTEST_SKIP() << "no AVX2 on this CPU";
    cpu::ForceNarrowVectors(GetParam());
  }
  void TearDown() override { cpu::ForceNarrowVectors(false); }
};

TEST_P(ChainScoresTest, BitsAndCountsAreTheScalarChainsComparisons) {
  constexpr int64_t kItems = 1000, kDim = 67, kRows = 300;  // 5 panels and 40 items; 256 + 44 rows
  at::manual_seed(3);
  at::Tensor items = at::randn({kItems, kDim}), queries = at::randn({kRows, kDim});
  items[17].copy_(items[5]);                                        // a tie between items
  items[900].fill_(std::numeric_limits<float>::quiet_NaN());        // an item that scores NaN
  const float* it = items.data_ptr<float>();
  const float* q = queries.data_ptr<float>();
  const ChainScores scores(items);
  const int64_t words = scores.BitWords();
  ASSERT_GE(words * 64, kItems);

  std::vector<float> targets(kRows);
  for (int64_t r = 0; r < kRows; ++r) {
    const int32_t target = (r * 37) % kItems;  // the scores of real items: ties with themselves
    scores.Scores(q + r * kDim, &target, 1, &targets[r]);
    ASSERT_EQ(targets[r], Chain(q + r * kDim, it + target * kDim, kDim));
  }
  targets[10] = std::numeric_limits<float>::quiet_NaN();
  targets[11] = -std::numeric_limits<float>::infinity();
  targets[12] = std::numeric_limits<float>::infinity();

  std::vector<uint64_t> bits(kRows * words, ~uint64_t{0});
  std::vector<int64_t> not_below(kRows, -1);
  scores.NotBelow(q, kRows, targets.data(), bits.data(), not_below.data());
  for (int64_t r = 0; r < kRows; ++r) {
    int64_t want = 0;
    for (int64_t i = 0; i < kItems; ++i) {
      const bool ahead = !(Chain(q + r * kDim, it + i * kDim, kDim) < targets[r]);
      want += ahead;
      ASSERT_EQ(bits[r * words + i / 64] >> (i % 64) & 1, ahead ? 1u : 0u) << "row " << r << " item " << i;
    }
    for (int64_t i = kItems; i < words * 64; ++i) {
      ASSERT_EQ(bits[r * words + i / 64] >> (i % 64) & 1, 0u) << "row " << r << ": a bit past the catalog";
    }
    ASSERT_EQ(not_below[r], want) << "row " << r;
  }
  EXPECT_EQ(not_below[10], kItems) << "every item ties with a NaN target";
  EXPECT_EQ(not_below[11], kItems);
  EXPECT_EQ(not_below[12], 1) << "only the NaN item is not below +inf";
}

TEST_P(ChainScoresTest, ScoresAreTheChainsOfTheNamedItems) {
  at::manual_seed(4);
  const at::Tensor items = at::randn({300, 64}), q = at::randn({64});
  const ChainScores scores(items);
  std::vector<int32_t> ids = {299, 0, 5, 5, 150, 7, 8, 9, 10, 11, 12};
  std::vector<float> out(ids.size());
  scores.Scores(q.data_ptr<float>(), ids.data(), ids.size(), out.data());
  for (size_t j = 0; j < ids.size(); ++j) {
    EXPECT_EQ(out[j], Chain(q.data_ptr<float>(), items.data_ptr<float>() + ids[j] * 64, 64)) << ids[j];
  }
}

INSTANTIATE_TEST_SUITE_P(Paths, ChainScoresTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Avx2Forced" : "CpusOwn"; });

}  // namespace
}  // namespace hardgnn
