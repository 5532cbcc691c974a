#ifndef HARDGNN_PLUGINS_ENCODERS_SELFGNN_SEQUENCE_ENCODER_H_
#define HARDGNN_PLUGINS_ENCODERS_SELFGNN_SEQUENCE_ENCODER_H_

#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "plugins/encoders/selfgnn/options.h"

namespace hardgnn::selfgnn {

// The instance-level sequence encoder (SPEC §2.3).
// Published form: the masked *sum* of the sequence's long-term item embeddings plus the
// summed position embeddings, each LayerNorm-ed, then att_layers residual blocks
// h <- LR(MHSA(LN(h))) + h where MHSA runs over a length-1 sequence, i.e. per head
// w * (W_V y + b_V) with w = e^s / (e^s + 1e-8), s = <q_h, k_h> / sqrt(d_h).
// Paper form (seq_attention): the same blocks over all positions, masked softmax attention,
// and the masked sum of the outputs.
class SequenceEncoderImpl : public torch::nn::Module {
 public:
  SequenceEncoderImpl(const Options& options, at::Generator& gen);

  // seq, mask: [B,M] (right-aligned; M <= max_seq_len); items: [I,d] long-term item table.
  // Returns e~ [B,d], before the prediction's LeakyReLU.
  at::Tensor forward(const at::Tensor& seq, const at::Tensor& mask, const at::Tensor& items);

  const at::Tensor& positions() const { return positions_; }

 private:
  struct Layer {
    at::Tensor ln_gamma, ln_beta, w_qkv, b_qkv;  // [d], [d], [d,3d], [3d]
  };
  at::Tensor LayerNorm(const at::Tensor& x, const at::Tensor& gamma, const at::Tensor& beta) const;
  at::Tensor Project(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b) const;
  at::Tensor Published(const at::Tensor& seq, const at::Tensor& mask, const at::Tensor& items);
  at::Tensor Positional(const at::Tensor& seq, const at::Tensor& mask, const at::Tensor& items);

  Options options_;
  at::Tensor positions_;  // [max_seq_len, d]
  at::Tensor ln_x_gamma_, ln_x_beta_, ln_p_gamma_, ln_p_beta_;
  std::vector<Layer> layers_;
};
TORCH_MODULE(SequenceEncoder);

}  // namespace hardgnn::selfgnn

#endif  // HARDGNN_PLUGINS_ENCODERS_SELFGNN_SEQUENCE_ENCODER_H_
