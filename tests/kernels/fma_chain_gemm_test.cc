// FmaChainGemm computes every element as one fused multiply-add chain over k in order, added to
// +0 or to C (checked against that chain written out in scalar code, strided operands, signed
// zeros, every tail of rows and columns); cpu::Gemm and TransposedWeight hand products to it
// exactly where it gives the BLAS's bits; PackedWeight and TransposedWeight run chain panels
// (chain_product.h) where it does not and the CPU has AVX2. fma_chain_gemm_openblas_kernels_test
// runs this with OpenBLAS's AVX-512 kernels where the CPU has them (the check then passes and the
// chain runs).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "core/cpu/blas.h"
#include "core/cpu/fma_chain_gemm.h"
#include "core/cpu/kernel_path.h"
#include "gtest/gtest.h"

namespace hardgnn::cpu {
namespace {

struct Operands {
  int64_t m, n, k, lda, ldb, ldc;
  std::vector<float> a, b, c;
};

// Random operands with padding between rows, a zero row of A, and signed zeros in C.
Operands Make(int64_t m, int64_t n, int64_t k, uint64_t seed) {
  Operands o{m, n, k, k + 3, n + 5, n + 7, {}, {}, {}};
  uint64_t state = seed * 0x9E3779B97F4A7C15ULL + 1;
  auto next = [&state] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<float>(static_cast<int64_t>(state >> 40) - (int64_t{1} << 23)) / (1 << 22);
  };
  o.a.resize(m * o.lda);
  o.b.resize(k * o.ldb);
  o.c.resize(m * o.ldc);
  for (float& v : o.a) v = next();
  for (float& v : o.b) v = next();
  for (float& v : o.c) v = next() < -1 ? -0.0f : next();
  if (m > 1) std::fill_n(o.a.begin() + o.lda, k, 0.0f);
  return o;
}

bool SameBits(const std::vector<float>& x, const std::vector<float>& y) {
  return x.size() == y.size() && std::memcmp(x.data(), y.data(), x.size() * sizeof(float)) == 0;
}

// Each output one chain, with either tile shape (6 x 64, or 8 x 32 and 4 x 64) on any AVX-512 CPU.
TEST(FmaChainGemmTest, EveryElementIsOneFmaChainOverKAddedToZeroCOrABias) {
  if (!FmaChainGemmApplies(16)) GTEST_SKIP() << "no AVX-512 on this CPU";
  int compared = 0;
  for (const ChainTiles tiles : {ChainTiles::kSixRows, ChainTiles::kEightRows}) {
    ScopedChainTiles forced(tiles);
    for (const int64_t m : {1, 6, 7, 8, 9, 23, 128}) {
      for (const int64_t n : {16, 32, 48, 64, 192, 256}) {
        for (const int64_t k : {1, 2, 64, 128, 256, 300}) {
          for (const int base : {0, 1, 2}) {  // added to +0, to C, to a bias row
            Operands o = Make(m, n, k, m * 1000 + n * 10 + k);
            std::vector<float> bias(n);
            for (int64_t j = 0; j < n; ++j) bias[j] = o.b[j] * 0.75f - 0.125f;
            std::vector<float> want = o.c;
            for (int64_t i = 0; i < m; ++i) {
              for (int64_t j = 0; j < n; ++j) {
                float t = 0;
                for (int64_t p = 0; p < k; ++p) t = std::fma(o.a[i * o.lda + p], o.b[p * o.ldb + j], t);
                want[i * o.ldc + j] = (base == 0   ? 0.0f
                                       : base == 1 ? o.c[i * o.ldc + j]
                                                   : bias[j]) +
                                      t;  // padding untouched
              }
            }
            if (base == 2) {
              FmaChainGemmBias(m, n, k, o.a.data(), o.lda, o.b.data(), o.ldb, bias.data(), o.c.data(), o.ldc);
            } else {
              FmaChainGemm(m, n, k, o.a.data(), o.lda, o.b.data(), o.ldb, base == 1, o.c.data(), o.ldc);
            }
            EXPECT_TRUE(SameBits(o.c, want))
                << m << " x " << n << " x " << k << ", base " << base << ", tiles " << static_cast<int>(tiles);
            ++compared;
          }
        }
      }
    }
  }
  EXPECT_EQ(compared, 2 * 7 * 6 * 6 * 3);
}

// A product's sizes, and whether it adds to C (beta 1) or overwrites it.
struct GemmShape {
  int64_t m, n, k;
  bool accumulate;
};

// cpu::Gemm hands a product to FmaChainGemm exactly where that gives the BLAS's bits: where its
// check at first use passed, the chain and sgemm (reached with the vectors narrowed, which turns
// the chain off) agree at the LSTM's and the QKV projection's shapes and at the check's own;
// where it did not (say OpenBLAS on its generic kernels, as in this test's process without
// OPENBLAS_CORETYPE), cpu::Gemm gives sgemm's bits and the chain differs on one of them at least.
TEST(FmaChainGemmTest, GemmTakesTheChainExactlyWhereItGivesTheBlasBits) {
  if (!FmaChainGemmApplies(16)) GTEST_SKIP() << "no AVX-512 on this CPU";
  bool chain_always_agrees = true;
  for (const GemmShape& s : {GemmShape{128, 256, 128, false}, GemmShape{128, 256, 64, false}, GemmShape{77, 256, 128, false},
                         GemmShape{512, 192, 64, true}, GemmShape{300, 192, 64, true}, GemmShape{9, 32, 1, false},
                         GemmShape{9, 48, 64, true}, GemmShape{17, 256, 128, false}, GemmShape{8, 16, 256, true},
                         GemmShape{3, 64, 255, false}}) {
    Operands o = Make(s.m, s.n, s.k, s.m + s.n + s.k);
    const float beta = s.accumulate ? 1.0f : 0.0f;
    std::vector<float> chain = o.c, via_gemm = o.c, blas = o.c;
    FmaChainGemm(s.m, s.n, s.k, o.a.data(), o.lda, o.b.data(), o.ldb, s.accumulate, chain.data(), o.ldc);
    Gemm(false, false, s.m, s.n, s.k, 1.0f, o.a.data(), o.lda, o.b.data(), o.ldb, beta, via_gemm.data(), o.ldc);
    {
      ScopedNarrowVectors sgemm_only;
      Gemm(false, false, s.m, s.n, s.k, 1.0f, o.a.data(), o.lda, o.b.data(), o.ldb, beta, blas.data(), o.ldc);
    }
    EXPECT_TRUE(SameBits(via_gemm, blas)) << s.m << " x " << s.n << " x " << s.k;
    if (GemmUsesFmaChain()) {
      EXPECT_TRUE(SameBits(chain, blas)) << s.m << " x " << s.n << " x " << s.k;
    }
    chain_always_agrees = chain_always_agrees && SameBits(chain, blas);
  }
  if (!GemmUsesFmaChain()) {
    EXPECT_FALSE(chain_always_agrees) << "the check turned down a BLAS that agrees";
  }
}

// The chain over B's first k_used rows, element (p, j) of B at b[p * row_stride + j * col_stride].
float ChainOf(const float* a, const float* b, int64_t row_stride, int64_t col_stride, int64_t j, int64_t k_used) {
  float t = 0;
  for (int64_t p = 0; p < k_used; ++p) t = std::fma(a[p], b[p * row_stride + j * col_stride], t);
  return t;
}

// TransposedWeight's products: where weights use chain panels (AVX2 without sgemm's chain), every
// output is the chain over Bᵀ, at every size; otherwise sgemm's "T" bits at every size: below
// 8,192 outputs (where sgemm's small-matrix kernel sums in another order) by sgemm itself, from
// there by the chain kernel on Bᵀ where the checks passed. The LSTM's and the QKV projection's
// backward shapes.
TEST(FmaChainGemmTest, TransposedWeightGivesTheChainOrSgemmsBitsAtEverySize) {
  for (const int64_t k : {192, 256}) {
    for (const int64_t m : {1, 9, 18, 19, 127, 128, 129, 600, 1536}) {
      const int64_t n = 64;
      Operands o = Make(m, n, k, 7 * m + k);  // o.b read as B [n, k] with row stride o.lda
      std::vector<float> b(n * o.lda);
      for (size_t i = 0; i < b.size(); ++i) b[i] = o.a[i % o.a.size()] * 0.5f + 0.25f;
      std::vector<float> got = o.c, want = o.c;
      TransposedWeight<float>(b.data(), o.lda, n, k).Times(m, o.a.data(), o.lda, got.data(), o.ldc);
      if (WeightsUseChainPanels()) {
        for (int64_t i = 0; i < m; ++i) {
          for (int64_t j = 0; j < n; ++j) want[i * o.ldc + j] = 0.0f + ChainOf(&o.a[i * o.lda], b.data(), 1, o.lda, j, k);
        }
      } else {
        Gemm(false, true, m, n, k, 1.0f, o.a.data(), o.lda, b.data(), o.lda, 0.0f, want.data(), o.ldc);
      }
      EXPECT_TRUE(SameBits(got, want)) << m << " x " << n << " x " << k;
    }
  }
}

// PackedWeight's products, over all of B's rows or its first ones, onto +0 or a bias row: the
// chain where weights use chain panels; otherwise cpu::Gemm's bits (sgemm's, or FmaChainGemm's
// where it gives them), with the bias written to C and added by beta 1. The LSTM's forward
// (k = d_in at its first step) and the QKV projection's shapes, partial blocks, and n = 40 (a
// strip of 16 after one of 24).
TEST(FmaChainGemmTest, PackedWeightGivesTheChainOrGemmsBits) {
  struct Shape {
    int64_t m, n, k, k_used;
  };
  for (const Shape& s : {Shape{128, 256, 128, 128}, Shape{128, 256, 128, 64}, Shape{77, 256, 128, 64},
                         Shape{512, 192, 64, 64}, Shape{300, 192, 64, 64}, Shape{5, 40, 9, 9}}) {
    Operands o = Make(s.m, s.n, s.k, s.m + s.n + s.k_used);
    std::vector<float> bias(s.n);
    for (int64_t j = 0; j < s.n; ++j) bias[j] = o.b[j] * 0.75f - 0.125f;
    const PackedWeight<float> w(o.b.data(), o.ldb, s.k, s.n);
    for (const bool with_bias : {false, true}) {
      if (with_bias && s.k_used != s.k) continue;
      std::vector<float> got = o.c, want = o.c;
      if (with_bias) {
        w.TimesPlusBias(s.m, o.a.data(), o.lda, bias.data(), got.data(), o.ldc);
      } else {
        w.Times(s.m, s.k_used, o.a.data(), o.lda, got.data(), o.ldc);
      }
      if (WeightsUseChainPanels()) {
        for (int64_t i = 0; i < s.m; ++i) {
          for (int64_t j = 0; j < s.n; ++j) {
            want[i * o.ldc + j] = (with_bias ? bias[j] : 0.0f) + ChainOf(&o.a[i * o.lda], o.b.data(), o.ldb, 1, j, s.k_used);
          }
        }
      } else {
        for (int64_t i = 0; i < s.m && with_bias; ++i) std::copy_n(bias.data(), s.n, want.data() + i * o.ldc);
        Gemm(false, false, s.m, s.n, s.k_used, 1.0f, o.a.data(), o.lda, o.b.data(), o.ldb, with_bias ? 1.0f : 0.0f,
             want.data(), o.ldc);
      }
      EXPECT_TRUE(SameBits(got, want)) << s.m << " x " << s.n << " x " << s.k_used << (with_bias ? " + bias" : "");
    }
  }
}

// Chain panels are taken on an AVX2 CPU without AVX-512 (the case they are for), never where
// FmaChainGemm gives sgemm's bits (those products keep them) nor on a CPU without AVX2.
TEST(FmaChainGemmTest, WeightsUseChainPanelsOnAvx2CpusOnly) {
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (avx2 && !__builtin_cpu_supports("avx512f")) {
    EXPECT_TRUE(WeightsUseChainPanels()) << "an AVX2 CPU kept sgemm";
  }
  if (GemmUsesFmaChain()) {
    EXPECT_FALSE(WeightsUseChainPanels()) << "sgemm's chain bits given up";
  }
  if (!avx2) {
    EXPECT_FALSE(WeightsUseChainPanels()) << "panels without AVX2";
  }
}

// FmaChainGemmTransA: C (+)= Aᵀ · B for A [k, m] with padding between its rows, every element
// the chain over p in order down A's column, added to +0 or to C; every tail of rows and columns,
// with either tile shape (6 x 64, or 4 x 64) on any AVX-512 CPU.
TEST(FmaChainGemmTest, TransAIsTheChainDownEachColumnOfA) {
  if (!FmaChainGemmApplies(16)) GTEST_SKIP() << "no AVX-512 on this CPU";
  int compared = 0;
  for (const ChainTiles tiles : {ChainTiles::kSixRows, ChainTiles::kEightRows}) {
    ScopedChainTiles forced(tiles);
    for (const int64_t m : {1, 7, 8, 9, 11, 64, 128}) {
      for (const int64_t n : {16, 48, 64, 192, 256}) {
        for (const int64_t k : {1, 2, 100, 448}) {
          for (const bool accumulate : {false, true}) {
            Operands o = Make(k, n, m, m * 1000 + n * 10 + k);  // o.a: [k, m] with row stride o.lda = m + 3
            std::vector<float> b(k * o.ldb);
            for (size_t i = 0; i < b.size(); ++i) b[i] = o.a[(7 * i) % o.a.size()] * 0.75f - 0.25f;
            std::vector<float> c(m * o.ldc, -0.0f), want;
            for (size_t i = 0; i < c.size(); ++i) c[i] = i % 3 == 0 ? -0.0f : o.b[i % o.b.size()];
            want = c;
            for (int64_t i = 0; i < m; ++i) {
              for (int64_t j = 0; j < n; ++j) {
                float t = 0;
                for (int64_t p = 0; p < k; ++p) t = std::fma(o.a[p * o.lda + i], b[p * o.ldb + j], t);
                want[i * o.ldc + j] = (accumulate ? c[i * o.ldc + j] : 0.0f) + t;
              }
            }
            FmaChainGemmTransA(m, n, k, o.a.data(), o.lda, b.data(), o.ldb, accumulate, c.data(), o.ldc);
            EXPECT_TRUE(SameBits(c, want)) << m << " x " << n << " x " << k << ", accumulate " << accumulate
                                           << ", tiles " << static_cast<int>(tiles);
            ++compared;
          }
        }
      }
    }
  }
  EXPECT_EQ(compared, 2 * 7 * 5 * 4 * 2);
}

// cpu::Gemm's Aᵀ · B products (the weight gradients: the LSTM's per block, k = 12 steps x its
// rows, onto the group's partial; the QKV projection's per group of 8,192 rows, onto +0) give
// sgemm's bits where the chain takes them (its panel rule found at first use) and where it does
// not; where it takes them, a single chain over all of k differs from sgemm on a long k (the
// panels are what make the bits).
TEST(FmaChainGemmTest, GemmTakesTheTransAChainOnlyWithSgemmsBits) {
  bool one_chain_differs = false;
  for (const GemmShape& s : {GemmShape{128, 256, 1536, true}, GemmShape{128, 256, 1212, true}, GemmShape{128, 256, 12, true},
                         GemmShape{64, 192, 8192, false}, GemmShape{64, 192, 5003, false}, GemmShape{64, 192, 700, false},
                         GemmShape{128, 64, 900, true}}) {
    Operands o = Make(s.k, s.n, s.m, s.m + s.n + s.k);  // o.a: A [k, m]
    std::vector<float> b(s.k * o.ldb);
    for (size_t i = 0; i < b.size(); ++i) b[i] = o.a[(5 * i) % o.a.size()] * 0.5f + 0.125f;
    std::vector<float> c(s.m * o.ldc);
    for (size_t i = 0; i < c.size(); ++i) c[i] = i % 5 == 0 ? -0.0f : o.b[i % o.b.size()];
    const float beta = s.accumulate ? 1.0f : 0.0f;
    std::vector<float> via_gemm = c, blas = c, one_chain = c;
    Gemm(true, false, s.m, s.n, s.k, 1.0f, o.a.data(), o.lda, b.data(), o.ldb, beta, via_gemm.data(), o.ldc);
    {
      ScopedNarrowVectors sgemm_only;
      EXPECT_FALSE(GemmTakesTransAChain(s.m, s.n));
      Gemm(true, false, s.m, s.n, s.k, 1.0f, o.a.data(), o.lda, b.data(), o.ldb, beta, blas.data(), o.ldc);
    }
    EXPECT_TRUE(SameBits(via_gemm, blas)) << s.m << " x " << s.n << " x " << s.k;
    if (GemmTakesTransAChain(s.m, s.n)) {
      FmaChainGemmTransA(s.m, s.n, s.k, o.a.data(), o.lda, b.data(), o.ldb, s.accumulate, one_chain.data(), o.ldc);
      one_chain_differs = one_chain_differs || !SameBits(one_chain, blas);
    }
  }
  if (GemmTakesTransAChain(128, 256)) EXPECT_TRUE(one_chain_differs) << "no shape long enough to need panels";
}

// cpu::TransAChainPanels lists the panels Gemm sums an Aᵀ · B product in where it takes the chain
// (none elsewhere): they tile k in order, and one GemmTransAPanel a panel gives Gemm's bits
// (Linear's backward interleaves them with its input gradient).
TEST(FmaChainGemmTest, TransAChainPanelsGiveGemmsBitsOneAtATime) {
  for (const GemmShape& s :
       {GemmShape{64, 192, 8192, false}, GemmShape{64, 192, 5003, false}, GemmShape{64, 192, 700, true},
        GemmShape{128, 256, 1536, true}, GemmShape{8, 16, 900, false}}) {
    const auto panels = TransAChainPanels(s.m, s.n, s.k);
    if (!GemmTakesTransAChain(s.m, s.n)) {
      EXPECT_TRUE(panels.empty());
      continue;
    }
    ASSERT_FALSE(panels.empty());
    int64_t end = 0;
    for (const auto& [p0, len] : panels) {
      EXPECT_EQ(p0, end);
      EXPECT_GT(len, 0);
      end = p0 + len;
    }
    EXPECT_EQ(end, s.k);
    Operands o = Make(s.k, s.n, s.m, s.m + s.n + s.k);  // o.a: A [k, m]
    std::vector<float> b(s.k * o.ldb);
    for (size_t i = 0; i < b.size(); ++i) b[i] = o.a[(7 * i) % o.a.size()] * 0.5f - 0.25f;
    std::vector<float> c(s.m * o.ldc);
    for (size_t i = 0; i < c.size(); ++i) c[i] = i % 3 == 0 ? -0.0f : o.b[i % o.b.size()];
    std::vector<float> whole = c, by_panel = c;
    Gemm(true, false, s.m, s.n, s.k, 1.0f, o.a.data(), o.lda, b.data(), o.ldb, s.accumulate ? 1.0f : 0.0f, whole.data(),
         o.ldc);
    for (const auto& [p0, len] : panels) {
      GemmTransAPanel(s.m, s.n, p0, len, o.a.data(), o.lda, b.data(), o.ldb, s.accumulate ? 1.0f : 0.0f,
                      by_panel.data(), o.ldc);
    }
    EXPECT_TRUE(SameBits(whole, by_panel)) << s.m << " x " << s.n << " x " << s.k;
  }
}

}  // namespace
}  // namespace hardgnn::cpu
