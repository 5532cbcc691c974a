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

}  // namespace
}  // namespace hardgnn
