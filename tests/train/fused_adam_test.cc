// FusedAdam against torch::optim::Adam (the same bits on contiguous float parameters, on any
// thread count), against Adam's formula in double (an independent reference), its fallback to
// the stock step, and checkpoints that either optimizer reads.
#include "core/train/fused_adam.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>
#include <sstream>
#include <vector>

#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <torch/serialize.h>
#include <torch/torch.h>

#include "core/cpu/reduce.h"

namespace hardgnn {
namespace {

// Parameters of the given shapes with reproducible values; gradients are set by SetGrads.
std::vector<torch::Tensor> MakeParams(const std::vector<std::vector<int64_t>>& shapes, uint64_t seed) {
  torch::manual_seed(seed);
  std::vector<torch::Tensor> params;
  for (const auto& shape : shapes) params.push_back(torch::randn(shape).requires_grad_(true));
  return params;
}

// Gradients of step t, the same for every copy of the parameters; gradients span magnitudes
// (and include exact zeros) so that v's sqrt and the division see small and large values.
void SetGrads(std::vector<torch::Tensor>& params, int t) {
  torch::manual_seed(1000 + t);
  for (auto& p : params) {
    torch::Tensor g = torch::randn(p.sizes()) * torch::pow(10.0, torch::randint(-4, 3, p.sizes()).to(torch::kFloat));
    g.masked_fill_(torch::rand(p.sizes()) < 0.05, 0.0f);
    p.mutable_grad() = g;
  }
}

std::vector<torch::Tensor> Clone(const std::vector<torch::Tensor>& params) {
  std::vector<torch::Tensor> out;
  for (const auto& p : params) out.push_back(p.detach().clone().requires_grad_(true));
  return out;
}

// Runs `steps` steps of each optimizer on copies of the same parameters, changing the learning
// rate between steps as the trainer's staircase does.
template <typename Optimizer>
std::vector<torch::Tensor> Train(std::vector<torch::Tensor> params, torch::optim::AdamOptions options, int steps) {
  Optimizer optimizer(params, options);
  for (int t = 0; t < steps; ++t) {
    SetGrads(params, t);
    for (auto& group : optimizer.param_groups()) {
      static_cast<torch::optim::AdamOptions&>(group.options()).lr(options.lr() * std::pow(0.5, t / 2));
    }
    optimizer.step();
  }
  return params;
}

void ExpectSameBits(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(std::memcmp(a[i].data_ptr<float>(), b[i].data_ptr<float>(), a[i].numel() * sizeof(float)), 0)
        << "parameter " << i << ": max |diff| " << (a[i] - b[i]).abs().max().item<float>();
  }
}

class ThreadCount {
 public:
  explicit ThreadCount(int n) : was_(at::get_num_threads()) { at::set_num_threads(n); }
  ~ThreadCount() { at::set_num_threads(was_); }

 private:
  int was_;
};

bool HasAvx2Fma() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }

// Sizes that are multiples of 32 elements (ATen's vectorized kernels cover them whole) and
// sizes that leave tails, on 1 and 2 threads (which move where a thread's share ends).
const std::vector<std::vector<int64_t>> kEvenShapes = {{64, 96}, {3, 32}, {1 << 16}};
const std::vector<std::vector<int64_t>> kOddShapes = {{7, 13}, {1}, {100003}};

TEST(FusedAdamTest, WritesTheStockStepsBits) {
  if (!HasAvx2Fma()) GTEST_SKIP() << "no AVX2+FMA: ATen's default kernels round as the portable update does (below)";
  for (const auto& shapes : {kEvenShapes, kOddShapes}) {
    for (const int threads : {1, 2}) {
      ThreadCount count(threads);
      const auto params = MakeParams(shapes, 7);
      const auto options = torch::optim::AdamOptions(3e-3).betas({0.9, 0.999}).eps(1e-8);
      const auto stock = Train<torch::optim::Adam>(Clone(params), options, 6);
      const auto fused = Train<FusedAdam>(Clone(params), options, 6);
      ExpectSameBits(stock, fused);
      EXPECT_FALSE(at::equal(stock[0], params[0]));  // the steps moved the parameters
    }
  }
}

// The update without AVX2 (forced here): two roundings where the vectorized one fuses, so
// within float rounding of the stock step, and the same bits on any thread count.
TEST(FusedAdamTest, PortableUpdateIsWithinRoundingAndThreadIndependent) {
  const auto params = MakeParams(kOddShapes, 8);
  const auto options = torch::optim::AdamOptions(1e-2);
  std::vector<torch::Tensor> one;
  {
    internal::ScopedPortableAdamUpdate portable;
    {
      ThreadCount count(1);
      one = Train<FusedAdam>(Clone(params), options, 5);
    }
    ThreadCount count(2);
    ExpectSameBits(one, Train<FusedAdam>(Clone(params), options, 5));
  }
  const auto stock = Train<torch::optim::Adam>(Clone(params), options, 5);
  for (size_t i = 0; i < one.size(); ++i) EXPECT_TRUE(torch::allclose(one[i], stock[i], 1e-6, 1e-7)) << i;
}

// Adam's update written out in double, element by element (Kingma and Ba, with PyTorch's
// placement of eps): both updates agree with it to float rounding.
void ExpectAdamsFormula(bool portable) {
  std::optional<internal::ScopedPortableAdamUpdate> scoped;
  if (portable) scoped.emplace();
  const auto params = MakeParams({{5, 37}}, 9);
  const double lr = 1e-2, b1 = 0.8, b2 = 0.99, eps = 1e-6;
  std::vector<double> p(params[0].numel()), m(p.size(), 0), v(p.size(), 0);
  for (size_t j = 0; j < p.size(); ++j) p[j] = params[0].data_ptr<float>()[j];
  auto trained = Clone(params);
  FusedAdam optimizer(trained, torch::optim::AdamOptions(lr).betas({b1, b2}).eps(eps));
  for (int t = 1; t <= 4; ++t) {
    SetGrads(trained, t);
    const float* g = trained[0].grad().data_ptr<float>();
    for (size_t j = 0; j < p.size(); ++j) {
      m[j] = b1 * m[j] + (1 - b1) * g[j];
      v[j] = b2 * v[j] + (1 - b2) * g[j] * g[j];
      p[j] -= lr / (1 - std::pow(b1, t)) * m[j] / (std::sqrt(v[j]) / std::sqrt(1 - std::pow(b2, t)) + eps);
    }
    optimizer.step();
  }
  for (size_t j = 0; j < p.size(); ++j) EXPECT_NEAR(trained[0].data_ptr<float>()[j], p[j], 1e-5 * (1 + std::abs(p[j]))) << j;
}

TEST(FusedAdamTest, FollowsAdamsFormula) { ExpectAdamsFormula(/*portable=*/false); }
TEST(FusedAdamTest, PortableUpdateFollowsAdamsFormula) { ExpectAdamsFormula(/*portable=*/true); }

// Two copies of one 8 x 8 double parameter with the same gradient: one for each optimizer.
struct DoubleCopies {
  torch::Tensor start, grad;
  std::vector<torch::Tensor> fused, stock;
};
DoubleCopies DoublePair(uint64_t seed) {
  torch::manual_seed(seed);
  DoubleCopies c{torch::randn({8, 8}, torch::kDouble), torch::randn({8, 8}, torch::kDouble), {}, {}};
  for (auto* copy : {&c.fused, &c.stock}) {
    copy->push_back(c.start.clone().requires_grad_(true));
    copy->back().mutable_grad() = c.grad.clone();
  }
  return c;
}

// Weight decay, AMSGrad, double parameters and strided ones take the stock step: the same bits.
TEST(FusedAdamTest, OtherOptionsAndTensorsTakeTheStockStep) {
  const auto params = MakeParams(kEvenShapes, 10);
  for (const auto& options : {torch::optim::AdamOptions(1e-3).weight_decay(1e-2), torch::optim::AdamOptions(1e-3).amsgrad(true)}) {
    FusedAdam probe(Clone(params), options);
    EXPECT_FALSE(probe.Fusable());
    ExpectSameBits(Train<torch::optim::Adam>(Clone(params), options, 3), Train<FusedAdam>(Clone(params), options, 3));
  }
  // Double parameters: the stock step's values, which a float update could not give.
  auto [start, grad, fused, stock] = DoublePair(5);
  FusedAdam on_doubles(fused, torch::optim::AdamOptions(1e-3));
  EXPECT_FALSE(on_doubles.Fusable());
  torch::optim::Adam reference(stock, torch::optim::AdamOptions(1e-3));
  on_doubles.step();
  reference.step();
  EXPECT_TRUE(at::equal(fused[0], stock[0]));
  EXPECT_FALSE(at::equal(fused[0], start));
  FusedAdam fusable(Clone(params), torch::optim::AdamOptions(1e-3));
  EXPECT_TRUE(fusable.Fusable());
}

// A parameter without a gradient keeps its value and gets no state, as in the stock step.
TEST(FusedAdamTest, SkipsParametersWithoutGradients) {
  auto params = MakeParams({{32}, {32}}, 11);
  const torch::Tensor before = params[1].detach().clone();
  FusedAdam optimizer(params, torch::optim::AdamOptions(1e-3));
  torch::manual_seed(3);
  params[0].mutable_grad() = torch::randn({32});
  optimizer.step();
  EXPECT_TRUE(at::equal(params[1], before));
  EXPECT_EQ(optimizer.state().size(), 1u);
}

// A coupled decay d on some parameters against the stock step with weight_decay = d in their
// parameter group (and 0 in the others'): the same bits.
std::vector<torch::Tensor> TrainWithDecay(std::vector<torch::Tensor> params, double decay, bool stock, int steps) {
  const auto options = torch::optim::AdamOptions(3e-3);
  std::vector<torch::Tensor> decayed, plain;
  for (size_t i = 0; i < params.size(); ++i) (i % 2 == 0 ? decayed : plain).push_back(params[i]);
  std::unique_ptr<torch::optim::Adam> optimizer;
  if (stock) {
    std::vector<torch::optim::OptimizerParamGroup> groups;
    groups.emplace_back(
        decayed, std::make_unique<torch::optim::AdamOptions>(torch::optim::AdamOptions(options).weight_decay(decay)));
    groups.emplace_back(plain, std::make_unique<torch::optim::AdamOptions>(options));
    optimizer = std::make_unique<torch::optim::Adam>(std::move(groups), options);
  } else {
    auto fused = std::make_unique<FusedAdam>(params, options);
    for (const auto& p : decayed) fused->SetCoupledDecay(p, decay);
    EXPECT_TRUE(fused->Fusable());
    optimizer = std::move(fused);
  }
  for (int t = 0; t < steps; ++t) {
    SetGrads(params, t);
    optimizer->step();
  }
  return params;
}

TEST(FusedAdamTest, CoupledDecayWritesTheStockWeightDecaysBits) {
  if (!HasAvx2Fma()) GTEST_SKIP() << "no AVX2+FMA: see the portable test below";
  for (const auto& shapes : {kEvenShapes, kOddShapes}) {
    for (const int threads : {1, 2}) {
      ThreadCount count(threads);
      const auto params = MakeParams(shapes, 13);
      const auto stock = TrainWithDecay(Clone(params), 0.37, /*stock=*/true, 4);
      ExpectSameBits(stock, TrainWithDecay(Clone(params), 0.37, /*stock=*/false, 4));
      // The decay changed the decayed parameters' steps, and only theirs.
      const auto undecayed = TrainWithDecay(Clone(params), 0.0, /*stock=*/true, 4);
      EXPECT_FALSE(at::equal(stock[0], undecayed[0]));
      EXPECT_TRUE(at::equal(stock[1], undecayed[1]));
    }
  }
}

TEST(FusedAdamTest, PortableCoupledDecayIsWithinRoundingAndThreadIndependent) {
  const auto params = MakeParams(kOddShapes, 14);
  std::vector<torch::Tensor> one;
  {
    internal::ScopedPortableAdamUpdate portable;
    {
      ThreadCount count(1);
      one = TrainWithDecay(Clone(params), 0.37, /*stock=*/false, 4);
    }
    ThreadCount count(2);
    ExpectSameBits(one, TrainWithDecay(Clone(params), 0.37, /*stock=*/false, 4));
  }
  const auto stock = TrainWithDecay(Clone(params), 0.37, /*stock=*/true, 4);
  for (size_t i = 0; i < one.size(); ++i) EXPECT_TRUE(torch::allclose(one[i], stock[i], 1e-6, 1e-7)) << i;
}

// A decayed parameter without a gradient steps as one with a zero gradient does in the stock
// step (its gradient is the decay's alone), on the fused path and on the stock fallback.
TEST(FusedAdamTest, CoupledDecayStepsAParameterWithoutAGradient) {
  for (const auto dtype : {torch::kFloat, torch::kDouble}) {
    torch::manual_seed(15);
    const torch::Tensor start = torch::randn({5, 19}, dtype);
    std::vector<torch::Tensor> fused = {start.clone().requires_grad_(true)}, stock = {start.clone().requires_grad_(true)};
    stock[0].mutable_grad() = torch::zeros_like(start);
    FusedAdam optimizer(fused, torch::optim::AdamOptions(1e-2));
    optimizer.SetCoupledDecay(fused[0], 0.5);
    EXPECT_EQ(optimizer.Fusable(), dtype == torch::kFloat);
    torch::optim::Adam reference(stock, torch::optim::AdamOptions(1e-2).weight_decay(0.5));
    for (int t = 0; t < 3; ++t) {
      optimizer.step();
      reference.step();
    }
    EXPECT_TRUE(at::equal(fused[0], stock[0])) << dtype;
    EXPECT_FALSE(at::equal(fused[0], start));
    EXPECT_FALSE(fused[0].grad().defined()) << "the fallback gives the gradient its own value back";
  }
}

// The fallback (double parameters) with a coupled decay: the stock weight decay's bits, and
// each gradient keeps its own value.
TEST(FusedAdamTest, CoupledDecayOnTheStockFallback) {
  auto [start, grad, fused, stock] = DoublePair(16);
  FusedAdam optimizer(fused, torch::optim::AdamOptions(1e-3));
  optimizer.SetCoupledDecay(fused[0], 0.25);
  EXPECT_DOUBLE_EQ(optimizer.CoupledDecay(fused[0]), 0.25);
  torch::optim::Adam reference(stock, torch::optim::AdamOptions(1e-3).weight_decay(0.25));
  optimizer.step();
  reference.step();
  EXPECT_TRUE(at::equal(fused[0], stock[0]));
  EXPECT_TRUE(at::equal(fused[0].grad(), grad));
  optimizer.SetCoupledDecay(fused[0], 0);
  EXPECT_EQ(optimizer.CoupledDecay(fused[0]), 0);
}

// cpu::FixedOrderSumOfSquares's order written out plainly: chunks of 4096 elements, each in four
// double lanes (element i into lane i % 4), the lanes added (0 + 1) + (2 + 3), then the chunk's
// last elements past a multiple of 4; the chunks' sums added in order.
double SquaresInTheFixedOrder(const float* x, int64_t n) {
  double total = 0;
  for (int64_t start = 0; start < n; start += 4096) {
    const int64_t end = std::min(n, start + 4096), whole = start + (end - start) / 4 * 4;
    double lane[4] = {0, 0, 0, 0};
    for (int64_t i = start; i < whole; ++i) lane[i % 4] += static_cast<double>(x[i]) * x[i];
    double chunk = (lane[0] + lane[1]) + (lane[2] + lane[3]);
    for (int64_t i = whole; i < end; ++i) chunk += static_cast<double>(x[i]) * x[i];
    total += chunk;
  }
  return total;
}

// A decayed parameter's sum of squares from the update's pass is the fixed order's over the
// new values, bit for bit (so the L2 term's value is unchanged), on either update and thread
// count, at sizes around the chunk's and the vectors' ends; with magnitudes from 1e-4 to 1e4
// so that another order of additions would show.
TEST(FusedAdamTest, ADecayedParametersSumOfSquaresIsTheFixedOrdersOverItsNewValues) {
  const std::vector<std::vector<int64_t>> shapes = {{1}, {3}, {4}, {7}, {12}, {4095}, {4096}, {4101}, {8199}, {32768 + 4096 + 13},
                                                    {100003}};
  for (const bool portable : {false, true}) {
    if (!portable && !HasAvx2Fma()) continue;
    std::optional<internal::ScopedPortableAdamUpdate> scoped;
    if (portable) scoped.emplace();
    for (const int threads : {1, 2}) {
      ThreadCount count(threads);
      auto params = MakeParams(shapes, 17);
      for (auto& p : params) {
        torch::NoGradGuard no_grad;
        p.mul_(torch::pow(10.0, torch::randint(-4, 5, p.sizes()).to(torch::kFloat)));
      }
      FusedAdam optimizer(params, torch::optim::AdamOptions(1e-2));
      for (auto& p : params) optimizer.SetCoupledDecay(p, 0.3);
      for (int t = 0; t < 2; ++t) {
        SetGrads(params, t);
        optimizer.step();
        for (const auto& p : params) {
          const std::optional<double> sum = optimizer.SumOfSquares(p);
          ASSERT_TRUE(sum.has_value()) << p.numel();
          EXPECT_EQ(*sum, SquaresInTheFixedOrder(p.data_ptr<float>(), p.numel()))
              << p.numel() << " elements, " << threads << " threads, portable " << portable;
          EXPECT_TRUE(at::equal(at::scalar_tensor(*sum, p.options()), cpu::FixedOrderSumOfSquares(p.detach())))
              << p.numel();
        }
      }
    }
  }
}

// No sum where the step did not compute one over p's current values: a parameter without a
// decay, one written since the step (its version moves), and the stock fallback.
TEST(FusedAdamTest, NoSumOfSquaresWhereTheStepDidNotComputeItOverTheCurrentValues) {
  auto params = MakeParams({{40}, {50}}, 18);
  FusedAdam optimizer(params, torch::optim::AdamOptions(1e-2));
  EXPECT_FALSE(optimizer.SumOfSquares(params[0]).has_value()) << "before any step";
  optimizer.SetCoupledDecay(params[0], 0.1);
  SetGrads(params, 0);
  optimizer.step();
  EXPECT_TRUE(optimizer.SumOfSquares(params[0]).has_value());
  EXPECT_FALSE(optimizer.SumOfSquares(params[1]).has_value()) << "no decay, no sum";
  {
    torch::NoGradGuard no_grad;
    params[0].add_(1.0f);
  }
  EXPECT_FALSE(optimizer.SumOfSquares(params[0]).has_value()) << "written since the step";
  optimizer.step();
  EXPECT_TRUE(optimizer.SumOfSquares(params[0]).has_value());

  auto [start, grad, fused, stock] = DoublePair(19);  // double parameters: the stock step
  FusedAdam fallback(fused, torch::optim::AdamOptions(1e-3));
  fallback.SetCoupledDecay(fused[0], 0.25);
  fallback.step();
  EXPECT_FALSE(fallback.SumOfSquares(fused[0]).has_value());
}

// A checkpoint written by either optimizer continues in the other with the same bits.
TEST(FusedAdamTest, CheckpointsAreInterchangeableWithTheStockAdams) {
  const auto params = MakeParams(kEvenShapes, 12);
  const auto options = torch::optim::AdamOptions(2e-3);
  const auto reference = Train<torch::optim::Adam>(Clone(params), options, 4);

  // Two steps with FusedAdam, saved, loaded into a stock Adam for two more; and the reverse.
  auto first = Clone(params);
  std::stringstream saved;
  {
    FusedAdam fused(first, options);
    for (int t = 0; t < 2; ++t) {
      SetGrads(first, t);
      for (auto& group : fused.param_groups()) static_cast<torch::optim::AdamOptions&>(group.options()).lr(2e-3 * std::pow(0.5, t / 2));
      fused.step();
    }
    torch::serialize::OutputArchive archive;
    fused.save(archive);
    archive.save_to(saved);
  }
  torch::optim::Adam stock(first, options);
  torch::serialize::InputArchive archive;
  archive.load_from(saved);
  stock.load(archive);
  for (int t = 2; t < 4; ++t) {
    SetGrads(first, t);
    for (auto& group : stock.param_groups()) static_cast<torch::optim::AdamOptions&>(group.options()).lr(2e-3 * std::pow(0.5, t / 2));
    stock.step();
  }
  ExpectSameBits(reference, first);
}

}  // namespace
}  // namespace hardgnn
