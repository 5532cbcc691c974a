#include "core/cpu/reduce.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace hardgnn::cpu {
namespace {

// Over ATen's grain size and not a multiple of the chunk: chunk sums, their sum, and a tail.
constexpr int64_t kN = 3 * 1000 * 1000 + 7;

TEST(FixedOrderSumTest, BitIdenticalAcrossThreadCounts) {
  at::manual_seed(0);
  const at::Tensor x = at::randn({kN});
  at::set_num_threads(1);
  const at::Tensor one = FixedOrderSum(x), mean_one = FixedOrderMean(x);
  for (int threads : {2, 3}) {
    at::set_num_threads(threads);
    EXPECT_TRUE(at::equal(FixedOrderSum(x), one)) << threads << " threads";
    EXPECT_TRUE(at::equal(FixedOrderMean(x), mean_one)) << threads << " threads";
  }
  at::set_num_threads(1);
}

TEST(FixedOrderSumTest, IsTheSum) {
  at::manual_seed(1);
  for (const int64_t n : std::vector<int64_t>{0, 1, 4096, 4097, 100000, kN}) {
    const at::Tensor x = at::rand({n}) - 0.25;
    const double exact = x.to(at::kDouble).sum().item<double>();
    const at::Tensor s = FixedOrderSum(x.view({-1, 1}));
    EXPECT_EQ(s.dim(), 0);
    EXPECT_EQ(s.scalar_type(), at::kFloat);
    EXPECT_NEAR(s.item<double>(), exact, 1e-5 * (1 + std::abs(exact))) << n;
    if (n > 0) {
      EXPECT_NEAR(FixedOrderMean(x).item<double>(), exact / n, 1e-5 * (1 + std::abs(exact / n))) << n;
    }
  }
}

TEST(FixedOrderSumTest, GradientIsOnes) {
  const at::Tensor x = at::randn({3, 5000}).requires_grad_();
  FixedOrderSum(x).backward();
  EXPECT_TRUE(at::equal(x.grad(), at::ones_like(x)));
  const at::Tensor y = at::randn({10000}).requires_grad_();
  FixedOrderMean(y).backward();
  EXPECT_TRUE(at::allclose(y.grad(), at::full_like(y, 1e-4)));
}

TEST(FixedOrderSumOfSquaresTest, IsTheSumOfSquaresOnEveryThreadCount) {
  at::manual_seed(2);
  for (const int64_t n : std::vector<int64_t>{0, 1, 4095, 4096, 4097, kN}) {
    const at::Tensor x = at::randn({n});
    const double exact = x.to(at::kDouble).square().sum().item<double>();  // an independent sum
    at::set_num_threads(1);
    const at::Tensor one = FixedOrderSumOfSquares(x.view({-1, 1}));
    EXPECT_EQ(one.dim(), 0);
    EXPECT_EQ(one.scalar_type(), at::kFloat);
    EXPECT_NEAR(one.item<double>(), exact, 1e-6 * (1 + exact)) << n;
    for (int threads : {2, 3}) {
      at::set_num_threads(threads);
      EXPECT_TRUE(at::equal(FixedOrderSumOfSquares(x), one)) << n << ", " << threads << " threads";
    }
    at::set_num_threads(1);
  }
  const at::Tensor d = at::randn({5000}, at::kDouble);
  EXPECT_NEAR(FixedOrderSumOfSquares(d).item<double>(), d.square().sum().item<double>(), 1e-9 * 5000);
}

// The gradient has the bits of the power rule's, so training with it follows the same path; a
// loss weight upstream (here 0.37) reaches every element.
TEST(FixedOrderSumOfSquaresTest, GradientIsThePowerRulesBitForBit) {
  for (const auto dtype : {at::kFloat, at::kDouble}) {
    at::manual_seed(3);
    const at::Tensor base = at::randn({3, 5001}, dtype);
    const at::Tensor a = base.clone().requires_grad_(), b = base.clone().requires_grad_();
    (0.37 * FixedOrderSumOfSquares(a)).backward();
    (0.37 * FixedOrderSum(b.square())).backward();
    EXPECT_TRUE(at::equal(a.grad(), b.grad())) << dtype;
  }
}

// Each column's additions in row order, so the bits of the plain loop over rows then columns,
// over whole 64-column blocks, single vectors, scalar tail columns, a row stride wider than the
// columns, and no rows at all (the sums untouched).
template <typename T>
void ExpectColumnSumsOfThePlainLoop() {
  std::mt19937 rng(7);
  std::uniform_real_distribution<T> u(-1, 1);
  for (const int64_t rows : {0, 1, 5, 1536}) {
    for (const int64_t cols : {1, 3, 8, 13, 64, 77, 256}) {
      const int64_t ldx = cols + 5;
      std::vector<T> x(rows * ldx), start(cols), sums, plain;
      for (T& v : x) v = u(rng) * 1000;  // magnitudes apart, so that the order shows in the bits
      for (T& v : start) v = u(rng);
      sums = plain = start;
      for (int64_t i = 0; i < rows; ++i) {
        for (int64_t j = 0; j < cols; ++j) plain[j] += x[i * ldx + j];
      }
      AddColumnSums(rows, cols, x.data(), ldx, sums.data());
      for (int64_t j = 0; j < cols; ++j) {
        ASSERT_EQ(std::memcmp(&sums[j], &plain[j], sizeof(T)), 0) << rows << " x " << cols << ", column " << j;
      }
    }
  }
}

TEST(AddColumnSumsTest, BitsOfThePlainLoopFloat) { ExpectColumnSumsOfThePlainLoop<float>(); }
TEST(AddColumnSumsTest, BitsOfThePlainLoopDouble) { ExpectColumnSumsOfThePlainLoop<double>(); }

}  // namespace
}  // namespace hardgnn::cpu
