#ifndef HARDGNN_PLUGINS_ENCODERS_SELFGNN_GRU_H_
#define HARDGNN_PLUGINS_ENCODERS_SELFGNN_GRU_H_

// The paper's interval-fusion recurrence (SPEC §2.2, "GRU" per the paper; the official code uses
// the LSTM in fused_lstm.h), for the optional --selfgnn_gru mode. Formulation: TF 1.14 GRUCell
// (the TF counterpart of the code's BasicLSTMCell), zero initial state, h_t emitted every step:
//
//   r, u = split(σ([x_t, h_{t-1}] · gate_kernel + gate_bias), 2, axis=1)     (order r, u)
//   c    = tanh([x_t, r ⊙ h_{t-1}] · candidate_kernel + candidate_bias)
//   h_t  = u ⊙ h_{t-1} + (1 - u) ⊙ c
//
// gate_kernel [d_in + h, 2h], gate_bias [2h] (TF initializes it to 1.0), candidate_kernel
// [d_in + h, h], candidate_bias [h] (TF: 0). Plain LibTorch ops (autograd does the backward);
// x [N, G, d_in] -> [N, G, h]. (PyTorch's GRU differs: it applies r after the recurrent matmul,
// r ⊙ (W_hn h + b_hn), and has separate input/recurrent biases.)

#include <ATen/core/Tensor.h>

namespace hardgnn::selfgnn {

at::Tensor TfGru(const at::Tensor& x, const at::Tensor& gate_kernel, const at::Tensor& gate_bias,
                 const at::Tensor& candidate_kernel, const at::Tensor& candidate_bias);

}  // namespace hardgnn::selfgnn

#endif  // HARDGNN_PLUGINS_ENCODERS_SELFGNN_GRU_H_
