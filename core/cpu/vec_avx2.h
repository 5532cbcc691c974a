#ifndef HARDGNN_CORE_CPU_VEC_AVX2_H_
#define HARDGNN_CORE_CPU_VEC_AVX2_H_

// vec.h's primitives (GenericOps) for 8 floats in code compiled for AVX2: the same values, so
// ExpWith, SigmoidWith and TanhWith over them give vec.h's bits, in fewer instructions. Generic
// vector code has to compile for the default target too, where GCC spells max and min as a
// compare and a blend and the floor as a truncation and its fix; here they are vmaxps/vminps
// (whose result for NaN and equal operands is the same second operand) and vroundps.
//
// A kernel takes the primitives as a template parameter (GenericOps or Avx2Ops) and is
// instantiated with Avx2Ops only inside a function marked HARDGNN_AVX2_FLATTEN, which inlines
// everything it calls: Avx2Ops's functions are not always_inline, so the kernel's template,
// itself compiled for the default target, may call them without an inlining error.

#include <immintrin.h>

#include "core/cpu/vec.h"

#define HARDGNN_AVX2_FLATTEN __attribute__((target("avx2,fma"), flatten))

namespace hardgnn::cpu {

// GenericOps for f8 (any other type: GenericOps's).
struct Avx2Ops : GenericOps {
  using GenericOps::Floor;
  using GenericOps::Max;
  using GenericOps::Min;

  // a > b ? a : b, and a < b ? a : b: b where either is NaN or both are zero, as the blends.
  __attribute__((target("avx2,fma"))) static inline f8 Max(f8 a, f8 b) {
    return reinterpret_cast<f8>(_mm256_max_ps(reinterpret_cast<__m256>(a), reinterpret_cast<__m256>(b)));
  }
  __attribute__((target("avx2,fma"))) static inline f8 Min(f8 a, f8 b) {
    return reinterpret_cast<f8>(_mm256_min_ps(reinterpret_cast<__m256>(a), reinterpret_cast<__m256>(b)));
  }
  // floor(fx) exactly, as the truncation and fix give it (|fx| < 2^31), and n = that integer.
  __attribute__((target("avx2,fma"))) static inline f8 Floor(f8 fx, i8& n) {
    const __m256 t = _mm256_floor_ps(reinterpret_cast<__m256>(fx));
    n = reinterpret_cast<i8>(_mm256_cvttps_epi32(t));
    return reinterpret_cast<f8>(t);
  }
};

}  // namespace hardgnn::cpu

#endif  // HARDGNN_CORE_CPU_VEC_AVX2_H_
