#ifndef HARDGNN_PLUGINS_ENCODERS_SELFGNN_INTERVAL_ATTENTION_H_
#define HARDGNN_PLUGINS_ENCODERS_SELFGNN_INTERVAL_ATTENTION_H_

// The interval-level multi-head self-attention of the official SelfGNN code (SPEC §2.2 step 4-5),
// mean-pooled over the G positions:
//
//   Q = X·W_Q + b_Q,  K = X·W_K + b_K,  V = X·W_V + b_V          (X: [N, G, d], LayerNorm-ed)
//   per row n and head h (width d_h = d / H, columns h·d_h .. h·d_h + d_h - 1):
//     s_ab = <q_a, k_b> / sqrt(d_h)
//     ω_ab = exp(s_ab) / (Σ_b exp(s_ab) + 1e-8)     (published form: no max subtraction, +1e-8)
//     o_a  = Σ_b ω_ab v_b                          heads concatenated; no output projection,
//   result[n] = (1/G) Σ_a o_a   -> [N, d]          no residual
//
// ω is computed as exp(s - m) / (Σ exp(s - m) + 1e-8·exp(-m)), m = max_b s_ab: the same value
// without overflow. SelfGNN: d = 64, H = 16, G = number of slices.
//
// PooledAttention is the fused core (a custom autograd function): parallel over rows, each row's
// Q, K, V transposed into a heads-as-SIMD-lanes layout in a small scratch, scores, weights, and
// the pooled output without materializing [N, H, G, G]; its backward recomputes the weights per
// row and returns dQKV. Because of the mean, the pooled output is Σ_b w̄_b v_b with
// w̄_b = (1/G) Σ_a ω_ab. Rows are independent: bit-identical for any number of threads.
//
// IntervalAttention = Linear (the QKV projection, one [N·G, d] x [d, 3d] product, see linear.h)
// + PooledAttention; also bit-identical across thread counts. Without autograd (float, no input
// needing a gradient or grad mode off: the untouched items the miner sees, evaluation) it runs
// both a chunk of items at a time, the chunk's Q, K and V kept in cache rather than written as
// one [N, G, 3d] tensor, by the same GEMM calls on the same row blocks: the same bits.

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "core/cpu/blas.h"

namespace hardgnn::selfgnn {

// qkv: [N, G, 3d] with, per position, the d columns of Q, then K, then V (the layout of
// X·[W_Q | W_K | W_V]). Any strides with a unit-stride last dimension. float or double.
// d % heads == 0. Returns [N, d]. Differentiable with respect to qkv.
at::Tensor PooledAttention(const at::Tensor& qkv, int64_t heads);

// x: [N, G, d]; w_qkv: [d, 3d] = [W_Q | W_K | W_V] (TF layout, Q = x·W_Q); b_qkv: [3d].
// Returns [N, d]. Differentiable with respect to x, w_qkv and b_qkv.
at::Tensor IntervalAttention(const at::Tensor& x, const at::Tensor& w_qkv, const at::Tensor& b_qkv, int64_t heads);

// The same with separate W_Q, W_K, W_V [d, d] and b_Q, b_K, b_V [d] (concatenated per call).
at::Tensor IntervalAttention(const at::Tensor& x, const at::Tensor& w_q, const at::Tensor& w_k, const at::Tensor& w_v,
                             const at::Tensor& b_q, const at::Tensor& b_k, const at::Tensor& b_v, int64_t heads);

// IntervalAttention without autograd on one thread's items (float; heads and d as checked by
// IntervalAttention), a chunk of ChunkItems(G) items at a time: the same bits as
// IntervalAttention. Holds the thread's chunk buffers.
class IntervalAttentionRows {
 public:
  // lcm(kLinearRowBlock, G) / G: a chunk's positions are whole blocks of the QKV projection.
  static int64_t ChunkItems(int64_t g);

  // w_qkv: [d, 3d] packed by LinearWeight, b_qkv: [3d], both held by the caller while this lives.
  IntervalAttentionRows(int64_t g, int64_t d, int64_t heads, const cpu::PackedWeight<float>& w_qkv,
                        const float* b_qkv);

  // out [items, d] for x [items, G, d], whose first item sits at a multiple of ChunkItems(G) in
  // the whole input.
  void Run(const float* x, int64_t items, float* out);

 private:
  int64_t g_, d_, heads_;
  const cpu::PackedWeight<float>& w_;
  const float* b_;
  std::vector<float> qkv_;
};

}  // namespace hardgnn::selfgnn

#endif  // HARDGNN_PLUGINS_ENCODERS_SELFGNN_INTERVAL_ATTENTION_H_
