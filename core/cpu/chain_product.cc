#include "core/cpu/chain_product.h"

#include <immintrin.h>

#include <algorithm>
#include <vector>

#include "core/cpu/fma_chain_gemm.h"
#include "core/cpu/kernel_path.h"

#define HARDGNN_AVX2 __attribute__((target("avx2,fma")))
#define HARDGNN_AVX2_INLINE HARDGNN_AVX2 inline __attribute__((always_inline))

namespace hardgnn::cpu {
namespace {

// acc[r][j] carried on over k more steps of the chains of rows [0, R) of A with columns [8 j,
// 8 j + 8) of B: R x C accumulators in registers (at most 12 of AVX2's 16), C loads of B and R
// broadcasts of A per step.
template <int R, int C>
HARDGNN_AVX2_INLINE void ChainsOn(int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
                                  __m256 (&acc)[R][C]) {
  for (int64_t p0 = 0; p0 < k; p0 += kChainFetchEvery) {
    FetchRowsAhead<R>(a, lda, k, p0);
    for (int64_t p = p0; p < std::min(k, p0 + kChainFetchEvery); ++p) {
      __m256 bv[C];
#pragma GCC unroll 3
      for (int j = 0; j < C; ++j) bv[j] = _mm256_loadu_ps(b + p * ldb + 8 * j);
#pragma GCC unroll 6
      for (int r = 0; r < R; ++r) {
        const __m256 av = _mm256_broadcast_ss(a + r * lda + p);
#pragma GCC unroll 3
        for (int j = 0; j < C; ++j) acc[r][j] = _mm256_fmadd_ps(av, bv[j], acc[r][j]);
      }
    }
  }
}

// The chains over all of k from +0.
template <int R, int C>
HARDGNN_AVX2_INLINE void Chains(int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
                                __m256 (&acc)[R][C]) {
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 3
    for (int j = 0; j < C; ++j) acc[r][j] = _mm256_setzero_ps();
  }
  ChainsOn<R, C>(k, a, lda, b, ldb, acc);
}

// Rows [0, R) x columns [0, 8 C) over all of k, each chain compared with its row's target in
// registers: one byte per 8 columns, bit l set where !(product < target); the products
// themselves are never stored.
template <int R, int C>
HARDGNN_AVX2_INLINE void Tile(int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
                              const float* targets, uint8_t* bits, int64_t ldbits) {
  __m256 acc[R][C];
  Chains<R, C>(k, a, lda, b, ldb, acc);
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r) {
    const __m256 t = _mm256_broadcast_ss(targets + r);
#pragma GCC unroll 3
    for (int j = 0; j < C; ++j) {
      bits[r * ldbits + j] = static_cast<uint8_t>(_mm256_movemask_ps(_mm256_cmp_ps(acc[r][j], t, _CMP_NLT_UQ)));
    }
  }
}

// Rows [0, m) in tiles of R rows; the last m % R rows in one smaller tile.
template <int R, int C>
HARDGNN_AVX2 void Rows(int64_t m, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
                       const float* targets, uint8_t* bits, int64_t ldbits) {
  int64_t i = 0;
  for (; i + R <= m; i += R) Tile<R, C>(k, a + i * lda, lda, b, ldb, targets + i, bits + i * ldbits, ldbits);
  if constexpr (R > 1) {
    if (i < m) Rows<R - 1, C>(m - i, k, a + i * lda, lda, b, ldb, targets + i, bits + i * ldbits, ldbits);
  }
}

// Column strips outer, so a strip of B (k x 8 C) stays in L1 while every row tile reads it.
HARDGNN_AVX2 void Avx2NotBelow(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
                               int64_t ldb, const float* targets, uint8_t* bits, int64_t ldbits) {
  int64_t j = 0;
  for (; j + 24 <= n; j += 24) Rows<4, 3>(m, k, a, lda, b + j, ldb, targets, bits + j / 8, ldbits);
  for (; j < n; j += 8) Rows<6, 1>(m, k, a, lda, b + j, ldb, targets, bits + j / 8, ldbits);
}

// 8 x 8 transpose: out[p] lane l = in[l] lane p.
HARDGNN_AVX2_INLINE void Transpose8(__m256 v[8]) {
  __m256 t[8], s[8];
  for (int i = 0; i < 4; ++i) {
    t[2 * i] = _mm256_unpacklo_ps(v[2 * i], v[2 * i + 1]);
    t[2 * i + 1] = _mm256_unpackhi_ps(v[2 * i], v[2 * i + 1]);
  }
  for (int h = 0; h < 2; ++h) {  // rows 0-3, then 4-7
    const __m256* u = t + 4 * h;
    s[4 * h + 0] = _mm256_shuffle_ps(u[0], u[2], _MM_SHUFFLE(1, 0, 1, 0));
    s[4 * h + 1] = _mm256_shuffle_ps(u[0], u[2], _MM_SHUFFLE(3, 2, 3, 2));
    s[4 * h + 2] = _mm256_shuffle_ps(u[1], u[3], _MM_SHUFFLE(1, 0, 1, 0));
    s[4 * h + 3] = _mm256_shuffle_ps(u[1], u[3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int i = 0; i < 4; ++i) {
    v[i] = _mm256_permute2f128_ps(s[i], s[4 + i], 0x20);
    v[4 + i] = _mm256_permute2f128_ps(s[i], s[4 + i], 0x31);
  }
}

// Eight dots at once, lane l the chain of q with row r[l]: the rows' elements transposed eight
// columns at a time, the last k % 8 gathered one by one.
HARDGNN_AVX2 void EightDots(const float* q, int64_t k, const float* const r[8], float* out) {
  __m256 acc = _mm256_setzero_ps();
  int64_t p = 0;
  for (; p + 8 <= k; p += 8) {
    __m256 v[8];
    for (int l = 0; l < 8; ++l) v[l] = _mm256_loadu_ps(r[l] + p);
    Transpose8(v);
    for (int i = 0; i < 8; ++i) acc = _mm256_fmadd_ps(_mm256_broadcast_ss(q + p + i), v[i], acc);
  }
  for (; p < k; ++p) {
    const __m256 v = _mm256_setr_ps(r[0][p], r[1][p], r[2][p], r[3][p], r[4][p], r[5][p], r[6][p], r[7][p]);
    acc = _mm256_fmadd_ps(_mm256_broadcast_ss(q + p), v, acc);
  }
  _mm256_storeu_ps(out, _mm256_add_ps(_mm256_setzero_ps(), acc));
}

// bits[j] bit l = !(x[8 j + l] < target), n % 8 == 0.
HARDGNN_AVX2 void BytesNotBelow(const float* x, int64_t n, float target, uint8_t* bits) {
  const __m256 t = _mm256_set1_ps(target);
  for (int64_t j = 0; j < n; j += 8) {
    bits[j / 8] = static_cast<uint8_t>(_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(x + j), t, _CMP_NLT_UQ)));
  }
}

// The strip widths ChainPanels cuts n into: 24 columns, then one strip of 16 or 8.
int64_t StripWidth(int64_t n, int64_t j) { return n - j >= 24 ? 24 : n - j; }

// Rows [0, R) x columns [0, 8 C) of C from a packed strip (k x 8 C, contiguous): base + chain,
// the chain over A's first part, then on over its second.
template <int R, int C>
HARDGNN_AVX2_INLINE void PanelTile(const SideBySide& a, const float* strip, const float* bias, bool accumulate,
                                   float* c, int64_t ldc) {
  __m256 acc[R][C];
  Chains<R, C>(a.k1, a.a1, a.lda1, strip, 8 * C, acc);
  ChainsOn<R, C>(a.k2, a.a2, a.lda2, strip + a.k1 * 8 * C, 8 * C, acc);
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 3
    for (int j = 0; j < C; ++j) {
      float* out = c + r * ldc + 8 * j;
      const __m256 base = bias != nullptr ? _mm256_loadu_ps(bias + 8 * j)
                          : accumulate    ? _mm256_loadu_ps(out)
                                          : _mm256_setzero_ps();
      _mm256_storeu_ps(out, _mm256_add_ps(base, acc[r][j]));
    }
  }
}

// A's rows from i on.
SideBySide RowsFrom(const SideBySide& a, int64_t i) {
  return {a.a1 + i * a.lda1, a.lda1, a.k1, a.a2 + i * a.lda2, a.lda2, a.k2};
}

template <int R, int C>
HARDGNN_AVX2 void PanelRows(int64_t m, const SideBySide& a, const float* strip, const float* bias, bool accumulate,
                            float* c, int64_t ldc) {
  int64_t i = 0;
  for (; i + R <= m; i += R) PanelTile<R, C>(RowsFrom(a, i), strip, bias, accumulate, c + i * ldc, ldc);
  if constexpr (R > 1) {
    if (i < m) PanelRows<R - 1, C>(m - i, RowsFrom(a, i), strip, bias, accumulate, c + i * ldc, ldc);
  }
}

// Passes of kPassRows rows, and within a pass strips outer: a strip (k x 24 floats, 12 KB at k =
// 128) stays in L1 while the pass's row tiles read it, and the pass's rows of A and C stay in L2
// from strip to strip (C's rows are written a strip at a time).
constexpr int64_t kPassRows = 128;

}  // namespace

bool ChainPanelsApply() { return CpuHasAvx2Fma(); }

std::vector<float> ChainPanels(const float* b, int64_t k, int64_t n, int64_t row_stride, int64_t col_stride) {
  std::vector<float> panels(k * n);
  float* out = panels.data();
  for (int64_t j0 = 0; j0 < n; j0 += StripWidth(n, j0)) {
    const int64_t width = StripWidth(n, j0);
    for (int64_t p = 0; p < k; ++p) {
      for (int64_t j = 0; j < width; ++j) *out++ = b[p * row_stride + (j0 + j) * col_stride];
    }
  }
  return panels;
}

HARDGNN_AVX2 void ChainPanelsGemm(int64_t m, int64_t n, const SideBySide& a, const float* panels, int64_t k,
                                  const float* bias, bool accumulate, float* c, int64_t ldc) {
  for (int64_t i = 0; i < m; i += kPassRows) {
    const int64_t rows = std::min(kPassRows, m - i);
    const SideBySide a_i = RowsFrom(a, i);
    float* c_i = c + i * ldc;
    for (int64_t j = 0; j < n; j += StripWidth(n, j)) {
      const float* strip = panels + j * k;
      const float* bias_j = bias != nullptr ? bias + j : nullptr;
      switch (StripWidth(n, j)) {
        case 24: PanelRows<4, 3>(rows, a_i, strip, bias_j, accumulate, c_i + j, ldc); break;
        case 16: PanelRows<6, 2>(rows, a_i, strip, bias_j, accumulate, c_i + j, ldc); break;
        default: PanelRows<8, 1>(rows, a_i, strip, bias_j, accumulate, c_i + j, ldc); break;
      }
    }
  }
}

void ChainPanelsGemm(int64_t m, int64_t n, int64_t k_used, const float* a, int64_t lda, const float* panels,
                     int64_t k, const float* bias, bool accumulate, float* c, int64_t ldc) {
  ChainPanelsGemm(m, n, SideBySide{a, lda, k_used, a, lda, 0}, panels, k, bias, accumulate, c, ldc);
}

bool ChainProductsApply() { return CpuHasAvx2Fma() || FmaChainGemmApplies(16); }

void ChainNotBelow(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
                   const float* targets, uint8_t* bits, int64_t ldbits) {
  if (!FmaChainGemmApplies(n)) return Avx2NotBelow(m, n, k, a, lda, b, ldb, targets, bits, ldbits);
  thread_local std::vector<float> products;  // AVX-512: the products, then their bits
  products.resize(m * n);
  FmaChainGemm(m, n, k, a, lda, b, ldb, false, products.data(), n);
  for (int64_t i = 0; i < m; ++i) BytesNotBelow(products.data() + i * n, n, targets[i], bits + i * ldbits);
}

void ChainDots(const float* q, int64_t k, const float* rows, int64_t ld, const int32_t* ids, int64_t n,
               float* out) {
  for (int64_t j = 0; j < n; j += 8) {
    const float* r[8];
    for (int l = 0; l < 8; ++l) r[l] = rows + ld * ids[std::min(j + l, n - 1)];  // the last group padded
    float dots[8];
    EightDots(q, k, r, dots);
    std::copy_n(dots, std::min<int64_t>(8, n - j), out + j);
  }
}

}  // namespace hardgnn::cpu
