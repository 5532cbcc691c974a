#include "core/graph/spmm.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <optional>
#include <random>
#include <utility>
#include <vector>

#include "core/cpu/kernel_path.h"
#include "core/data/csr.h"
#include "gtest/gtest.h"
#include "tests/kernels/gradcheck.h"

namespace hardgnn::graph {
namespace {

using hardgnn::testing::AllClose;
using hardgnn::testing::BitEqual;
using hardgnn::testing::BitIdenticalAcrossThreads;
using hardgnn::testing::GradCheck;

// 3 users x 4 items: u0 -> {0, 2}; u1 -> {1, 2, 3}; u2 -> {} (no edges).
data::Csr Toy() { return data::CsrFromPairs(3, 4, {{0, 0}, {0, 2}, {1, 1}, {1, 2}, {1, 3}}); }

data::Csr RandomCsr(int64_t rows, int64_t cols, int64_t pairs, uint32_t seed) {
  std::mt19937 rng(seed);
  // Skewed columns (a few popular items), so some rows and columns are heavy and some empty.
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<std::pair<int32_t, int32_t>> p;
  for (int64_t k = 0; k < pairs; ++k) {
    const int32_t r = static_cast<int32_t>(rows * u(rng) * u(rng));
    const int32_t c = static_cast<int32_t>(cols * u(rng));
    p.emplace_back(r, c);
  }
  return data::CsrFromPairs(rows, cols, std::move(p));
}

// The matrix as a dense tensor, entry values = edge_values (forward order) or 1.
at::Tensor Densify(const data::Csr& a, const at::Tensor& values, at::ScalarType dtype) {
  at::Tensor m = at::zeros({a.num_rows, a.num_cols}, at::TensorOptions().dtype(dtype));
  for (int64_t r = 0; r < a.num_rows; ++r) {
    for (int64_t k = a.row_ptr[r]; k < a.row_ptr[r + 1]; ++k) {
      m[r][a.col[k]] = values.defined() ? values[k].item<double>() : 1.0;
    }
  }
  return m;
}

TEST(SpmmTest, ToyGraphIsNeighbourSum) {
  const CsrGraph g(Toy());
  EXPECT_EQ(g.rows(), 3);
  EXPECT_EQ(g.cols(), 4);
  EXPECT_EQ(g.nnz(), 5);
  const at::Tensor e_i = at::arange(12, at::kFloat).view({4, 3});  // item k = [3k, 3k+1, 3k+2]
  const at::Tensor e_u = at::arange(9, at::kFloat).view({3, 3}) * 10;
  // z_u = A e_i, written out by hand.
  const at::Tensor zu = Propagate(g, e_i);
  EXPECT_TRUE(BitEqual(zu[0], e_i[0] + e_i[2]));
  EXPECT_TRUE(BitEqual(zu[1], e_i[1] + e_i[2] + e_i[3]));
  EXPECT_TRUE(BitEqual(zu[2], at::zeros({3})));
  // z_i = Aᵀ e_u.
  const at::Tensor zi = PropagateTransposed(g, e_u);
  EXPECT_TRUE(BitEqual(zi[0], e_u[0]));
  EXPECT_TRUE(BitEqual(zi[1], e_u[1]));
  EXPECT_TRUE(BitEqual(zi[2], e_u[0] + e_u[1]));
  EXPECT_TRUE(BitEqual(zi[3], e_u[1]));
}

TEST(SpmmTest, ToyGraphWithEdgeValuesIsWeightedSum) {
  const CsrGraph g(Toy());
  // Forward edge order: (0,0) (0,2) (1,1) (1,2) (1,3).
  const at::Tensor w = at::tensor({0.5, 2.0, -1.0, 3.0, 0.25}, at::kDouble);
  const at::Tensor e_i = at::randn({4, 8}, at::kDouble);
  const at::Tensor e_u = at::randn({3, 8}, at::kDouble);
  const at::Tensor zu = Propagate(g, e_i, w);
  EXPECT_TRUE(AllClose(zu[0], 0.5 * e_i[0] + 2.0 * e_i[2], 1e-15, 1e-15));
  EXPECT_TRUE(AllClose(zu[1], -1.0 * e_i[1] + 3.0 * e_i[2] + 0.25 * e_i[3], 1e-15, 1e-15));
  EXPECT_TRUE(BitEqual(zu[2], at::zeros({8}, at::kDouble)));
  const at::Tensor zi = PropagateTransposed(g, e_u, w);
  EXPECT_TRUE(AllClose(zi[0], 0.5 * e_u[0], 1e-15, 1e-15));
  EXPECT_TRUE(AllClose(zi[1], -1.0 * e_u[1], 1e-15, 1e-15));
  EXPECT_TRUE(AllClose(zi[2], 2.0 * e_u[0] + 3.0 * e_u[1], 1e-15, 1e-15));
  EXPECT_TRUE(AllClose(zi[3], 0.25 * e_u[1], 1e-15, 1e-15));
}

struct Case {
  int64_t d;
  at::ScalarType dtype;
  bool weighted;
  bool aten = false;  // the ATen formulation (what CUDA runs), forced on the CPU
};

class SpmmRandomTest : public ::testing::TestWithParam<Case> {};

TEST_P(SpmmRandomTest, MatchesDenseForwardAndBackward) {
  const Case c = GetParam();
  const data::Csr a = RandomCsr(700, 1100, 9000, 7);
  const CsrGraph g(a);
  const auto opt = at::TensorOptions().dtype(c.dtype);
  at::manual_seed(3);
  const at::Tensor w = c.weighted ? at::randn({g.nnz()}, opt) : at::Tensor();
  const at::Tensor m = Densify(a, w, c.dtype);
  const double tol = c.dtype == at::kFloat ? 1e-5 : 1e-12;
  std::optional<cpu::ScopedAtenKernels> aten;
  if (c.aten) aten.emplace();

  const at::Tensor x = at::randn({1100, c.d}, opt).requires_grad_();
  const at::Tensor y = Propagate(g, x, w);
  const at::Tensor gy = at::randn({700, c.d}, opt);
  y.backward(gy);
  EXPECT_TRUE(AllClose(y, at::mm(m, x.detach()), tol, tol));
  EXPECT_TRUE(AllClose(x.grad(), at::mm(m.t(), gy), tol, tol));

  const at::Tensor u = at::randn({700, c.d}, opt).requires_grad_();
  const at::Tensor z = PropagateTransposed(g, u, w);
  const at::Tensor gz = at::randn({1100, c.d}, opt);
  z.backward(gz);
  EXPECT_TRUE(AllClose(z, at::mm(m.t(), u.detach()), tol, tol));
  EXPECT_TRUE(AllClose(u.grad(), at::mm(m, gz), tol, tol));
}

INSTANTIATE_TEST_SUITE_P(Shapes, SpmmRandomTest,
                         ::testing::Values(Case{64, at::kFloat, false}, Case{64, at::kFloat, true},
                                           Case{72, at::kFloat, false}, Case{5, at::kFloat, true},
                                           Case{16, at::kDouble, false}, Case{13, at::kDouble, true},
                                           Case{64, at::kFloat, true, true}, Case{5, at::kFloat, false, true},
                                           Case{13, at::kDouble, true, true}));

TEST(SpmmTest, BlockDiagonalEqualsPerSliceCalls) {
  std::vector<data::Csr> slices;
  for (uint32_t k = 0; k < 4; ++k) slices.push_back(RandomCsr(300, 500, 2000 + 500 * k, 11 + k));
  const CsrGraph all = CsrGraph::BlockDiagonal(slices);
  EXPECT_EQ(all.rows(), 1200);
  EXPECT_EQ(all.cols(), 2000);
  EXPECT_EQ(all.num_blocks(), 4);
  const at::Tensor e_i = at::randn({4, 500, 64}).requires_grad_();
  const at::Tensor e_u = at::randn({4, 300, 64}).requires_grad_();
  const at::Tensor zu = Propagate(all, e_i);
  const at::Tensor zi = PropagateTransposed(all, e_u);
  ASSERT_EQ(zu.sizes(), (at::IntArrayRef{4, 300, 64}));
  ASSERT_EQ(zi.sizes(), (at::IntArrayRef{4, 500, 64}));
  const at::Tensor gu = at::randn_like(zu), gi = at::randn_like(zi);
  (zu * gu).sum().add((zi * gi).sum()).backward();
  for (int k = 0; k < 4; ++k) {
    const CsrGraph one(slices[k]);
    const at::Tensor x = e_i.detach()[k].clone().requires_grad_();
    const at::Tensor u = e_u.detach()[k].clone().requires_grad_();
    const at::Tensor a = Propagate(one, x), b = PropagateTransposed(one, u);
    (a * gu[k]).sum().add((b * gi[k]).sum()).backward();
    EXPECT_TRUE(BitEqual(zu[k], a));
    EXPECT_TRUE(BitEqual(zi[k], b));
    EXPECT_TRUE(BitEqual(e_i.grad()[k], x.grad()));
    EXPECT_TRUE(BitEqual(e_u.grad()[k], u.grad()));
  }
}

TEST(SpmmTest, FiniteDifferenceGradients) {
  const CsrGraph g(RandomCsr(6, 9, 25, 5));
  at::manual_seed(0);
  const at::Tensor w = at::randn({g.nnz()}, at::kDouble);
  const auto f_fwd = [&](const std::vector<at::Tensor>& in) { return Propagate(g, in[0], w); };
  const auto f_bwd = [&](const std::vector<at::Tensor>& in) { return PropagateTransposed(g, in[0]); };
  EXPECT_TRUE(GradCheck(f_fwd, {at::randn({9, 5}, at::kDouble)}, {true}));
  EXPECT_TRUE(GradCheck(f_bwd, {at::randn({6, 4}, at::kDouble)}, {true}));
  // Second order through autograd is not supported (the backward is not itself differentiable
  // in the graph), so only first-order checks.
}

TEST(SpmmTest, BitIdenticalAcrossThreadCounts) {
  const CsrGraph g(RandomCsr(5000, 8000, 200000, 9));
  const auto fwd = [&](const std::vector<at::Tensor>& in) { return Propagate(g, in[0]); };
  const auto bwd = [&](const std::vector<at::Tensor>& in) { return PropagateTransposed(g, in[0]); };
  EXPECT_TRUE(BitIdenticalAcrossThreads(fwd, {at::randn({8000, 64})}, at::randn({5000, 64})));
  EXPECT_TRUE(BitIdenticalAcrossThreads(bwd, {at::randn({5000, 64})}, at::randn({8000, 64})));
}

TEST(SpmmTest, RejectsBadShapes) {
  const CsrGraph g(Toy());
  EXPECT_THROW(Propagate(g, at::zeros({3, 2})), std::invalid_argument);
  EXPECT_THROW(PropagateTransposed(g, at::zeros({4, 2})), std::invalid_argument);
  EXPECT_THROW(Propagate(g, at::zeros({4, 2}), at::ones({4})), std::invalid_argument);
  EXPECT_THROW(Propagate(g, at::zeros({4, 2}, at::kInt)), std::invalid_argument);
}

}  // namespace
}  // namespace hardgnn::graph
