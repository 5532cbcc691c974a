#ifndef HARDGNN_PLUGINS_ENCODERS_SELFGNN_LINEAR_H_
#define HARDGNN_PLUGINS_ENCODERS_SELFGNN_LINEAR_H_

// y = x · w + b over the last dimension (TF layout: w is [in, out]), as a custom autograd
// function whose GEMMs run single-threaded on fixed blocks of rows inside its own parallel loop:
// the result and the gradients (x, w, b; weight gradients as per-group partials summed in a
// fixed order) are bit-identical for any number of threads, unlike at::addmm on a
// multi-threaded OpenBLAS. Same speed as one large GEMM at SelfGNN's sizes.

#include <ATen/core/Tensor.h>

#include <cstdint>

#include "core/cpu/blas.h"

namespace hardgnn::selfgnn {

// x: [..., in] (any leading shape), w: [in, out], b: [out] or undefined. float or double.
// Returns [..., out].
at::Tensor Linear(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b);

// Rows per GEMM of Linear's forward: its blocks start at the multiples of it.
constexpr int64_t kLinearRowBlock = 512;

// Rows [r0, r1) of Linear's forward into y (y: row r0), in the calling thread, by the same GEMM
// calls as Linear makes, so the same bits: r0 a multiple of kLinearRowBlock, and r1 one too or
// the last row. x: all rows [m, in], w: [in, out] packed as Linear packs it (LinearWeight), b: [out].
void LinearForwardRows(int64_t r0, int64_t r1, int64_t in, const float* x, const cpu::PackedWeight<float>& w,
                       const float* b, float* y);

// w [in, out] packed for Linear's forward (which packs it with this too).
template <typename T>
cpu::PackedWeight<T> LinearWeight(const T* w, int64_t in, int64_t out) {
  return cpu::PackedWeight<T>(w, out, in, out);
}

}  // namespace hardgnn::selfgnn

#endif  // HARDGNN_PLUGINS_ENCODERS_SELFGNN_LINEAR_H_
