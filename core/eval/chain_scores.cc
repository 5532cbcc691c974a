#include "core/eval/chain_scores.h"

#include <immintrin.h>

#include <algorithm>

#include "core/cpu/chain_product.h"

namespace hardgnn {
namespace {
// Queries per pass over the panels: their block of scores against one panel (256 x 192
// floats, 192 KB) stays in L2 between the product and the count.
constexpr int64_t kRowsPerPass = 256;

// bits[w] bit b = !(scores[64 w + b] < target) for the n scores (zero past n; whole words
// written); returns how many are set. AVX2: ChainScores runs only where the CPU has it.
__attribute__((target("avx2,popcnt"))) int64_t NotBelowBits(const float* scores, int64_t n, float target,
                                                            uint64_t* bits) {
  const __m256 t = _mm256_set1_ps(target);
  int64_t count = 0;
  for (int64_t w = 0; w * 64 < n; ++w) {
    uint64_t word = 0;
    for (int v = 0; v < 8 && w * 64 + 8 * v < n; ++v) {
      const int64_t i = w * 64 + 8 * v;
      uint64_t mask;
      if (i + 8 <= n) {
        mask = static_cast<uint32_t>(_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(scores + i), t, _CMP_NLT_UQ)));
      } else {
        mask = 0;
        for (int64_t l = 0; i + l < n; ++l) mask |= static_cast<uint64_t>(!(scores[i + l] < target)) << l;
      }
      word |= mask << (8 * v);
    }
    bits[w] = word;
    count += __builtin_popcountll(word);
  }
  return count;
}
}  // namespace

bool ChainScores::Apply(const at::Tensor& items) {
  return items.is_cpu() && items.scalar_type() == at::kFloat && items.dim() == 2 && cpu::ChainProductsApply();
}

ChainScores::ChainScores(const at::Tensor& items)
    : items_(items.contiguous()), num_items_(items.size(0)), dim_(items.size(1)) {
  const int64_t panels = (num_items_ + kPanel - 1) / kPanel;
  panels_.assign(panels * dim_ * kPanel, 0.0f);
  const float* src = items_.data_ptr<float>();
  for (int64_t i = 0; i < num_items_; ++i) {
    float* panel = panels_.data() + i / kPanel * dim_ * kPanel + i % kPanel;
    for (int64_t p = 0; p < dim_; ++p) panel[p * kPanel] = src[i * dim_ + p];
  }
}

void ChainScores::Scores(const float* q, const int32_t* ids, int64_t n, float* out) const {
  cpu::ChainDots(q, dim_, items_.data_ptr<float>(), dim_, ids, n, out);
}

void ChainScores::NotBelow(const float* q, int64_t rows, const float* targets, uint64_t* bits,
                           int64_t* not_below) const {
  const int64_t words = BitWords();
  std::vector<float> block(std::min(rows, kRowsPerPass) * kPanel);
  for (int64_t r0 = 0; r0 < rows; r0 += kRowsPerPass) {
    const int64_t m = std::min(kRowsPerPass, rows - r0);
    std::fill_n(not_below + r0, m, 0);
    for (int64_t i0 = 0; i0 < num_items_; i0 += kPanel) {
      cpu::ChainProduct(m, kPanel, dim_, q + r0 * dim_, dim_, panels_.data() + i0 * dim_, kPanel, block.data(),
                        kPanel);
      const int64_t valid = std::min(kPanel, num_items_ - i0);  // the panel's zero columns are not items
      for (int64_t r = 0; r < m; ++r) {
        not_below[r0 + r] +=
            NotBelowBits(block.data() + r * kPanel, valid, targets[r0 + r], bits + (r0 + r) * words + i0 / 64);
      }
    }
  }
}

}  // namespace hardgnn
