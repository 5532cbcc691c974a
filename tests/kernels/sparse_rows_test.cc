// cpu::GatherRowsSparseGradient: the rows of index_select over x's flattened leading dims, a
// sparse COO gradient holding exactly the gathered rows, and, summed with other gradients of
// x, the gradient of the dense formulation. cpu::GatherRowsDenseGradient: index_select's
// gradient bit for bit, which autograd adds the sparse rows into in place.
#include "core/cpu/sparse_rows.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/function.h>

#include "core/cpu/kernel_path.h"
#include "core/model/tensor_memory.h"

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

TEST(GatherRowsDenseGradientTest, IndexSelectsGradientBitForBit) {
  for (const auto dtype : {at::kFloat, at::kDouble}) {
    at::manual_seed(3);
    const at::Tensor x = at::randn({3, 10, 4}, dtype).requires_grad_(true);
    const at::Tensor rows = GatherRowsDenseGradient(x, kFlat);
    EXPECT_TRUE(at::equal(rows, x.detach().reshape({30, 4}).index_select(0, kFlat)));
    const at::Tensor g = at::randn({6, 4}, dtype);
    const at::Tensor grad = torch::autograd::grad({rows}, {x}, {g})[0];
    EXPECT_FALSE(grad.is_sparse());
    EXPECT_EQ(grad.sizes(), x.sizes());
    EXPECT_TRUE(at::equal(grad, torch::autograd::grad({x.reshape({30, 4}).index_select(0, kFlat)}, {x}, {g})[0]));
  }
}

// Many rows, many repeats, parts of magnitudes 10^-3 to 10^3 (so that another order of addition
// would round differently), on 1 and 2 threads: index_select's gradient bit for bit, which the
// parallel pass builds row by row.
TEST(GatherRowsDenseGradientTest, ManyRepeatsInIndexOrderOnAnyThreadCount) {
  at::manual_seed(5);
  const at::Tensor x = at::randn({5000, 12}).requires_grad_(true);
  const at::Tensor flat = at::randint(0, 700, {20000}, at::kLong);  // rows 700.. get no part
  const at::Tensor g = at::randn({20000, 12}) * at::pow(10.0, at::randint(-3, 4, {20000, 1}));
  const at::Tensor want = torch::autograd::grad({x.index_select(0, flat)}, {x}, {g})[0];
  for (int threads : {1, 2}) {
    at::set_num_threads(threads);
    const at::Tensor grad = torch::autograd::grad({GatherRowsDenseGradient(x, flat)}, {x}, {g})[0];
    EXPECT_TRUE(at::equal(grad, want)) << threads << " threads";
  }
  at::set_num_threads(1);
  // The check can fail: the same parts in reverse index order move some element.
  EXPECT_FALSE(at::equal(torch::autograd::grad({x.index_select(0, flat.flip(0))}, {x}, {g.flip(0)})[0], want));
}

// SAL's case: sparse gathers of a large x (the fusion's rows, the mined items') and a dense one,
// made last (as SAL's is: its gradient arrives first) or first. Either way the rows go into the
// dense gather's gradient in place: x's gradient is the only full-size buffer alive, where
// index_select's (a view of its [R, d] buffer) is copied.
TEST(GatherRowsDenseGradientTest, TheSparseRowsAreAddedIntoItInPlace) {
  at::manual_seed(4);
  const at::Tensor x = at::randn({4, 8192, 16});  // 2 MB
  const int64_t bytes = x.numel() * 4;
  const at::Tensor fused = at::arange(0, 32768, 97, at::kLong), mined = at::arange(5, 32768, 1031, at::kLong);
  const at::Tensor sal = at::randint(0, 32768, {3000}, at::kLong);
  const at::Tensor w1 = at::randn({fused.size(0), 16}), w2 = at::randn({mined.size(0), 16}), w3 = at::randn({3000, 16});
  TensorMemory::StartTracking();
  auto grad_and_peak = [&](bool dense_gather, bool dense_last) {
    const at::Tensor leaf = x.clone().requires_grad_(true);
    auto dense = [&] {
      return ((dense_gather ? GatherRowsDenseGradient(leaf, sal) : leaf.reshape({-1, 16}).index_select(0, sal)) * w3)
          .sum();
    };
    at::Tensor loss = dense_last ? at::zeros({}) : dense();
    loss = loss + (GatherRowsSparseGradient(leaf, fused) * w1).sum() + (GatherRowsSparseGradient(leaf, mined) * w2).sum();
    if (dense_last) loss = loss + dense();
    const int64_t before = TensorMemory::Live();
    TensorMemory::ResetPeak();
    loss.backward();
    return std::make_pair(leaf.grad(), TensorMemory::Peak() - before);
  };
  const auto [want, stock_peak] = grad_and_peak(false, true);
  EXPECT_GT(stock_peak, bytes * 7 / 4) << "index_select's gradient was not copied: the comparison shows nothing";
  for (const bool dense_last : {true, false}) {
    const auto [got, peak] = grad_and_peak(true, dense_last);
    EXPECT_TRUE(at::equal(got, want)) << "dense gather made " << (dense_last ? "last" : "first");
    EXPECT_LT(peak, bytes * 5 / 4) << "more than x's gradient alive at once; dense gather made "
                                   << (dense_last ? "last" : "first");
  }
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
