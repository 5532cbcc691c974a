#include "plugins/encoders/sasrec_modules.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <vector>

#include <torch/csrc/autograd/grad_mode.h>

#include "plugins/encoders/selfgnn/init.h"

namespace hardgnn::sasrec {
namespace {

constexpr double kLayerNormEps = 1e-8;  // the official code's
constexpr int64_t kMinSpan = 8;         // ForwardBySpan's narrowest group

torch::nn::LayerNorm MakeLayerNorm(int64_t dim) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(kLayerNormEps));
}

}  // namespace

torch::nn::Linear GlorotLinear(int64_t in, int64_t out, at::Generator& gen) {
  torch::nn::Linear linear(torch::nn::LinearOptions(in, out));
  torch::NoGradGuard no_grad;
  linear->weight.copy_(selfgnn::GlorotUniform({out, in}, gen));
  linear->bias.zero_();
  return linear;
}

CausalSelfAttentionImpl::CausalSelfAttentionImpl(int64_t dim, int64_t heads, double dropout, at::Generator& gen)
    : heads_(heads) {
  query = register_module("query", GlorotLinear(dim, dim, gen));
  key = register_module("key", GlorotLinear(dim, dim, gen));
  value = register_module("value", GlorotLinear(dim, dim, gen));
  dropout_ = register_module("dropout", torch::nn::Dropout(dropout));
}

at::Tensor CausalSelfAttentionImpl::forward(const at::Tensor& x, const at::Tensor& mask) {
  const int64_t b = x.size(0), m = x.size(1), d = x.size(2), dh = d / heads_;
  auto split = [&](const at::Tensor& t) { return t.view({b, m, heads_, dh}).transpose(1, 2); };  // [B,H,M,dh]
  const at::Tensor q = split(query(x)), k = split(key(x)), v = split(value(x));
  at::Tensor scores = at::matmul(q, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(dh));  // [B,H,M,M]
  const at::Tensor causal = at::ones({m, m}, mask.options().dtype(at::kBool)).tril();
  const at::Tensor self = at::eye(m, mask.options().dtype(at::kBool));
  const at::Tensor allowed = causal & (mask.gt(0).view({b, 1, 1, m}) | self);
  scores = scores.masked_fill(allowed.logical_not(), -std::numeric_limits<double>::infinity());
  const at::Tensor weights = dropout_(at::softmax(scores, -1));
  const at::Tensor out = at::matmul(weights, v).transpose(1, 2).reshape({b, m, d});
  return out * mask.unsqueeze(-1).to(out.scalar_type());
}

BlockImpl::BlockImpl(int64_t dim, int64_t heads, double dropout, at::Generator& gen) {
  attention_norm_ = register_module("attention_norm", MakeLayerNorm(dim));
  attention_ = register_module("attention", CausalSelfAttention(dim, heads, dropout, gen));
  ffn_norm_ = register_module("ffn_norm", MakeLayerNorm(dim));
  ffn1_ = register_module("ffn1", GlorotLinear(dim, dim, gen));
  ffn2_ = register_module("ffn2", GlorotLinear(dim, dim, gen));
  dropout_ = register_module("dropout", torch::nn::Dropout(dropout));
}

at::Tensor BlockImpl::forward(const at::Tensor& x, const at::Tensor& mask) {
  at::Tensor h = x + dropout_(attention_(attention_norm_(x), mask));
  h = h + dropout_(ffn2_(dropout_(at::relu(ffn1_(ffn_norm_(h))))));
  return h * mask.unsqueeze(-1).to(h.scalar_type());
}

NetImpl::NetImpl(int64_t num_items, const NetOptions& options, at::Generator& gen) : options_(options) {
  items_ = register_parameter("item", selfgnn::GlorotUniform({num_items, options.dim}, gen));
  positions_ = register_parameter("position", selfgnn::GlorotUniform({options.max_len, options.dim}, gen));
  blocks_ = register_module("blocks", torch::nn::ModuleList());
  for (int64_t b = 0; b < options.blocks; ++b) {
    blocks_->push_back(Block(options.dim, options.heads, options.dropout, gen));
  }
  final_norm_ = register_module("final_norm", MakeLayerNorm(options.dim));
  dropout_ = register_module("dropout", torch::nn::Dropout(options.dropout));
}

at::Tensor NetImpl::forward(const at::Tensor& seq, const at::Tensor& seq_mask) {
  const int64_t m = seq.size(1);
  TORCH_CHECK(m <= options_.max_len, "sasrec: a sequence of width ", m, " exceeds max_len ", options_.max_len);
  const at::Tensor mask = seq_mask.to(items_.scalar_type());
  const at::Tensor keep = mask.unsqueeze(-1);
  at::Tensor x = at::embedding(items_, seq) * std::sqrt(static_cast<double>(options_.dim)) +
                 positions_.narrow(0, options_.max_len - m, m).unsqueeze(0);
  x = dropout_(x) * keep;
  for (const auto& block : *blocks_) x = block->as<BlockImpl>()->forward(x, mask);
  return final_norm_(x) * keep;
}

at::Tensor NetImpl::ForwardBySpan(const at::Tensor& seq, const at::Tensor& seq_mask) {
  const int64_t rows = seq.size(0), width = seq.size(1);
  const at::Tensor filled = seq_mask.gt(0);
  // Each row's first filled column (the last one for an empty row).
  // Read on the host (a copy off the CPU) to group the rows.
  const at::Tensor first =
      at::where(filled.any(1), filled.to(at::kInt).argmax(1), at::full({rows}, width - 1, at::kLong).to(filled.device()))
          .cpu()
          .contiguous();
  std::map<int64_t, std::vector<int64_t>> groups;  // group width -> its rows
  for (int64_t r = 0; r < rows; ++r) {
    int64_t w = kMinSpan;
    while (w < width - first.data_ptr<int64_t>()[r]) w *= 2;
    groups[std::min(w, width)].push_back(r);
  }
  auto run = [&](const at::Tensor& s, const at::Tensor& m, int64_t w) {
    return at::constant_pad_nd(forward(s.narrow(1, width - w, w), m.narrow(1, width - w, w)), {0, 0, width - w, 0});
  };
  if (groups.size() == 1) return run(seq, seq_mask, groups.begin()->first);
  at::Tensor out = at::zeros({rows, width, options_.dim}, items_.options());
  for (const auto& [w, members] : groups) {
    const at::Tensor index = at::tensor(at::ArrayRef<int64_t>(members), at::kLong).to(seq.device());
    out = out.index_copy(0, index, run(seq.index_select(0, index), seq_mask.index_select(0, index), w));
  }
  return out;
}

}  // namespace hardgnn::sasrec
