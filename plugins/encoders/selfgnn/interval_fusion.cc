#include "plugins/encoders/selfgnn/interval_fusion.h"

#include <ATen/ATen.h>

#include "plugins/encoders/selfgnn/fused_lstm.h"
#include "plugins/encoders/selfgnn/init.h"
#include "plugins/encoders/selfgnn/interval_attention.h"
#include "plugins/encoders/selfgnn/layer_norm.h"
#include "plugins/encoders/selfgnn/reference.h"

namespace hardgnn::selfgnn {

namespace {
constexpr double kForgetBias = 1.0;      // TF BasicLSTMCell's default
constexpr double kLayerNormEps = 1e-12;  // TF contrib layer_norm
}  // namespace

IntervalRnnImpl::IntervalRnnImpl(const Options& options, at::Generator& gen) : options_(options) {
  const int64_t d = options.dim;
  if (options.gru) {
    gru_ = register_module("gru", torch::nn::GRU(torch::nn::GRUOptions(d, d).batch_first(true)));
  } else {
    kernel_ = register_parameter("kernel", GlorotUniform({2 * d, 4 * d}, gen));
    bias_ = register_parameter("bias", at::zeros({4 * d}));
  }
}

at::Tensor IntervalRnnImpl::forward(const at::Tensor& x) {
  if (options_.gru) return std::get<0>(gru_->forward(x));
  return Fused(options_, x) ? FusedLstm(x, kernel_, bias_, kForgetBias) : StockLstm(x, kernel_, bias_, kForgetBias);
}

IntervalAttentionImpl::IntervalAttentionImpl(const Options& options, at::Generator& gen) : options_(options) {
  const int64_t d = options.dim;
  ln_gamma_ = register_parameter("ln_gamma", at::ones({d}));
  ln_beta_ = register_parameter("ln_beta", at::zeros({d}));
  w_qkv_ = register_parameter(
      "w_qkv", at::cat({GlorotUniform({d, d}, gen), GlorotUniform({d, d}, gen), GlorotUniform({d, d}, gen)}, 1));
  b_qkv_ = register_parameter("b_qkv", at::zeros({3 * d}));
}

at::Tensor IntervalAttentionImpl::forward(const at::Tensor& h) {
  // TF's layer_norm(begin_norm_axis=1): statistics over (G, d) jointly, scale and shift per d.
  at::Tensor x;
  const bool fused = Fused(options_, h);
  if (options_.ln_lastdim && !fused) {
    x = at::layer_norm(h, {options_.dim}, ln_gamma_, ln_beta_, kLayerNormEps);
  } else if (options_.ln_lastdim) {  // one slice per row: γ/β gradients independent of --threads
    x = BlockLayerNorm(h.reshape({-1, 1, options_.dim}), ln_gamma_, ln_beta_, kLayerNormEps).view(h.sizes());
  } else {
    x = fused ? BlockLayerNorm(h, ln_gamma_, ln_beta_, kLayerNormEps)
                       : ReferenceBlockLayerNorm(h, ln_gamma_, ln_beta_, kLayerNormEps);
  }
  return fused ? IntervalAttention(x, w_qkv_, b_qkv_, options_.heads)
                        : StockIntervalAttention(x, w_qkv_, b_qkv_, options_.heads);
}

}  // namespace hardgnn::selfgnn
