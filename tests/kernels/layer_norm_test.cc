#include "plugins/encoders/selfgnn/layer_norm.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <vector>

#include "gtest/gtest.h"
#include "plugins/encoders/selfgnn/reference.h"
#include "tests/kernels/gradcheck.h"

namespace hardgnn::selfgnn {
namespace {

using hardgnn::testing::AllClose;
using hardgnn::testing::AllCloseToScale;
using hardgnn::testing::BitIdenticalAcrossThreads;
using hardgnn::testing::GradCheck;
using hardgnn::testing::OutputAndGrads;

// TF contrib layer_norm (begin_norm_axis = 1) written out: statistics over (G, d) jointly.
at::Tensor Manual(const at::Tensor& x, const at::Tensor& gamma, const at::Tensor& beta, double eps) {
  const at::Tensor mean = x.mean({1, 2}, /*keepdim=*/true);
  const at::Tensor var = (x - mean).pow(2).mean({1, 2}, /*keepdim=*/true);  // population variance
  return (x - mean) / at::sqrt(var + eps) * gamma + beta;
}

struct Shape {
  int64_t n, g, d;
  at::ScalarType dtype;
};
class LayerNormTest : public ::testing::TestWithParam<Shape> {};

TEST_P(LayerNormTest, MatchesManualStatisticsAndAtLayerNorm) {
  const Shape p = GetParam();
  const auto opt = at::TensorOptions().dtype(p.dtype);
  at::manual_seed(13);
  // Rows with different offsets and scales (the statistics must be per row).
  const at::Tensor x0 =
      at::randn({p.n, p.g, p.d}, opt) * (at::rand({p.n, 1, 1}, opt) * 5 + 0.1) + at::randn({p.n, 1, 1}, opt) * 3;
  const at::Tensor g0 = at::randn({p.d}, opt), b0 = at::randn({p.d}, opt);
  const at::Tensor gy = at::randn({p.n, p.g, p.d}, opt);
  std::vector<at::Tensor> r[3];
  r[0] = OutputAndGrads([](const auto& in) { return BlockLayerNorm(in[0], in[1], in[2], 1e-12); }, {x0, g0, b0}, gy);
  r[1] = OutputAndGrads([](const auto& in) { return Manual(in[0], in[1], in[2], 1e-12); }, {x0, g0, b0}, gy);
  r[2] = OutputAndGrads([](const auto& in) { return ReferenceBlockLayerNorm(in[0], in[1], in[2], 1e-12); },
                        {x0, g0, b0}, gy);
  const double tol = p.dtype == at::kFloat ? 2e-5 : 1e-12;
  for (int i = 1; i < 3; ++i) {
    EXPECT_TRUE(AllClose(r[0][0], r[i][0], tol, tol)) << "y vs " << i;
    EXPECT_TRUE(AllClose(r[0][1], r[i][1], tol, tol)) << "dx vs " << i;
    EXPECT_TRUE(AllCloseToScale(r[0][2], r[i][2], tol)) << "dgamma vs " << i;
    EXPECT_TRUE(AllCloseToScale(r[0][3], r[i][3], tol)) << "dbeta vs " << i;
  }
  // Each row of the normalized block (γ = 1, β = 0) has mean 0 and variance var/(var + ε), i.e.
  // 1 up to ε/var <= 1e-10 for these rows.
  const at::Tensor z = BlockLayerNorm(x0, at::ones({p.d}, opt), at::zeros({p.d}, opt));
  EXPECT_TRUE(AllClose(z.mean({1, 2}), at::zeros({p.n}, opt), 0, tol * 10));
  EXPECT_TRUE(AllClose(z.pow(2).mean({1, 2}), at::ones({p.n}, opt), 0, std::max(tol * 10, 1e-9)));
}

INSTANTIATE_TEST_SUITE_P(Shapes, LayerNormTest,
                         ::testing::Values(Shape{600, 12, 64, at::kFloat}, Shape{300, 5, 24, at::kFloat},
                                           Shape{200, 3, 7, at::kFloat}, Shape{100, 12, 64, at::kDouble},
                                           Shape{50, 4, 6, at::kDouble}));

// ε = 1e-12 matters only for (near-)constant rows: a constant row normalizes to 0 (then β).
TEST(LayerNormTest, ConstantRowGivesBeta) {
  const at::Tensor x = at::full({2, 3, 8}, 4.5);
  const at::Tensor beta = at::arange(8, at::kFloat);
  EXPECT_TRUE(AllClose(BlockLayerNorm(x, at::ones({8}), beta), beta.expand({2, 3, 8}), 0, 0));
}

TEST(LayerNormTest, FiniteDifferenceGradients) {
  at::manual_seed(1);
  const auto f = [](const std::vector<at::Tensor>& in) { return BlockLayerNorm(in[0], in[1], in[2]); };
  for (const int64_t d : {4, 3}) {  // double vector path, scalar path
    EXPECT_TRUE(GradCheck(f,
                          {at::randn({3, 2, d}, at::kDouble), at::randn({d}, at::kDouble), at::randn({d}, at::kDouble)},
                          {true, true, true}))
        << d;
  }
}

// With one slice per row it is at::layer_norm over the last axis (the sequence encoder's use).
TEST(LayerNormTest, OneSliceIsLastAxisLayerNorm) {
  at::manual_seed(5);
  const at::Tensor x = at::randn({300, 1, 64}), g = at::randn({64}), b = at::randn({64}), gy = at::randn({300, 1, 64});
  const auto fused = OutputAndGrads([](const auto& in) { return BlockLayerNorm(in[0], in[1], in[2], 1e-12); },
                                    {x, g, b}, gy);
  const auto stock = OutputAndGrads(
      [](const auto& in) { return at::layer_norm(in[0], {64}, in[1], in[2], 1e-12); }, {x, g, b}, gy);
  for (size_t k = 0; k < fused.size(); ++k) EXPECT_TRUE(AllClose(fused[k], stock[k], 1e-5, 1e-5)) << k;
}

TEST(LayerNormTest, BitIdenticalAcrossThreadCounts) {
  at::manual_seed(4);
  const auto f = [](const std::vector<at::Tensor>& in) { return BlockLayerNorm(in[0], in[1], in[2]); };
  EXPECT_TRUE(BitIdenticalAcrossThreads(f, {at::randn({5000, 12, 64}), at::randn({64}), at::randn({64})},
                                        at::randn({5000, 12, 64})));
}

}  // namespace
}  // namespace hardgnn::selfgnn
