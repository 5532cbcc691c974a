#include "core/cpu/fma_chain_gemm.h"

#include <immintrin.h>

#include <algorithm>
#include <atomic>

#include "core/cpu/kernel_path.h"

// vec.h's HARDGNN_AVX512 (this library sits below the one that holds vec.h).
#define HARDGNN_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")))

namespace hardgnn::cpu {
namespace {

// A's element (row r, depth p): A [m, k], or A [k, m] read transposed (a weight gradient's xᵀ).
template <bool kTransA>
inline __attribute__((always_inline)) float AAt(const float* a, int64_t lda, int r, int64_t p) {
  return kTransA ? a[p * lda + r] : a[r * lda + p];
}

// Rows [0, R) x columns [0, 16 C) of C, over all of k: R x C accumulators in registers, one
// broadcast of A's element per row and one load of B's row per 16 columns at each p.
template <int R, int C, bool kTransA>
HARDGNN_AVX512 inline __attribute__((always_inline)) void Tile(int64_t k, const float* a, int64_t lda, const float* b,
                                                               int64_t ldb, const float* bias, bool accumulate,
                                                               float* c, int64_t ldc) {
  __m512 acc[R][C];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 4
    for (int j = 0; j < C; ++j) acc[r][j] = _mm512_setzero_ps();
  }
  for (int64_t p0 = 0; p0 < k; p0 += kChainFetchEvery) {
    if constexpr (!kTransA) FetchRowsAhead<R>(a, lda, k, p0);  // A read down its columns streams well
    for (int64_t p = p0; p < std::min(k, p0 + kChainFetchEvery); ++p) {
      __m512 bv[C];
#pragma GCC unroll 4
      for (int j = 0; j < C; ++j) bv[j] = _mm512_loadu_ps(b + p * ldb + 16 * j);
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) {
        const __m512 av = _mm512_set1_ps(AAt<kTransA>(a, lda, r, p));
#pragma GCC unroll 4
        for (int j = 0; j < C; ++j) acc[r][j] = _mm512_fmadd_ps(av, bv[j], acc[r][j]);
      }
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 4
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

// Rows [0, m) in tiles of R rows; the last m % R rows in one smaller tile.
template <int R, int C, bool kTransA = false>
HARDGNN_AVX512 void Rows(int64_t m, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
                         const float* bias, bool accumulate, float* c, int64_t ldc) {
  const int64_t row_step = kTransA ? 1 : lda;  // from A's row i to row i + 1
  int64_t i = 0;
  for (; i + R <= m; i += R) Tile<R, C, kTransA>(k, a + i * row_step, lda, b, ldb, bias, accumulate, c + i * ldc, ldc);
  if constexpr (R > 1) {
    if (i < m) Rows<R - 1, C, kTransA>(m - i, k, a + i * row_step, lda, b, ldb, bias, accumulate, c + i * ldc, ldc);
  }
}

std::atomic<int> forced_tiles{static_cast<int>(ChainTiles::kByCpu)};

bool IntelCpu() {
  static const bool intel = __builtin_cpu_is("intel");
  return intel;
}

// Whether products 64 columns wide and wider take 6 x 64 tiles; with A transposed, which take
// 6 x 64 rather than 4 x 64 (fma_chain_gemm.h's ChainTiles).
bool SixRowTiles(bool trans_a) {
  const auto forced = static_cast<ChainTiles>(forced_tiles.load(std::memory_order_relaxed));
  if (forced != ChainTiles::kByCpu) return forced == ChainTiles::kSixRows;
  return trans_a != IntelCpu();
}

// Column strips outer, so a strip of B stays in cache while every row tile reads it. A product
// 64 columns wide (the backward's products by Wᵀ) is one strip in tiles of 4 rows (16
// accumulators; 4 broadcasts of A and 4 loads of B per 16 FMAs): 1.2-1.3x faster there than
// 8 x 32 tiles on an AMD Zen 4, but slower on the forward's 192 and 256 columns, which keep
// strips of 32 (then 16) in tiles of 8 (benchmarks/gemm_bench). On Intel CPUs every strip of 64
// columns takes tiles of 6 rows (fma_chain_gemm.h's ChainTiles). With A transposed (the weight
// gradients) every strip of 64 columns takes tiles of 4 rows on Intel CPUs: 1.2-1.4x faster than
// 8 x 32 on their shapes on an Intel Xeon (gemm_bench's WeightGradient), and no slower than
// 6 x 64; elsewhere 6 rows. Any tile gives the same bits: each output is one chain over p in order.
template <bool kTransA = false>
void Strips(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
            const float* bias, bool accumulate, float* c, int64_t ldc) {
  // The rows of a tile over a strip of 64 columns; 0: no such strips (8 x 32 and 8 x 16 tiles).
  const int rows64 = SixRowTiles(kTransA) ? 6 : kTransA || n == 64 ? 4 : 0;
  for (int64_t j = 0; j < n;) {
    const float* bias_j = bias != nullptr ? bias + j : nullptr;
    if (rows64 != 0 && n - j >= 64) {
      if (rows64 == 6) {
        Rows<6, 4, kTransA>(m, k, a, lda, b + j, ldb, bias_j, accumulate, c + j, ldc);
      } else {
        Rows<4, 4, kTransA>(m, k, a, lda, b + j, ldb, bias_j, accumulate, c + j, ldc);
      }
      j += 64;
    } else if (n - j >= 32) {
      Rows<8, 2, kTransA>(m, k, a, lda, b + j, ldb, bias_j, accumulate, c + j, ldc);
      j += 32;
    } else {
      Rows<8, 1, kTransA>(m, k, a, lda, b + j, ldb, bias_j, accumulate, c + j, ldc);
      j += 16;
    }
  }
}

}  // namespace

ScopedChainTiles::ScopedChainTiles(ChainTiles tiles)
    : was_(static_cast<ChainTiles>(forced_tiles.exchange(static_cast<int>(tiles)))) {}

ScopedChainTiles::~ScopedChainTiles() { forced_tiles.store(static_cast<int>(was_)); }

bool FmaChainGemmApplies(int64_t n) { return n % 16 == 0 && UseWideVectors(); }

void FmaChainGemm(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
                  bool accumulate, float* c, int64_t ldc) {
  Strips(m, n, k, a, lda, b, ldb, nullptr, accumulate, c, ldc);
}

void FmaChainGemmBias(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
                      const float* bias, float* c, int64_t ldc) {
  Strips(m, n, k, a, lda, b, ldb, bias, false, c, ldc);
}

void FmaChainGemmTransA(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
                        bool accumulate, float* c, int64_t ldc) {
  Strips<true>(m, n, k, a, lda, b, ldb, nullptr, accumulate, c, ldc);
}

}  // namespace hardgnn::cpu
