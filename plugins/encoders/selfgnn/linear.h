#ifndef HARDGNN_PLUGINS_ENCODERS_SELFGNN_LINEAR_H_
#define HARDGNN_PLUGINS_ENCODERS_SELFGNN_LINEAR_H_

// y = x · w + b over the last dimension (TF layout: w is [in, out]), as a custom autograd
// function whose GEMMs run single-threaded on fixed blocks of rows inside its own parallel loop:
// the result and the gradients (x, w, b; weight gradients as per-group partials summed in a
// fixed order) are bit-identical for any number of threads, unlike at::addmm on a
// multi-threaded OpenBLAS. Same speed as one large GEMM at SelfGNN's sizes.

#include <ATen/core/Tensor.h>

namespace hardgnn::selfgnn {

// x: [..., in] (any leading shape), w: [in, out], b: [out] or undefined. float or double.
// Returns [..., out].
at::Tensor Linear(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b);

}  // namespace hardgnn::selfgnn

#endif  // HARDGNN_PLUGINS_ENCODERS_SELFGNN_LINEAR_H_
