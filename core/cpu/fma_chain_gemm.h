#ifndef HARDGNN_CORE_CPU_FMA_CHAIN_GEMM_H_
#define HARDGNN_CORE_CPU_FMA_CHAIN_GEMM_H_

// C = A · B (+ C), row-major floats, every element of C one fused multiply-add chain over k in
// order from +0 (c = fma(a_p, b_p, c) for p = 0, 1, ...), then added to +0 or to C's old value:
// what OpenBLAS's sgemm computes for k up to its panel depth, with no packing of either operand.
// AVX-512 register tiles (ChainTiles below: 6 x 64 on Intel CPUs, else 4 x 64 at n = 64 and
// 8 x 32, 8 x 16); B's rows are read in place. FmaChainGemmTransA: the same chains for Aᵀ · B,
// A read down its columns, in 4 x 64 tiles on Intel CPUs, else 6 x 64.
// cpu::Gemm calls it where it gives sgemm's bits (blas.h); tests call it directly.

#include <cstdint>

namespace hardgnn::cpu {

// The register tiles of FmaChainGemm's products 64 columns wide and wider: 6 x 64 (24
// accumulators; 6 broadcasts of A and 4 loads of B per 24 FMAs) on Intel CPUs, whose two 512-bit
// FMA units a core leave smaller tiles bound by their loads (benchmarks/gemm_bench on a Xeon of
// family 6, model 167: Linear's forward and dx 1.15-1.4x faster, the LSTM's gates 1.05-1.1x);
// 8 x 32 (4 x 64 at n = 64) elsewhere, as measured on an AMD Zen 4 (on an AMD Zen 5 6 x 64 was
// no faster). With A transposed (the weight gradients), the other way round: 4 x 64 on Intel
// CPUs, where 6 x 64 was no faster, 6 x 64 elsewhere (an AMD Zen 5, gemm_bench: the LSTM's
// 1.13-1.18x faster in three runs, 1.13-1.46x in two of a one-off, the QKV projection's
// 1.10-1.18x). The same bits either way; tests force each (kSixRows: 6 x 64 tiles for both;
// kEightRows: 8 x 32 and 4 x 64) for the lifetime of a ScopedChainTiles.
enum class ChainTiles { kByCpu, kSixRows, kEightRows };
class ScopedChainTiles {
 public:
  explicit ScopedChainTiles(ChainTiles tiles);
  ~ScopedChainTiles();
  ScopedChainTiles(const ScopedChainTiles&) = delete;
  ScopedChainTiles& operator=(const ScopedChainTiles&) = delete;

 private:
  ChainTiles was_;
};

// How far ahead, in elements, the chain kernels' tiles (these and chain_product.h's AVX2 panels)
// fetch A's rows, one line a row every 16 steps of k: eight lines. Where A streams from memory
// (Linear's input gradient) the products by Wᵀ run 1.5x faster than without (1.3x on the AVX2
// panels), the forward's 1.04x; the LSTM's blocks of A sit in L2 and gain nothing (an Intel
// Xeon of family 6, model 167: experiments/results/kernel_ab/chain-prefetch-xeon167.txt).
inline constexpr int64_t kChainFetchAhead = 128;
// Steps of k between two fetches of A's rows: 16 floats, one line.
inline constexpr int64_t kChainFetchEvery = 16;

// At step p0 of a tile over rows [0, R) of A (row stride lda, k steps): each row's line
// kChainFetchAhead elements on, past k the next tile's rows [R, 2R) (past A's last row only as a
// prefetch, which never faults). A's rows are read one element a step, too slowly for the
// hardware's streams to start in time.
template <int R>
inline __attribute__((always_inline)) void FetchRowsAhead(const float* a, int64_t lda, int64_t k, int64_t p0) {
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    const int64_t q = p0 + kChainFetchAhead;
    __builtin_prefetch(q < k ? a + r * lda + q : a + (r + R) * lda + (q - k));
  }
}

// Whether FmaChainGemm runs here: the CPU has AVX-512 (cpu::UseWideVectors) and n % 16 == 0.
bool FmaChainGemmApplies(int64_t n);

// m x n += / = (m x k) · (k x n); lda, ldb, ldc in elements. Only where FmaChainGemmApplies(n).
void FmaChainGemm(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
                  bool accumulate, float* c, int64_t ldc);

// C[i, :] = bias + A[i, :] · B: the chain added to the same n values in every row, which is what
// sgemm computes for C filled with them and beta 1, without writing them to C first (a layer's
// forward with its bias).
void FmaChainGemmBias(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
                      const float* bias, float* c, int64_t ldc);

// C = Aᵀ · B (+ C) for A [k, m] (row stride lda): FmaChainGemm's chains, A's columns read down
// its rows (a weight gradient, xᵀ · dy, without transposing x). Only where FmaChainGemmApplies(n).
void FmaChainGemmTransA(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
                        bool accumulate, float* c, int64_t ldc);

}  // namespace hardgnn::cpu

#endif  // HARDGNN_CORE_CPU_FMA_CHAIN_GEMM_H_
