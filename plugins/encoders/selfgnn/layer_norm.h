#ifndef HARDGNN_PLUGINS_ENCODERS_SELFGNN_LAYER_NORM_H_
#define HARDGNN_PLUGINS_ENCODERS_SELFGNN_LAYER_NORM_H_

// The LayerNorm of SelfGNN's interval fusion (SPEC §2.2 step 3): TF contrib layer_norm with
// begin_norm_axis = 1 on [N, G, d], i.e. per row n the mean and (population) variance over all
// G·d values jointly, ε = 1e-12, then a per-d scale and shift:
//
//   y[n, t, k] = (x[n, t, k] - μ_n) / sqrt(σ²_n + ε) · γ[k] + β[k]
//
// BlockLayerNorm is one fused custom autograd function: one pass per row forward (statistics
// and output while the row is in cache; mean and 1/σ saved), one pass per row backward, and γ/β
// gradients as per-chunk partials summed in a fixed order: bit-identical for any number of
// threads. (at::layer_norm over {G, d} followed by ·γ + β computes the same; the benchmark
// compares the two.) With G = 1 it is a LayerNorm over the last axis: the sequence encoder's,
// and the interval fusion's under ln_lastdim (at::layer_norm's γ/β gradients depend on the
// thread count).

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace hardgnn::selfgnn {

// x: [N, G, d] (any strides; made contiguous), gamma, beta: [d]. float or double.
// Returns [N, G, d]. Differentiable with respect to x, gamma and beta.
at::Tensor BlockLayerNorm(const at::Tensor& x, const at::Tensor& gamma, const at::Tensor& beta, double eps = 1e-12);

// BlockLayerNorm's forward without autograd, in place on `rows` rows of G·d floats (each row's
// values are read before they are written), in the calling thread: the same bits.
void BlockLayerNormRowsInPlace(float* x, int64_t rows, int64_t g, int64_t d, const float* gamma, const float* beta,
                               double eps = 1e-12);

// Rows per γ/β partial of BlockLayerNorm's backward: each chunk's rows add into their partial in
// row order, and the partials are summed in chunk order.
constexpr int64_t kBlockLayerNormChunkRows = 256;

// The same, also writing each row's mean and 1/σ (BlockLayerNorm's saved statistics).
void BlockLayerNormRowsInPlace(float* x, int64_t rows, int64_t g, int64_t d, const float* gamma, const float* beta,
                               double eps, float* mean, float* rstd);

// BlockLayerNorm's backward in two parts, on `rows` rows of G·d floats (x: the forward's input,
// mean and rstd its statistics, gy the output's gradient), in the calling thread, with its bits:
// the input's gradient dx, and the rows' γ then β gradient terms added into part [2d] row by row
// (BlockLayerNorm's γ/β gradients are the partials of kBlockLayerNormChunkRows rows so added,
// summed in chunk order).
void BlockLayerNormRowsDx(int64_t rows, int64_t g, int64_t d, const float* x, const float* gamma, const float* mean,
                          const float* rstd, const float* gy, float* dx);
void BlockLayerNormRowsAddPartials(int64_t rows, int64_t g, int64_t d, const float* x, const float* mean,
                                   const float* rstd, const float* gy, float* part);

}  // namespace hardgnn::selfgnn

#endif  // HARDGNN_PLUGINS_ENCODERS_SELFGNN_LAYER_NORM_H_
