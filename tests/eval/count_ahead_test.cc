// The vectorized full-ranking count against the scalar loop it replaces.
#include "core/eval/count_ahead.h"

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace hardgnn {
namespace {

int64_t ScalarCount(const std::vector<float>& x, float target) {
  int64_t n = 0;
  for (float v : x) n += !(v < target);
  return n;
}

TEST(CountAheadTest, EqualsTheScalarLoopWithTiesNaNsAndEveryTailLength) {
  std::mt19937 gen(5);
  std::uniform_int_distribution<int> grid(-8, 8);  // a coarse grid: ties with the target are common
  for (int64_t n : {0, 1, 7, 8, 9, 31, 32, 33, 63, 100, 1000, 38001}) {
    std::vector<float> x(n);
    for (float& v : x) v = 0.25f * grid(gen);
    for (int64_t i = 3; i < n; i += 17) x[i] = std::numeric_limits<float>::quiet_NaN();
    for (float target : {-2.5f, -0.25f, 0.0f, 1.0f, 2.0f, 9.0f}) {
      EXPECT_EQ(CountNotBelow(x.data(), n, target), ScalarCount(x, target)) << "n " << n << " target " << target;
    }
  }
}

TEST(CountAheadTest, HandCountedCase) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  // 9 scores (one full vector and a tail): >= 0.5 are 0.5, 0.7, 2, NaN, 0.5 -> 5.
  const std::vector<float> x = {0.1f, 0.5f, 0.7f, -1.0f, 2.0f, nan, 0.49f, 0.0f, 0.5f};
  EXPECT_EQ(CountNotBelow(x.data(), 9, 0.5f), 5);
  EXPECT_EQ(CountNotBelow(x.data(), 8, 0.5f), 4);
  EXPECT_EQ(CountNotBelow(x.data(), 9, -std::numeric_limits<float>::infinity()), 9);
}

}  // namespace
}  // namespace hardgnn
