#include "plugins/encoders/selfgnn/sequence_encoder.h"

#include <cmath>
#include <string>

#include <ATen/ATen.h>

#include "plugins/encoders/selfgnn/init.h"
#include "plugins/encoders/selfgnn/layer_norm.h"
#include "plugins/encoders/selfgnn/linear.h"

namespace hardgnn::selfgnn {

namespace {
constexpr double kLayerNormEps = 1e-12;  // TF contrib layer_norm
constexpr double kAttentionEps = 1e-8;   // the published softmax's denominator term
}  // namespace

SequenceEncoderImpl::SequenceEncoderImpl(const Options& options, at::Generator& gen) : options_(options) {
  const int64_t d = options.dim;
  positions_ = register_parameter("positions", GlorotUniform({options.max_seq_len, d}, gen));
  ln_x_gamma_ = register_parameter("ln_items_gamma", at::ones({d}));
  ln_x_beta_ = register_parameter("ln_items_beta", at::zeros({d}));
  ln_p_gamma_ = register_parameter("ln_positions_gamma", at::ones({d}));
  ln_p_beta_ = register_parameter("ln_positions_beta", at::zeros({d}));
  for (int64_t a = 0; a < options.att_layers; ++a) {
    const std::string p = "layer" + std::to_string(a) + "_";
    Layer layer;
    layer.ln_gamma = register_parameter(p + "ln_gamma", at::ones({d}));
    layer.ln_beta = register_parameter(p + "ln_beta", at::zeros({d}));
    // W_Q, W_K, W_V side by side, each glorot over [d, d].
    layer.w_qkv = register_parameter(
        p + "w_qkv", at::cat({GlorotUniform({d, d}, gen), GlorotUniform({d, d}, gen), GlorotUniform({d, d}, gen)}, 1));
    layer.b_qkv = register_parameter(p + "b_qkv", at::zeros({3 * d}));
    layers_.push_back(layer);
  }
}

// LayerNorm over the last axis. at::layer_norm's backward sums the γ/β gradients in one piece per
// thread, so they change with --threads; BlockLayerNorm with one slice per row is the same
// normalization with those sums in fixed chunks.
at::Tensor SequenceEncoderImpl::LayerNorm(const at::Tensor& x, const at::Tensor& gamma,
                                          const at::Tensor& beta) const {
  if (!Fused(options_, x)) return at::layer_norm(x, {options_.dim}, gamma, beta, kLayerNormEps);
  return BlockLayerNorm(x.reshape({-1, 1, options_.dim}), gamma, beta, kLayerNormEps).view(x.sizes());
}

// x · w + b. The weight gradient is a product over every row (K = rows), which a multi-threaded
// OpenBLAS (at::addmm) blocks differently per thread count; Linear's is independent of it.
at::Tensor SequenceEncoderImpl::Project(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b) const {
  if (Fused(options_, x)) return Linear(x, w, b);
  return b.defined() ? at::matmul(x, w) + b : at::matmul(x, w);
}

at::Tensor SequenceEncoderImpl::forward(const at::Tensor& seq, const at::Tensor& mask, const at::Tensor& items) {
  TORCH_CHECK(seq.size(1) <= options_.max_seq_len, "sequence width ", seq.size(1), " exceeds pos_length ",
              options_.max_seq_len);
  return options_.seq_attention ? Positional(seq, mask, items) : Published(seq, mask, items);
}

at::Tensor SequenceEncoderImpl::Published(const at::Tensor& seq, const at::Tensor& mask, const at::Tensor& items) {
  const int64_t batch = seq.size(0), width = seq.size(1), d = options_.dim;
  const int64_t heads = options_.heads, dh = d / heads;
  // The masked sums: a bag of long-term item embeddings and of position embeddings.
  const at::Tensor m = mask.to(items.scalar_type());
  at::Tensor bag = std::get<0>(at::embedding_bag(items, seq.reshape(-1),
                                                 at::arange(0, batch * width, width, seq.options()),
                                                 /*scale_grad_by_freq=*/false, /*mode=sum*/ 0,
                                                 /*sparse=*/false, m.reshape(-1)))
                       .view({batch, d});
  at::Tensor pos = Project(m, positions_.narrow(0, options_.max_seq_len - width, width), at::Tensor());
  at::Tensor h = LayerNorm(bag, ln_x_gamma_, ln_x_beta_) + LayerNorm(pos, ln_p_gamma_, ln_p_beta_);
  const double log_eps = std::log(kAttentionEps);
  for (const Layer& layer : layers_) {
    at::Tensor y = LayerNorm(h, layer.ln_gamma, layer.ln_beta);
    at::Tensor qkv = Project(y, layer.w_qkv, layer.b_qkv);
    at::Tensor q = qkv.narrow(1, 0, d).view({batch, heads, dh});
    at::Tensor k = qkv.narrow(1, d, d).view({batch, heads, dh});
    at::Tensor v = qkv.narrow(1, 2 * d, d).view({batch, heads, dh});
    // e^s / (e^s + eps) = sigmoid(s - ln eps), computed without overflow.
    at::Tensor w = at::sigmoid((q * k).sum(-1) / std::sqrt(static_cast<double>(dh)) - log_eps);
    h = at::leaky_relu((w.unsqueeze(-1) * v).reshape({batch, d}), options_.leaky) + h;
  }
  return h;
}

at::Tensor SequenceEncoderImpl::Positional(const at::Tensor& seq, const at::Tensor& mask, const at::Tensor& items) {
  const int64_t batch = seq.size(0), width = seq.size(1), d = options_.dim;
  const int64_t heads = options_.heads, dh = d / heads;
  at::Tensor s = items.index_select(0, seq.reshape(-1)).view({batch, width, d}) +
                 positions_.narrow(0, options_.max_seq_len - width, width).unsqueeze(0);
  // Padding keys get a large negative score (not -inf: an empty row must not give NaN).
  const at::Tensor m = mask.to(items.scalar_type());
  at::Tensor key_bias = ((1 - m) * -1e9).view({batch, 1, 1, width});
  for (const Layer& layer : layers_) {
    at::Tensor y = LayerNorm(s, layer.ln_gamma, layer.ln_beta);
    at::Tensor qkv = Project(y, layer.w_qkv, layer.b_qkv);
    auto split = [&](int64_t part) {
      return qkv.narrow(2, part * d, d).view({batch, width, heads, dh}).transpose(1, 2);  // [B,H,M,dh]
    };
    at::Tensor scores = at::matmul(split(0), split(1).transpose(2, 3)) / std::sqrt(static_cast<double>(dh));
    at::Tensor att = at::softmax(scores + key_bias, -1);
    at::Tensor out = at::matmul(att, split(2)).transpose(1, 2).reshape({batch, width, d});
    s = at::leaky_relu(out, options_.leaky) + s;
  }
  return (s * m.unsqueeze(-1)).sum(1);
}

}  // namespace hardgnn::selfgnn
