#ifndef HARDGNN_CORE_CPU_VEC_AVX2_H_
#define HARDGNN_CORE_CPU_VEC_AVX2_H_

// vec.h's Max, Exp, Sigmoid and Tanh for 8 floats in code compiled for AVX2: the same operations on
// the same values, so the same bits, in fewer instructions. Generic vector code has to compile
// for the default target too, where GCC spells Max and Min as a compare and a blend and Exp's
// floor as five conversions and fixes; here they are vmaxps/vminps (whose result for NaN and
// equal operands is the same second operand) and vroundps.
//
// A kernel takes them as a math policy (GenericMath or Avx2Math) and is instantiated with
// Avx2Math only inside a function marked HARDGNN_AVX2_FLATTEN, which inlines everything it
// calls: Avx2Math's functions are not always_inline, so the kernel's template, itself compiled
// for the default target, may call them without an inlining error.

#include <immintrin.h>

#include <cstring>

#include "core/cpu/vec.h"

#define HARDGNN_AVX2_FLATTEN __attribute__((target("avx2,fma"), flatten))

namespace hardgnn::cpu {

// vec.h's functions, for any vector type.
struct GenericMath {
  template <typename V>
  static HARDGNN_INLINE V Max(V a, V b) {
    return cpu::Max(a, b);
  }
  template <typename V>
  static HARDGNN_INLINE V Exp(V x) {
    return cpu::Exp(x);
  }
  template <typename V>
  static HARDGNN_INLINE V Sigmoid(V x) {
    return cpu::Sigmoid(x);
  }
  template <typename V>
  static HARDGNN_INLINE V Tanh(V x) {
    return cpu::Tanh(x);
  }
};

// The same for f8 in AVX2 code (any other type: vec.h's).
struct Avx2Math : GenericMath {
  using GenericMath::Exp;
  using GenericMath::Max;
  using GenericMath::Sigmoid;
  using GenericMath::Tanh;

  // a > b ? a : b, as vmaxps computes it (b where either is NaN or both are zero).
  __attribute__((target("avx2,fma"))) static inline f8 Max(f8 a, f8 b) {
    return reinterpret_cast<f8>(_mm256_max_ps(reinterpret_cast<__m256>(a), reinterpret_cast<__m256>(b)));
  }

  __attribute__((target("avx2,fma"))) static inline f8 Exp(f8 x) {
    x = reinterpret_cast<f8>(_mm256_min_ps(_mm256_max_ps(reinterpret_cast<__m256>(x), _mm256_set1_ps(-87.3f)),
                                           _mm256_set1_ps(88.7f)));
    const f8 fx = x * 1.44269504088896341f + 0.5f;
    // floor(fx) exactly, as vec.h's truncation and fix give it (|fx| < 2^8).
    const f8 t = reinterpret_cast<f8>(_mm256_floor_ps(reinterpret_cast<__m256>(fx)));
    const i8 n = reinterpret_cast<i8>(_mm256_cvttps_epi32(reinterpret_cast<__m256>(t)));
    x = x - t * 0.693359375f - t * -2.12194440e-4f;
    const f8 z = x * x;
    f8 y = ((((1.9875691500E-4f * x + 1.3981999507E-3f) * x + 8.3334519073E-3f) * x + 4.1665795894E-2f) * x +
            1.6666665459E-1f) *
               x +
           5.0000001201E-1f;
    y = y * z + x + 1.0f;
    const i8 bits = (n + 127) << 23;
    f8 pow2n;
    std::memcpy(&pow2n, &bits, sizeof pow2n);
    return y * pow2n;
  }
  __attribute__((target("avx2,fma"))) static inline f8 Sigmoid(f8 x) { return 1.0f / (1.0f + Exp(-x)); }
  __attribute__((target("avx2,fma"))) static inline f8 Tanh(f8 x) {
    const f8 z = x * x;
    const f8 small = ((((-5.70498872745E-3f * z + 2.06390887954E-2f) * z - 5.37397155531E-2f) * z +
                       1.33314422036E-1f) *
                          z -
                      3.33332819422E-1f) *
                         z * x +
                     x;
    const f8 ax = reinterpret_cast<f8>(_mm256_max_ps(reinterpret_cast<__m256>(x), reinterpret_cast<__m256>(-x)));
    f8 large = 1.0f - 2.0f / (Exp(ax + ax) + 1.0f);
    large = x < 0.0f ? -large : large;
    return ax < 0.625f ? small : large;
  }
};

}  // namespace hardgnn::cpu

#endif  // HARDGNN_CORE_CPU_VEC_AVX2_H_
