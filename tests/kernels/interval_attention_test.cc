#include "plugins/encoders/selfgnn/interval_attention.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <ATen/Parallel.h>
#include <torch/nn/modules/activation.h>

#include <cmath>
#include <optional>
#include <vector>

#include "core/cpu/kernel_path.h"
#include "core/model/tensor_memory.h"
#include "gtest/gtest.h"
#include "plugins/encoders/selfgnn/linear.h"
#include "plugins/encoders/selfgnn/reference.h"
#include "tests/kernels/gradcheck.h"

namespace hardgnn::selfgnn {
namespace {

using hardgnn::testing::AllClose;
using hardgnn::testing::AllCloseToScale;
using hardgnn::testing::BitEqual;
using hardgnn::testing::BitIdenticalAcrossThreads;
using hardgnn::testing::GradCheck;
using hardgnn::testing::OutputAndGrads;

struct Shape {
  int64_t n, g, d, heads;
  at::ScalarType dtype;
};

class AttentionMatchTest : public ::testing::TestWithParam<Shape> {};

// Fused == plain-ops reference: output and gradients for x, w_qkv, b_qkv.
TEST_P(AttentionMatchTest, MatchesReference) {
  const Shape p = GetParam();
  const auto opt = at::TensorOptions().dtype(p.dtype);
  at::manual_seed(21);
  const at::Tensor x0 = at::randn({p.n, p.g, p.d}, opt);
  const double lim = std::sqrt(6.0 / (2 * p.d));                            // glorot-like, as in SelfGNN
  const at::Tensor w0 = (at::rand({p.d, 3 * p.d}, opt) * 2 - 1) * lim * 3;  // larger, to spread the weights
  const at::Tensor b0 = at::randn({3 * p.d}, opt) * 0.1;
  const at::Tensor gy = at::randn({p.n, p.d}, opt);
  const int64_t heads = p.heads;
  std::vector<at::Tensor> r[2];
  r[0] = OutputAndGrads([heads](const auto& in) { return IntervalAttention(in[0], in[1], in[2], heads); }, {x0, w0, b0},
                        gy);
  r[1] = OutputAndGrads([heads](const auto& in) { return ReferenceIntervalAttention(in[0], in[1], in[2], heads); },
                        {x0, w0, b0}, gy);
  const double tol = p.dtype == at::kFloat ? 1e-5 : 1e-12;
  EXPECT_TRUE(AllClose(r[0][0], r[1][0], tol, tol)) << "output";
  // dx sums d terms per element, as large as the scores (up to about 20 here): its float
  // rounding scales with them, and which way each term rounds differs between the BLAS kernels
  // of an AVX-512 CPU and an AVX2 one (G = 1 missed 1e-5 elementwise on an AMD Zen 3 by 2e-6).
  EXPECT_TRUE(AllCloseToScale(r[0][1], r[1][1], tol)) << "dx";
  EXPECT_TRUE(AllCloseToScale(r[0][2], r[1][2], tol)) << "dw";
  EXPECT_TRUE(AllCloseToScale(r[0][3], r[1][3], tol)) << "db";
}

INSTANTIATE_TEST_SUITE_P(Shapes, AttentionMatchTest,
                         ::testing::Values(Shape{300, 12, 64, 16, at::kFloat},   // SelfGNN: 2 vectors of heads
                                           Shape{130, 5, 64, 8, at::kFloat},     // 1 vector
                                           Shape{70, 3, 64, 32, at::kFloat},     // 4 vectors, d_h = 2
                                           Shape{90, 4, 48, 24, at::kFloat},     // 3 vectors (runtime count)
                                           Shape{80, 6, 24, 6, at::kFloat},      // scalar path
                                           Shape{65, 1, 64, 16, at::kFloat},     // G = 1
                                           Shape{100, 12, 64, 16, at::kDouble},  // double: 4 vectors
                                           Shape{50, 4, 12, 3, at::kDouble}));   // double scalar path

// G = 1: the pooled output is ω·v per head with ω = e^s / (e^s + 1e-8), s = <q, k>/sqrt(d_h).
// Head 0 gets s = -20, where the 1e-8 matters (ω = 2.0612e-9 / (2.0612e-9 + 1e-8) = 0.170892);
// head 1 gets s = 3 (ω = 1 - 5e-10).
TEST(AttentionTest, LengthOneIsWeightedValue) {
  const int64_t d = 8, heads = 2;  // d_h = 4: sqrt(d_h) = 2
  at::Tensor qkv = at::zeros({1, 1, 3 * d}, at::kDouble);
  auto a = qkv.accessor<double, 3>();
  // q = (q_h0 | q_h1), k = (k_h0 | k_h1), v.
  const double q0[] = {2, 0, 0, 0}, k0[] = {-20, 0, 0, 0};  // <q,k>/2 = -20
  const double q1[] = {1, 1, 0, 0}, k1[] = {3, 3, 0, 0};    // <q,k>/2 = 3
  for (int e = 0; e < 4; ++e) {
    a[0][0][e] = q0[e];
    a[0][0][4 + e] = q1[e];
    a[0][0][d + e] = k0[e];
    a[0][0][d + 4 + e] = k1[e];
  }
  for (int c = 0; c < d; ++c) a[0][0][2 * d + c] = c + 1;  // v = 1..8
  const at::Tensor out = PooledAttention(qkv, heads);
  const double w0 = std::exp(-20.0) / (std::exp(-20.0) + 1e-8), w1 = std::exp(3.0) / (std::exp(3.0) + 1e-8);
  EXPECT_NEAR(w0, 0.170892, 1e-6);
  at::Tensor expected = at::empty({1, d}, at::kDouble);
  for (int c = 0; c < d; ++c) expected[0][c] = (c < 4 ? w0 : w1) * (c + 1);
  EXPECT_TRUE(AllClose(out, expected, 1e-14, 0));
  EXPECT_TRUE(AllClose(PooledAttention(qkv.to(at::kFloat), heads), expected.to(at::kFloat), 1e-6, 0));
}

// Scores of magnitude ~100 (Q = K = V = x, x ~ N(0, 10²), d_h = 4): the published form would
// overflow exp in float; the stable form stays finite and equals the reference.
TEST(AttentionTest, LargeScoresStayFiniteAndExact) {
  at::manual_seed(3);
  const int64_t d = 32;
  const at::Tensor x = at::randn({40, 6, d}) * 10;
  const at::Tensor w = at::eye(d).repeat({1, 3});  // x·w = (x | x | x)
  const at::Tensor b = at::zeros({3 * d});
  const at::Tensor out = IntervalAttention(x, w, b, 8);
  EXPECT_TRUE(at::isfinite(out).all().item<bool>());
  EXPECT_TRUE(AllClose(out, ReferenceIntervalAttention(x.to(at::kDouble), w.to(at::kDouble), b.to(at::kDouble), 8),
                       1e-4, 1e-4));
}

// torch::nn::MultiheadAttention itself (in_proj from w_qkv, out_proj = I, zero bias), and the
// functional stock version, agree within float tolerance (their softmax lacks the +1e-8).
TEST(AttentionTest, StockMultiheadAttentionAgrees) {
  const int64_t n = 200, g = 12, d = 64, heads = 16;
  at::manual_seed(5);
  const at::Tensor x = at::randn({n, g, d});
  const at::Tensor w = (at::rand({d, 3 * d}) * 2 - 1) * 0.2165;
  const at::Tensor b = at::randn({3 * d}) * 0.1;
  const at::Tensor fused = IntervalAttention(x, w, b, heads);
  torch::nn::MultiheadAttention mha(torch::nn::MultiheadAttentionOptions(d, heads));
  {
    at::NoGradGuard no_grad;
    mha->in_proj_weight.copy_(w.t());
    mha->in_proj_bias.copy_(b);
    mha->out_proj->weight.copy_(at::eye(d));
    mha->out_proj->bias.zero_();
  }
  const at::Tensor seq = x.transpose(0, 1);
  const at::Tensor module_out = std::get<0>(mha->forward(seq, seq, seq)).mean(0);
  EXPECT_TRUE(AllClose(fused, module_out, 1e-5, 1e-6));
  // Functional stock version, with gradients.
  const at::Tensor x1 = x.clone().requires_grad_(), x2 = x.clone().requires_grad_();
  const at::Tensor gy = at::randn({n, d});
  (IntervalAttention(x1, w, b, heads) * gy).sum().backward();
  const at::Tensor stock = StockIntervalAttention(x2, w, b, heads);
  (stock * gy).sum().backward();
  EXPECT_TRUE(AllClose(fused, stock, 1e-5, 1e-6));
  EXPECT_TRUE(AllClose(x1.grad(), x2.grad(), 1e-4, 1e-6));
}

TEST(AttentionTest, FiniteDifferenceGradients) {
  at::manual_seed(9);
  for (const int64_t heads : {2, 4}) {  // double: 2 heads -> scalar path, 4 -> one vector
    const auto core = [heads](const std::vector<at::Tensor>& in) { return PooledAttention(in[0], heads); };
    EXPECT_TRUE(GradCheck(core, {at::randn({2, 3, 24}, at::kDouble)}, {true})) << heads;
    const auto full = [heads](const std::vector<at::Tensor>& in) {
      return IntervalAttention(in[0], in[1], in[2], heads);
    };
    EXPECT_TRUE(GradCheck(
        full,
        {at::randn({2, 3, 8}, at::kDouble), at::randn({8, 24}, at::kDouble) * 0.5, at::randn({24}, at::kDouble) * 0.1},
        {true, true, true}))
        << heads;
  }
}

TEST(AttentionTest, BitIdenticalAcrossThreadCounts) {
  const int64_t n = 3000, g = 12, d = 64, heads = 16;
  at::manual_seed(2);
  const auto f = [](const std::vector<at::Tensor>& in) { return IntervalAttention(in[0], in[1], in[2], heads); };
  EXPECT_TRUE(BitIdenticalAcrossThreads(
      f, {at::randn({n, g, d}), (at::rand({d, 3 * d}) * 2 - 1) * 0.2165, at::randn({3 * d}) * 0.1}, at::randn({n, d})));
}

// The fast path (16 heads of width 4) as it runs here and with `Switch` held give the same
// output and gradients, bit for bit, with and without autograd (the chunked rows of
// IntervalAttentionRows), with scores large enough to saturate the softmax (x scaled by 4) and
// with G = 1, 7 and 12.
template <typename Switch>
void ExpectTheFastPathsBitsWith(uint64_t seed) {
  const int64_t n = 200, d = 64, heads = 16;
  at::manual_seed(seed);
  for (const int64_t g : {1, 7, 12}) {
    for (const double spread : {1.0, 4.0}) {
      const std::vector<at::Tensor> in = {at::randn({n, g, d}) * spread, (at::rand({d, 3 * d}) * 2 - 1) * 0.2165,
                                          at::randn({3 * d}) * 0.1};
      const at::Tensor gy = at::randn({n, d});
      const auto f = [](const std::vector<at::Tensor>& x) { return IntervalAttention(x[0], x[1], x[2], heads); };
      const auto run = [&] {
        std::vector<at::Tensor> out = OutputAndGrads(f, in, gy);
        at::NoGradGuard no_grad;
        out.push_back(f(in));
        return out;
      };
      const std::vector<at::Tensor> here = run();
      std::vector<at::Tensor> switched;
      {
        const Switch on;
        switched = run();
      }
      for (size_t k = 0; k < here.size(); ++k) {
        EXPECT_TRUE(BitEqual(here[k], switched[k])) << "G = " << g << ", spread " << spread << ", tensor " << k;
      }
    }
  }
}

// Where the CPU has AVX-512 the fast path runs the 16 heads in one vector: the 8-lane path's bits.
TEST(AttentionTest, WideFastPathGivesTheNarrowBits) {
  if (!cpu::UseWideVectors()) GTEST_SKIP() << "this CPU has no AVX-512 (F, VL, BW, DQ)";
  ExpectTheFastPathsBitsWith<cpu::ScopedNarrowVectors>(13);
}

// Where the CPU has AVX2 the 8-lane fast path is compiled for it with vec_avx2.h's exp: the bits
// of the same path with vec.h's.
TEST(AttentionTest, Avx2MathGivesTheGenericBits) {
  if (!cpu::CpuHasAvx2Fma()) GTEST_SKIP() << "this CPU has no AVX2 and FMA";
  const cpu::ScopedNarrowVectors eight_lanes;
  ExpectTheFastPathsBitsWith<cpu::ScopedGenericMath>(17);
}

// The backward writes the qkv gradient over the saved qkv when nothing else can read it (the
// published shape's fast path). Run three ways: qkv a temporary of the forward (reused), qkv
// still held by the caller (a fresh buffer: the caller's values must survive), and the graph kept
// for a second backward (a fresh buffer: the second pass must see the saved values). Each gives
// the same gradients bit for bit, and only the first saves the gradient's buffer.
TEST(AttentionTest, BackwardReusesTheSavedInputOnlyWhenNothingElseReadsIt) {
  const int64_t n = 300, g = 12, d = 64, heads = 16;  // the fast path: 16 heads of width 4
  at::manual_seed(8);
  const at::Tensor x0 = at::randn({n, g, d}), w = (at::rand({d, 3 * d}) * 2 - 1) * 0.2, b = at::randn({3 * d}) * 0.1;
  const at::Tensor gy = at::randn({n, d});
  const int64_t qkv_bytes = n * g * 3 * d * 4;
  TensorMemory::StartTracking();
  // Returns x's gradient; *transient: the most bytes the backward held above its start.
  auto run = [&](bool hold_qkv, bool keep_graph, int64_t* transient) {
    const at::Tensor x = x0.clone().requires_grad_();
    at::Tensor held = Linear(x, w, b);
    const at::Tensor qkv_before = held.detach().clone();
    at::Tensor loss = (PooledAttention(hold_qkv ? held : std::move(held), heads) * gy).sum();
    if (!hold_qkv) held = at::Tensor();
    const int64_t start = TensorMemory::Live();
    TensorMemory::ResetPeak();
    loss.backward({}, /*retain_graph=*/keep_graph);
    *transient = TensorMemory::Peak() - start;
    if (hold_qkv) {
      EXPECT_TRUE(at::equal(held, qkv_before)) << "the caller's qkv was overwritten";
    }
    if (!keep_graph) return x.grad().clone();
    const at::Tensor first = x.grad().clone();
    x.mutable_grad() = at::Tensor();
    loss.backward();
    EXPECT_TRUE(at::equal(x.grad(), first)) << "the kept graph's second backward differs";
    return first;
  };
  int64_t reused = 0, held = 0, kept = 0;
  const at::Tensor dx_reused = run(false, false, &reused);
  const at::Tensor dx_held = run(true, false, &held);
  const at::Tensor dx_kept = run(false, true, &kept);
  EXPECT_TRUE(at::equal(dx_reused, dx_held));
  EXPECT_TRUE(at::equal(dx_reused, dx_kept));
  EXPECT_LE(reused, held - qkv_bytes);
  EXPECT_LE(reused, kept - qkv_bytes);
}

// Without autograd (no input needs a gradient, or under NoGradGuard) the projection and the
// attention run a chunk of items at a time (lcm(512, G) positions): the same bits as Linear then
// PooledAttention, with item counts below one chunk, filling chunks exactly (128 items at
// G = 12) or part-filling the last, at G that divides 512 or not, on the fast path (16 heads of
// 4, 16 lanes and 8) and the general one (8 heads of 8), with one thread and two.
TEST(AttentionTest, WithoutAutogradChunkByChunkGivesTheSameBits) {
  const int64_t d = 64, threads_before = at::get_num_threads();
  struct Case {
    int64_t n, g, heads;
  };
  for (const int threads : {1, 2}) {
    at::set_num_threads(threads);
    for (const Case& c : std::vector<Case>{{1, 12, 16}, {128, 12, 16}, {129, 12, 16}, {300, 12, 16}, {700, 5, 16},
                                           {90, 7, 8}, {1030, 1, 16}}) {
      at::manual_seed(c.n + c.g);
      const at::Tensor x = at::randn({c.n, c.g, d});
      const at::Tensor w = (at::rand({d, 3 * d}) * 2 - 1) * 0.2165;
      const at::Tensor b = at::randn({3 * d}) * 0.1;
      for (const bool narrow : {false, true}) {  // the 16-lane path where the CPU has it, and the 8-lane one
        std::optional<cpu::ScopedNarrowVectors> eight_lanes;
        if (narrow) eight_lanes.emplace();
        const at::Tensor staged = PooledAttention(Linear(x, w, b), c.heads);
        EXPECT_TRUE(BitEqual(IntervalAttention(x, w, b, c.heads), staged)) << c.n << " items, G " << c.g;
        at::NoGradGuard no_grad;
        const at::Tensor needing_grad = x.detach().requires_grad_();
        EXPECT_TRUE(BitEqual(IntervalAttention(needing_grad, w, b, c.heads), staged)) << c.n << " items, G " << c.g;
      }
    }
  }
  at::set_num_threads(threads_before);
}

TEST(AttentionTest, RejectsBadShapes) {
  EXPECT_THROW(PooledAttention(at::zeros({2, 3, 10}), 2), std::invalid_argument);  // 10 % 3
  EXPECT_THROW(PooledAttention(at::zeros({2, 3, 24}), 3), std::invalid_argument);  // 8 % 3
  EXPECT_THROW(IntervalAttention(at::zeros({2, 3, 8}), at::zeros({8, 16}), at::zeros({24}), 2), std::invalid_argument);
  // Inputs needing no gradient take the chunked path, which must reject them too.
  EXPECT_THROW(IntervalAttention(at::zeros({2, 3, 8}), at::zeros({8, 24}), at::zeros({24}), 3), std::invalid_argument);  // 8 % 3
  EXPECT_THROW(IntervalAttention(at::zeros({2, 0, 8}), at::zeros({8, 24}), at::zeros({24}), 2), std::invalid_argument);  // G = 0
}

}  // namespace
}  // namespace hardgnn::selfgnn
