#ifndef HARDGNN_PLUGINS_ENCODERS_SASREC_MODULES_H_
#define HARDGNN_PLUGINS_ENCODERS_SASREC_MODULES_H_

// The layers of SASRec (Kang & McAuley, ICDM 2018) over right-aligned sequences (Batch::seq:
// padding on the left, the latest item in the last column). Weights are drawn from the
// caller's generator (Glorot uniform, zero biases, LayerNorm 1 and 0), so an encoder is a
// function of its seed.

#include <cstdint>

#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

namespace hardgnn::sasrec {

// Causal multi-head self-attention without an output projection (the official code):
// per head h, softmax(Q_h K_hᵀ / sqrt(d/heads)) V_h with Q, K, V = x W + b, the heads
// concatenated. Query i attends to key j iff j <= i and position j holds an item (key
// masking); a padded query attends to itself only and its output is zeroed (query masking).
// Dropout (rate `dropout`, training only) on the attention weights.
class CausalSelfAttentionImpl : public torch::nn::Module {
 public:
  CausalSelfAttentionImpl(int64_t dim, int64_t heads, double dropout, at::Generator& gen);
  // x: [B,M,d]; mask: [B,M] float, 1 where the position holds an item. Returns [B,M,d].
  at::Tensor forward(const at::Tensor& x, const at::Tensor& mask);

  torch::nn::Linear query{nullptr}, key{nullptr}, value{nullptr};

 private:
  int64_t heads_;
  torch::nn::Dropout dropout_{nullptr};
};
TORCH_MODULE(CausalSelfAttention);

// One block, the paper's g(x) = x + Dropout(g(LayerNorm(x))) for both sub-layers:
//   x <- x + Dropout(Attention(LN_1(x)))
//   x <- x + Dropout(W_2 Dropout(ReLU(W_1 LN_2(x) + b_1)) + b_2)
//   x <- x * mask            (padded positions stay zero)
class BlockImpl : public torch::nn::Module {
 public:
  BlockImpl(int64_t dim, int64_t heads, double dropout, at::Generator& gen);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& mask);

 private:
  torch::nn::LayerNorm attention_norm_{nullptr}, ffn_norm_{nullptr};
  CausalSelfAttention attention_{nullptr};
  torch::nn::Linear ffn1_{nullptr}, ffn2_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
};
TORCH_MODULE(Block);

struct NetOptions {
  int64_t dim = 64;
  int64_t blocks = 2;
  int64_t heads = 1;
  double dropout = 0.2;
  int64_t max_len = 50;  // positions embedded
};

// The network: item embeddings (Glorot uniform, the input and the output table) scaled by
// sqrt(dim) plus learned position embeddings (the latest item at position max_len-1),
// dropout, padding zeroed; `blocks` Blocks; a final LayerNorm, padding zeroed again.
class NetImpl : public torch::nn::Module {
 public:
  NetImpl(int64_t num_items, const NetOptions& options, at::Generator& gen);

  // seq, mask: [B,m] right-aligned rows holding the last m <= max_len positions. Returns the
  // hidden state of every position, [B,m,d], zero at padded positions.
  at::Tensor forward(const at::Tensor& seq, const at::Tensor& mask);

  // The same result, with less work: no item attends to padding and padded outputs are zero,
  // so a row's states do not depend on its padded columns. Rows are run in groups by span
  // (the columns from their first item on, rounded up to 8, 16, 32, ... or m), each group on
  // its last `span` columns only.
  at::Tensor ForwardBySpan(const at::Tensor& seq, const at::Tensor& mask);

  const at::Tensor& items() const { return items_; }
  const at::Tensor& positions() const { return positions_; }

 private:
  NetOptions options_;
  at::Tensor items_, positions_;
  torch::nn::ModuleList blocks_{nullptr};
  torch::nn::LayerNorm final_norm_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
};
TORCH_MODULE(Net);

// A Linear whose weight is Glorot uniform from `gen` and whose bias is zero.
torch::nn::Linear GlorotLinear(int64_t in, int64_t out, at::Generator& gen);

}  // namespace hardgnn::sasrec

#endif  // HARDGNN_PLUGINS_ENCODERS_SASREC_MODULES_H_
