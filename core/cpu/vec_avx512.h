#ifndef HARDGNN_CORE_CPU_VEC_AVX512_H_
#define HARDGNN_CORE_CPU_VEC_AVX512_H_

// vec.h's primitives (GenericOps) for 16 floats in code compiled for AVX-512, as vec_avx2.h's
// Avx2Ops are for 8: max and min as vmaxps/vminps (whose result for NaN and equal operands is the
// same second operand as GenericOps's blends) and the floor as vrndscaleps: the same values, so
// ExpWith, SigmoidWith and TanhWith over them give vec.h's bits in fewer instructions. A kernel
// takes them only inside a function marked HARDGNN_AVX512_FLATTEN (why: vec_avx2.h).

#include <immintrin.h>

#include "core/cpu/vec.h"

// vec.h's HARDGNN_AVX512, inlining everything the function calls.
#define HARDGNN_AVX512_FLATTEN HARDGNN_AVX512 __attribute__((flatten))

namespace hardgnn::cpu {

// GenericOps for f16 (any other type: GenericOps's), by the intrinsics' masked forms over every
// lane (the unmasked ones pass GCC 12 an undefined vector, which -Wmaybe-uninitialized reports).
struct Avx512Ops : GenericOps {
  using GenericOps::Floor;
  using GenericOps::Max;
  using GenericOps::Min;
  static constexpr __mmask16 kAll = 0xFFFF;

  // a > b ? a : b, and a < b ? a : b: b where either is NaN or both are zero, as the blends.
  HARDGNN_AVX512 static inline f16 Max(f16 a, f16 b) {
    const __m512 u = reinterpret_cast<__m512>(a);
    return reinterpret_cast<f16>(_mm512_mask_max_ps(u, kAll, u, reinterpret_cast<__m512>(b)));
  }
  HARDGNN_AVX512 static inline f16 Min(f16 a, f16 b) {
    const __m512 u = reinterpret_cast<__m512>(a);
    return reinterpret_cast<f16>(_mm512_mask_min_ps(u, kAll, u, reinterpret_cast<__m512>(b)));
  }
  // floor(fx) exactly, as the truncation and fix give it (|fx| < 2^31), and n = that integer.
  HARDGNN_AVX512 static inline f16 Floor(f16 fx, i16& n) {
    const __m512 x = reinterpret_cast<__m512>(fx);
    const __m512 t = _mm512_mask_roundscale_ps(x, kAll, x, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    n = reinterpret_cast<i16>(_mm512_mask_cvttps_epi32(_mm512_castps_si512(t), kAll, t));
    return reinterpret_cast<f16>(t);
  }
};

}  // namespace hardgnn::cpu

#endif  // HARDGNN_CORE_CPU_VEC_AVX512_H_
