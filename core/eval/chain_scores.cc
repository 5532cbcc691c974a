#include "core/eval/chain_scores.h"

#include <algorithm>

#include "core/cpu/chain_product.h"

namespace hardgnn {
namespace {
// Queries per pass over the panels: their rows (64 KB at d = 64) stay in L2 while every panel
// goes by.
constexpr int64_t kRowsPerPass = 256;

__attribute__((target("popcnt"))) int64_t PopCount(const uint64_t* words, int64_t n) {
  int64_t count = 0;
  for (int64_t w = 0; w < n; ++w) count += __builtin_popcountll(words[w]);
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
  const int64_t words = BitWords(), last = num_items_ / 64, tail = num_items_ % 64;
  for (int64_t r0 = 0; r0 < rows; r0 += kRowsPerPass) {
    const int64_t m = std::min(kRowsPerPass, rows - r0);
    uint64_t* block = bits + r0 * words;
    for (int64_t i0 = 0; i0 < num_items_; i0 += kPanel) {
      cpu::ChainNotBelow(m, kPanel, dim_, q + r0 * dim_, dim_, panels_.data() + i0 * dim_, kPanel, targets + r0,
                         reinterpret_cast<uint8_t*>(block + i0 / 64), words * 8);
    }
    for (int64_t r = 0; r < m; ++r) {
      uint64_t* row = block + r * words;
      // The last panel's zero columns are not items.
      if (last < words) row[last] &= tail == 0 ? 0 : ~uint64_t{0} >> (64 - tail);
      std::fill(row + last + 1, row + words, 0);
      not_below[r0 + r] = PopCount(row, words);
    }
  }
}

}  // namespace hardgnn
