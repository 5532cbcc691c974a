#include "core/cpu/blas.h"

#include <omp.h>

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

// OpenBLAS's OpenMP build threads a GEMM called outside a parallel region over
// omp_get_max_threads(), and its threaded driver cuts K into panels differently from its serial
// one: a long-K product (a weight gradient) then changes in the last bits with the thread count.
// This keeps every Gemm on the serial driver; the kernels parallelize over fixed row blocks.
class SerialBlasScope {
 public:
  SerialBlasScope() : saved_(omp_in_parallel() ? 1 : omp_get_max_threads()) {
    if (saved_ > 1) omp_set_num_threads(1);
  }
  ~SerialBlasScope() {
    if (saved_ > 1) omp_set_num_threads(saved_);
  }
  SerialBlasScope(const SerialBlasScope&) = delete;
  SerialBlasScope& operator=(const SerialBlasScope&) = delete;

 private:
  int saved_;
};

// Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: swap the operands.
template <typename T, typename F>
void RowMajorGemm(F gemm, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda,
                  const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  const char ta = trans_a ? 'T' : 'N';
  const char tb = trans_b ? 'T' : 'N';
  const int im = ToInt(m), in = ToInt(n), ik = ToInt(k);
  const int ilda = ToInt(lda < 1 ? 1 : lda), ildb = ToInt(ldb < 1 ? 1 : ldb), ildc = ToInt(ldc < 1 ? 1 : ldc);
  SerialBlasScope serial;
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
