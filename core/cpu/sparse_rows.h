#ifndef HARDGNN_CORE_CPU_SPARSE_ROWS_H_
#define HARDGNN_CORE_CPU_SPARSE_ROWS_H_

// A gather of rows whose gradient stays sparse. at::index_select's backward writes a zeroed
// gradient of the whole input; when several gathers read one large tensor (SelfGNN's per-slice
// item embeddings, [G, I, d], 117 MB at the published Yelp shape: the interval fusion's rows,
// SAL's pairs, the mined items' rows), autograd then sums those full-size buffers. Here the
// gradient reaches x as a sparse COO tensor of the gathered rows (x's leading dims sparse, the
// last dense). Where another consumer gives x a dense gradient, autograd adds these rows into it
// in place; where none does, x's producer receives the sparse tensor (a custom backward must
// accept it, as the residual GCN's does).

#include <ATen/core/Tensor.h>

namespace hardgnn::cpu {

// Rows flat_rows of x seen as [R, d] (R the product of x's leading dims, x contiguous): [n, d].
// On the CPU kernels the gradient to x is sparse; elsewhere this is x.reshape({R, d})
// .index_select(0, flat_rows). Not twice differentiable.
at::Tensor GatherRowsSparseGradient(const at::Tensor& x, const at::Tensor& flat_rows);

}  // namespace hardgnn::cpu

#endif  // HARDGNN_CORE_CPU_SPARSE_ROWS_H_
