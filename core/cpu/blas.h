#ifndef HARDGNN_CORE_CPU_BLAS_H_
#define HARDGNN_CORE_CPU_BLAS_H_

// Row-major GEMM on raw pointers, through the same BLAS LibTorch uses (libblas.so.3, selected
// by update-alternatives; OpenBLAS OpenMP build on this project's machines). Always
// single-threaded on the calling thread, also when called outside at::parallel_for (OpenBLAS's
// threaded driver splits K differently, so its results would depend on the thread count); the
// kernels get their parallelism from fixed row blocks instead. Used where a kernel needs a GEMM
// on strided sub-blocks or inside its own parallel loop.

#include <cstdint>
#include <utility>
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

// Whether float Gemm calls C[m, n] = Aᵀ · B (A transposed, B not; alpha 1, beta 0 or 1) go to
// FmaChainGemmTransA over the panels sgemm's driver cuts k into: where the CPU has AVX-512, m·n
// is at least 8,192 and a check at first use found the panel rule under which the two agree bit
// for bit (the weight gradients' products, without packing either operand at every call).
bool GemmTakesTransAChain(int64_t m, int64_t n);

// The panels (p0, len) of k, in order, as which Gemm(true, false, m, n, k, ...) sums Aᵀ · B where
// GemmTakesTransAChain(m, n): one FMA chain an output each, added to C after the panels before
// it. Empty where the product does not take the chain.
std::vector<std::pair<int64_t, int64_t>> TransAChainPanels(int64_t m, int64_t n, int64_t k);

// Panel (p0, len) of that Gemm(true, false, m, n, k, 1, a, lda, b, ldb, beta, c, ldc) (alpha 1,
// beta 0 or 1; a, b its whole operands): the panels of TransAChainPanels one call each, in order,
// give the whole call's bits, so a caller can take them while its rows of A and B are in cache.
void GemmTransAPanel(int64_t m, int64_t n, int64_t p0, int64_t len, const float* a, int64_t lda, const float* b,
                     int64_t ldb, float beta, float* c, int64_t ldc);

// Whether such a product (float, neither operand transposed, alpha 1, beta 0 or 1) of these n
// and k goes to FmaChainGemm: a caller can then ask FmaChainGemmBias for the bias-filled,
// beta-1 form without filling C.
bool GemmTakesChain(int64_t n, int64_t k);

// Whether the weights below are packed once into ChainPanels (chain_product.h) and their float
// products run as one FMA chain per output there: on CPUs with AVX2 and FMA where FmaChainGemm
// does not give sgemm's bits (no AVX-512: OpenBLAS's Haswell kernel sums some outputs as two
// chains), instead of sgemm packing the weight again at every call. The bits are FmaChainGemm's.
bool WeightsUseChainPanels();

// The weight B [k, n] (row stride ldb) of many products C[m, n] = A[m, k'] · B[:k', :] (k' <= k:
// B's first rows; beta 0, or onto a bias row), such as a layer's forward over its row blocks:
// where FmaChainGemm takes them (GemmTakesChain), B is read in place with sgemm's bits; where
// WeightsUseChainPanels(), packed once here; otherwise (double, no AVX2) every product is sgemm's.
// B must outlive this.
template <typename T>
class PackedWeight {
 public:
  PackedWeight(const T* b, int64_t ldb, int64_t k, int64_t n);
  // C = A[m, :k_used] · B[:k_used, :].
  void Times(int64_t m, int64_t k_used, const T* a, int64_t lda, T* c, int64_t ldc) const;
  // C = [A1 | A2] · B[:k1 + k2, :], A1 [m, k1] and A2 [m, k2] side by side: Times' bits on the
  // two copied into one A, which the panels do without (elsewhere they are copied first).
  void TimesSideBySide(int64_t m, const T* a1, int64_t lda1, int64_t k1, const T* a2, int64_t lda2, int64_t k2, T* c,
                       int64_t ldc) const;
  // C[i, :] = bias + A[i, :] · B: sgemm's sum for C filled with the bias and beta 1.
  void TimesPlusBias(int64_t m, const T* a, int64_t lda, const T* bias, T* c, int64_t ldc) const;
  int64_t Columns() const { return n_; }

 private:
  const T* b_;
  int64_t ldb_, k_, n_;
  std::vector<T> panels_;  // empty where the products are Gemm's
};

// The weight B [n, k] (row stride ldb) of many products C[m, n] = A[m, k] · Bᵀ (beta 0), such
// as a layer's backward: where FmaChainGemm gives sgemm's bits for them, Bᵀ is made once here
// and each product of at least 8,192 outputs runs on it without packing; every other product
// (double, a partial block, which sgemm's small-matrix kernel sums in another order) is sgemm's.
// Where WeightsUseChainPanels(), Bᵀ is packed once into panels and every float product is a
// chain product. B must outlive this.
template <typename T>
class TransposedWeight {
 public:
  TransposedWeight(const T* b, int64_t ldb, int64_t n, int64_t k);
  void Times(int64_t m, const T* a, int64_t lda, T* c, int64_t ldc) const;

 private:
  const T* b_;
  int64_t ldb_, n_, k_;
  std::vector<T> bt_;      // Bᵀ [k, n] for FmaChainGemm, empty where it takes no product
  std::vector<T> panels_;  // Bᵀ in ChainPanels, empty where they take no product
};

void Gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha, const double* a, int64_t lda,
          const double* b, int64_t ldb, double beta, double* c, int64_t ldc);

}  // namespace hardgnn::cpu

#endif  // HARDGNN_CORE_CPU_BLAS_H_
