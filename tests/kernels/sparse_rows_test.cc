// cpu::GatherRowsSparseGradient: the rows of index_select over x's flattened leading dims, a
// sparse COO gradient holding exactly the gathered rows, and, summed with other gradients of
// x, the gradient of the dense formulation. cpu::GatherRowsDenseGradient: index_select's
// gradient bit for bit, which autograd adds the sparse rows into in place. cpu::ForkForRowGathers:
// two handles whose gathers' rows reach x's gradient in one pass, with the bits they give on x.
#include "core/cpu/sparse_rows.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/function.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/cpu/kernel_path.h"
#include "core/model/tensor_memory.h"

namespace hardgnn::cpu {
namespace {

// Repeats, out of order. Made per use: a static tensor would be freed after the thread-local
// state TensorMemory::StartTracking installs, and its free reads that state (a use after free).
at::Tensor Flat() { return at::tensor({7, 0, 7, 29, 13, 7}, at::kLong); }

TEST(GatherRowsSparseGradientTest, TheRowsOfTheFlattenedTensorAndASparseGradientOfThem) {
  for (const auto dtype : {at::kFloat, at::kDouble}) {
    at::manual_seed(1);
    const at::Tensor x = at::randn({3, 10, 4}, dtype).requires_grad_(true);
    const at::Tensor rows = GatherRowsSparseGradient(x, Flat());
    EXPECT_TRUE(at::equal(rows, x.detach().reshape({30, 4}).index_select(0, Flat())));
    const at::Tensor g = at::randn({6, 4}, dtype);
    const at::Tensor grad = torch::autograd::grad({rows}, {x}, {g})[0];
    ASSERT_TRUE(grad.is_sparse());
    EXPECT_EQ(grad._nnz(), 6);  // one entry per gathered row, repeats added when used
    EXPECT_EQ(grad.sizes(), x.sizes());
    const at::Tensor dense = torch::autograd::grad({x.reshape({30, 4}).index_select(0, Flat())}, {x}, {g})[0];
    EXPECT_TRUE(at::allclose(grad.to_dense(), dense, 1e-6, 0));
    // Row 7 (slice 0, item 7) gathered three times, row 29 (slice 2, item 9) once.
    EXPECT_TRUE(at::allclose(grad.to_dense()[0][7], g[0] + g[2] + g[5], 1e-6, 0));
    EXPECT_TRUE(at::equal(grad.to_dense()[2][9], g[3]));
  }
}

// Many rows, in the fusion's layout (every slice of each row, item-major) and at random: the rows
// index_select gives, on 1 and 2 threads, for a contiguous x and a strided one; a row index out of
// range is refused, naming the row count.
TEST(GatherRowsSparseGradientTest, ManyRowsAreIndexSelectsOnAnyThreadCount) {
  at::manual_seed(4);
  const at::Tensor x = at::randn({5, 3000, 16}).requires_grad_(true);
  const at::Tensor items = at::arange(0, 3000, 7, at::kLong);
  const at::Tensor layout = (items.unsqueeze(1) + at::arange(5, at::kLong).unsqueeze(0) * 3000).reshape(-1);
  const at::Tensor strided = at::randn({16, 15000}).t().requires_grad_(true);
  for (const at::Tensor& flat : {layout, at::randint(0, 15000, {9000}, at::kLong)}) {
    for (int threads : {1, 2}) {
      at::set_num_threads(threads);
      EXPECT_TRUE(at::equal(GatherRowsSparseGradient(x, flat), x.detach().reshape({-1, 16}).index_select(0, flat)));
      EXPECT_TRUE(at::equal(GatherRowsSparseGradient(strided, flat), strided.detach().index_select(0, flat)));
    }
  }
  at::set_num_threads(1);
  try {
    GatherRowsSparseGradient(x, at::tensor({3, 15000}, at::kLong));
    ADD_FAILURE() << "no error for row 15000 of 15000";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("out of range of the 15000 rows"), std::string::npos) << e.what();
  }
  EXPECT_THROW(GatherRowsSparseGradient(x, at::tensor({-1}, at::kLong)), std::exception);
}

// With a dense consumer of x too, the engine adds the sparse rows into the dense gradient.
TEST(GatherRowsSparseGradientTest, AddsUpWithADenseGradient) {
  at::manual_seed(2);
  const at::Tensor x = at::randn({3, 10, 4}).requires_grad_(true);
  const at::Tensor w = at::randn({6, 4});
  auto loss = [&](bool sparse) {
    const at::Tensor rows = sparse ? GatherRowsSparseGradient(x, Flat()) : x.reshape({30, 4}).index_select(0, Flat());
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
    const at::Tensor rows = GatherRowsDenseGradient(x, Flat());
    EXPECT_TRUE(at::equal(rows, x.detach().reshape({30, 4}).index_select(0, Flat())));
    const at::Tensor g = at::randn({6, 4}, dtype);
    const at::Tensor grad = torch::autograd::grad({rows}, {x}, {g})[0];
    EXPECT_FALSE(grad.is_sparse());
    EXPECT_EQ(grad.sizes(), x.sizes());
    EXPECT_TRUE(at::equal(grad, torch::autograd::grad({x.reshape({30, 4}).index_select(0, Flat())}, {x}, {g})[0]));
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
  EXPECT_TRUE(at::equal(GatherRowsSparseGradient(x, Flat()), x.index_select(0, Flat())));
  const at::Tensor flat2 = at::randn({30, 4}).requires_grad_(true);
  const at::Tensor g = torch::autograd::grad({GatherRowsSparseGradient(flat2, Flat()).sum()}, {flat2})[0];
  EXPECT_TRUE(g.is_sparse());
  ScopedAtenKernels aten;
  const at::Tensor y = at::randn({3, 10, 4}).requires_grad_(true);
  EXPECT_FALSE(torch::autograd::grad({GatherRowsSparseGradient(y, Flat()).sum()}, {y})[0].is_sparse());
}

// x as SelfGNN's step gathers it: a dense gather of pairs with many repeats (SAL's, whose parts
// span 10^-3 to 10^3, so another order of addition would round differently), sparse gathers of
// distinct rows overlapping those pairs (the fusion's, of the touched items, which hold SAL's)
// and of rows outside both (the mined items', none touched).
struct ForkCase {
  at::Tensor x = at::randn({4, 3000, 16});
  at::Tensor pairs = at::randint(0, 9000, {9000}, at::kLong);
  at::Tensor fused = at::arange(0, 9000, 3, at::kLong);
  at::Tensor mined = at::arange(9001, 12000, 75, at::kLong);
  at::Tensor w_pairs = at::randn({9000, 16}) * at::pow(10.0, at::randint(-3, 4, {9000, 1}));
  at::Tensor w_fused = at::randn({3000, 16}) * at::pow(10.0, at::randint(-3, 4, {3000, 1}));
  at::Tensor w_mined = at::randn({40, 16});

  // x's gradient with the gathers made from `views` (pairs, mined) and `fusion` (fused), the
  // pairs' gather last, as SAL's is (so its gradient arrives first).
  at::Tensor Grad(const at::Tensor& leaf, const at::Tensor& views, const at::Tensor& fusion) const {
    const at::Tensor loss = (GatherRowsSparseGradient(fusion, fused) * w_fused).sum() +
                            (GatherRowsSparseGradient(views, mined) * w_mined).sum() +
                            (GatherRowsDenseGradient(views, pairs) * w_pairs).sum();
    return torch::autograd::grad({loss}, {leaf})[0];
  }
};

TEST(ForkForRowGathersTest, GivesTheBitsOfTheGathersOnXOnAnyThreadCount) {
  at::manual_seed(6);
  const ForkCase c;
  const at::Tensor leaf = c.x.clone().requires_grad_(true);
  const at::Tensor want = c.Grad(leaf, leaf, leaf);
  for (const int threads : {1, 2}) {
    at::set_num_threads(threads);
    const auto [views, fusion] = ForkForRowGathers(leaf);
    EXPECT_FALSE(views.is_same(leaf));
    const at::Tensor got = c.Grad(leaf, views, fusion);
    EXPECT_FALSE(got.is_sparse());
    EXPECT_TRUE(at::equal(got, want)) << threads << " threads";
  }
  at::set_num_threads(1);
  // The check can fail: the fusion's rows added before the pairs' move some element.
  const auto [views, fusion] = ForkForRowGathers(leaf);
  EXPECT_FALSE(at::equal(c.Grad(leaf, fusion, views), want));
}

// One full-size buffer alive in the backward (the fork's output) besides the gathers' rows.
TEST(ForkForRowGathersTest, HoldsOneFullSizeGradient) {
  at::manual_seed(7);
  const at::Tensor leaf = at::randn({4, 8192, 16}).requires_grad_(true);  // 2 MB
  const int64_t bytes = leaf.numel() * 4;
  const at::Tensor pairs = at::randint(0, 32768, {3000}, at::kLong), fused = at::arange(0, 32768, 97, at::kLong);
  TensorMemory::StartTracking();
  const auto [views, fusion] = ForkForRowGathers(leaf);
  const at::Tensor loss = (GatherRowsSparseGradient(fusion, fused) * at::randn({fused.size(0), 16})).sum() +
                          (GatherRowsDenseGradient(views, pairs) * at::randn({3000, 16})).sum();
  const int64_t before = TensorMemory::Live();
  TensorMemory::ResetPeak();
  loss.backward();
  EXPECT_LT(TensorMemory::Peak() - before, bytes * 5 / 4);
  EXPECT_EQ(leaf.grad().sizes(), leaf.sizes());
}

// Handles used partly, or by other operations than the gathers: x's gradient is still the sum of
// every use's (the dense ones first, then the rows).
TEST(ForkForRowGathersTest, AnyMixOfUsesSumsTheirGradients) {
  at::manual_seed(8);
  const ForkCase c;
  using Loss = std::function<at::Tensor(const at::Tensor&, const at::Tensor&)>;
  const std::vector<std::pair<std::string, Loss>> cases = {
      {"first handle only",
       [&](const at::Tensor& a, const at::Tensor&) { return (GatherRowsDenseGradient(a, c.pairs) * c.w_pairs).sum(); }},
      {"second handle only",
       [&](const at::Tensor&, const at::Tensor& b) {
         return (GatherRowsSparseGradient(b, c.fused) * c.w_fused).sum();
       }},
      {"a dense use and rows",
       [&](const at::Tensor& a, const at::Tensor& b) {
         return (a * a).sum() + (GatherRowsSparseGradient(b, c.fused) * c.w_fused).sum();
       }},
      {"dense uses of both", [&](const at::Tensor& a, const at::Tensor& b) { return (a * a).sum() + b.sum(); }},
  };
  for (const auto& [name, loss] : cases) {
    const at::Tensor leaf = c.x.clone().requires_grad_(true);
    const at::Tensor want = torch::autograd::grad({loss(leaf, leaf)}, {leaf})[0];
    const auto [a, b] = ForkForRowGathers(leaf);
    const at::Tensor got = torch::autograd::grad({loss(a, b)}, {leaf})[0];
    EXPECT_FALSE(got.is_sparse()) << name;
    EXPECT_TRUE(at::allclose(got, want.is_sparse() ? want.to_dense() : want, 1e-5, 1e-5)) << name;
  }
}

// No fork where nothing is differentiated: x itself, twice.
TEST(ForkForRowGathersTest, WithoutGradientsTheHandlesAreX) {
  const at::Tensor x = at::randn({3, 10, 4});
  EXPECT_TRUE(ForkForRowGathers(x).first.is_same(x));
  const at::Tensor y = at::randn({3, 10, 4}).requires_grad_(true);
  at::NoGradGuard no_grad;
  const auto [a, b] = ForkForRowGathers(y);
  EXPECT_TRUE(a.is_same(y) && b.is_same(y));
}

}  // namespace
}  // namespace hardgnn::cpu
