#ifndef HARDGNN_CORE_CPU_SPARSE_ROWS_H_
#define HARDGNN_CORE_CPU_SPARSE_ROWS_H_

// Row gathers for a large tensor that several gathers read (SelfGNN's per-slice item
// embeddings, [G, I, d], 117 MB at the published Yelp shape: the interval fusion's rows, SAL's
// pairs, the mined items' rows). at::index_select's backward writes a zeroed gradient of the
// whole input per gather, which autograd then sums. Here the gradient reaches x either as a
// sparse COO tensor of the gathered rows (x's leading dims sparse, the last dense) or, for one
// gather, dense, which autograd adds the sparse ones into in place. Where no gather's gradient
// is dense, x's producer receives the sparse tensor (a custom backward must accept it, as the
// residual GCN's does). Or, through ForkForRowGathers, every gather's rows stay sparse and x's
// dense gradient is written once from all of them.

#include <ATen/core/Tensor.h>

#include <utility>

namespace hardgnn::cpu {

// Rows flat_rows of x seen as [R, d] (R the product of x's leading dims, x contiguous): [n, d].
// On the CPU kernels the gradient to x is sparse; elsewhere this is x.reshape({R, d})
// .index_select(0, flat_rows). Not twice differentiable.
at::Tensor GatherRowsSparseGradient(const at::Tensor& x, const at::Tensor& flat_rows);

// The same rows with a dense gradient: index_select's backward (zeros, the rows added in index
// order: the same bits, written in one parallel pass), held as x's own shape. index_select's,
// reshaped to x's shape, is a view, which keeps its [R, d] base alive, so the engine adds another
// gradient of x into a copy of it (not in place); this one it adds the sparse rows into in
// place, whichever arrives first.
at::Tensor GatherRowsDenseGradient(const at::Tensor& x, const at::Tensor& flat_rows);

// Two handles on x for gathers whose gradients would otherwise meet in autograd's buffer for x,
// where the engine adds sparse rows into a dense gradient one element at a time on one thread
// (10 ms for SelfGNN's 233,000 fusion rows into SAL's 117 MB gradient at the published Yelp
// shape), and a sparse gradient's indices come from four ATen passes. A gather from a handle
// (either function above) returns its rows sparse, its indices unravelled in one parallel pass,
// and the fork's backward writes x's gradient once, in parallel over rows: zeros plus the first
// handle's rows then the second's (a dense handle gradient is added after), into a buffer the
// first of those gathers' backwards allocates, when a dense gather's would be (the allocator's
// layout, so the resident peak, moved by 0.1 GB where the fork allocated it itself). Two gathers from
// one handle meet in autograd's buffer, which lists their rows in an order of its own: where
// they share rows, put them on different handles. So a dense gather from the first handle,
// sparse ones from the second, and sparse ones from the first on rows of their own (SelfGNN's
// SAL pairs, fused rows and mined rows) give the bits they give on x itself. {x, x} where x
// needs no gradient, grad mode is off, x is not on the CPU kernels or has one dim.
std::pair<at::Tensor, at::Tensor> ForkForRowGathers(const at::Tensor& x);

}  // namespace hardgnn::cpu

#endif  // HARDGNN_CORE_CPU_SPARSE_ROWS_H_
