#ifndef HARDGNN_CORE_CPU_SPARSE_ROWS_H_
#define HARDGNN_CORE_CPU_SPARSE_ROWS_H_

// Row gathers for a large tensor that several gathers read (SelfGNN's per-slice item
// embeddings, [G, I, d], 117 MB at the published Yelp shape: the interval fusion's rows, SAL's
// pairs, the mined items' rows). at::index_select's backward writes a zeroed gradient of the
// whole input per gather, which autograd then sums. Here the gradient reaches x either as a
// sparse COO tensor of the gathered rows (x's leading dims sparse, the last dense) or, for one
// gather, dense, which autograd adds the sparse ones into in place. Where no gather's gradient
// is dense, x's producer receives the sparse tensor (a custom backward must accept it, as the
// residual GCN's does).

#include <ATen/core/Tensor.h>

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

}  // namespace hardgnn::cpu

#endif  // HARDGNN_CORE_CPU_SPARSE_ROWS_H_
