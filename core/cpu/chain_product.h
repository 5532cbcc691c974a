#ifndef HARDGNN_CORE_CPU_CHAIN_PRODUCT_H_
#define HARDGNN_CORE_CPU_CHAIN_PRODUCT_H_

// Products whose every output is +0 + one fused multiply-add chain over k in order from +0
// (c = fma(a_p, b_p, c) for p = 0, 1, ...), the same bits whichever kernel computes it: the
// AVX-512 FmaChainGemm where the CPU has AVX-512 (which is also what OpenBLAS's sgemm gives
// there for k up to its panel depth), AVX2 register tiles otherwise. The evaluator scores items
// with them, so an evaluation's scores do not depend on the BLAS's kernel (OpenBLAS's Haswell
// kernel sums some outputs as two chains, REPORT §3) and need no 78 MB product per batch.

#include <cstdint>

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

}  // namespace hardgnn::cpu

#endif  // HARDGNN_CORE_CPU_CHAIN_PRODUCT_H_
