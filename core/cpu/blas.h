#ifndef HARDGNN_CORE_CPU_BLAS_H_
#define HARDGNN_CORE_CPU_BLAS_H_

// Row-major GEMM on raw pointers, through the same BLAS LibTorch uses (libblas.so.3, selected
// by update-alternatives; OpenBLAS OpenMP build on this project's machines). Always
// single-threaded on the calling thread, also when called outside at::parallel_for (OpenBLAS's
// threaded driver splits K differently, so its results would depend on the thread count); the
// kernels get their parallelism from fixed row blocks instead. Used where a kernel needs a GEMM
// on strided sub-blocks or inside its own parallel loop.

#include <cstdint>
#include <vector>

namespace hardgnn::cpu {

// C[m,n] = alpha * op(A)[m,k] * op(B)[k,n] + beta * C, all row-major with leading dimensions
// (row strides) lda, ldb, ldc. op(X) = X, or X^T when trans_x.
void Gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

// The same product always by the BLAS's sgemm, never by FmaChainGemm (benchmarks of the two).
void Sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
           const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

// Whether float Gemm calls with neither operand transposed, alpha = 1, beta 0 or 1,
// 1 <= k <= 256 and n % 16 == 0 go to FmaChainGemm (fma_chain_gemm.h: no packing of the
// operands at every call) instead of sgemm: where the CPU has AVX-512 and a check at first use
// finds the two agree bit for bit. OpenBLAS's kernels do, up to their panel depth; with another
// BLAS that does not, every call stays with it.
bool GemmUsesFmaChain();

// Whether such a product (float, neither operand transposed, alpha 1, beta 0 or 1) of these n
// and k goes to FmaChainGemm: a caller can then ask FmaChainGemmBias for the bias-filled,
// beta-1 form without filling C.
bool GemmTakesChain(int64_t n, int64_t k);

// The weight B [n, k] (row stride ldb) of many products C[m, n] = A[m, k] · Bᵀ (beta 0), such
// as a layer's backward: where FmaChainGemm gives sgemm's bits for them, Bᵀ is made once here
// and each product of at least 8,192 outputs runs on it without packing; every other product
// (double, a partial block, which sgemm's small-matrix kernel sums in another order) is sgemm's.
// B must outlive this.
template <typename T>
class TransposedWeight {
 public:
  TransposedWeight(const T* b, int64_t ldb, int64_t n, int64_t k);
  void Times(int64_t m, const T* a, int64_t lda, T* c, int64_t ldc) const;

 private:
  const T* b_;
  int64_t ldb_, n_, k_;
  std::vector<T> bt_;  // Bᵀ [k, n], empty where every product is sgemm's
};

void Gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha, const double* a, int64_t lda,
          const double* b, int64_t ldb, double beta, double* c, int64_t ldc);

}  // namespace hardgnn::cpu

#endif  // HARDGNN_CORE_CPU_BLAS_H_
