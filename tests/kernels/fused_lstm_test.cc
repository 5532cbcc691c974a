#include "plugins/encoders/selfgnn/fused_lstm.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>
#include <torch/nn/modules/rnn.h>

#include <cmath>
#include <functional>
#include <memory>
#include <vector>

#include "core/cpu/kernel_path.h"
#include "gtest/gtest.h"
#include "plugins/encoders/selfgnn/layer_norm.h"
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

// d_in = h = 1, N = 1, G = 2, x = (1, 0). kernel row 0 (multiplies x_t) = (0, ln 2, -1, ln 3) for
// (i, j, f, o); row 1 (multiplies h_{t-1}) = 0; bias = 0; forget_bias = 1.
// Step 1: z = (0, ln 2, -1, ln 3): σ(i) = 0.5, tanh(j) = tanh(ln 2) = 0.6, σ(o) = 0.75 (c_0 = 0,
//   so f does not matter): c_1 = 0.5·0.6 = 0.3, h_1 = tanh(0.3)·0.75 = 0.2913126124515909·0.75
//   = 0.21848445933869318.
// Step 2: z = 0: σ(i) = 0.5, tanh(j) = 0, σ(f + 1) = σ(1) = 0.7310585786300049, σ(o) = 0.5:
//   c_2 = 0.3·0.7310585786300049 = 0.21931757358900147, h_2 = tanh(c_2)·0.5 = 0.10793376563038445.
//   (Without the forget bias h_2 would be tanh(0.15)·0.5 = 0.0744; with TF's order read as
//   LibTorch's (i, f, g, o), step 1 alone would already differ.)
TEST(FusedLstmTest, HandComputedTwoSteps) {
  const at::Tensor kernel =
      at::tensor({0.0, std::log(2.0), -1.0, std::log(3.0), 0.0, 0.0, 0.0, 0.0}, at::kDouble).view({2, 4});
  const at::Tensor bias = at::zeros({4}, at::kDouble);
  const at::Tensor x = at::tensor({1.0, 0.0}, at::kDouble).view({1, 2, 1});
  const at::Tensor expected = at::tensor({0.21848445933869318, 0.10793376563038445}, at::kDouble).view({1, 2, 1});
  EXPECT_TRUE(AllClose(FusedLstm(x, kernel, bias), expected, 1e-15, 1e-15));
  EXPECT_TRUE(AllClose(ReferenceLstm(x, kernel, bias), expected, 1e-15, 1e-15));
  EXPECT_TRUE(AllClose(StockLstm(x, kernel, bias), expected, 1e-15, 1e-15));
  // The float kernel (polynomial exp/tanh) on the same example.
  EXPECT_TRUE(AllClose(FusedLstm(x.to(at::kFloat), kernel.to(at::kFloat), bias.to(at::kFloat)), expected.to(at::kFloat),
                       1e-6, 1e-7));
}

struct Shape {
  int64_t n, g, din, h;
  at::ScalarType dtype;
  bool time_major;  // x passed as a transposed view of a [G, N, d_in] tensor
};

class FusedLstmMatchTest : public ::testing::TestWithParam<Shape> {};

// Fused == reference == stock at::lstm, outputs and all gradients.
TEST_P(FusedLstmMatchTest, MatchesReferenceAndStock) {
  const Shape p = GetParam();
  const auto opt = at::TensorOptions().dtype(p.dtype);
  at::manual_seed(11);
  const at::Tensor x0 =
      p.time_major ? at::randn({p.g, p.n, p.din}, opt).transpose(0, 1) : at::randn({p.n, p.g, p.din}, opt);
  const at::Tensor k0 = at::rand({p.din + p.h, 4 * p.h}, opt) * 0.5 - 0.25;
  const at::Tensor b0 = at::randn({4 * p.h}, opt) * 0.1;
  const at::Tensor gy = at::randn({p.n, p.g, p.h}, opt);
  std::vector<std::vector<at::Tensor>> results;
  for (auto* fn : {&FusedLstm, &ReferenceLstm, &StockLstm}) {
    const auto f = [fn](const std::vector<at::Tensor>& in) { return (*fn)(in[0], in[1], in[2], 1.0); };
    const auto r = OutputAndGrads(f, {x0, k0, b0}, gy);
    results.push_back({r[0], r[2], r[3]});  // output, dkernel, dbias (dx: next test)
  }
  const double tol = p.dtype == at::kFloat ? 1e-5 : 1e-12;
  for (int r = 1; r < 3; ++r) {
    EXPECT_TRUE(AllClose(results[0][0], results[r][0], tol, tol)) << "output vs " << r;
    // Weight gradients sum over N·G rows: tolerance relative to their scale.
    EXPECT_TRUE(AllCloseToScale(results[0][1], results[r][1], tol)) << "dkernel vs " << r;
    EXPECT_TRUE(AllCloseToScale(results[0][2], results[r][2], tol)) << "dbias vs " << r;
  }
}

// The input gradient, with x as a leaf (time-major: the view's base gets it).
TEST_P(FusedLstmMatchTest, InputGradientMatchesReference) {
  const Shape p = GetParam();
  const auto opt = at::TensorOptions().dtype(p.dtype);
  at::manual_seed(12);
  const at::Tensor base = p.time_major ? at::randn({p.g, p.n, p.din}, opt) : at::randn({p.n, p.g, p.din}, opt);
  const at::Tensor k = at::rand({p.din + p.h, 4 * p.h}, opt) * 0.5 - 0.25;
  const at::Tensor b = at::randn({4 * p.h}, opt) * 0.1;
  const at::Tensor gy = at::randn({p.n, p.g, p.h}, opt);
  at::Tensor grads[2];
  for (int r = 0; r < 2; ++r) {
    const at::Tensor leaf = base.clone().requires_grad_();
    const at::Tensor x = p.time_major ? leaf.transpose(0, 1) : leaf;
    const at::Tensor y = r == 0 ? FusedLstm(x, k, b) : ReferenceLstm(x, k, b);
    (y * gy).sum().backward();
    grads[r] = leaf.grad();
  }
  const double tol = p.dtype == at::kFloat ? 1e-5 : 1e-12;
  EXPECT_TRUE(AllClose(grads[0], grads[1], tol, tol));
}

INSTANTIATE_TEST_SUITE_P(Shapes, FusedLstmMatchTest,
                         ::testing::Values(Shape{300, 5, 64, 64, at::kFloat, false},
                                           Shape{300, 5, 64, 64, at::kFloat, true},
                                           Shape{257, 3, 24, 16, at::kFloat, false},
                                           Shape{130, 4, 5, 6, at::kFloat, true},  // h not a multiple of 8
                                           Shape{140, 1, 8, 8, at::kFloat, false},
                                           Shape{150, 4, 12, 8, at::kDouble, false},
                                           Shape{131, 3, 3, 5, at::kDouble, true}));

// torch::nn::LSTM (the module itself) loaded with ToTorchLstmParams gives the same outputs.
TEST(FusedLstmTest, StockModuleAgrees) {
  const int64_t n = 200, g = 6, d = 64;
  at::manual_seed(4);
  const at::Tensor x = at::randn({n, g, d});
  const at::Tensor k = at::rand({2 * d, 4 * d}) * 0.25 - 0.125;
  const at::Tensor b = at::randn({4 * d}) * 0.1;
  torch::nn::LSTM lstm(torch::nn::LSTMOptions(d, d).batch_first(true));
  {
    at::NoGradGuard no_grad;
    const TorchLstmParams p = ToTorchLstmParams(k, b);
    lstm->named_parameters()["weight_ih_l0"].copy_(p.weight_ih);
    lstm->named_parameters()["weight_hh_l0"].copy_(p.weight_hh);
    lstm->named_parameters()["bias_ih_l0"].copy_(p.bias_ih);
    lstm->named_parameters()["bias_hh_l0"].copy_(p.bias_hh);
  }
  const at::Tensor y_module = std::get<0>(lstm->forward(x));
  EXPECT_TRUE(AllClose(FusedLstm(x, k, b), y_module, 1e-5, 1e-6));
}

TEST(FusedLstmTest, FiniteDifferenceGradients) {
  at::manual_seed(8);
  const auto f = [](const std::vector<at::Tensor>& in) { return FusedLstm(in[0], in[1], in[2]); };
  // h = 4: the double vector path; h = 3: the scalar path.
  for (const int64_t h : {4, 3}) {
    const int64_t din = 2;
    EXPECT_TRUE(GradCheck(f,
                          {at::randn({3, 4, din}, at::kDouble), at::randn({din + h, 4 * h}, at::kDouble) * 0.5,
                           at::randn({4 * h}, at::kDouble) * 0.3},
                          {true, true, true}))
        << "h = " << h;
  }
}

// Two weight-gradient groups, the last one short; one group of four blocks (the batch's users),
// whose blocks run on both threads and add into the partial in turn; one partial block.
TEST(FusedLstmTest, BitIdenticalAcrossThreadCounts) {
  const int64_t g = 6, d = 64;
  at::manual_seed(6);
  const auto f = [](const std::vector<at::Tensor>& in) { return FusedLstm(in[0], in[1], in[2]); };
  for (const int64_t n : {1000, 512, 100}) {
    EXPECT_TRUE(BitIdenticalAcrossThreads(
        f, {at::randn({n, g, d}), at::rand({2 * d, 4 * d}) * 0.25 - 0.125, at::randn({4 * d}) * 0.1},
        at::randn({n, g, d})))
        << n << " rows";
  }
}

// Without autograd the forward keeps no activations for a backward pass: the same output bits,
// for a partial last block and for a time-major (strided) input.
TEST(FusedLstmTest, NoGradForwardIsBitIdentical) {
  at::manual_seed(8);
  for (const bool time_major : {false, true}) {
    const int64_t n = 300, g = 5, d = 16;
    const at::Tensor x = time_major ? at::randn({g, n, d}).transpose(0, 1) : at::randn({n, g, d});
    const at::Tensor kernel = (at::rand({2 * d, 4 * d}) * 0.5 - 0.25).requires_grad_(true);
    const at::Tensor bias = (at::randn({4 * d}) * 0.1).requires_grad_(true);
    const at::Tensor with_graph = FusedLstm(x, kernel, bias);
    ASSERT_TRUE(with_graph.requires_grad());
    at::Tensor without;
    {
      at::NoGradGuard no_grad;
      without = FusedLstm(x, kernel, bias);
    }
    EXPECT_FALSE(without.requires_grad());
    EXPECT_TRUE(at::equal(with_graph.detach(), without)) << (time_major ? "time-major" : "row-major");
  }
}

// The LSTM as it runs here and with `Switch` held give the same output and gradients, bit for
// bit, with pre-activations large enough to reach the saturated branches, at each h; also with
// the dropout and the layer norm inside (whose backward takes tanh(c) in a pass of its own).
template <typename Switch>
void ExpectTheCellsBitsWith(uint64_t seed, std::initializer_list<int64_t> hs) {
  at::manual_seed(seed);
  for (const int64_t h : hs) {
    const int64_t n = 300, g = 5, d = 16;
    const std::vector<at::Tensor> in = {at::randn({n, g, d}) * 3, at::rand({d + h, 4 * h}) * 2 - 1, at::randn({4 * h}),
                                        at::rand({h}) + 0.5, at::randn({h}) * 0.1};
    const at::Tensor gy = at::randn({n, g, h});
    const FusionDropout dropout{0.3, 7, at::arange(n)};
    const std::vector<std::function<at::Tensor(const std::vector<at::Tensor>&)>> forms = {
        [](const std::vector<at::Tensor>& x) { return FusedLstm(x[0], x[1], x[2]); },
        [&](const std::vector<at::Tensor>& x) {
          return FusedLstmLayerNorm(x[0], x[1], x[2], 1.0, dropout, {x[3], x[4], 1e-12});
        }};
    for (size_t form = 0; form < forms.size(); ++form) {
      const auto here = OutputAndGrads(forms[form], in, gy);
      std::vector<at::Tensor> switched;
      {
        const Switch on;
        switched = OutputAndGrads(forms[form], in, gy);
      }
      for (size_t k = 0; k < here.size(); ++k) {
        ASSERT_EQ(here[k].defined(), switched[k].defined());
        if (!here[k].defined()) continue;  // FusedLstm: no γ or β
        EXPECT_TRUE(BitEqual(here[k], switched[k])) << "h = " << h << ", form " << form << ", tensor " << k;
      }
    }
  }
}

// Where the CPU has AVX-512 the cell passes run 16 lanes at a time: the 8-lane path's bits
// (h = 32: two wide vectors a gate; h = 24 stays on 8 lanes either way).
TEST(FusedLstmTest, WideCellGivesTheNarrowBits) {
  if (!cpu::UseWideVectors()) GTEST_SKIP() << "this CPU has no AVX-512 (F, VL, BW, DQ)";
  ExpectTheCellsBitsWith<cpu::ScopedNarrowVectors>(12, {32, 24});
}

// Where the CPU has AVX2 the forward's cell pass is compiled for it with vec_avx2.h's
// functions: the bits of the same pass with vec.h's (h = 12 takes neither path).
TEST(FusedLstmTest, Avx2MathGivesTheGenericBits) {
  if (!cpu::CpuHasAvx2Fma()) GTEST_SKIP() << "this CPU has no AVX2 and FMA";
  const cpu::ScopedNarrowVectors eight_lanes;
  ExpectTheCellsBitsWith<cpu::ScopedGenericMath>(14, {32, 24, 12});
}

// The backward keeps tanh(c_t) and recomputes c_t from the kept activations: the recomputed
// states are the forward's bit for bit on every cell path (16 lanes, 8 lanes compiled for AVX2,
// vec.h's 8 lanes, scalar for h = 12), over a partial last block.
TEST(FusedLstmTest, BackwardRecomputesTheForwardsCellStates) {
  at::manual_seed(19);
  const int64_t g = 5, d = 16, n = 300;
  for (const int64_t h : {32, 24, 12}) {
    const at::Tensor x = at::randn({n, g, d}), kernel = at::rand({d + h, 4 * h}) - 0.5, bias = at::randn({4 * h});
    for (int path = 0; path < 3; ++path) {
      std::unique_ptr<cpu::ScopedNarrowVectors> eight_lanes;
      std::unique_ptr<cpu::ScopedGenericMath> generic;
      if (path >= 1) eight_lanes = std::make_unique<cpu::ScopedNarrowVectors>();
      if (path == 2) generic = std::make_unique<cpu::ScopedGenericMath>();
      const auto [forward, backward] = FusedLstmCellStatesForTest(x, kernel, bias);
      EXPECT_TRUE(BitEqual(forward, backward)) << "h = " << h << ", path " << path;
      EXPECT_GT(forward.abs().sum().item<double>(), 0) << "h = " << h;  // the states were written
    }
  }
}

// The output dropout inside the LSTM (each block's outputs masked once its steps are done, its
// output gradient as its backward starts) gives RowDropout-after-FusedLstm's output and
// gradients bit for bit: partial last blocks, a time-major input, both thread counts, with and
// without autograd.
TEST(FusedLstmTest, FusedDropoutGivesTheBitsOfRowDropoutAfter) {
  at::manual_seed(16);
  const int64_t g = 5, d = 16;
  for (const int64_t n : {300, 128, 7}) {
    for (const bool time_major : {false, true}) {
      const at::Tensor x = time_major ? at::randn({g, n, d}).transpose(0, 1) : at::randn({n, g, d});
      const std::vector<at::Tensor> in = {x, at::rand({2 * d, 4 * d}) * 0.5 - 0.25, at::randn({4 * d}) * 0.1};
      const at::Tensor gy = at::randn({n, g, d});
      const FusionDropout dropout{0.4, 0x5eed + static_cast<uint64_t>(n), at::randperm(10 * n).narrow(0, 0, n)};
      const auto fused = [&](const std::vector<at::Tensor>& v) {
        return FusedLstmWithDropout(v[0], v[1], v[2], 1.0, dropout);
      };
      const auto after = [&](const std::vector<at::Tensor>& v) {
        return RowDropout(FusedLstm(v[0], v[1], v[2]), dropout.p, true, dropout.seed, dropout.keys);
      };
      for (const int threads : {1, 2}) {
        at::set_num_threads(threads);
        const auto a = OutputAndGrads(fused, in, gy), b = OutputAndGrads(after, in, gy);
        for (size_t k = 0; k < a.size(); ++k) {
          EXPECT_TRUE(BitEqual(a[k], b[k])) << n << " rows, " << threads << " threads, tensor " << k;
        }
        // The mask is there: about 40% of the outputs are zeros (none are without dropout).
        const double zeros = a[0].eq(0).to(at::kDouble).mean().item<double>();
        EXPECT_NEAR(zeros, 0.4, n > 100 ? 0.03 : 0.15) << n << " rows";
        at::NoGradGuard no_grad;
        EXPECT_TRUE(BitEqual(FusedLstmWithDropout(in[0], in[1], in[2], 1.0, dropout), b[0]))
            << n << " rows, no autograd";
      }
    }
  }
}

// The layer norm inside: rows over several of the backward's groups (512 rows) and the norm's
// chunks (256), the last of each partial, so the γ/β partials' order shows.
TEST(FusedLstmTest, FusedLayerNormGivesTheBitsOfBlockLayerNormAfter) {
  at::manual_seed(17);
  const int64_t g = 5, d = 16;
  const double eps = 1e-12;
  for (const int64_t n : {1100, 300, 7}) {
    for (const bool time_major : {false, true}) {
      const at::Tensor x = time_major ? at::randn({g, n, d}).transpose(0, 1) : at::randn({n, g, d});
      const std::vector<at::Tensor> in = {x, at::rand({2 * d, 4 * d}) * 0.5 - 0.25, at::randn({4 * d}) * 0.1,
                                          at::rand({d}) + 0.5, at::randn({d}) * 0.1};
      const at::Tensor gy = at::randn({n, g, d});
      const FusionDropout dropout{0.4, 0x5eed + static_cast<uint64_t>(n), at::randperm(10 * n).narrow(0, 0, n)};
      const auto fused = [&](const std::vector<at::Tensor>& v) {
        return FusedLstmLayerNorm(v[0], v[1], v[2], 1.0, dropout, {v[3], v[4], eps});
      };
      const auto after = [&](const std::vector<at::Tensor>& v) {
        return BlockLayerNorm(FusedLstmWithDropout(v[0], v[1], v[2], 1.0, dropout), v[3], v[4], eps);
      };
      for (const int threads : {1, 2}) {
        at::set_num_threads(threads);
        const auto a = OutputAndGrads(fused, in, gy), b = OutputAndGrads(after, in, gy);
        ASSERT_EQ(a.size(), 6u);
        for (size_t k = 0; k < a.size(); ++k) {
          EXPECT_TRUE(BitEqual(a[k], b[k])) << n << " rows, " << threads << " threads, tensor " << k;
        }
        at::NoGradGuard no_grad;
        EXPECT_TRUE(BitEqual(fused(in), b[0])) << n << " rows, no autograd";
      }
    }
  }
}

TEST(FusedLstmTest, RejectsAnUnfusableLayerNorm) {
  const at::Tensor x = at::zeros({3, 2, 4}), kernel = at::zeros({8, 16}), bias = at::zeros({16});
  const FusionDropout half{0.5, 1, at::arange(3)};
  EXPECT_THROW(FusedLstmLayerNorm(x, kernel, bias, 1.0, half, {at::ones({3}), at::zeros({4}), 1e-12}),
               std::invalid_argument);
  EXPECT_THROW(FusedLstmLayerNorm(x, kernel, bias, 1.0, half, {at::ones({4}), at::zeros({4}, at::kDouble), 1e-12}),
               std::invalid_argument);
  const FusionDropout none{0.0, 1, at::arange(3)};
  EXPECT_THROW(FusedLstmLayerNorm(x, kernel, bias, 1.0, none, {at::ones({4}), at::zeros({4}), 1e-12}),
               std::invalid_argument);
}

TEST(FusedLstmTest, RejectsAnUnfusableDropout) {
  const at::Tensor x = at::zeros({3, 2, 4}), kernel = at::zeros({8, 16}), bias = at::zeros({16});
  const at::Tensor keys = at::arange(3);
  const FusionDropout none{0.0, 1, keys}, all{1.0, 1, keys}, short_keys{0.5, 1, at::arange(2)};
  EXPECT_THROW(FusedLstmWithDropout(x, kernel, bias, 1.0, none), std::invalid_argument);
  EXPECT_THROW(FusedLstmWithDropout(x, kernel, bias, 1.0, all), std::invalid_argument);
  EXPECT_THROW(FusedLstmWithDropout(x, kernel, bias, 1.0, short_keys), std::invalid_argument);
  const FusionDropout half{0.5, 1, keys};
  EXPECT_THROW(FusedLstmWithDropout(x.to(at::kDouble), kernel.to(at::kDouble), bias.to(at::kDouble), 1.0, half),
               std::invalid_argument);
}

TEST(FusedLstmTest, RejectsBadShapes) {
  EXPECT_THROW(FusedLstm(at::zeros({2, 3}), at::zeros({8, 16}), at::zeros({16})), std::invalid_argument);
  EXPECT_THROW(FusedLstm(at::zeros({2, 3, 4}), at::zeros({7, 16}), at::zeros({16})), std::invalid_argument);
  EXPECT_THROW(FusedLstm(at::zeros({2, 3, 4}), at::zeros({8, 16}), at::zeros({12})), std::invalid_argument);
}

}  // namespace
}  // namespace hardgnn::selfgnn
