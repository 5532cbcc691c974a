#ifndef HARDGNN_CORE_CPU_CHAIN_PRODUCT_H_
#define HARDGNN_CORE_CPU_CHAIN_PRODUCT_H_

// Products whose every output is +0 + one fused multiply-add chain over k in order from +0
// (c = fma(a_p, b_p, c) for p = 0, 1, ...), the same bits whichever kernel computes it: the
// AVX-512 FmaChainGemm where the CPU has AVX-512 (which is also what OpenBLAS's sgemm gives
// there for k up to its panel depth), AVX2 register tiles otherwise. The evaluator scores items
// with them, so an evaluation's scores do not depend on the BLAS's kernel (OpenBLAS's Haswell
// kernel sums some outputs as two chains, REPORT §3) and need no 78 MB product per batch. On
// CPUs with AVX2 where FmaChainGemm does not give sgemm's bits, the layers' products by their
// weights run on ChainPanels (cpu::PackedWeight and cpu::TransposedWeight, blas.h).

#include <cstdint>
#include <vector>

namespace hardgnn::cpu {

// Whether the CPU runs these products (AVX2 and FMA, or AVX-512).
bool ChainProductsApply();

// C = A[m, k] · B[k, n] (row-major, leading dimensions lda, ldb; n % 16 == 0) compared with a
// target per row, C itself never stored: bit l of bits[i * ldbits + j / 8], j = 8 (j / 8) + l,
// is set where !(C[i, j] < targets[i]) (ties and NaN set it). Only where ChainProductsApply().
void ChainNotBelow(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
                   const float* targets, uint8_t* bits, int64_t ldbits);

// out[j] = q · rows[ids[j]] for j < n, each the chain ChainNotBelow compares for that pair
// (rows: row-major, row stride ld, k columns). Only where ChainProductsApply().
void ChainDots(const float* q, int64_t k, const float* rows, int64_t ld, const int32_t* ids, int64_t n,
               float* out);

// Whether the CPU has AVX2 and FMA, which ChainPanels' products need.
bool ChainPanelsApply();

// B [k, n] (n % 8 == 0), element (p, j) at b[p * row_stride + j * col_stride] (col_stride 1: B
// row-major; row_stride 1: B given as its transpose), in the layout ChainPanelsGemm reads:
// strips of 24 columns (the last of 8 or 16), each k x width and contiguous. A weight packed once
// for many products, which sgemm packs again at every call.
std::vector<float> ChainPanels(const float* b, int64_t k, int64_t n, int64_t row_stride, int64_t col_stride);

// C[i, j] = base + chain(A[i, :k_used] · B[:k_used, j]) for B packed by ChainPanels at depth k
// (k_used <= k: the first rows of B): base is bias[j] where bias is given, else C's own value
// where accumulate, else +0 (so a -0 chain gives +0, as FmaChainGemm and sgemm's zeroing do).
// AVX2 register tiles of 4 rows x 24 columns. Only where ChainPanelsApply().
void ChainPanelsGemm(int64_t m, int64_t n, int64_t k_used, const float* a, int64_t lda, const float* panels,
                     int64_t k, const float* bias, bool accumulate, float* c, int64_t ldc);

// A [m, k1 + k2] given as two parts side by side: row i is a1[i * lda1, + k1) then a2[i * lda2,
// + k2). A product with it chains over the first part's columns, then on over the second's: the
// bits of the product with the two copied into one row (which the LSTM's step would make).
struct SideBySide {
  const float* a1;
  int64_t lda1, k1;
  const float* a2;
  int64_t lda2, k2;
};

// ChainPanelsGemm with A in two parts: k1 + k2 <= k, B's first k1 + k2 rows.
void ChainPanelsGemm(int64_t m, int64_t n, const SideBySide& a, const float* panels, int64_t k, const float* bias,
                     bool accumulate, float* c, int64_t ldc);

}  // namespace hardgnn::cpu

#endif  // HARDGNN_CORE_CPU_CHAIN_PRODUCT_H_
