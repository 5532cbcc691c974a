// TensorMemory against tensors of known size: the live count rises by a tensor's bytes when it
// is made and falls by them when it is freed, the peak keeps the most, and the phase profile's
// gauge reads it at each phase's end.
#include "core/model/tensor_memory.h"

#include <ATen/ATen.h>

#include "core/model/profile.h"
#include "gtest/gtest.h"

namespace hardgnn {
namespace {

TEST(TensorMemoryTest, CountsAllocationsAndFreesOfThisThread) {
  TensorMemory::StartTracking();
  ASSERT_TRUE(TensorMemory::Tracking());
  at::Tensor warm = at::empty({16}, at::kFloat);  // a first report, so Live() is current
  const int64_t before = TensorMemory::Live();
  constexpr int64_t kFloats = 10 * 1000 * 1000;
  {
    at::Tensor big = at::empty({kFloats}, at::kFloat);
    EXPECT_EQ(TensorMemory::Live() - before, kFloats * 4);
    EXPECT_GE(TensorMemory::Peak(), before + kFloats * 4);
    at::Tensor second = at::empty({kFloats / 2}, at::kDouble);
    EXPECT_EQ(TensorMemory::Live() - before, kFloats * 4 + kFloats / 2 * 8);
  }
  EXPECT_EQ(TensorMemory::Live(), before);
  EXPECT_GE(TensorMemory::Peak(), before + kFloats * 8);
}

TEST(TensorMemoryTest, ThePhaseGaugeAveragesTheReadingsAtEachPhaseEnd) {
  TensorMemory::StartTracking();
  at::Tensor warm = at::empty({16}, at::kFloat);
  const int64_t base = TensorMemory::Live();
  PhaseProfile::Enable(true);
  PhaseProfile::Reset();
  PhaseProfile::SetGauge(&TensorMemory::Live);
  at::Tensor held;
  for (int64_t megabytes : {4, 8}) {  // the phase ends holding 4 MB, then 8 MB
    ScopedPhase phase("hold");
    held = at::empty({megabytes * 1000 * 1000}, at::kByte);
  }
  held = at::Tensor();
  const auto means = PhaseProfile::GaugeMeans();
  PhaseProfile::SetGauge(nullptr);
  PhaseProfile::Enable(false);
  ASSERT_EQ(means.size(), 1u);
  EXPECT_EQ(means[0].first, "hold");
  EXPECT_DOUBLE_EQ(means[0].second - base, 6e6);
}

// What the trainer relies on to compute the L2 term before the forward pass (core/train/trainer.cc):
// autograd runs ready nodes newest first, so a term of the parameters built before the forward
// has its backward run after the forward's, when the forward's saved tensors are freed; the
// term's gradient of the table is not held through the backward. The gradient is the same
// bits (two addends, in the other order). Measured with the tracker on a table of 4 MB and a
// forward that saves 3 tensors of its size.
TEST(TensorMemoryTest, AParameterTermBuiltBeforeTheForwardIsDifferentiatedAfterIt) {
  TensorMemory::StartTracking();
  at::manual_seed(3);
  const at::Tensor init = at::randn({1000, 1000}) * 0.1;
  const int64_t table_bytes = init.numel() * 4;
  auto step = [&](bool l2_first, int64_t* transient) {
    const at::Tensor p = init.clone().requires_grad_();
    at::Tensor l2;
    if (l2_first) l2 = p.square().sum();
    const at::Tensor forward = p.tanh().exp().sin().sum();  // each op saves a tensor of p's size
    if (!l2_first) l2 = p.square().sum();
    const at::Tensor loss = forward + 0.01 * l2;
    const int64_t start = TensorMemory::Live();
    TensorMemory::ResetPeak();
    loss.backward();
    *transient = TensorMemory::Peak() - start;
    return p.grad().clone();
  };
  int64_t first = 0, last = 0;
  const at::Tensor grad_first = step(true, &first);
  const at::Tensor grad_last = step(false, &last);
  EXPECT_TRUE(at::equal(grad_first, grad_last));
  EXPECT_LE(first, last - table_bytes);
}

}  // namespace
}  // namespace hardgnn
