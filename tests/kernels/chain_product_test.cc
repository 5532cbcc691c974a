// ChainNotBelow compares, and ChainDots and ChainPanelsGemm compute, every output as one fused
// multiply-add chain over k in order (checked against that chain written out in scalar code), on
// the CPU's own path and on the AVX2 path forced where the CPU has AVX-512, with strided operands
// and every tail of rows, columns, ids and k; so a product is the same bits whichever computes it.
#include "core/cpu/chain_product.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "core/cpu/kernel_path.h"
#include "gtest/gtest.h"

namespace hardgnn::cpu {
namespace {

std::vector<float> Random(int64_t n, uint64_t seed) {
  std::vector<float> v(n);
  uint64_t state = seed * 0x9E3779B97F4A7C15ULL + 1;
  for (float& x : v) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    x = static_cast<float>(static_cast<int64_t>(state >> 40) - (int64_t{1} << 23)) / (1 << 22);
  }
  return v;
}

float Chain(const float* a, const float* b, int64_t b_stride, int64_t k) {
  float t = 0;
  for (int64_t p = 0; p < k; ++p) t = std::fma(a[p], b[p * b_stride], t);
  return 0.0f + t;
}

uint32_t Bits(float x) {
  uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
}

class ChainProductTest : public ::testing::TestWithParam<bool> {  // param: AVX2 path forced
 protected:
  void SetUp() override {
    if (!ChainProductsApply()) GTEST_SKIP() << "no AVX2 on this CPU";
    ForceNarrowVectors(GetParam());
  }
  void TearDown() override { ForceNarrowVectors(false); }
};

// Each product's value pinned by two targets per column: the chain itself (the bit must be set)
// and the next float above it (clear), which a product one ulp off either way fails.
TEST_P(ChainProductTest, EveryProductIsOneFmaChainOverK) {
  int compared = 0;
  for (const int64_t m : {1, 3, 4, 5, 6, 7, 13}) {
    for (const int64_t n : {16, 48, 64, 192}) {
      for (const int64_t k : {1, 7, 8, 64, 67}) {
        const int64_t lda = k + 3, ldb = n + 5, ldbits = n / 8 + 2;
        const std::vector<float> a = Random(m * lda, m * 1000 + n * 10 + k), b = Random(k * ldb, k + 7);
        std::vector<float> at(m), above(m);
        std::vector<uint8_t> bits(m * ldbits);
        for (int64_t j = 0; j < n; ++j) {
          for (int64_t i = 0; i < m; ++i) {
            at[i] = Chain(&a[i * lda], &b[j], ldb, k);
            above[i] = std::nextafter(at[i], std::numeric_limits<float>::infinity());
          }
          for (const bool tie : {true, false}) {
            std::fill(bits.begin(), bits.end(), 0xA5);
            ChainNotBelow(m, n, k, a.data(), lda, b.data(), ldb, tie ? at.data() : above.data(), bits.data(), ldbits);
            for (int64_t i = 0; i < m; ++i) {
              ASSERT_EQ(bits[i * ldbits + j / 8] >> (j % 8) & 1, tie ? 1 : 0)
                  << "m " << m << " n " << n << " k " << k << " at " << i << "," << j;
              for (int64_t byte = n / 8; byte < ldbits; ++byte) ASSERT_EQ(bits[i * ldbits + byte], 0xA5) << "past n";
            }
          }
          compared += m;
        }
      }
    }
  }
  EXPECT_GT(compared, 10000);
}

// The bits are the comparisons of the chains with each row's target: ties (a target equal to a
// product of its row), NaN products (a NaN column of B) and a NaN target set them.
TEST_P(ChainProductTest, NotBelowBitsCompareEveryChainWithItsRowsTarget) {
  for (const int64_t m : {1, 4, 5, 7, 13}) {
    for (const int64_t n : {16, 48, 192}) {
      const int64_t k = 67, lda = k + 1, ldb = n + 8, ldbits = n / 8 + 3;
      const std::vector<float> a = Random(m * lda, m + n);
      std::vector<float> b = Random(k * ldb, n);
      for (int64_t p = 0; p < k; ++p) b[p * ldb + 9] = std::nanf("");
      std::vector<float> targets(m);
      for (int64_t i = 0; i < m; ++i) targets[i] = Chain(&a[i * lda], &b[(i * 5) % n], ldb, k);
      if (m > 2) targets[2] = std::nanf("");
      std::vector<uint8_t> bits(m * ldbits, 0xA5);
      ChainNotBelow(m, n, k, a.data(), lda, b.data(), ldb, targets.data(), bits.data(), ldbits);
      for (int64_t i = 0; i < m; ++i) {
        for (int64_t j = 0; j < n; ++j) {
          const bool want = !(Chain(&a[i * lda], &b[j], ldb, k) < targets[i]);
          ASSERT_EQ(bits[i * ldbits + j / 8] >> (j % 8) & 1, want ? 1 : 0) << "m " << m << " n " << n << " at " << i
                                                                             << "," << j;
        }
        for (int64_t byte = n / 8; byte < ldbits; ++byte) ASSERT_EQ(bits[i * ldbits + byte], 0xA5) << "wrote past n";
      }
    }
  }
}

TEST_P(ChainProductTest, DotsAreTheChainsForAnyIdsAndK) {
  for (const int64_t k : {1, 5, 8, 16, 64, 67}) {
    const int64_t rows = 50, ld = k + 2;
    const std::vector<float> table = Random(rows * ld, k), q = Random(k, k + 1);
    // Repeated ids, and every count from 1 to 20 (each tail of the groups of eight).
    std::vector<int32_t> ids;
    for (int i = 0; i < 20; ++i) ids.push_back((i * 7) % rows);
    for (size_t n = 1; n <= ids.size(); ++n) {
      std::vector<float> out(n + 1, -1.0f);
      ChainDots(q.data(), k, table.data(), ld, ids.data(), n, out.data());
      for (size_t j = 0; j < n; ++j) {
        ASSERT_EQ(Bits(out[j]), Bits(Chain(q.data(), &table[ids[j] * ld], 1, k))) << "k " << k << " id " << ids[j];
      }
      ASSERT_EQ(out[n], -1.0f) << "wrote past n";
    }
  }
}

// ChainPanelsGemm: every output the chain over B's first k_used rows, added to +0, to C or to a
// bias row; B packed from row-major or transposed storage; every strip width (24, 16, 8), every
// row tail of the 4-row tiles and a second pass of rows, strided A and C (padding untouched), a
// zero row of A.
TEST(ChainPanelsTest, EveryOutputIsOneFmaChainOverTheUsedRowsOfB) {
  if (!ChainPanelsApply()) GTEST_SKIP() << "no AVX2 on this CPU";
  int compared = 0;
  for (const int64_t m : {1, 3, 4, 5, 7, 130}) {
    for (const int64_t n : {8, 16, 24, 40, 64, 256}) {
      for (const int64_t k : {1, 9, 64, 128}) {
        for (const bool transposed : {false, true}) {
          const int64_t lda = k + 3, ldc = n + 5, ldb = (transposed ? k : n) + 2;
          const int64_t row_stride = transposed ? 1 : ldb, col_stride = transposed ? ldb : 1;
          std::vector<float> a = Random(m * lda, m * 100 + n + k), b = Random((transposed ? n : k) * ldb, n + k);
          if (m > 1) std::fill_n(a.begin() + lda, k, 0.0f);
          const std::vector<float> panels = ChainPanels(b.data(), k, n, row_stride, col_stride);
          const std::vector<float> bias = Random(n, 3), c0 = Random(m * ldc, 4);
          for (const int64_t k_used : {k, (k + 1) / 2}) {
            for (const int base : {0, 1, 2}) {  // +0, C, bias
              std::vector<float> c = c0, want = c0;
              for (int64_t i = 0; i < m; ++i) {
                for (int64_t j = 0; j < n; ++j) {
                  float t = 0;
                  for (int64_t p = 0; p < k_used; ++p) t = std::fma(a[i * lda + p], b[p * row_stride + j * col_stride], t);
                  want[i * ldc + j] = (base == 0 ? 0.0f : base == 1 ? c0[i * ldc + j] : bias[j]) + t;
                }
              }
              ChainPanelsGemm(m, n, k_used, a.data(), lda, panels.data(), k, base == 2 ? bias.data() : nullptr,
                              base == 1, c.data(), ldc);
              for (size_t e = 0; e < c.size(); ++e) {
                ASSERT_EQ(Bits(c[e]), Bits(want[e])) << "m " << m << " n " << n << " k " << k << " used " << k_used
                                                     << " base " << base << " transposed " << transposed << " at "
                                                     << e / ldc << "," << e % ldc;
              }
              ++compared;
            }
          }
        }
      }
    }
  }
  EXPECT_EQ(compared, 6 * 6 * 4 * 2 * 2 * 3);
}

// A in two parts side by side (the LSTM's x_t and h_{t-1}, read where they lie): the bits of
// the product with the two parts copied into one row, for splits at 0, inside and at the end,
// rows of either part at their own strides, every strip width and row tail, onto +0 and a bias.
TEST(ChainPanelsTest, SideBySidePartsGiveTheConcatenatedRowsBits) {
  if (!ChainPanelsApply()) GTEST_SKIP() << "no AVX2 on this CPU";
  int compared = 0;
  for (const int64_t m : {1, 5, 130}) {
    for (const int64_t n : {8, 40, 256}) {
      const int64_t k = 128, ldc = n + 5;
      const std::vector<float> b = Random(k * n, n + 7), bias = Random(n, 8);
      const std::vector<float> panels = ChainPanels(b.data(), k, n, n, 1);
      for (const int64_t k1 : {0, 1, 64, 127, 128}) {
        for (const int64_t k2 : {int64_t{0}, k - k1}) {
          const int64_t lda1 = k1 + 7, lda2 = 3 * k2 + 1, lda = k1 + k2;
          const std::vector<float> a1 = Random(m * lda1, m + k1), a2 = Random(m * lda2 + 1, m + k2 + 50);
          std::vector<float> a(m * lda + 1);
          for (int64_t i = 0; i < m; ++i) {
            std::copy_n(a1.begin() + i * lda1, k1, a.begin() + i * lda);
            std::copy_n(a2.begin() + i * lda2, k2, a.begin() + i * lda + k1);
          }
          for (const bool with_bias : {false, true}) {
            const float* bias_or_null = with_bias ? bias.data() : nullptr;
            std::vector<float> want(m * ldc, -1.0f), got(m * ldc, -1.0f);
            ChainPanelsGemm(m, n, lda, a.data(), lda, panels.data(), k, bias_or_null, false, want.data(), ldc);
            ChainPanelsGemm(m, n, SideBySide{a1.data(), lda1, k1, a2.data(), lda2, k2}, panels.data(), k, bias_or_null,
                            false, got.data(), ldc);
            for (size_t e = 0; e < got.size(); ++e) {
              ASSERT_EQ(Bits(got[e]), Bits(want[e])) << "m " << m << " n " << n << " k1 " << k1 << " k2 " << k2
                                                     << " at " << e / ldc << "," << e % ldc;
            }
            ++compared;
          }
        }
      }
    }
  }
  EXPECT_EQ(compared, 3 * 3 * 5 * 2 * 2);
}

INSTANTIATE_TEST_SUITE_P(Paths, ChainProductTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Avx2Forced" : "CpusOwn"; });

}  // namespace
}  // namespace hardgnn::cpu
