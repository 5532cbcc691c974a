// cpu::GatherRowsSparseGradient: the rows of index_select over x's flattened leading dims, a
// sparse COO gradient holding exactly the gathered rows, and, summed with other gradients of
// x, the gradient of the dense formulation.
#include "core/cpu/sparse_rows.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/function.h>

#include "core/cpu/kernel_path.h"

namespace hardgnn::cpu {
namespace {

const at::Tensor kFlat = at::tensor({7, 0, 7, 29, 13, 7}, at::kLong);  // repeats, out of order

TEST(GatherRowsSparseGradientTest, TheRowsOfTheFlattenedTensorAndASparseGradientOfThem) {
  for (const auto dtype : {at::kFloat, at::kDouble}) {
    at::manual_seed(1);
    const at::Tensor x = at::randn({3, 10, 4}, dtype).requires_grad_(true);
    const at::Tensor rows = GatherRowsSparseGradient(x, kFlat);
    EXPECT_TRUE(at::equal(rows, x.detach().reshape({30, 4}).index_select(0, kFlat)));
    const at::Tensor g = at::randn({6, 4}, dtype);
    const at::Tensor grad = torch::autograd::grad({rows}, {x}, {g})[0];
    ASSERT_TRUE(grad.is_sparse());
    EXPECT_EQ(grad._nnz(), 6);  // one entry per gathered row, repeats added when used
    EXPECT_EQ(grad.sizes(), x.sizes());
    const at::Tensor dense = torch::autograd::grad({x.reshape({30, 4}).index_select(0, kFlat)}, {x}, {g})[0];
    EXPECT_TRUE(at::allclose(grad.to_dense(), dense, 1e-6, 0));
    // Row 7 (slice 0, item 7) gathered three times, row 29 (slice 2, item 9) once.
    EXPECT_TRUE(at::allclose(grad.to_dense()[0][7], g[0] + g[2] + g[5], 1e-6, 0));
    EXPECT_TRUE(at::equal(grad.to_dense()[2][9], g[3]));
  }
}

// With a dense consumer of x too, the engine adds the sparse rows into the dense gradient.
TEST(GatherRowsSparseGradientTest, AddsUpWithADenseGradient) {
  at::manual_seed(2);
  const at::Tensor x = at::randn({3, 10, 4}).requires_grad_(true);
  const at::Tensor w = at::randn({6, 4});
  auto loss = [&](bool sparse) {
    const at::Tensor rows = sparse ? GatherRowsSparseGradient(x, kFlat) : x.reshape({30, 4}).index_select(0, kFlat);
    return (rows * w).sum() + x.square().sum();
  };
  const at::Tensor want = torch::autograd::grad({loss(false)}, {x})[0];
  const at::Tensor got = torch::autograd::grad({loss(true)}, {x})[0];
  EXPECT_FALSE(got.is_sparse());
  EXPECT_TRUE(at::allclose(got, want, 1e-6, 0));
}

// A 2-D x, no gradient needed, or the kernels forced off: index_select.
TEST(GatherRowsSparseGradientTest, OtherwiseItIsIndexSelect) {
  const at::Tensor x = at::randn({30, 4});
  EXPECT_TRUE(at::equal(GatherRowsSparseGradient(x, kFlat), x.index_select(0, kFlat)));
  const at::Tensor flat2 = at::randn({30, 4}).requires_grad_(true);
  const at::Tensor g = torch::autograd::grad({GatherRowsSparseGradient(flat2, kFlat).sum()}, {flat2})[0];
  EXPECT_TRUE(g.is_sparse());
  ScopedAtenKernels aten;
  const at::Tensor y = at::randn({3, 10, 4}).requires_grad_(true);
  EXPECT_FALSE(torch::autograd::grad({GatherRowsSparseGradient(y, kFlat).sum()}, {y})[0].is_sparse());
}

}  // namespace
}  // namespace hardgnn::cpu
