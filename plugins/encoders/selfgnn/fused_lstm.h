#ifndef HARDGNN_PLUGINS_ENCODERS_SELFGNN_FUSED_LSTM_H_
#define HARDGNN_PLUGINS_ENCODERS_SELFGNN_FUSED_LSTM_H_

// The interval-fusion LSTM of the official SelfGNN code (SPEC §2.2): TF 1.14 BasicLSTMCell
// unrolled over the G time slices, zero initial state, the hidden state emitted at every step.
//
//   z_t = [x_t, h_{t-1}] · kernel + bias            kernel [d_in + h, 4h], bias [4h]
//   i, j, f, o = split(z_t, 4, axis=1)              (TF's gate order)
//   c_t = c_{t-1} · σ(f + forget_bias) + σ(i) · tanh(j)
//   h_t = tanh(c_t) · σ(o)
//
// x: [N, G, d_in], float or double, any strides as long as the last dimension is unit-stride
// (so a [G, N, d] time-major tensor can be passed as x.transpose(0, 1) without a copy).
// Result: [N, G, h] contiguous, h = kernel.size(1) / 4. SelfGNN: d_in = h = 64, N = U + I
// (one cell shared by users and items), forget_bias = 1.0.
//
// FusedLstm is a custom autograd function (gradients for x, kernel, bias). Rows are processed
// in blocks of 128 that run all G steps while their gates stay in cache. Forward, per block and
// step: one GEMM [x_t | h_{t-1}] · kernel (BLAS, single-threaded on the block) and one fused
// pass for bias, gate nonlinearities, cell and output. Saved for backward: the gate activations
// (N·G·4h values) and cells (N·G·h), stored block-major so every per-step access is contiguous,
// plus x, kernel and the output. Backward, per block: the
// recurrence in reverse (one fused cell pass and one GEMM dh_{t-1} = dg_t · W_hᵀ per step), the
// block's gate gradients dg for all steps kept in a per-thread buffer (never a [N, G, 4h]
// tensor), then one GEMM for dx, one for dkernel (K = 128·G) and a column sum for dbias.
//
// Determinism: blocks and the groups that accumulate partial weight gradients are fixed sizes,
// every GEMM runs single-threaded inside the kernel's own parallel loop, and partials are summed
// in a fixed order, so outputs and all gradients are bit-identical for any number of threads.
// (A multi-threaded OpenBLAS sgemm does not give the same bits as a single-threaded one.)

#include <ATen/core/Tensor.h>

namespace hardgnn::selfgnn {

at::Tensor FusedLstm(const at::Tensor& x, const at::Tensor& kernel, const at::Tensor& bias, double forget_bias = 1.0);

}  // namespace hardgnn::selfgnn

#endif  // HARDGNN_PLUGINS_ENCODERS_SELFGNN_FUSED_LSTM_H_
