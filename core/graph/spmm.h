#ifndef HARDGNN_CORE_GRAPH_SPMM_H_
#define HARDGNN_CORE_GRAPH_SPMM_H_

// Sparse x dense propagation over a binary bipartite graph, with its own autograd.
//
//   CsrGraph g(slice);                        // A: rows x cols, binary (data::Csr)
//   Propagate(g, e_cols)                      // A · e_cols     [rows, d]   (e.g. users <- items)
//   PropagateTransposed(g, e_rows)            // Aᵀ · e_rows    [cols, d]   (items <- users)
//
// On CPU tensors both are custom autograd functions: the gradient of A·X with respect to X is Aᵀ·grad
// (and of Aᵀ·X, A·grad), computed by the same kernel on the other orientation, which is built
// once with the graph. Optional per-edge values (in forward-CSR edge order) weight the sum;
// they carry no gradient.
//
// All G time slices of a layer go through one call with a block-diagonal graph:
//   CsrGraph all = CsrGraph::BlockDiagonal(slices);   // G blocks of R x C
//   Propagate(all, e_items /*[G, C, d]*/)             // -> [G, R, d]
//
// Each output row is summed in CSR order by one thread, so results are bit-identical for any
// number of threads. On other devices (and with cpu::ScopedAtenKernels) the same sums are a
// gather, a scale and an index_add, which autograd differentiates.

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include <c10/core/Device.h>

#include "core/data/csr.h"

namespace hardgnn::graph {

// One orientation of a binary sparse matrix in CSR form, held in tensors (so autograd nodes
// can keep it alive cheaply).
struct CsrIndex {
  int64_t rows = 0;
  int64_t cols = 0;
  at::Tensor row_ptr;  // int64 [rows + 1]
  at::Tensor col;      // int32 [nnz], ascending within each row
  // int64 [nnz]: for each entry, its position in the forward orientation's edge order (so
  // per-edge values can be read in place). Undefined for the forward orientation (identity).
  at::Tensor edge;
  // int64 [num_chunks + 1]: row boundaries of work chunks of about equal cost (nnz + rows), so
  // power-law rows spread evenly over threads.
  at::Tensor chunks;
};

class CsrGraph {
 public:
  CsrGraph() = default;
  explicit CsrGraph(const data::Csr& a);
  // The block-diagonal matrix diag(blocks[0], ..., blocks[G-1]); all blocks must have the same
  // shape R x C. Row k*R + r, column k*C + c is blocks[k](r, c).
  static CsrGraph BlockDiagonal(const std::vector<data::Csr>& blocks);

  int64_t rows() const { return fwd_.rows; }
  int64_t cols() const { return fwd_.cols; }
  int64_t nnz() const { return nnz_; }
  int64_t num_blocks() const { return num_blocks_; }
  const CsrIndex& forward() const { return fwd_; }     // A
  const CsrIndex& transposed() const { return bwd_; }  // Aᵀ
  // A's entries as (row, col) int64 [nnz] each, in forward edge order, on `device`: what the
  // ATen formulation (other devices, or forced) gathers and adds by. Built once per device.
  std::pair<at::Tensor, at::Tensor> Coo(const c10::Device& device) const;

 private:
  struct CooCache {
    std::mutex mu;
    std::vector<std::pair<c10::Device, std::pair<at::Tensor, at::Tensor>>> per_device;
  };
  CsrGraph(const data::Csr& a, int64_t num_blocks);
  CsrIndex fwd_;
  CsrIndex bwd_;
  int64_t nnz_ = 0;
  int64_t num_blocks_ = 1;
  std::shared_ptr<CooCache> coo_ = std::make_shared<CooCache>();  // shared by copies
};

// A · dense. dense: float or double, [cols, d], or [G, cols/G, d] for a graph of G blocks
// (result [G, rows/G, d]). edge_values: undefined (all ones) or [nnz] of dense's dtype, in the
// forward CSR's edge order. Differentiable with respect to dense only.
at::Tensor Propagate(const CsrGraph& g, const at::Tensor& dense, const at::Tensor& edge_values = {});

// Aᵀ · dense. dense: [rows, d] or [G, rows/G, d]; result [cols, d] or [G, cols/G, d].
// edge_values as for Propagate (forward edge order).
at::Tensor PropagateTransposed(const CsrGraph& g, const at::Tensor& dense, const at::Tensor& edge_values = {});

// No autograd: out = M · dense for one orientation M of a graph. dense [M.cols, d] contiguous,
// out [M.rows, d] contiguous, same dtype; edge_values as above (forward edge order) or undefined.
void SpmmInto(const CsrIndex& m, const at::Tensor& edge_values, const at::Tensor& dense, at::Tensor& out);

}  // namespace hardgnn::graph

#endif  // HARDGNN_CORE_GRAPH_SPMM_H_
