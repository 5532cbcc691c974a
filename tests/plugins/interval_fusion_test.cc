// The interval fusion without autograd, a chunk of items at a time (FuseRowsWithoutGrad: the
// untouched items HardGNN's miner reads), against the modules' forward on the gathered rows:
// the same bits, with and without dropout, both layer norms, any thread count, both vector
// widths; and where it does not apply it says so instead of computing something else.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <vector>

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "core/cpu/kernel_path.h"
#include "gtest/gtest.h"
#include "plugins/encoders/selfgnn/dropout.h"
#include "plugins/encoders/selfgnn/interval_fusion.h"
#include "plugins/encoders/selfgnn/options.h"
#include "tests/kernels/gradcheck.h"

namespace hardgnn::selfgnn {
namespace {

using hardgnn::testing::BitEqual;

struct Case {
  int64_t items, n, g, d, heads;
  bool ln_lastdim;
};

struct Fusion {
  IntervalRnn rnn{nullptr};
  IntervalAttention attention{nullptr};
};

// Modules with every parameter random (the initial bias, γ and β are constants).
Fusion MakeFusion(const Options& o, uint64_t seed) {
  at::Generator gen = at::detail::createCPUGenerator(seed);
  Fusion f{IntervalRnn(o, gen), IntervalAttention(o, gen)};
  torch::NoGradGuard no_grad;
  for (auto* m : std::vector<torch::nn::Module*>{f.rnn.get(), f.attention.get()}) {
    for (auto& p : m->parameters()) p.add_(at::randn(p.sizes(), gen, p.options()) * 0.3);
  }
  return f;
}

// What the encoder computed before the pipeline: gather, LSTM, dropout, layer norm + attention.
at::Tensor ByModules(Fusion& f, const at::Tensor& slices, const at::Tensor& ids, const FusionDropout* dropout) {
  at::Tensor h = f.rnn->forward(slices.index_select(1, ids).permute({1, 0, 2}));
  if (dropout != nullptr) h = RowDropout(h, dropout->p, true, dropout->seed, dropout->keys);
  return f.attention->forward(h);
}

TEST(FuseRowsWithoutGradTest, SameBitsAsTheModulesOnTheGatheredRows) {
  const int threads_before = at::get_num_threads();
  const std::vector<Case> cases = {{50, 1, 12, 64, 16, false},   {300, 128, 12, 64, 16, false},
                                   {300, 129, 12, 64, 16, false}, {900, 700, 12, 64, 16, false},
                                   {900, 700, 5, 64, 16, true},   {200, 90, 7, 32, 8, false},
                                   {1100, 1030, 1, 64, 16, false}, {40, 0, 12, 64, 16, false}};
  for (const Case& c : cases) {
    Options o;
    o.dim = c.d;
    o.heads = c.heads;
    o.ln_lastdim = c.ln_lastdim;
    Fusion f = MakeFusion(o, 7 + c.n);
    at::manual_seed(c.items + c.g);
    const at::Tensor slices = at::randn({c.g, c.items, c.d});
    // Unsorted, with repeats when n allows, as a general id list may be.
    at::Tensor ids = at::randperm(c.items, at::kLong).narrow(0, 0, c.n);
    if (c.n > 3) ids.narrow(0, 0, 2).fill_(ids[2].item<int64_t>());
    const FusionDropout dropout{1.0 - 0.5, 0x1234567 + static_cast<uint64_t>(c.n), ids};
    for (const int threads : {1, 2}) {
      at::set_num_threads(threads);
      for (const bool narrow : {false, true}) {  // the 16-lane path where the CPU has it, and the 8-lane one
        std::optional<cpu::ScopedNarrowVectors> eight_lanes;
        if (narrow) eight_lanes.emplace();
        torch::NoGradGuard no_grad;
        for (const FusionDropout* drop : {static_cast<const FusionDropout*>(nullptr), &dropout}) {
          const at::Tensor got = FuseRowsWithoutGrad(*f.rnn, *f.attention, slices, ids, drop);
          ASSERT_TRUE(got.defined());
          if (c.n == 0) {  // the modules cannot reshape an empty batch
            EXPECT_EQ(got.sizes(), (std::vector<int64_t>{0, c.d}));
            continue;
          }
          EXPECT_TRUE(BitEqual(got, ByModules(f, slices, ids, drop)))
              << c.n << " of " << c.items << " items, G " << c.g << ", " << threads << " threads"
              << (narrow ? ", 8 lanes" : "") << (drop ? ", dropout" : "");
        }
      }
    }
  }
  at::set_num_threads(threads_before);
}

// Evaluation fuses every row in one call where the modules took a multiple of 512 rows at a
// time: the pipeline's chunks (128, 256 or 512 items) divide those calls, so the bits agree.
TEST(FuseRowsWithoutGradTest, EveryRowAtOnceEqualsTheModulesInCallsOfAMultipleOf512Rows) {
  for (const int64_t g : {12, 5}) {
    Options o;
    Fusion f = MakeFusion(o, 3 + g);
    const int64_t n = 2 * 1024 + 129;
    const at::Tensor slices = at::randn({g, n, 64});
    torch::NoGradGuard no_grad;
    std::vector<at::Tensor> parts;
    for (int64_t begin = 0; begin < n; begin += 1024) {
      const at::Tensor part = slices.narrow(1, begin, std::min<int64_t>(1024, n - begin));
      parts.push_back(f.attention->forward(f.rnn->forward(part.permute({1, 0, 2}))));
    }
    EXPECT_TRUE(BitEqual(FuseRowsWithoutGrad(*f.rnn, *f.attention, slices, at::arange(n, at::kLong), nullptr),
                         at::cat(parts, 0)))
        << "G " << g;
  }
}

TEST(FuseRowsWithoutGradTest, UndefinedWhereItDoesNotApply) {
  Options o;
  Fusion f = MakeFusion(o, 1);
  const at::Tensor slices = at::randn({3, 10, 64}), ids = at::arange(4, at::kLong);
  {
    torch::AutoGradMode grad(true);  // a gradient could be recorded
    EXPECT_FALSE(FuseRowsWithoutGrad(*f.rnn, *f.attention, slices, ids, nullptr).defined());
  }
  torch::NoGradGuard no_grad;
  const FusionDropout everything{1.0, 5, ids};
  EXPECT_FALSE(FuseRowsWithoutGrad(*f.rnn, *f.attention, slices, ids, &everything).defined());
  EXPECT_FALSE(FuseRowsWithoutGrad(*f.rnn, *f.attention, slices.to(at::kDouble), ids, nullptr).defined());
  {
    cpu::ScopedAtenKernels stock;
    EXPECT_FALSE(FuseRowsWithoutGrad(*f.rnn, *f.attention, slices, ids, nullptr).defined());
  }
  Options gru = o;
  gru.gru = true;
  Fusion g = MakeFusion(gru, 1);
  EXPECT_FALSE(FuseRowsWithoutGrad(*g.rnn, *g.attention, slices, ids, nullptr).defined());
}

// The RNN applies the output dropout itself where it is the fused LSTM on float (inside the
// kernel: FusedLstmWithDropout), with RowDropout-after's output and gradients bit for bit; the
// GRU, double and the stock kernels leave it to the caller, and refuse it.
TEST(IntervalRnnTest, TakesTheDropoutWhereItIsTheFusedLstm) {
  Fusion f = MakeFusion(Options{}, 2);
  at::manual_seed(2);
  const int64_t n = 200, g = 12;
  const at::Tensor x0 = at::randn({g, n, 64}).permute({1, 0, 2}), gy = at::randn({n, g, 64});
  ASSERT_TRUE(f.rnn->TakesDropout(x0));
  const FusionDropout dropout{0.5, 99, at::randperm(n, at::kLong)};
  // The output, then the gradients of x and of the RNN's parameters.
  const auto run = [&](bool inside) {
    const at::Tensor x = x0.detach().requires_grad_();
    for (auto& p : f.rnn->parameters()) p.mutable_grad() = at::Tensor();
    const at::Tensor y = inside ? f.rnn->forward(x, &dropout)
                                : RowDropout(f.rnn->forward(x), dropout.p, true, dropout.seed, dropout.keys);
    (y * gy).sum().backward();
    std::vector<at::Tensor> out = {y.detach(), x.grad()};
    for (const auto& p : f.rnn->parameters()) out.push_back(p.grad().clone());
    return out;
  };
  const auto inside = run(true), after = run(false);
  ASSERT_EQ(inside.size(), 4u);
  for (size_t k = 0; k < inside.size(); ++k) EXPECT_TRUE(BitEqual(inside[k], after[k])) << "tensor " << k;
  EXPECT_GT(inside[0].eq(0).sum().item<int64_t>(), 0) << "the mask is applied";

  EXPECT_FALSE(f.rnn->TakesDropout(x0.to(at::kDouble)));
  EXPECT_THROW(f.rnn->forward(x0.to(at::kDouble), &dropout), c10::Error);
  {
    cpu::ScopedAtenKernels stock;
    EXPECT_FALSE(f.rnn->TakesDropout(x0));
    EXPECT_THROW(f.rnn->forward(x0, &dropout), c10::Error);
  }
  Options gru;
  gru.gru = true;
  Fusion with_gru = MakeFusion(gru, 2);
  EXPECT_FALSE(with_gru.rnn->TakesDropout(x0));
  EXPECT_THROW(with_gru.rnn->forward(x0, &dropout), c10::Error);
}

// The attention's layer norm taken inside the RNN with the dropout, then Attend: the bits of the
// modules' forward (the output, and the gradients of x and of every parameter of both modules).
TEST(IntervalRnnTest, TakesTheLayerNormWithTheDropout) {
  Fusion f = MakeFusion(Options{}, 3);
  at::manual_seed(3);
  const int64_t n = 700, g = 12;
  const at::Tensor x0 = at::randn({g, n, 64}).permute({1, 0, 2}), gy = at::randn({n, 64});
  ASSERT_TRUE(f.attention->NormsInBlocks(x0));
  const FusionDropout dropout{0.5, 98, at::randperm(n, at::kLong)};
  const auto run = [&](bool inside) {
    const at::Tensor x = x0.detach().requires_grad_();
    std::vector<at::Tensor> params = f.rnn->parameters();
    for (const auto& p : f.attention->parameters()) params.push_back(p);
    for (auto& p : params) p.mutable_grad() = at::Tensor();
    const FusionLayerNorm norm = f.attention->BlockNorm();
    const at::Tensor y = inside ? f.attention->Attend(f.rnn->forward(x, &dropout, &norm))
                                : f.attention->forward(f.rnn->forward(x, &dropout));
    (y * gy).sum().backward();
    std::vector<at::Tensor> out = {y.detach(), x.grad()};
    for (const auto& p : params) out.push_back(p.grad().clone());
    return out;
  };
  const auto inside = run(true), after = run(false);
  ASSERT_EQ(inside.size(), 8u);  // y, x, the LSTM's kernel and bias, γ, β, W_qkv, b_qkv
  for (size_t k = 0; k < inside.size(); ++k) EXPECT_TRUE(BitEqual(inside[k], after[k])) << "tensor " << k;

  const FusionLayerNorm norm = f.attention->BlockNorm();
  EXPECT_THROW(f.rnn->forward(x0, nullptr, &norm), c10::Error);  // the norm only with the dropout
  Options lastdim;
  lastdim.ln_lastdim = true;
  EXPECT_FALSE(MakeFusion(lastdim, 3).attention->NormsInBlocks(x0));
  cpu::ScopedAtenKernels stock;
  EXPECT_FALSE(f.attention->NormsInBlocks(x0));
  EXPECT_THROW(f.attention->Attend(x0), c10::Error);
}

TEST(FuseRowsWithoutGradTest, RejectsIdsOutOfRange) {
  Fusion f = MakeFusion(Options{}, 1);
  torch::NoGradGuard no_grad;
  const at::Tensor slices = at::randn({3, 10, 64});
  EXPECT_THROW(FuseRowsWithoutGrad(*f.rnn, *f.attention, slices, at::tensor({0, 10}, at::kLong), nullptr), c10::Error);
  EXPECT_THROW(FuseRowsWithoutGrad(*f.rnn, *f.attention, slices, at::tensor({-1}, at::kLong), nullptr), c10::Error);
}

}  // namespace
}  // namespace hardgnn::selfgnn
