#include "core/cpu/blas.h"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <vector>

#include "core/cpu/chain_product.h"
#include "core/cpu/fma_chain_gemm.h"

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

constexpr int64_t kChainDepth = 256;  // the longest k handed to FmaChainGemm (and checked)

constexpr int64_t kChainMinOutputs = 8192;  // products with B transposed: m·n at least this

// Bᵀ [k, n] of B [n, k] (row stride ldb).
std::vector<float> Transposed(const float* b, int64_t ldb, int64_t n, int64_t k) {
  std::vector<float> bt(k * n);
  for (int64_t j = 0; j < n; ++j) {
    for (int64_t p = 0; p < k; ++p) bt[p * n + j] = b[j * ldb + p];
  }
  return bt;
}

// The checks' operands: a fixed LCG's values in [-2, 2), the same on every machine.
class FixedValues {
 public:
  explicit FixedValues(uint64_t seed) : state_(seed) {}
  float operator()() {
    state_ = state_ * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<float>(static_cast<int64_t>(state_ >> 40) - (int64_t{1} << 23)) / (1 << 22);
  }

 private:
  uint64_t state_;
};

// FmaChainGemm against sgemm, bit for bit or not at all, on products with k up to kChainDepth,
// a zero row of A and signed zeros in C (sgemm's zeroing turns a -0 chain into +0).
// transposed: sgemm's product by Bᵀ against the chain on Bᵀ made here, at sizes from
// kChainMinOutputs outputs up (below, sgemm's small-matrix kernel sums in another order).
bool ChainAgreesWithSgemm(bool transposed) {
  struct Shape {
    int64_t m, n, k;
    bool accumulate;
  };
  const std::vector<Shape> shapes =
      transposed ? std::vector<Shape>{{128, 64, kChainDepth, false}, {129, 64, 192, false}, {64, 128, 100, false},
                                      {512, 16, 33, false}}
                 : std::vector<Shape>{{9, 32, 1, false}, {9, 48, 64, true}, {17, 256, 128, false},
                                      {8, 16, kChainDepth, true}, {3, 64, kChainDepth - 1, false}};
  FixedValues next(transposed ? 0xD1B54A32D192ED03ULL : 0x9E3779B97F4A7C15ULL);
  for (const Shape& s : shapes) {
    std::vector<float> a(s.m * s.k), b(s.k * s.n), c(s.m * s.n);  // b: B [k, n], or Bᵀ's source [n, k]
    for (float& v : a) v = next();
    for (float& v : b) v = next();
    for (float& v : c) v = next() < 0 ? -0.0f : next();
    std::fill_n(a.begin(), s.k, 0.0f);
    std::vector<float> want = c;
    const std::vector<float> chain_b = transposed ? Transposed(b.data(), s.k, s.n, s.k) : b;
    RowMajorGemm(sgemm_, false, transposed, s.m, s.n, s.k, 1.0f, a.data(), s.k, b.data(), transposed ? s.k : s.n,
                 s.accumulate ? 1.0f : 0.0f, want.data(), s.n);
    FmaChainGemm(s.m, s.n, s.k, a.data(), s.k, chain_b.data(), s.n, s.accumulate, c.data(), s.n);
    if (std::memcmp(want.data(), c.data(), c.size() * sizeof(float)) != 0) return false;
  }
  return true;
}

// How sgemm's serial driver cuts a long k into panels, each summed as one chain per output and
// added to C (OpenBLAS's level-3 driver: panels of q while at least 2q remain, then one of the
// rest when it is at most q, else two halves rounded up to a multiple of u). q = 0: not known.
struct PanelRule {
  int64_t q = 0, u = 1;
  template <typename F>
  void ForEachPanel(int64_t k, const F& f) const {
    for (int64_t p0 = 0, len = 0; p0 < k; p0 += len) {
      len = k - p0;
      if (len >= 2 * q) {
        len = q;
      } else if (len > q) {
        len = (len / 2 + u - 1) / u * u;
      }
      f(p0, len);
    }
  }
};

// C (+)= Aᵀ · B, A [k, m], by FmaChainGemmTransA over the rule's panels.
void PanelChainTransA(const PanelRule& rule, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
                      const float* b, int64_t ldb, bool accumulate, float* c, int64_t ldc) {
  rule.ForEachPanel(k, [&](int64_t p0, int64_t len) {
    GemmTransAPanel(m, n, p0, len, a, lda, b, ldb, accumulate ? 1.0f : 0.0f, c, ldc);
  });
}

constexpr int64_t kTransAMinOutputs = 8192;  // weight gradients by panel chains: m·n at least this

// The rule under which panel chains give sgemm's bits for C = Aᵀ · B (beta 0 and 1), found by
// trying the candidates on products of kTransAMinOutputs outputs and more (below them sgemm's
// small-matrix kernel may take over) and kept only if it then agrees on every shape checked: k
// from one panel to many, each kind of last panel; q = 0 if none does.
PanelRule TransAPanelRuleOfSgemm() {
  FixedValues next(0x2545F4914F6CDD1DULL);
  const int64_t m = 64, n = 128, max_k = 3000;
  std::vector<float> a(max_k * m), b(max_k * n), c0(m * n);
  for (float& v : a) v = next();
  for (float& v : b) v = next();
  for (float& v : c0) v = next() < 0 ? -0.0f : next();
  const auto sgemm = [&](int64_t k, bool accumulate) {
    std::vector<float> want = c0;
    RowMajorGemm(sgemm_, true, false, m, n, k, 1.0f, a.data(), m, b.data(), n, accumulate ? 1.0f : 0.0f, want.data(),
                 n);
    return want;
  };
  const auto chain_gives = [&](const std::vector<float>& want, const PanelRule& rule, int64_t k, bool accumulate) {
    std::vector<float> got = c0;
    PanelChainTransA(rule, m, n, k, a.data(), m, b.data(), n, accumulate, got.data(), n);
    return std::memcmp(want.data(), got.data(), got.size() * sizeof(float)) == 0;
  };
  const auto agrees = [&](const PanelRule& rule, int64_t k, bool accumulate) {
    return chain_gives(sgemm(k, accumulate), rule, k, accumulate);
  };
  const std::vector<float> longest = sgemm(max_k, false);
  for (int64_t q = 64; q <= 1024; q += 16) {
    for (const int64_t u : {4, 8, 16, 32, 64}) {
      const PanelRule rule{q, u};
      if (!chain_gives(longest, rule, max_k, false)) continue;
      bool all = true;
      for (const int64_t k : {int64_t{1}, int64_t{77}, q - 1, q, q + 1, q + q / 2 + 3, 2 * q - 1, 2 * q, 2 * q + 5,
                              3 * q + q / 2 + 1, int64_t{1536}, max_k}) {
        all = all && (k > max_k || (agrees(rule, k, false) && agrees(rule, k, true)));
      }
      if (all) return rule;
    }
  }
  return PanelRule{};
}

// The rule for sgemm's transposed-A products where FmaChainGemm runs and one agrees (else q = 0).
const PanelRule& TransAPanelRule() {
  static const PanelRule rule = FmaChainGemmApplies(16) ? TransAPanelRuleOfSgemm() : PanelRule{};
  return rule;
}

// C[i, :] = bias, then C += A · B by Gemm (beta 1): Linear's forward before the chain kernels.
template <typename T>
void BiasThenGemm(int64_t m, int64_t n, int64_t k, const T* a, int64_t lda, const T* b, int64_t ldb, const T* bias,
                  T* c, int64_t ldc) {
  for (int64_t i = 0; i < m; ++i) std::copy_n(bias, n, c + i * ldc);
  Gemm(false, false, m, n, k, T(1), a, lda, b, ldb, T(1), c, ldc);
}

// Rows of [A1 | A2] copied into one [m, k1 + k2], in a buffer of the calling thread's that the
// next call reuses.
template <typename T>
const T* Concatenated(int64_t m, const T* a1, int64_t lda1, int64_t k1, const T* a2, int64_t lda2, int64_t k2) {
  thread_local std::vector<T> a;
  a.resize(m * (k1 + k2));
  for (int64_t i = 0; i < m; ++i) {
    std::copy_n(a1 + i * lda1, k1, a.data() + i * (k1 + k2));
    std::copy_n(a2 + i * lda2, k2, a.data() + i * (k1 + k2) + k1);
  }
  return a.data();
}

// A weight of n columns and depth k that goes to ChainPanels.
bool TakesPanels(int64_t n, int64_t k) { return n % 8 == 0 && k >= 1 && k <= kChainDepth && WeightsUseChainPanels(); }

}  // namespace

bool WeightsUseChainPanels() {
  static const bool uses = ChainPanelsApply() && !GemmUsesFmaChain();
  return uses;
}

template <>
PackedWeight<float>::PackedWeight(const float* b, int64_t ldb, int64_t k, int64_t n) : b_(b), ldb_(ldb), k_(k), n_(n) {
  if (TakesPanels(n, k)) panels_ = ChainPanels(b, k, n, ldb, 1);
}

template <>
void PackedWeight<float>::Times(int64_t m, int64_t k_used, const float* a, int64_t lda, float* c, int64_t ldc) const {
  if (!panels_.empty()) return ChainPanelsGemm(m, n_, k_used, a, lda, panels_.data(), k_, nullptr, false, c, ldc);
  Gemm(false, false, m, n_, k_used, 1.0f, a, lda, b_, ldb_, 0.0f, c, ldc);
}

template <>
void PackedWeight<float>::TimesSideBySide(int64_t m, const float* a1, int64_t lda1, int64_t k1, const float* a2,
                                          int64_t lda2, int64_t k2, float* c, int64_t ldc) const {
  if (!panels_.empty()) {
    return ChainPanelsGemm(m, n_, SideBySide{a1, lda1, k1, a2, lda2, k2}, panels_.data(), k_, nullptr, false, c, ldc);
  }
  Times(m, k1 + k2, Concatenated(m, a1, lda1, k1, a2, lda2, k2), k1 + k2, c, ldc);
}

template <>
void PackedWeight<float>::TimesPlusBias(int64_t m, const float* a, int64_t lda, const float* bias, float* c,
                                        int64_t ldc) const {
  if (!panels_.empty()) return ChainPanelsGemm(m, n_, k_, a, lda, panels_.data(), k_, bias, false, c, ldc);
  if (GemmTakesChain(n_, k_)) return FmaChainGemmBias(m, n_, k_, a, lda, b_, ldb_, bias, c, ldc);
  BiasThenGemm(m, n_, k_, a, lda, b_, ldb_, bias, c, ldc);
}

template <>
PackedWeight<double>::PackedWeight(const double* b, int64_t ldb, int64_t k, int64_t n)
    : b_(b), ldb_(ldb), k_(k), n_(n) {}

template <>
void PackedWeight<double>::Times(int64_t m, int64_t k_used, const double* a, int64_t lda, double* c,
                                 int64_t ldc) const {
  Gemm(false, false, m, n_, k_used, 1.0, a, lda, b_, ldb_, 0.0, c, ldc);
}

template <>
void PackedWeight<double>::TimesSideBySide(int64_t m, const double* a1, int64_t lda1, int64_t k1, const double* a2,
                                           int64_t lda2, int64_t k2, double* c, int64_t ldc) const {
  Times(m, k1 + k2, Concatenated(m, a1, lda1, k1, a2, lda2, k2), k1 + k2, c, ldc);
}

template <>
void PackedWeight<double>::TimesPlusBias(int64_t m, const double* a, int64_t lda, const double* bias, double* c,
                                         int64_t ldc) const {
  BiasThenGemm(m, n_, k_, a, lda, b_, ldb_, bias, c, ldc);
}

template <>
TransposedWeight<float>::TransposedWeight(const float* b, int64_t ldb, int64_t n, int64_t k)
    : b_(b), ldb_(ldb), n_(n), k_(k) {
  static const bool agrees = GemmUsesFmaChain() && ChainAgreesWithSgemm(/*transposed=*/true);
  if (agrees && k >= 1 && k <= kChainDepth && FmaChainGemmApplies(n)) bt_ = Transposed(b, ldb, n, k);
  if (TakesPanels(n, k)) panels_ = ChainPanels(b, k, n, 1, ldb);
}

template <>
void TransposedWeight<float>::Times(int64_t m, const float* a, int64_t lda, float* c, int64_t ldc) const {
  if (!panels_.empty()) return ChainPanelsGemm(m, n_, k_, a, lda, panels_.data(), k_, nullptr, false, c, ldc);
  if (!bt_.empty() && m * n_ >= kChainMinOutputs) return FmaChainGemm(m, n_, k_, a, lda, bt_.data(), n_, false, c, ldc);
  Gemm(false, true, m, n_, k_, 1.0f, a, lda, b_, ldb_, 0.0f, c, ldc);
}

template <>
TransposedWeight<double>::TransposedWeight(const double* b, int64_t ldb, int64_t n, int64_t k)
    : b_(b), ldb_(ldb), n_(n), k_(k) {}

template <>
void TransposedWeight<double>::Times(int64_t m, const double* a, int64_t lda, double* c, int64_t ldc) const {
  Gemm(false, true, m, n_, k_, 1.0, a, lda, b_, ldb_, 0.0, c, ldc);
}

bool GemmUsesFmaChain() {
  static const bool uses = FmaChainGemmApplies(16) && ChainAgreesWithSgemm(/*transposed=*/false);
  return uses;
}

bool GemmTakesTransAChain(int64_t m, int64_t n) {
  return m * n >= kTransAMinOutputs && FmaChainGemmApplies(n) && TransAPanelRule().q > 0;
}

void GemmTransAPanel(int64_t m, int64_t n, int64_t p0, int64_t len, const float* a, int64_t lda, const float* b,
                     int64_t ldb, float beta, float* c, int64_t ldc) {
  FmaChainGemmTransA(m, n, len, a + p0 * lda, lda, b + p0 * ldb, ldb, beta == 1 || p0 > 0, c, ldc);
}

std::vector<std::pair<int64_t, int64_t>> TransAChainPanels(int64_t m, int64_t n, int64_t k) {
  std::vector<std::pair<int64_t, int64_t>> panels;
  if (GemmTakesTransAChain(m, n)) {
    TransAPanelRule().ForEachPanel(k, [&](int64_t p0, int64_t len) { panels.emplace_back(p0, len); });
  }
  return panels;
}

bool GemmTakesChain(int64_t n, int64_t k) {
  return k >= 1 && k <= kChainDepth && FmaChainGemmApplies(n) && GemmUsesFmaChain();
}

void Sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
           const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  RowMajorGemm(sgemm_, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void Gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (!trans_a && !trans_b && alpha == 1 && (beta == 0 || beta == 1) && GemmTakesChain(n, k)) {
    return FmaChainGemm(m, n, k, a, lda, b, ldb, beta == 1, c, ldc);
  }
  if (trans_a && !trans_b && alpha == 1 && (beta == 0 || beta == 1) && GemmTakesTransAChain(m, n)) {
    return PanelChainTransA(TransAPanelRule(), m, n, k, a, lda, b, ldb, beta == 1, c, ldc);
  }
  Sgemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void Gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha, const double* a, int64_t lda,
          const double* b, int64_t ldb, double beta, double* c, int64_t ldc) {
  RowMajorGemm(dgemm_, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

}  // namespace hardgnn::cpu
