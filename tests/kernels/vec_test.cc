// The 16-lane (AVX-512) forms of vec.h's polynomial functions compute, lane for lane, the bits
// of the 8-lane forms the kernels used before them, over inputs that reach every branch: the
// clamps of exp, tanh's polynomial and exp branches, signed zeros, subnormal results.

#include "core/cpu/vec.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "core/cpu/kernel_path.h"
#include "gtest/gtest.h"

namespace hardgnn::cpu {
namespace {

enum class Fn { kExp, kSigmoid, kTanh };

template <typename V>
HARDGNN_INLINE V Apply(Fn fn, V x) {
  return fn == Fn::kExp ? Exp(x) : fn == Fn::kSigmoid ? Sigmoid(x) : Tanh(x);
}

HARDGNN_SIMD_CLONES void Narrow(Fn fn, const float* x, int64_t n, float* y) {
  for (int64_t i = 0; i < n; i += 8) StoreV<f8>(y + i, Apply(fn, LoadV<f8>(x + i)));
}
HARDGNN_AVX512 void Wide(Fn fn, const float* x, int64_t n, float* y) {
  for (int64_t i = 0; i < n; i += 16) StoreV<f16>(y + i, Apply(fn, LoadV<f16>(x + i)));
}

std::vector<float> Inputs() {
  std::vector<float> x = {0.0f, -0.0f, 0.625f, -0.625f, 0.62499994f, 87.3f, -87.3f, 88.7f, -88.7f, 100.0f, -100.0f,
                          1e-30f, -1e-30f, std::numeric_limits<float>::denorm_min()};
  for (float v = -120.0f; v <= 120.0f; v += 0.0137f) x.push_back(v);
  for (float v = -1.0f; v <= 1.0f; v += 1.0f / 4096) x.push_back(v);
  while (x.size() % 16 != 0) x.push_back(0.5f);
  return x;
}

TEST(VecTest, SixteenLanesGiveTheEightLanesBits) {
  if (!UseWideVectors()) GTEST_SKIP() << "this CPU has no AVX-512 (F, VL, BW, DQ)";
  const std::vector<float> x = Inputs();
  for (const Fn fn : {Fn::kExp, Fn::kSigmoid, Fn::kTanh}) {
    std::vector<float> narrow(x.size()), wide(x.size());
    Narrow(fn, x.data(), x.size(), narrow.data());
    Wide(fn, x.data(), x.size(), wide.data());
    for (size_t i = 0; i < x.size(); ++i) {
      ASSERT_EQ(std::memcmp(&narrow[i], &wide[i], sizeof(float)), 0)
          << "function " << static_cast<int>(fn) << " at x = " << x[i] << ": " << narrow[i] << " against " << wide[i];
    }
    // And they are the functions: within 5e-6 relative (4e-7 absolute near zero) of libm, but
    // exp is +inf where 2^n overflows (from about 88.38; vec.h).
    for (size_t i = 0; i < x.size(); ++i) {
      const double v = x[i];
      if (fn == Fn::kExp && v >= 88.38) {
        EXPECT_EQ(wide[i], std::numeric_limits<float>::infinity()) << "x = " << v;
        continue;
      }
      const double want = fn == Fn::kExp       ? std::exp(std::max(v, -87.3))
                          : fn == Fn::kSigmoid ? 1 / (1 + std::exp(-v))
                                               : std::tanh(v);
      ASSERT_NEAR(wide[i], want, 5e-6 * std::fabs(want) + 4e-7 * (fn != Fn::kExp)) << "x = " << v;
    }
  }
}

// The switch tests use: forced off for a scope, restored after it, nested scopes included.
TEST(VecTest, ScopedNarrowVectorsRestoresTheSwitch) {
  const bool wide = UseWideVectors();
  {
    ScopedNarrowVectors outer;
    EXPECT_FALSE(UseWideVectors());
    EXPECT_TRUE(NarrowVectorsForced());
    {
      ScopedNarrowVectors inner;
      EXPECT_FALSE(UseWideVectors());
    }
    EXPECT_TRUE(NarrowVectorsForced());
  }
  EXPECT_FALSE(NarrowVectorsForced());
  EXPECT_EQ(UseWideVectors(), wide);
}

}  // namespace
}  // namespace hardgnn::cpu
