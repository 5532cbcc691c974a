#include "plugins/encoders/selfgnn/reference.h"

#include <ATen/ATen.h>
#include <torch/nn/functional/activation.h>

#include <cmath>
#include <vector>

namespace hardgnn::selfgnn {

at::Tensor ReferenceLstm(const at::Tensor& x, const at::Tensor& kernel, const at::Tensor& bias, double forget_bias) {
  const int64_t n = x.size(0), g = x.size(1), h = kernel.size(1) / 4;
  at::Tensor hs = at::zeros({n, h}, x.options());
  at::Tensor c = at::zeros({n, h}, x.options());
  std::vector<at::Tensor> outs;
  for (int64_t t = 0; t < g; ++t) {
    const auto z = at::cat({x.select(1, t), hs}, 1).mm(kernel) + bias;
    const auto parts = z.chunk(4, 1);  // i, j, f, o
    c = c * at::sigmoid(parts[2] + forget_bias) + at::sigmoid(parts[0]) * at::tanh(parts[1]);
    hs = at::tanh(c) * at::sigmoid(parts[3]);
    outs.push_back(hs);
  }
  return at::stack(outs, 1);
}

TorchLstmParams ToTorchLstmParams(const at::Tensor& kernel, const at::Tensor& bias, double forget_bias) {
  const int64_t h = kernel.size(1) / 4, din = kernel.size(0) - h;
  const auto idx = at::TensorOptions().dtype(at::kLong);
  // TF columns (i, j, f, o) -> LibTorch rows (i, f, g = j, o).
  const at::Tensor perm = at::cat(
      {at::arange(0, h, idx), at::arange(2 * h, 3 * h, idx), at::arange(h, 2 * h, idx), at::arange(3 * h, 4 * h, idx)});
  const at::Tensor k = kernel.index_select(1, perm);
  at::Tensor fb = at::zeros({4 * h}, bias.options());
  fb.slice(0, h, 2 * h).fill_(forget_bias);
  return {k.slice(0, 0, din).t(), k.slice(0, din).t(), bias.index_select(0, perm) + fb,
          at::zeros({4 * h}, bias.options())};
}

at::Tensor StockLstm(const at::Tensor& x, const at::Tensor& kernel, const at::Tensor& bias, double forget_bias) {
  const int64_t h = kernel.size(1) / 4;
  const TorchLstmParams p = ToTorchLstmParams(kernel, bias, forget_bias);
  const at::Tensor h0 = at::zeros({1, x.size(0), h}, x.options());
  const auto out = at::lstm(x, {h0, h0}, {p.weight_ih, p.weight_hh, p.bias_ih, p.bias_hh}, /*has_biases=*/true,
                            /*num_layers=*/1, /*dropout=*/0.0, /*train=*/true, /*bidirectional=*/false,
                            /*batch_first=*/true);
  return std::get<0>(out);
}

at::Tensor ReferenceIntervalAttention(const at::Tensor& x, const at::Tensor& w_qkv, const at::Tensor& b_qkv,
                                      int64_t heads) {
  const int64_t n = x.size(0), g = x.size(1), d = x.size(2), dh = d / heads;
  const at::Tensor qkv = at::matmul(x, w_qkv) + b_qkv;  // [N, G, 3d]
  // [N, G, d] -> [N·H, G, d_h]
  const auto split = [&](int64_t part) {
    return qkv.slice(2, part * d, (part + 1) * d)
        .reshape({n, g, heads, dh})
        .permute({0, 2, 1, 3})
        .reshape({n * heads, g, dh});
  };
  const at::Tensor q = split(0), k = split(1), v = split(2);
  const at::Tensor s = at::bmm(q, k.transpose(1, 2)) / std::sqrt(static_cast<double>(dh));  // [N·H, G, G]
  const at::Tensor m = std::get<0>(s.max(-1, /*keepdim=*/true));
  const at::Tensor e = at::exp(s - m);
  const at::Tensor w = e / (e.sum(-1, /*keepdim=*/true) + 1e-8 * at::exp(-m));
  const at::Tensor o = at::bmm(w, v);  // [N·H, G, d_h]
  return o.view({n, heads, g, dh}).mean(2).reshape({n, d});
}

at::Tensor StockIntervalAttention(const at::Tensor& x, const at::Tensor& w_qkv, const at::Tensor& b_qkv,
                                  int64_t heads) {
  namespace F = torch::nn::functional;
  const int64_t d = x.size(2);
  const at::Tensor seq = x.transpose(0, 1);  // [G, N, d]: (L, N, E)
  const auto opts = F::MultiheadAttentionForwardFuncOptions(
                        d, heads, w_qkv.t(), b_qkv, /*bias_k=*/{}, /*bias_v=*/{}, /*add_zero_attn=*/false,
                        /*dropout_p=*/0.0, at::eye(d, x.options()), at::zeros({d}, x.options()))
                        .need_weights(false);
  const at::Tensor o = std::get<0>(F::multi_head_attention_forward(seq, seq, seq, opts));  // [G, N, d]
  return o.mean(0);
}

at::Tensor ReferenceBlockLayerNorm(const at::Tensor& x, const at::Tensor& gamma, const at::Tensor& beta, double eps) {
  return at::layer_norm(x, {x.size(1), x.size(2)}, {}, {}, eps) * gamma + beta;
}

}  // namespace hardgnn::selfgnn
