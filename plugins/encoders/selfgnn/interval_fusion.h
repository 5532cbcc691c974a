#ifndef HARDGNN_PLUGINS_ENCODERS_SELFGNN_INTERVAL_FUSION_H_
#define HARDGNN_PLUGINS_ENCODERS_SELFGNN_INTERVAL_FUSION_H_

#include <torch/nn/module.h>
#include <torch/nn/modules/rnn.h>
#include <torch/nn/pimpl.h>

#include <cstdint>

#include "plugins/encoders/selfgnn/dropout.h"
#include "plugins/encoders/selfgnn/fused_lstm.h"
#include "plugins/encoders/selfgnn/options.h"

namespace hardgnn::selfgnn {

class IntervalRnnImpl;
class IntervalAttentionImpl;

// attention(dropout(rnn(slices[:, ids]))) without autograd: slices [G, I, d], ids [N] -> [N, d].
// Each thread takes a chunk of items at a time through the LSTM, the dropout, the layer norm
// and the attention while its rows are in cache, instead of each step writing an [N, G, d]
// tensor for the next to read, and the LSTM reads its input rows from the slices in place.
// The same bits as the modules' forward on the gathered rows (the same GEMM calls on the same
// blocks). A chunk is 128, 256 or 512 items (whole LSTM blocks and attention chunks), so the
// modules' calls on any multiple of 512 rows at a time give the same bits too. Undefined where it does not apply (the GRU, the stock kernels, not float, p ≥ 1):
// the caller takes the modules' path.
at::Tensor FuseRowsWithoutGrad(const IntervalRnnImpl& rnn, const IntervalAttentionImpl& attention,
                               const at::Tensor& slices, const at::Tensor& ids, const FusionDropout* dropout);

// The interval RNN over the G slices (SPEC §2.2 step 2): TF's BasicLSTMCell (one kernel
// [2d,4d] on concat[x, h], one bias, gate order i,j,f,o, forget bias 1) or, as the paper
// says, a GRU. Input and output [N, G, d]; the output dropout is applied by the caller, or by
// forward where TakesDropout.
class IntervalRnnImpl : public torch::nn::Module {
 public:
  IntervalRnnImpl(const Options& options, at::Generator& gen);
  // dropout (0 < p < 1), only where TakesDropout(x): RowDropout of the output, inside the fused
  // LSTM (the same bits as applying it after); norm, only with dropout: the attention's layer
  // norm of that, inside it too (IntervalAttentionImpl::NormInBlocks; the same bits).
  at::Tensor forward(const at::Tensor& x, const FusionDropout* dropout = nullptr,
                     const FusionLayerNorm* norm = nullptr);
  // Whether forward(x) can apply the output dropout itself: the fused LSTM on float.
  bool TakesDropout(const at::Tensor& x) const;

 private:
  friend at::Tensor FuseRowsWithoutGrad(const IntervalRnnImpl&, const IntervalAttentionImpl&, const at::Tensor&,
                                        const at::Tensor&, const FusionDropout*);
  Options options_;
  at::Tensor kernel_, bias_;  // LSTM: [2d, 4d], [4d]
  torch::nn::GRU gru_{nullptr};
};
TORCH_MODULE(IntervalRnn);

// One side (users or items) of the fusion after the RNN (SPEC §2.2 steps 3-5): LayerNorm
// over the whole (G, d) block, multi-head self-attention across the slices (no output
// projection, no residual; softmax e^s / (sum e^s + 1e-8)) and the mean over slices.
class IntervalAttentionImpl : public torch::nn::Module {
 public:
  IntervalAttentionImpl(const Options& options, at::Generator& gen);
  at::Tensor forward(const at::Tensor& h);  // [N, G, d] -> [N, d]

  // Whether forward(h) runs the fused kernels with the layer norm over each row's (G, d) block
  // (not ln_lastdim), which the RNN can then take (BlockNorm), leaving Attend to the rest.
  bool NormsInBlocks(const at::Tensor& h) const;
  FusionLayerNorm BlockNorm() const;
  // forward(h) after its layer norm, x = the norm of h: [N, G, d] -> [N, d]. Only where NormsInBlocks.
  at::Tensor Attend(const at::Tensor& x);

 private:
  friend at::Tensor FuseRowsWithoutGrad(const IntervalRnnImpl&, const IntervalAttentionImpl&, const at::Tensor&,
                                        const at::Tensor&, const FusionDropout*);
  Options options_;
  at::Tensor ln_gamma_, ln_beta_, w_qkv_, b_qkv_;  // [d], [d], [d, 3d], [3d]
};
TORCH_MODULE(IntervalAttention);

}  // namespace hardgnn::selfgnn

#endif  // HARDGNN_PLUGINS_ENCODERS_SELFGNN_INTERVAL_FUSION_H_
