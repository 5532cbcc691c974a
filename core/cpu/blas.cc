#include "core/cpu/blas.h"

#include <limits>
#include <stdexcept>

extern "C" {
// Fortran BLAS (LP64). The hidden string-length arguments are not read by OpenBLAS or the
// reference BLAS for these one-character options.
void sgemm_(const char* transa, const char* transb, const int* m, const int* n, const int* k, const float* alpha,
            const float* a, const int* lda, const float* b, const int* ldb, const float* beta, float* c,
            const int* ldc);
void dgemm_(const char* transa, const char* transb, const int* m, const int* n, const int* k, const double* alpha,
            const double* a, const int* lda, const double* b, const int* ldb, const double* beta, double* c,
            const int* ldc);
}

namespace hardgnn::cpu {
namespace {

int ToInt(int64_t v) {
  if (v < 0 || v > std::numeric_limits<int>::max()) throw std::out_of_range("Gemm: dimension exceeds BLAS int range");
  return static_cast<int>(v);
}

// Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: swap the operands.
template <typename T, typename F>
void RowMajorGemm(F gemm, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda,
                  const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  const char ta = trans_a ? 'T' : 'N';
  const char tb = trans_b ? 'T' : 'N';
  const int im = ToInt(m), in = ToInt(n), ik = ToInt(k);
  const int ilda = ToInt(lda < 1 ? 1 : lda), ildb = ToInt(ldb < 1 ? 1 : ldb), ildc = ToInt(ldc < 1 ? 1 : ldc);
  gemm(&tb, &ta, &in, &im, &ik, &alpha, b, &ildb, a, &ilda, &beta, c, &ildc);
}

}  // namespace

void Gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  RowMajorGemm(sgemm_, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void Gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha, const double* a, int64_t lda,
          const double* b, int64_t ldb, double beta, double* c, int64_t ldc) {
  RowMajorGemm(dgemm_, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

}  // namespace hardgnn::cpu
