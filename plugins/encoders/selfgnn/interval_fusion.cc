#include "plugins/encoders/selfgnn/interval_fusion.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <numeric>
#include <vector>

#include "core/cpu/blas.h"
#include "core/cpu/parallel.h"
#include "plugins/encoders/selfgnn/dropout.h"
#include "plugins/encoders/selfgnn/fused_lstm.h"
#include "plugins/encoders/selfgnn/init.h"
#include "plugins/encoders/selfgnn/interval_attention.h"
#include "plugins/encoders/selfgnn/layer_norm.h"
#include "plugins/encoders/selfgnn/linear.h"
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

at::Tensor IntervalRnnImpl::forward(const at::Tensor& x, const FusionDropout* dropout, const FusionLayerNorm* norm) {
  TORCH_CHECK(dropout == nullptr || TakesDropout(x), "IntervalRnn: the output dropout is the caller's here");
  TORCH_CHECK(norm == nullptr || dropout != nullptr, "IntervalRnn: the layer norm is taken with the dropout only");
  if (options_.gru) return std::get<0>(gru_->forward(x));
  if (norm != nullptr) return FusedLstmLayerNorm(x, kernel_, bias_, kForgetBias, *dropout, *norm);
  if (dropout != nullptr) return FusedLstmWithDropout(x, kernel_, bias_, kForgetBias, *dropout);
  return Fused(options_, x) ? FusedLstm(x, kernel_, bias_, kForgetBias) : StockLstm(x, kernel_, bias_, kForgetBias);
}

bool IntervalRnnImpl::TakesDropout(const at::Tensor& x) const {
  return !options_.gru && Fused(options_, x) && x.scalar_type() == at::kFloat;
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

bool IntervalAttentionImpl::NormsInBlocks(const at::Tensor& h) const {
  return !options_.ln_lastdim && Fused(options_, h);
}

FusionLayerNorm IntervalAttentionImpl::BlockNorm() const { return {ln_gamma_, ln_beta_, kLayerNormEps}; }

at::Tensor IntervalAttentionImpl::Attend(const at::Tensor& x) {
  TORCH_CHECK(NormsInBlocks(x), "IntervalAttention::Attend: only after a block layer norm on the fused kernels");
  return IntervalAttention(x, w_qkv_, b_qkv_, options_.heads);
}

at::Tensor FuseRowsWithoutGrad(const IntervalRnnImpl& rnn, const IntervalAttentionImpl& attention,
                               const at::Tensor& slices, const at::Tensor& ids, const FusionDropout* dropout) {
  const Options& o = attention.options_;
  const bool floats = slices.scalar_type() == at::kFloat && rnn.kernel_.defined() &&
                      rnn.kernel_.scalar_type() == at::kFloat && attention.w_qkv_.scalar_type() == at::kFloat;
  if (rnn.options_.gru || !Fused(rnn.options_, slices) || !Fused(o, slices) || !floats || slices.dim() != 3 ||
      (dropout != nullptr && dropout->p >= 1) || at::GradMode::is_enabled()) {
    return at::Tensor();
  }
  const at::Tensor x = slices.contiguous(), index = ids.contiguous();
  const at::Tensor kernel = rnn.kernel_.contiguous(), bias = rnn.bias_.contiguous();
  const at::Tensor gamma = attention.ln_gamma_.contiguous(), beta = attention.ln_beta_.contiguous();
  const at::Tensor w = attention.w_qkv_.contiguous(), b = attention.b_qkv_.contiguous();
  const bool drop = dropout != nullptr && dropout->p > 0;
  const at::Tensor keys = drop ? dropout->keys.contiguous() : at::Tensor();
  TORCH_CHECK(index.scalar_type() == at::kLong && index.dim() == 1, "FuseRowsWithoutGrad: ids must be [N] int64");
  TORCH_CHECK(!drop || (keys.scalar_type() == at::kLong && keys.numel() == index.numel()),
              "FuseRowsWithoutGrad: one int64 dropout key per row");
  TORCH_CHECK(index.numel() == 0 || (index.min().item<int64_t>() >= 0 && index.max().item<int64_t>() < x.size(1)),
              "FuseRowsWithoutGrad: ids out of range");
  const int64_t g = x.size(0), d = x.size(2), h = kernel.size(1) / 4, n = index.size(0);
  TORCH_CHECK(kernel.size(0) == d + h && w.size(0) == h && h % o.heads == 0, "FuseRowsWithoutGrad: shapes differ");
  const LstmInputRows in{x.data_ptr<float>(), index.data_ptr<int64_t>(), d, x.size(1) * d, g, d};
  // Whole blocks of the LSTM and whole chunks of the attention.
  const int64_t chunk = std::lcm(kLstmRowBlock, IntervalAttentionRows::ChunkItems(g));
  at::Tensor out = at::empty({n, h}, x.options());
  const cpu::PackedWeight<float> lstm_kernel = FusedLstmKernel(kernel.data_ptr<float>(), d, h);
  const cpu::PackedWeight<float> qkv_weight = LinearWeight(w.data_ptr<float>(), h, 3 * h);
  struct Worker {  // a thread's attention scratch and LSTM outputs
    IntervalAttentionRows attend;
    std::vector<float> rows;
  };
  cpu::ForEachIndexWith(
      cpu::DivUp(n, chunk),
      [&] { return Worker{IntervalAttentionRows(g, h, o.heads, qkv_weight, b.data_ptr<float>()),
                          std::vector<float>(chunk * g * h)}; },
      [&](Worker& w, int64_t c) {
        const int64_t i0 = c * chunk, i1 = std::min(n, i0 + chunk), m = i1 - i0;
        FusedLstmForwardRows(in, i0, i1, lstm_kernel, bias.data_ptr<float>(), h, static_cast<float>(kForgetBias),
                             w.rows.data());
        if (drop) {
          RowDropoutRows(w.rows.data(), w.rows.data(), m, g * h, keys.data_ptr<int64_t>() + i0, dropout->p,
                         dropout->seed);
        }
        // Statistics per row of G·h values, or per slice under ln_lastdim (rows of h values).
        BlockLayerNormRowsInPlace(w.rows.data(), o.ln_lastdim ? m * g : m, o.ln_lastdim ? 1 : g, h,
                                  gamma.data_ptr<float>(), beta.data_ptr<float>(), kLayerNormEps);
        w.attend.Run(w.rows.data(), m, out.data_ptr<float>() + i0 * h);
      });
  return out;
}

}  // namespace hardgnn::selfgnn
