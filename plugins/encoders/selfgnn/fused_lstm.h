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
// plus x and kernel (not the output: the backward's cell pass recomputes h). Backward, per block: the
// recurrence in reverse (one fused cell pass and one GEMM dh_{t-1} = dg_t · W_hᵀ per step), the
// block's gate gradients dg for all steps kept in a per-thread buffer (never a [N, G, 4h]
// tensor), then one GEMM for dx, one for dkernel (K = 128·G) and a column sum for dbias.
//
// Determinism: blocks and the groups that accumulate partial weight gradients are fixed sizes,
// every GEMM runs single-threaded inside the kernel's own parallel loop, and partials are summed
// in a fixed order, so outputs and all gradients are bit-identical for any number of threads.
// (A multi-threaded OpenBLAS sgemm does not give the same bits as a single-threaded one.)

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <utility>

#include "core/cpu/blas.h"
#include "plugins/encoders/selfgnn/dropout.h"

namespace hardgnn::selfgnn {

// Rows per block of FusedLstm: its blocks start at the multiples of it.
constexpr int64_t kLstmRowBlock = 128;

at::Tensor FusedLstm(const at::Tensor& x, const at::Tensor& kernel, const at::Tensor& bias, double forget_bias = 1.0);

// RowDropout(FusedLstm(x, ...), dropout.p, true, dropout.seed, dropout.keys) for float x and
// 0 < p < 1: the same output and gradient bits, without the dropout's passes over the [N, G, h]
// output and its gradient: each block's outputs are masked once its steps are done, while in
// cache, and its output gradient as its backward starts (the recurrence reads h unmasked, and
// the backward recomputes it).
at::Tensor FusedLstmWithDropout(const at::Tensor& x, const at::Tensor& kernel, const at::Tensor& bias,
                                double forget_bias, const FusionDropout& dropout);

// The block layer norm that follows the LSTM's output dropout (BlockLayerNorm's parameters).
struct FusionLayerNorm {
  at::Tensor gamma, beta;  // [h]
  double eps;
};

// BlockLayerNorm(FusedLstmWithDropout(x, kernel, bias, forget_bias, dropout), norm.gamma,
// norm.beta, norm.eps) for float: the same output and gradient bits (x, kernel, bias, γ, β),
// without the [N, G, h] output between the two: each block's rows are masked and normalized
// while in cache. The backward recomputes a block's masked output from the saved tanh(c_t) and
// gates and runs the norm's backward on it before the
// recurrence; the norm's γ/β partials are added in BlockLayerNorm's row order.
at::Tensor FusedLstmLayerNorm(const at::Tensor& x, const at::Tensor& kernel, const at::Tensor& bias, double forget_bias,
                              const FusionDropout& dropout, const FusionLayerNorm& norm);

// Input rows read in place: row n's step-t input (d_in floats) at x + ids[n] * row_stride +
// t * step_stride, e.g. time-major slices [G, I, d] and a list of item ids.
struct LstmInputRows {
  const float* x;
  const int64_t* ids;
  int64_t row_stride, step_stride, g, din;
};

// FusedLstm's forward without autograd for rows [n0, n1) of `in`, in the calling thread, by the
// same GEMM calls on the same blocks as FusedLstm over all the rows (n0 a multiple of
// kLstmRowBlock): the same bits. kernel: [d_in + h, 4h] (FusedLstmKernel), bias [4h]; out
// [n1 - n0, G, h].
void FusedLstmForwardRows(const LstmInputRows& in, int64_t n0, int64_t n1, const cpu::PackedWeight<float>& kernel,
                          const float* bias, int64_t h, float forget_bias, float* out);

// For tests: the cell states c_t of FusedLstm's forward on float x ([N, G, h] each), as its cell
// pass computed them and as its backward recomputes them from the activations it keeps (it
// keeps tanh(c_t), not c_t): the backward's gradients are the forward's only if the two agree
// bit for bit.
std::pair<at::Tensor, at::Tensor> FusedLstmCellStatesForTest(const at::Tensor& x, const at::Tensor& kernel,
                                                             const at::Tensor& bias, double forget_bias = 1.0);

// The kernel [d_in + h, 4h] packed for FusedLstm's forward (which packs it with this too).
template <typename T>
cpu::PackedWeight<T> FusedLstmKernel(const T* kernel, int64_t din, int64_t h) {
  return cpu::PackedWeight<T>(kernel, 4 * h, din + h, 4 * h);
}

}  // namespace hardgnn::selfgnn

#endif  // HARDGNN_PLUGINS_ENCODERS_SELFGNN_FUSED_LSTM_H_
