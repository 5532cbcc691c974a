#include "plugins/encoders/selfgnn/linear.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <vector>

#include "core/cpu/blas.h"
#include "core/cpu/reduce.h"
#include "gtest/gtest.h"
#include "tests/kernels/gradcheck.h"

namespace hardgnn::selfgnn {
namespace {

using hardgnn::testing::AllClose;
using hardgnn::testing::AllCloseToScale;
using hardgnn::testing::BitEqual;
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

// The backward against its definition, computed here by cpu::Gemm as whole products: dx =
// gy · wᵀ over the forward's blocks of 512 rows, and per group of 8,192 rows xᵀ · gy with the
// bias's column sums after it (cpu::AddColumnSums), the groups' partials summed in group order.
// Bit for bit, so that where the weight gradient is cut into its panels and interleaved with dx
// (the chain kernel under OpenBLAS's AVX-512 kernels: linear_openblas_kernels_test) its calls
// must be the whole products' own.
TEST(LinearTest, BackwardIsTheWholeProductsOfItsGroups) {
  at::manual_seed(4);
  constexpr int64_t kGroup = 8192, kBlock = 512, in = 64, out = 192;
  const int64_t m = 3 * kGroup + 1000;  // four groups, the last partial
  const at::Tensor x = at::randn({m, in}), w = at::randn({in, out}) * 0.1, b = at::randn({out});
  const at::Tensor gy = at::randn({m, out});
  const std::vector<at::Tensor> got =
      OutputAndGrads([](const auto& v) { return Linear(v[0], v[1], v[2]); }, {x, w, b}, gy);
  const float *px = x.data_ptr<float>(), *pw = w.data_ptr<float>(), *pg = gy.data_ptr<float>();
  at::Tensor dx = at::empty({m, in});
  for (int64_t b0 = 0; b0 < m; b0 += kBlock) {
    const int64_t rows = std::min(kBlock, m - b0);
    cpu::Gemm(false, true, rows, in, out, 1.0f, pg + b0 * out, out, pw, out, 0.0f, dx.data_ptr<float>() + b0 * in, in);
  }
  const int64_t width = in * out + out;
  std::vector<float> sum(width, 0.0f);
  for (int64_t r0 = 0; r0 < m; r0 += kGroup) {
    const int64_t rows = std::min(kGroup, m - r0);
    std::vector<float> part(width, 0.0f);
    cpu::Gemm(true, false, in, out, rows, 1.0f, px + r0 * in, in, pg + r0 * out, out, 0.0f, part.data(), out);
    cpu::AddColumnSums(rows, out, pg + r0 * out, out, part.data() + in * out);
    for (int64_t j = 0; j < width; ++j) sum[j] += part[j];
  }
  const at::Tensor dw = at::from_blob(sum.data(), {in, out}).clone();
  const at::Tensor db = at::from_blob(sum.data() + in * out, {out}).clone();
  EXPECT_TRUE(BitEqual(got[1], dx));
  EXPECT_TRUE(BitEqual(got[2], dw));
  EXPECT_TRUE(BitEqual(got[3], db));
}

}  // namespace
}  // namespace hardgnn::selfgnn
