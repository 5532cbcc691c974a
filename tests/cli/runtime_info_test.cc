// OpenBLAS's kernel choice: when hardgnn overrides it, and that it can read it.
#include "core/cli/runtime_info.h"

#include <gtest/gtest.h>

namespace hardgnn {
namespace {

constexpr CpuVectorUnits kAvx512{true, true};
constexpr CpuVectorUnits kAvx2{false, true};
constexpr CpuVectorUnits kSse{false, false};

TEST(OpenBlasCoreToForce, ReplacesTheGenericFallbackWithWhatTheCpuRuns) {
  EXPECT_STREQ(OpenBlasCoreToForce("Prescott", false, kAvx512), "SkylakeX");
  EXPECT_STREQ(OpenBlasCoreToForce("Prescott", false, kAvx2), "Haswell");
  EXPECT_EQ(OpenBlasCoreToForce("Prescott", false, kSse), nullptr);  // Prescott is right there
}

TEST(OpenBlasCoreToForce, KeepsAKnownCpusKernelsAndTheUsersChoice) {
  for (const char* core : {"SkylakeX", "Cooperlake", "Haswell", "Zen", ""}) {
    EXPECT_EQ(OpenBlasCoreToForce(core, false, kAvx512), nullptr) << core;
  }
  EXPECT_EQ(OpenBlasCoreToForce("Prescott", true, kAvx512), nullptr);
}

TEST(OpenBlasCoreWiderThan, NamesTheSetTheCpuRunsWhereOpenBlasRunsANarrowerOne) {
  EXPECT_STREQ(OpenBlasCoreWiderThan("Prescott", kAvx512), "SkylakeX");
  EXPECT_STREQ(OpenBlasCoreWiderThan("Prescott", kAvx2), "Haswell");
  EXPECT_STREQ(OpenBlasCoreWiderThan("Haswell", kAvx512), "SkylakeX");  // a user's choice, or one kept
  EXPECT_STREQ(OpenBlasCoreWiderThan("Zen", kAvx512), "SkylakeX");
  for (const char* core : {"Haswell", "Zen", ""}) EXPECT_EQ(OpenBlasCoreWiderThan(core, kAvx2), nullptr) << core;
  for (const char* core : {"SkylakeX", "Cooperlake", "SapphireRapids", ""}) {
    EXPECT_EQ(OpenBlasCoreWiderThan(core, kAvx512), nullptr) << core;
  }
  EXPECT_EQ(OpenBlasCoreWiderThan("Prescott", kSse), nullptr);
}

TEST(OpenBlasCoreName, NamesOpenBlasKernelsWhereOpenBlasIsTheBlas) {
  const BlasInfo blas = CurrentBlas();
  const bool openblas = blas.kind == BlasKind::kOpenBlasOpenMp || blas.kind == BlasKind::kOpenBlasPthread ||
                        blas.kind == BlasKind::kOpenBlasSerial;
  if (!openblas) GTEST_SKIP() << "BLAS here: " << BlasKindName(blas.kind);
  EXPECT_FALSE(OpenBlasCoreName().empty());
}

}  // namespace
}  // namespace hardgnn
