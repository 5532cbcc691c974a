#include "plugins/encoders/selfgnn/linear.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <vector>

#include "gtest/gtest.h"
#include "tests/kernels/gradcheck.h"

namespace hardgnn::selfgnn {
namespace {

using hardgnn::testing::AllClose;
using hardgnn::testing::AllCloseToScale;
using hardgnn::testing::BitIdenticalAcrossThreads;
using hardgnn::testing::GradCheck;
using hardgnn::testing::OutputAndGrads;

TEST(LinearTest, MatchesMatmul) {
  at::manual_seed(0);
  // 9000 x 5 rows: several forward blocks and weight-gradient groups, a partial last one.
  const at::Tensor x0 = at::randn({9000, 5, 64}), w0 = at::randn({64, 192}) * 0.1, b0 = at::randn({192});
  const at::Tensor gy = at::randn({9000, 5, 192});
  std::vector<at::Tensor> r[2];
  r[0] = OutputAndGrads([](const auto& in) { return Linear(in[0], in[1], in[2]); }, {x0, w0, b0}, gy);
  r[1] = OutputAndGrads([](const auto& in) { return at::matmul(in[0], in[1]) + in[2]; }, {x0, w0, b0}, gy);
  EXPECT_TRUE(AllClose(r[0][0], r[1][0], 1e-5, 1e-5));
  EXPECT_TRUE(AllClose(r[0][1], r[1][1], 1e-5, 1e-5));
  EXPECT_TRUE(AllCloseToScale(r[0][2], r[1][2], 1e-5));
  EXPECT_TRUE(AllCloseToScale(r[0][3], r[1][3], 1e-5));
  EXPECT_TRUE(AllClose(Linear(x0, w0, {}), at::matmul(x0, w0), 1e-5, 1e-5));
}

TEST(LinearTest, FiniteDifferenceGradients) {
  at::manual_seed(1);
  const auto f = [](const std::vector<at::Tensor>& in) { return Linear(in[0], in[1], in[2]); };
  EXPECT_TRUE(
      GradCheck(f, {at::randn({2, 3, 4}, at::kDouble), at::randn({4, 5}, at::kDouble), at::randn({5}, at::kDouble)},
                {true, true, true}));
}

TEST(LinearTest, BitIdenticalAcrossThreadCounts) {
  at::manual_seed(2);
  const auto f = [](const std::vector<at::Tensor>& in) { return Linear(in[0], in[1], in[2]); };
  EXPECT_TRUE(BitIdenticalAcrossThreads(f, {at::randn({40000, 64}), at::randn({64, 192}), at::randn({192})},
                                        at::randn({40000, 192})));
}

// One weight-gradient group, its GEMM called outside any parallel region with K = 1000 rows:
// OpenBLAS's threaded driver would cut K differently from its serial one.
TEST(LinearTest, BitIdenticalAcrossThreadCountsInOneGroup) {
  at::manual_seed(3);
  const auto f = [](const std::vector<at::Tensor>& in) { return Linear(in[0], in[1], in[2]); };
  EXPECT_TRUE(BitIdenticalAcrossThreads(f, {at::randn({1000, 64}), at::randn({64, 192}), at::randn({192})},
                                        at::randn({1000, 192})));
}

}  // namespace
}  // namespace hardgnn::selfgnn
