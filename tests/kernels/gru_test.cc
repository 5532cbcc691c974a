#include "plugins/encoders/selfgnn/gru.h"

#include <ATen/ATen.h>

#include <cmath>
#include <vector>

#include "gtest/gtest.h"
#include "tests/kernels/gradcheck.h"

namespace hardgnn::selfgnn {
namespace {

using hardgnn::testing::AllClose;
using hardgnn::testing::GradCheck;

// d_in = h = 1, x = (1, 0). gate_kernel rows (x, h) x columns (r, u) = [[0, ln 3], [0, 0]],
// gate_bias = 0; candidate_kernel rows (x, h) = [ln 2, 1], candidate_bias = 0.
// Step 1 (h_0 = 0): r = σ(0) = 0.5, u = σ(ln 3) = 0.75, c = tanh(ln 2) = 0.6,
//   h_1 = 0.75·0 + 0.25·0.6 = 0.15.
// Step 2 (x = 0): r = u = σ(0) = 0.5, c = tanh((r·h_1)·1) = tanh(0.075) = 0.07485969068749909,
//   h_2 = 0.5·0.15 + 0.5·c = 0.11242984534374954. (r applied to h before the product, TF's form;
//   PyTorch's GRU would give tanh(0.5·0.15) too here, but differs once the recurrent bias is
//   nonzero.)
TEST(TfGruTest, HandComputedTwoSteps) {
  const at::Tensor gk = at::tensor({0.0, std::log(3.0), 0.0, 0.0}, at::kDouble).view({2, 2});
  const at::Tensor ck = at::tensor({std::log(2.0), 1.0}, at::kDouble).view({2, 1});
  const at::Tensor x = at::tensor({1.0, 0.0}, at::kDouble).view({1, 2, 1});
  const at::Tensor y = TfGru(x, gk, at::zeros({2}, at::kDouble), ck, at::zeros({1}, at::kDouble));
  EXPECT_TRUE(AllClose(y, at::tensor({0.15, 0.11242984534374954}, at::kDouble).view({1, 2, 1}), 1e-15, 1e-15));
}

TEST(TfGruTest, FiniteDifferenceGradients) {
  at::manual_seed(3);
  const auto f = [](const std::vector<at::Tensor>& in) { return TfGru(in[0], in[1], in[2], in[3], in[4]); };
  const int64_t din = 2, h = 3;
  EXPECT_TRUE(GradCheck(
      f,
      {at::randn({2, 3, din}, at::kDouble), at::randn({din + h, 2 * h}, at::kDouble) * 0.5,
       at::ones({2 * h}, at::kDouble), at::randn({din + h, h}, at::kDouble) * 0.5, at::zeros({h}, at::kDouble)},
      {true, true, true, true, true}));
}

}  // namespace
}  // namespace hardgnn::selfgnn
