#include "core/graph/residual_gcn.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>

#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "core/cpu/kernel_path.h"
#include "core/cpu/sparse_rows.h"
#include "core/data/csr.h"
#include "core/graph/spmm.h"
#include "gtest/gtest.h"
#include "tests/kernels/gradcheck.h"

namespace hardgnn::graph {
namespace {

using hardgnn::testing::AllClose;
using hardgnn::testing::BitEqual;
using hardgnn::testing::BitIdenticalAcrossThreads;
using hardgnn::testing::GradCheck;

std::vector<data::Csr> RandomSlices(int64_t slices, int64_t rows, int64_t cols, int64_t pairs, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> r(0, rows - 1), c(0, cols - 1);
  std::vector<data::Csr> out;
  for (int64_t k = 0; k < slices; ++k) {
    std::vector<std::pair<int32_t, int32_t>> p;
    for (int64_t i = 0; i < pairs; ++i) p.emplace_back(r(rng), c(rng));
    out.push_back(data::CsrFromPairs(rows, cols, std::move(p)));
  }
  return out;
}

// The unfused composition the fused op replaces (see residual_gcn.h).
ResidualGcnResult Unfused(const CsrGraph& g, const at::Tensor& rows0, const at::Tensor& cols0, int64_t layers,
                          double slope, const at::Tensor& w) {
  at::Tensor r = rows0, c = cols0, sr = rows0, sc = cols0;
  for (int64_t l = 0; l < layers; ++l) {
    at::Tensor r2 = at::leaky_relu(Propagate(g, c, w), slope) + r;
    at::Tensor c2 = at::leaky_relu(PropagateTransposed(g, r, w), slope) + c;
    r = r2;
    c = c2;
    sr = sr + r;
    sc = sc + c;
  }
  return {sr, sc};
}

struct Case {
  int64_t layers;
  int64_t d;
  bool weighted;
  int64_t pairs = 300;  // per slice of 40 x 70; 30 leaves most rows and columns without entries
};
class ResidualGcnTest : public ::testing::TestWithParam<Case> {};

TEST_P(ResidualGcnTest, MatchesUnfusedForwardAndBackward) {
  const Case p = GetParam();
  const auto slices = RandomSlices(3, 40, 70, p.pairs, 17);
  const CsrGraph g = CsrGraph::BlockDiagonal(slices);
  at::manual_seed(5);
  const at::Tensor w = p.weighted ? at::rand({g.nnz()}) : at::Tensor();
  const at::Tensor u = at::randn({3, 40, p.d}).requires_grad_();
  const at::Tensor i = at::randn({3, 70, p.d}).requires_grad_();
  const at::Tensor gu = at::randn({3, 40, p.d}), gi = at::randn({3, 70, p.d});
  const ResidualGcnResult fused = ResidualGcn(g, u, i, p.layers, 0.5, w);
  ((fused.rows * gu).sum() + (fused.cols * gi).sum()).backward();
  const at::Tensor du = u.grad().clone(), di = i.grad().clone();
  u.grad().zero_();
  i.grad().zero_();
  const ResidualGcnResult ref = Unfused(g, u, i, p.layers, 0.5, w);
  ((ref.rows * gu).sum() + (ref.cols * gi).sum()).backward();
  EXPECT_TRUE(AllClose(fused.rows, ref.rows, 1e-5, 1e-5));
  EXPECT_TRUE(AllClose(fused.cols, ref.cols, 1e-5, 1e-5));
  EXPECT_TRUE(AllClose(du, u.grad(), 1e-5, 1e-5));
  EXPECT_TRUE(AllClose(di, i.grad(), 1e-5, 1e-5));
}

// What CUDA runs (the unfused layers through Propagate's gather and index_add, autograd for the
// backward), forced on the CPU, against the fused kernel.
TEST_P(ResidualGcnTest, AtenPathMatchesTheKernel) {
  const Case p = GetParam();
  const CsrGraph g = CsrGraph::BlockDiagonal(RandomSlices(3, 40, 70, p.pairs, 19));
  at::manual_seed(6);
  const at::Tensor w = p.weighted ? at::rand({g.nnz()}) : at::Tensor();
  const at::Tensor gu = at::randn({3, 40, p.d}), gi = at::randn({3, 70, p.d});
  std::vector<at::Tensor> out[2];
  for (const bool aten : {false, true}) {
    const at::Tensor u = at::randn({3, 40, p.d}, at::Generator(at::detail::createCPUGenerator(1))).requires_grad_();
    const at::Tensor i = at::randn({3, 70, p.d}, at::Generator(at::detail::createCPUGenerator(2))).requires_grad_();
    std::optional<cpu::ScopedAtenKernels> forced;
    if (aten) forced.emplace();
    const ResidualGcnResult r = ResidualGcn(g, u, i, p.layers, 0.5, w);
    ((r.rows * gu).sum() + (r.cols * gi).sum()).backward();
    out[aten] = {r.rows.detach(), r.cols.detach(), u.grad(), i.grad()};
  }
  for (int k = 0; k < 4; ++k) EXPECT_TRUE(AllClose(out[1][k], out[0][k], 1e-5, 1e-5)) << "output " << k;
}

INSTANTIATE_TEST_SUITE_P(Shapes, ResidualGcnTest,
                         ::testing::Values(Case{0, 64, false}, Case{1, 64, false}, Case{2, 64, false},
                                           Case{3, 64, false}, Case{3, 64, true}, Case{3, 72, false},
                                           Case{2, 130, true}, Case{2, 7, false}, Case{1, 64, false, 30},
                                           Case{3, 64, true, 30}, Case{4, 16, false, 30}));

TEST(ResidualGcnTest, FiniteDifferenceGradients) {
  const CsrGraph g(RandomSlices(1, 5, 7, 14, 3)[0]);
  at::manual_seed(2);
  const at::Tensor w = at::rand({g.nnz()}, at::kDouble) + 0.5;
  for (const bool weighted : {false, true}) {
    const auto f = [&](const std::vector<at::Tensor>& in) {
      const ResidualGcnResult out = ResidualGcn(g, in[0], in[1], 3, 0.5, weighted ? w : at::Tensor());
      return at::cat({out.rows.flatten(), out.cols.flatten()});
    };
    // d = 66: one full 64-column mask word and a partial one.
    EXPECT_TRUE(GradCheck(f, {at::randn({5, 66}, at::kDouble), at::randn({7, 66}, at::kDouble)}, {true, true}));
  }
}

// Gathers whose gradients stay sparse (cpu::GatherRowsSparseGradient), alone or with a dense
// consumer of the same output: the GCN's input gradients are those of the dense gathers.
TEST(ResidualGcnTest, SparseOutputGradientsGiveTheDenseOnesInputGradients) {
  const CsrGraph g = CsrGraph::BlockDiagonal(RandomSlices(3, 40, 70, 300, 29));
  const at::Tensor flat = at::tensor({5, 140, 5, 209, 71}, at::kLong);  // a repeat; rows of slices 0, 2, 3
  for (const bool with_dense : {false, true}) {
    std::vector<at::Tensor> grads[2];
    for (const bool sparse : {false, true}) {
      at::manual_seed(8);
      const at::Tensor u = at::randn({3, 40, 16}).requires_grad_();
      const at::Tensor i = at::randn({3, 70, 16}).requires_grad_();
      const ResidualGcnResult r = ResidualGcn(g, u, i, 2, 0.5);
      const at::Tensor rows = sparse ? cpu::GatherRowsSparseGradient(r.cols, flat)
                                     : r.cols.reshape({-1, 16}).index_select(0, flat);
      at::Tensor loss = (rows * at::arange(80, at::kFloat).view({5, 16})).sum();
      if (with_dense) loss = loss + r.cols.select(0, 1).square().sum();
      loss.backward();
      grads[sparse] = {u.grad(), i.grad()};
    }
    for (int k = 0; k < 2; ++k) EXPECT_TRUE(AllClose(grads[1][k], grads[0][k], 1e-6, 1e-6)) << with_dense << " " << k;
  }
}

// The last layer over listed rows only (what a SelfGNN step reads of the users' embeddings):
// the [n, d] rows returned are the whole computation's listed rows, bit for bit, the columns
// too, and the input gradients are the same bits as the whole computation's read by a gather
// of those rows; with 0 to 3 layers (1: the last also the first), with and without edge
// weights, on 1 and 2 threads, with -0 in the rows' gradient (a gather's backward makes it +0).
TEST(ResidualGcnTest, LastLayerOverListedRowsGivesThemTheSameBits) {
  const at::Tensor listed = at::tensor({0, 3, 41, 60, 77, 119}, at::kLong);  // flat rows of slices 0-2
  const int was = at::get_num_threads();
  // 40 entries a slice: listed rows without entries (their gradient (L + 1)·gS), 300: with.
  for (const int64_t pairs : {40, 300}) {
    const CsrGraph g = CsrGraph::BlockDiagonal(RandomSlices(3, 40, 70, pairs, 31));
    const int64_t* row_ptr = g.forward().row_ptr.data_ptr<int64_t>();
    int64_t empty = 0;
    for (int64_t k = 0; k < listed.numel(); ++k)
      empty += row_ptr[listed[k].item<int64_t>()] == row_ptr[listed[k].item<int64_t>() + 1];
    EXPECT_EQ(empty > 0, pairs == 40);
    for (const int64_t layers : {0, 1, 2, 3}) {
      for (const bool weighted : {false, true}) {
        for (const int threads : {1, 2}) {
          at::set_num_threads(threads);
          at::manual_seed(9);
          const at::Tensor w = weighted ? at::rand({g.nnz()}) : at::Tensor();
          const at::Tensor gi = at::randn({3, 70, 64});
          at::Tensor gl = at::randn({6, 64});
          gl.narrow(1, 0, 5).fill_(-0.0);
          std::vector<at::Tensor> out[2];
          for (const bool list : {false, true}) {
            const at::Tensor u =
                at::randn({3, 40, 64}, at::Generator(at::detail::createCPUGenerator(3))).requires_grad_();
            const at::Tensor i =
                at::randn({3, 70, 64}, at::Generator(at::detail::createCPUGenerator(4))).requires_grad_();
            const ResidualGcnResult r = ResidualGcn(g, u, i, layers, 0.5, w, list ? listed : at::Tensor());
            const at::Tensor read = list ? r.rows : r.rows.reshape({-1, 64}).index_select(0, listed);
            ((read * gl).sum() + (r.cols * gi).sum()).backward();
            out[list] = {read.detach(), r.cols.detach(), u.grad(), i.grad()};
          }
          for (int k = 0; k < 4; ++k) {
            EXPECT_TRUE(BitEqual(out[1][k], out[0][k])) << pairs << " pairs, " << layers << " layers, weighted "
                                                        << weighted << ", " << threads << " threads, output " << k;
          }
        }
      }
    }
  }
  at::set_num_threads(was);
}

// The time slices are independent blocks, and the fused op runs them one after another (every
// layer of a slice before the next slice): each slice's outputs and input gradients are, bit for
// bit, those of a graph of that slice alone, with and without listed rows.
TEST(ResidualGcnTest, EachTimeSliceGivesTheBitsOfItsGraphAlone) {
  const std::vector<data::Csr> slices = RandomSlices(3, 40, 70, 300, 37);
  const CsrGraph g = CsrGraph::BlockDiagonal(slices);
  const std::vector<int64_t> listed = {0, 3, 41, 60, 77, 119};  // flat rows of slices 0-2
  const int64_t* row_ptr = g.forward().row_ptr.data_ptr<int64_t>();
  for (const int64_t layers : {1, 3}) {
    for (const bool weighted : {false, true}) {
      for (const bool list : {false, true}) {
        at::manual_seed(11);
        const at::Tensor w = weighted ? at::rand({g.nnz()}) : at::Tensor();
        const at::Tensor u0 = at::randn({3, 40, 64}), i0 = at::randn({3, 70, 64}), gi = at::randn({3, 70, 64});
        const at::Tensor gu = at::randn({list ? static_cast<int64_t>(listed.size()) : 120, 64});
        const at::Tensor u = u0.clone().requires_grad_(), i = i0.clone().requires_grad_();
        const ResidualGcnResult whole = ResidualGcn(g, u, i, layers, 0.5, w, list ? at::tensor(listed) : at::Tensor());
        const at::Tensor whole_rows = whole.rows.reshape({-1, 64});
        ((whole_rows * gu).sum() + (whole.cols * gi).sum()).backward();
        int64_t first_listed = 0;
        for (int64_t s = 0; s < 3; ++s) {
          std::vector<int64_t> mine;  // slice s's listed rows, as rows of its own graph
          for (const int64_t row : listed) {
            if (row >= s * 40 && row < (s + 1) * 40) mine.push_back(row - s * 40);
          }
          const CsrGraph alone = CsrGraph::BlockDiagonal({slices[s]});
          const at::Tensor ws = weighted ? w.narrow(0, row_ptr[s * 40], alone.nnz()) : at::Tensor();
          const at::Tensor us = u0[s].clone().requires_grad_(), is = i0[s].clone().requires_grad_();
          const ResidualGcnResult part =
              ResidualGcn(alone, us, is, layers, 0.5, ws, list ? at::tensor(mine) : at::Tensor());
          const int64_t first = list ? first_listed : s * 40, n = list ? static_cast<int64_t>(mine.size()) : 40;
          ((part.rows.reshape({-1, 64}) * gu.narrow(0, first, n)).sum() + (part.cols * gi[s]).sum()).backward();
          const std::string where = std::to_string(layers) + " layers, weighted " + std::to_string(weighted) +
                                    ", listed " + std::to_string(list) + ", slice " + std::to_string(s);
          EXPECT_TRUE(BitEqual(part.rows.reshape({-1, 64}), whole_rows.narrow(0, first, n))) << where;
          EXPECT_TRUE(BitEqual(part.cols, whole.cols[s])) << where;
          EXPECT_TRUE(BitEqual(us.grad(), u.grad()[s])) << where;
          EXPECT_TRUE(BitEqual(is.grad(), i.grad()[s])) << where;
          first_listed += static_cast<int64_t>(mine.size());
        }
      }
    }
  }
}

TEST(ResidualGcnTest, LastLayerRowsOutOfRangeRepeatedOrUnorderedAreRefused) {
  const CsrGraph g = CsrGraph::BlockDiagonal(RandomSlices(3, 40, 70, 300, 31));
  const at::Tensor u = at::randn({3, 40, 16}), i = at::randn({3, 70, 16});
  EXPECT_THROW(ResidualGcn(g, u, i, 2, 0.5, {}, at::tensor({3, 120}, at::kLong)), std::exception);
  EXPECT_THROW(ResidualGcn(g, u, i, 2, 0.5, {}, at::tensor({3, 7, 7}, at::kLong)), std::exception);
  EXPECT_THROW(ResidualGcn(g, u, i, 2, 0.5, {}, at::tensor({7, 3}, at::kLong)), std::exception);
  EXPECT_THROW(ResidualGcn(g, u, i, 2, 0.5, {}, at::tensor({-1}, at::kLong)), std::exception);
  EXPECT_NO_THROW(ResidualGcn(g, u, i, 2, 0.5, {}, at::tensor({0, 3, 119}, at::kLong)));
}

TEST(ResidualGcnTest, BitIdenticalAcrossThreadCounts) {
  const CsrGraph g = CsrGraph::BlockDiagonal(RandomSlices(4, 3000, 5000, 30000, 23));
  const auto f = [&](const std::vector<at::Tensor>& in) {
    const ResidualGcnResult out = ResidualGcn(g, in[0], in[1], 3, 0.5);
    return at::cat({out.rows.flatten(), out.cols.flatten()});
  };
  EXPECT_TRUE(
      BitIdenticalAcrossThreads(f, {at::randn({4, 3000, 64}), at::randn({4, 5000, 64})}, at::randn({4 * 8000 * 64})));
}

}  // namespace
}  // namespace hardgnn::graph
