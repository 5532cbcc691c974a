#ifndef HARDGNN_CORE_EVAL_CHAIN_SCORES_H_
#define HARDGNN_CORE_EVAL_CHAIN_SCORES_H_

#include <cstdint>
#include <vector>

#include <ATen/ATen.h>

namespace hardgnn {

// Scores of queries against an item table [I, d] by chain products (core/cpu/chain_product.h:
// every score one FMA chain over d, the same bits on any CPU with AVX2), without the [B, I]
// score matrix: each score is compared with its query's target where it is computed, and only
// that bit is kept. The table is copied once, transposed into panels of kPanel items.
class ChainScores {
 public:
  static constexpr int64_t kPanel = 192;  // three 64-bit words of NotBelow's bits

  // Whether the CPU runs chain products and the items are a CPU float table.
  static bool Apply(const at::Tensor& items);

  explicit ChainScores(const at::Tensor& items);
  int64_t dim() const { return dim_; }

  // out[j] = q · items[ids[j]], j < n; q holds d floats.
  void Scores(const float* q, const int32_t* ids, int64_t n, float* out) const;

  // Words of one query's item bits in NotBelow: three per panel, those past the last item zero.
  int64_t BitWords() const { return (num_items_ + kPanel - 1) / kPanel * (kPanel / 64); }

  // For query r of q [rows, d] (contiguous): bit i of bits[r * BitWords(), ...) tells whether
  // item i scores not below targets[r] (ties and NaN do: !(score < target)), and not_below[r]
  // counts them. Single-threaded: callers split the rows.
  void NotBelow(const float* q, int64_t rows, const float* targets, uint64_t* bits, int64_t* not_below) const;

 private:
  at::Tensor items_;           // [I, d] contiguous, for Scores
  int64_t num_items_, dim_;
  std::vector<float> panels_;  // [panels][d][kPanel]: items [p kPanel, (p+1) kPanel) transposed, zeros past I
};

}  // namespace hardgnn

#endif  // HARDGNN_CORE_EVAL_CHAIN_SCORES_H_
