#include "core/cpu/fma_chain_gemm.h"

#include <immintrin.h>

#include <algorithm>

#include "core/cpu/kernel_path.h"

// vec.h's HARDGNN_AVX512 (this library sits below the one that holds vec.h).
#define HARDGNN_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")))

namespace hardgnn::cpu {
namespace {

// Rows [0, R) x columns [0, 16 C) of C, over all of k: R x C accumulators in registers, one
// broadcast of A's element per row and one load of B's row per 16 columns at each p.
template <int R, int C>
HARDGNN_AVX512 inline __attribute__((always_inline)) void Tile(int64_t k, const float* a, int64_t lda,
                                                               const float* b, int64_t ldb, const float* bias,
                                                               bool accumulate, float* c, int64_t ldc) {
  __m512 acc[R][C];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 2
    for (int j = 0; j < C; ++j) acc[r][j] = _mm512_setzero_ps();
  }
  for (int64_t p = 0; p < k; ++p) {
    __m512 bv[C];
#pragma GCC unroll 2
    for (int j = 0; j < C; ++j) bv[j] = _mm512_loadu_ps(b + p * ldb + 16 * j);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m512 av = _mm512_set1_ps(a[r * lda + p]);
#pragma GCC unroll 2
      for (int j = 0; j < C; ++j) acc[r][j] = _mm512_fmadd_ps(av, bv[j], acc[r][j]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 2
    for (int j = 0; j < C; ++j) {
      float* out = c + r * ldc + 16 * j;
      // sgemm adds the chain to C (bias: to C filled with it), zeroed first when it does not
      // accumulate (so -0 becomes +0).
      const __m512 base = bias != nullptr ? _mm512_loadu_ps(bias + 16 * j)
                          : accumulate    ? _mm512_loadu_ps(out)
                                          : _mm512_setzero_ps();
      _mm512_storeu_ps(out, _mm512_add_ps(base, acc[r][j]));
    }
  }
}

template <int C>
HARDGNN_AVX512 void Rows(int64_t m, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
                         const float* bias, bool accumulate, float* c, int64_t ldc) {
  int64_t i = 0;
  for (; i + 8 <= m; i += 8) Tile<8, C>(k, a + i * lda, lda, b, ldb, bias, accumulate, c + i * ldc, ldc);
  const float* ai = a + i * lda;
  float* ci = c + i * ldc;
  switch (m - i) {
    case 7: return Tile<7, C>(k, ai, lda, b, ldb, bias, accumulate, ci, ldc);
    case 6: return Tile<6, C>(k, ai, lda, b, ldb, bias, accumulate, ci, ldc);
    case 5: return Tile<5, C>(k, ai, lda, b, ldb, bias, accumulate, ci, ldc);
    case 4: return Tile<4, C>(k, ai, lda, b, ldb, bias, accumulate, ci, ldc);
    case 3: return Tile<3, C>(k, ai, lda, b, ldb, bias, accumulate, ci, ldc);
    case 2: return Tile<2, C>(k, ai, lda, b, ldb, bias, accumulate, ci, ldc);
    case 1: return Tile<1, C>(k, ai, lda, b, ldb, bias, accumulate, ci, ldc);
    default: return;
  }
}

// Column strips of 32 outer, so a strip of B (k x 32) stays in L1 while every row tile reads it.
void Strips(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
            const float* bias, bool accumulate, float* c, int64_t ldc) {
  for (int64_t j = 0; j < n; j += 32) {
    const float* bias_j = bias != nullptr ? bias + j : nullptr;
    if (n - j >= 32) {
      Rows<2>(m, k, a, lda, b + j, ldb, bias_j, accumulate, c + j, ldc);
    } else {
      Rows<1>(m, k, a, lda, b + j, ldb, bias_j, accumulate, c + j, ldc);
    }
  }
}

}  // namespace

bool FmaChainGemmApplies(int64_t n) { return n % 16 == 0 && UseWideVectors(); }

void FmaChainGemm(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
                  bool accumulate, float* c, int64_t ldc) {
  Strips(m, n, k, a, lda, b, ldb, nullptr, accumulate, c, ldc);
}

void FmaChainGemmBias(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
                      const float* bias, float* c, int64_t ldc) {
  Strips(m, n, k, a, lda, b, ldb, bias, false, c, ldc);
}

}  // namespace hardgnn::cpu
