// The 16-lane (AVX-512) forms of vec.h's polynomial functions compute, lane for lane, the bits
// of the 8-lane forms the kernels used before them, over inputs that reach every branch: the
// clamps of exp, tanh's polynomial and exp branches, signed zeros, subnormal results. And
// vec_avx2.h's AVX2 forms and vec_avx512.h's AVX-512 forms compute vec.h's bits, NaN and
// infinities included.

#include "core/cpu/vec.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "core/cpu/kernel_path.h"
#include "core/cpu/vec_avx2.h"
#include "core/cpu/vec_avx512.h"
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
HARDGNN_AVX2_FLATTEN void Avx2(Fn fn, const float* x, int64_t n, float* y) {
  for (int64_t i = 0; i < n; i += 8) {
    const f8 v = LoadV<f8>(x + i);
    StoreV<f8>(y + i, fn == Fn::kExp ? ExpWith<Avx2Ops>(v) : fn == Fn::kSigmoid ? SigmoidWith<Avx2Ops>(v) : TanhWith<Avx2Ops>(v));
  }
}

HARDGNN_AVX512_FLATTEN void Avx512(Fn fn, const float* x, int64_t n, float* y) {
  for (int64_t i = 0; i < n; i += 16) {
    const f16 v = LoadV<f16>(x + i);
    StoreV<f16>(y + i, fn == Fn::kExp       ? ExpWith<Avx512Ops>(v)
                       : fn == Fn::kSigmoid ? SigmoidWith<Avx512Ops>(v)
                                            : TanhWith<Avx512Ops>(v));
  }
}

HARDGNN_SIMD_CLONES void NarrowMaxMin(bool min, const float* a, const float* b, int64_t n, float* y) {
  for (int64_t i = 0; i < n; i += 8) {
    const f8 u = LoadV<f8>(a + i), v = LoadV<f8>(b + i);
    StoreV<f8>(y + i, min ? Min(u, v) : Max(u, v));
  }
}
HARDGNN_AVX2_FLATTEN void Avx2MaxMin(bool min, const float* a, const float* b, int64_t n, float* y) {
  for (int64_t i = 0; i < n; i += 8) {
    const f8 u = LoadV<f8>(a + i), v = LoadV<f8>(b + i);
    StoreV<f8>(y + i, min ? Avx2Ops::Min(u, v) : Avx2Ops::Max(u, v));
  }
}

HARDGNN_AVX512_FLATTEN void Avx512MaxMin(bool min, const float* a, const float* b, int64_t n, float* y) {
  for (int64_t i = 0; i < n; i += 16) {
    const f16 u = LoadV<f16>(a + i), v = LoadV<f16>(b + i);
    StoreV<f16>(y + i, min ? Avx512Ops::Min(u, v) : Avx512Ops::Max(u, v));
  }
}

// `count` floats of random bit patterns (every sign, exponent and payload).
std::vector<float> RandomBitPatterns(uint32_t seed, int64_t count) {
  std::vector<float> out(count);
  for (float& v : out) {
    seed = seed * 1664525u + 1013904223u;
    const uint32_t bits = seed ^ (seed >> 13) * 2654435761u;
    std::memcpy(&v, &bits, sizeof v);
  }
  return out;
}

std::vector<float> Inputs() {
  std::vector<float> x = {0.0f, -0.0f, 0.625f, -0.625f, 0.62499994f, 87.3f, -87.3f, 88.7f, -88.7f, 100.0f, -100.0f,
                          1e-30f, -1e-30f, std::numeric_limits<float>::denorm_min()};
  for (float v = -120.0f; v <= 120.0f; v += 0.0137f) x.push_back(v);
  for (float v = -1.0f; v <= 1.0f; v += 1.0f / 4096) x.push_back(v);
  while (x.size() % 16 != 0) x.push_back(0.5f);
  return x;
}

// fn's two computations a and b at every x, bit for bit.
void ExpectBitEqual(Fn fn, const std::vector<float>& x, const std::vector<float>& a, const std::vector<float>& b) {
  for (size_t i = 0; i < x.size(); ++i) {
    ASSERT_EQ(std::memcmp(&a[i], &b[i], sizeof(float)), 0)
        << "function " << static_cast<int>(fn) << " at x = " << x[i] << ": " << a[i] << " against " << b[i];
  }
}

TEST(VecTest, SixteenLanesGiveTheEightLanesBits) {
  if (!UseWideVectors()) GTEST_SKIP() << "this CPU has no AVX-512 (F, VL, BW, DQ)";
  const std::vector<float> x = Inputs();
  for (const Fn fn : {Fn::kExp, Fn::kSigmoid, Fn::kTanh}) {
    std::vector<float> narrow(x.size()), wide(x.size());
    Narrow(fn, x.data(), x.size(), narrow.data());
    Wide(fn, x.data(), x.size(), wide.data());
    ExpectBitEqual(fn, x, narrow, wide);
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

// The inputs above; NaN, infinities and the largest floats; every x where exp's floor(x log2(e)
// + 1/2) steps, and its neighbours; and 2^22 random bit patterns (every sign, exponent and
// payload).
std::vector<float> EveryKindOfInput() {
  std::vector<float> x = Inputs();
  for (const float v : {std::numeric_limits<float>::quiet_NaN(), -std::numeric_limits<float>::quiet_NaN(),
                        std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                        std::numeric_limits<float>::max(), std::numeric_limits<float>::lowest()}) {
    x.push_back(v);
  }
  for (int n = -130; n <= 130; ++n) {  // x log2(e) + 1/2 = n: x = (n - 1/2) ln 2, and 8 floats either side
    float v = static_cast<float>((n - 0.5) * std::log(2.0));
    for (int s = 0; s < 8; ++s) v = std::nextafter(v, -INFINITY);
    for (int s = 0; s < 17; ++s, v = std::nextafter(v, INFINITY)) x.push_back(v);
  }
  const std::vector<float> random = RandomBitPatterns(12345, 1 << 22);
  x.insert(x.end(), random.begin(), random.end());
  while (x.size() % 16 != 0) x.push_back(0.5f);
  return x;
}

// `form` against vec.h's forms as the kernels' clones compute them (Narrow runs its x86-64-v3
// clone on an AVX2 CPU), bit for bit, at every kind of input.
void ExpectVecHsBits(void (*form)(Fn, const float*, int64_t, float*)) {
  const std::vector<float> x = EveryKindOfInput();
  for (const Fn fn : {Fn::kExp, Fn::kSigmoid, Fn::kTanh}) {
    std::vector<float> generic(x.size()), got(x.size());
    Narrow(fn, x.data(), x.size(), generic.data());
    form(fn, x.data(), x.size(), got.data());
    ExpectBitEqual(fn, x, generic, got);
  }
}

TEST(VecTest, Avx2FormsGiveVecHsBits) {
  if (!CpuHasAvx2Fma()) GTEST_SKIP() << "this CPU has no AVX2 and FMA";
  ExpectVecHsBits(Avx2);
}

// vec_avx512.h's forms: the AVX-512 kernels' cells and attention weights.
TEST(VecTest, Avx512FormsGiveVecHsBits) {
  if (!UseWideVectors()) GTEST_SKIP() << "this CPU has no AVX-512 (F, VL, BW, DQ)";
  ExpectVecHsBits(Avx512);
}

// The switches tests use: forced off for a scope, restored after it, nested scopes included.
template <typename Switch>
void ExpectTheSwitchRestores(bool (*use)(), bool (*forced)()) {
  const bool was = use();
  {
    const Switch outer;
    EXPECT_FALSE(use());
    EXPECT_TRUE(forced());
    {
      const Switch inner;
      EXPECT_FALSE(use());
    }
    EXPECT_TRUE(forced());
  }
  EXPECT_FALSE(forced());
  EXPECT_EQ(use(), was);
}

TEST(VecTest, ScopedNarrowVectorsRestoresTheSwitch) {
  ExpectTheSwitchRestores<ScopedNarrowVectors>(UseWideVectors, NarrowVectorsForced);
}

// Every pair of special values (NaN of either sign, signed zeros, infinities, subnormals) and 2^20
// random pairs of bit patterns, as a and b.
static void MaxMinPairs(std::vector<float>& a, std::vector<float>& b) {
  const std::vector<float> special = {std::numeric_limits<float>::quiet_NaN(), -std::numeric_limits<float>::quiet_NaN(),
                                      0.0f, -0.0f, std::numeric_limits<float>::infinity(),
                                      -std::numeric_limits<float>::infinity(), std::numeric_limits<float>::denorm_min(),
                                      -1.0f, 1.0f, std::numeric_limits<float>::max()};
  for (const float u : special) {
    for (const float v : special) {
      a.push_back(u);
      b.push_back(v);
    }
  }
  const std::vector<float> random = RandomBitPatterns(777, 2 << 20);
  a.insert(a.end(), random.begin(), random.begin() + (1 << 20));
  b.insert(b.end(), random.begin() + (1 << 20), random.end());
  while (a.size() % 16 != 0) {
    a.push_back(0.5f);
    b.push_back(0.25f);
  }
}

// Avx2Ops's and Avx512Ops's Max and Min against vec.h's, bit for bit, over those pairs.
TEST(VecTest, Avx2AndAvx512MaxAndMinGiveVecHsBits) {
  if (!CpuHasAvx2Fma()) GTEST_SKIP() << "this CPU has no AVX2 and FMA";
  std::vector<float> a, b;
  MaxMinPairs(a, b);
  for (const bool min : {false, true}) {
    std::vector<float> generic(a.size()), avx2(a.size()), avx512(a.size());
    NarrowMaxMin(min, a.data(), b.data(), a.size(), generic.data());
    Avx2MaxMin(min, a.data(), b.data(), a.size(), avx2.data());
    if (UseWideVectors()) Avx512MaxMin(min, a.data(), b.data(), a.size(), avx512.data());
    for (size_t i = 0; i < a.size(); ++i) {
      ASSERT_EQ(std::memcmp(&generic[i], &avx2[i], sizeof(float)), 0)
          << (min ? "min(" : "max(") << a[i] << ", " << b[i] << ")";
      if (!UseWideVectors()) continue;
      ASSERT_EQ(std::memcmp(&generic[i], &avx512[i], sizeof(float)), 0)
          << "AVX-512 " << (min ? "min(" : "max(") << a[i] << ", " << b[i] << ")";
    }
  }
}

TEST(VecTest, ScopedGenericMathRestoresTheSwitch) {
  ExpectTheSwitchRestores<ScopedGenericMath>(UseAvx2Math, GenericMathForced);
  EXPECT_EQ(UseAvx2Math(), CpuHasAvx2Fma());
}

}  // namespace
}  // namespace hardgnn::cpu
