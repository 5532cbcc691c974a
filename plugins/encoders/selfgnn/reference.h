#ifndef HARDGNN_PLUGINS_ENCODERS_SELFGNN_REFERENCE_H_
#define HARDGNN_PLUGINS_ENCODERS_SELFGNN_REFERENCE_H_

// Straightforward implementations of the SelfGNN interval-fusion math in plain LibTorch ops
// (autograd does the backward), and the same math through LibTorch's stock modules. They define
// what the fused kernels must compute (tests) and what they are measured against (benchmarks).
// Same argument conventions as the fused versions.

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace hardgnn::selfgnn {

// FusedLstm's math, one step at a time with cat / mm / chunk / sigmoid / tanh.
at::Tensor ReferenceLstm(const at::Tensor& x, const at::Tensor& kernel, const at::Tensor& bias,
                         double forget_bias = 1.0);

// LibTorch's LSTM parameters (what torch::nn::LSTM holds as weight_ih_l0, weight_hh_l0,
// bias_ih_l0, bias_hh_l0) equal to a TF BasicLSTMCell kernel/bias: gate order (i, f, g, o) with
// g = TF's j; weight_ih [4h, d_in], weight_hh [4h, h]; forget_bias folded into bias_ih (its f
// block), bias_hh = 0. Differentiable with respect to kernel and bias.
struct TorchLstmParams {
  at::Tensor weight_ih, weight_hh, bias_ih, bias_hh;
};
TorchLstmParams ToTorchLstmParams(const at::Tensor& kernel, const at::Tensor& bias, double forget_bias = 1.0);

// FusedLstm's math through at::lstm, the kernel torch::nn::LSTM runs (batch_first, one layer,
// zero initial state), with ToTorchLstmParams.
at::Tensor StockLstm(const at::Tensor& x, const at::Tensor& kernel, const at::Tensor& bias, double forget_bias = 1.0);

// IntervalAttention's math with batched matmuls over [N·H, G, d_h]: scores q·kᵀ/sqrt(d_h),
// ω = exp(s - m) / (Σ exp(s - m) + 1e-8·exp(-m)) (the published softmax, stably), ω·V, heads
// concatenated, mean over G. x [N, G, d], w_qkv [d, 3d] = [W_Q | W_K | W_V], b_qkv [3d].
at::Tensor ReferenceIntervalAttention(const at::Tensor& x, const at::Tensor& w_qkv, const at::Tensor& b_qkv,
                                      int64_t heads);

// The same through torch::nn::functional::multi_head_attention_forward, what
// torch::nn::MultiheadAttention runs: in_proj_weight = w_qkvᵀ [3d, d], in_proj_bias = b_qkv,
// out_proj = identity with zero bias; then the mean over G. Its softmax has no +1e-8 (relative
// difference ~1e-8, below float resolution).
at::Tensor StockIntervalAttention(const at::Tensor& x, const at::Tensor& w_qkv, const at::Tensor& b_qkv, int64_t heads);

// BlockLayerNorm through at::layer_norm over {G, d} without affine, then ·γ + β.
at::Tensor ReferenceBlockLayerNorm(const at::Tensor& x, const at::Tensor& gamma, const at::Tensor& beta,
                                   double eps = 1e-12);

}  // namespace hardgnn::selfgnn

#endif  // HARDGNN_PLUGINS_ENCODERS_SELFGNN_REFERENCE_H_
