#ifndef HARDGNN_CORE_GRAPH_RESIDUAL_GCN_H_
#define HARDGNN_CORE_GRAPH_RESIDUAL_GCN_H_

// SelfGNN's short-term graph encoder (official code, SPEC §2.1) as one fused autograd op:
//
//   r^0 = rows0, c^0 = cols0
//   for l = 1..L:   r^l = LR(A · c^{l-1}) + r^{l-1}
//                   c^l = LR(Aᵀ · r^{l-1}) + c^{l-1}
//   returns  rows = Σ_{l=0..L} r^l,   cols = Σ_{l=0..L} c^l
//
// with LR(x) = x for x > 0 and slope·x otherwise (= max(x, slope·x), the official form, for
// slope <= 1; its derivative at 0 is slope, as in TF and at::leaky_relu). For the SelfGNN
// encoder: A = CsrGraph::BlockDiagonal(slices) (users x items per slice), rows0 = uEmbed
// [G, U, d], cols0 = iEmbed [G, I, d], L = gnn_layer, slope = leaky (0.5).
//
// Each layer is two passes of the sparse row kernel with LeakyReLU, residual and layer sum in
// its epilogue. Only the sign of each pre-activation is kept for backward (1 bit per element);
// the backward is again two passes per layer with the derivative applied while gathering.
// Results are bit-identical for any number of threads.
//
// The same result, unfused, from Propagate / PropagateTransposed and torch ops:
//   r = rows0; c = cols0; sr = r; sc = c;
//   for l: { auto r2 = leaky_relu(Propagate(g, c), slope) + r;
//            auto c2 = leaky_relu(PropagateTransposed(g, r), slope) + c;
//            r = r2; c = c2; sr = sr + r; sc = sc + c; }

#include <ATen/core/Tensor.h>

#include <cstdint>

#include "core/graph/spmm.h"

namespace hardgnn::graph {

struct ResidualGcnResult {
  at::Tensor rows;  // Σ_l r^l, shaped like rows0 ([n, d] for n listed last-layer rows)
  at::Tensor cols;  // Σ_l c^l, shaped like cols0
};

// rows0: [g.rows(), d] or [G, g.rows()/G, d]; cols0: [g.cols(), d] or [G, g.cols()/G, d];
// float or double. edge_values: undefined (all ones) or [nnz] in forward edge order (no
// gradient). Differentiable with respect to rows0 and cols0. layers >= 0.
//
// last_layer_rows: undefined (every row), or the rows (flat indices into g.rows(), ascending)
// the caller reads: `rows` is then [n, d], row k the total of listed row k, with the same bits
// as the whole computation's row. Only the listed rows keep a total, the last layer's pass
// computes only them (the columns' pass needs every row of layer L-1, so it is whole), and the
// backward's first column pass sums only their entries (the others' gradient being zero).
// The input gradients are the whole computation's, bit for bit, when the listed rows are read
// from it by a gather (SelfGNN reads the batch's users of the per-slice user embeddings, 512 of
// 20,000 at the published Yelp shape). The ATen path (no CPU kernels) computes every row and
// gathers the listed ones.
ResidualGcnResult ResidualGcn(const CsrGraph& g, const at::Tensor& rows0, const at::Tensor& cols0, int64_t layers,
                              double slope, const at::Tensor& edge_values = {},
                              const at::Tensor& last_layer_rows = {});

}  // namespace hardgnn::graph

#endif  // HARDGNN_CORE_GRAPH_RESIDUAL_GCN_H_
