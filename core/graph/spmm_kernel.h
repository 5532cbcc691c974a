#ifndef HARDGNN_CORE_GRAPH_SPMM_KERNEL_H_
#define HARDGNN_CORE_GRAPH_SPMM_KERNEL_H_

// Internal to //core/graph: the row kernel shared by the sparse products. For each output row r
// it sums, in CSR order, the source rows of r's entries (optionally weighted per edge, and
// optionally scaled per element by a LeakyReLU derivative stored as one bit per element), one
// tile of 64 columns at a time in registers, and hands each finished tile to an epilogue
// (store; residual LeakyReLU; add). Rows are independent, so the parallel split never changes
// a result.

#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "core/cpu/parallel.h"
#include "core/cpu/vec.h"
#include "core/graph/spmm.h"

namespace torch::autograd {
struct AutogradContext;
}

namespace hardgnn::graph::internal {

// Per-edge values travel into autograd functions as a non-tensor argument: they may be
// undefined, and they get no gradient.
struct EdgeValues {
  at::Tensor values;
};

// Throws std::invalid_argument("graph: " + what) unless ok.
void Check(bool ok, const std::string& what);
// dense [n, d] or [G, n/G, d] (G = num_blocks), float or double -> a contiguous [n, d] matrix.
at::Tensor AsMatrix(const at::Tensor& dense, int64_t n, int64_t num_blocks);
// Validates optional per-edge values against g and dense's dtype; detached and contiguous.
EdgeValues CheckedEdgeValues(const CsrGraph& g, const at::Tensor& edge_values, const at::Tensor& dense);

// The transpose of the CSR rows `rows` (n of them, ascending; every row, n = the row count,
// where rows is null) of a matrix with num_cols columns, by counting sort over the columns:
// each transposed row lists its entries' sources ascending, each source given as its place in
// `rows` (as its row where rows is null), with the entry's position in the forward order.
struct Transposed {
  std::vector<int64_t> row_ptr;  // [num_cols + 1]
  std::vector<int32_t> col;
  std::vector<int64_t> edge;
};
Transposed TransposeRows(int64_t num_cols, const int64_t* row_ptr, const int32_t* col, const int64_t* rows,
                         int64_t n);

// Keep an orientation alive in an autograd node (saved_data), and get it back in backward.
void SaveIndex(torch::autograd::AutogradContext* ctx, const std::string& prefix, const CsrIndex& m);
CsrIndex LoadIndex(torch::autograd::AutogradContext* ctx, const std::string& prefix);

// Bits per mask word: one word holds the LeakyReLU-derivative bits of 64 columns.
inline constexpr int64_t kMaskBits = 64;
inline int64_t MaskWords(int64_t d) { return (d + kMaskBits - 1) / kMaskBits; }

// What one product reads: an orientation of the graph, its source matrix, and options.
template <typename T>
struct Gather {
  const int64_t* row_ptr = nullptr;
  const int32_t* col = nullptr;
  const int64_t* edge = nullptr;  // edge -> forward position, or null (identity)
  const T* values = nullptr;      // per-edge weights in forward order, or null (all ones)
  const T* src = nullptr;         // [source rows, d]
  int64_t d = 0;
  // When set: element j of source row s is multiplied by 1 if bit j of src_mask[s] is set, else
  // by `slope` (the derivative of LeakyReLU at the forward pre-activation).
  const uint64_t* src_mask = nullptr;  // [source rows, MaskWords(d)]
  T slope = 1;
  // When set (with src_mask): source s is row src_place[s] of src and of src_mask, or, where
  // that is -1, not summed at all (a source held as zeros; +0 added leaves a sum's bits alone).
  const int32_t* src_place = nullptr;
};

// Prefetch distance, in entries, for the random gathers of source rows (~1.5x measured).
inline constexpr int64_t kPrefetch = 8;

// The row of src (and src_mask) that source s is, or -1 (Gather::src_place).
template <bool kPlaced, typename T>
HARDGNN_INLINE int64_t SourceRow(const Gather<T>& g, int64_t s) {
  if constexpr (kPlaced) return g.src_place[s];
  return s;
}

template <typename V, int kNV, bool kWeighted, bool kMasked, bool kPlaced, typename T>
HARDGNN_INLINE void GatherTile(const Gather<T>& g, int64_t begin, int64_t end, int64_t nnz_end, int64_t off,
                               V (&acc)[kNV]) {
  constexpr int L = cpu::Lanes<V>::kN;
  const int64_t words = MaskWords(g.d);
  const V one = cpu::SplatV<V>(T(1));
  const V slope = cpu::SplatV<V>(g.slope);
  for (int v = 0; v < kNV; ++v) acc[v] = V{};
  for (int64_t e = begin; e < end; ++e) {
    {
      // Entries past this row belong to the next rows, also about to be read.
      const int64_t ahead = SourceRow<kPlaced>(g, g.col[std::min(e + kPrefetch, nnz_end - 1)]);
      const char* p = reinterpret_cast<const char*>(g.src + std::max<int64_t>(ahead, 0) * g.d + off);
      for (int64_t b = 0; b < kNV * L * static_cast<int64_t>(sizeof(T)); b += 64) __builtin_prefetch(p + b);
    }
    const int64_t s = SourceRow<kPlaced>(g, g.col[e]);
    if constexpr (kPlaced) {
      if (s < 0) continue;
    }
    const T* src = g.src + s * g.d + off;
    V w = one;
    if constexpr (kWeighted) w = cpu::SplatV<V>(g.values[g.edge != nullptr ? g.edge[e] : e]);
    if constexpr (kMasked) {
      const uint64_t word = g.src_mask[s * words + off / kMaskBits] >> (off % kMaskBits);
      for (int v = 0; v < kNV; ++v) {
        acc[v] += cpu::SelectByBits<V>(word >> (v * L), w, w * slope) * cpu::LoadV<V>(src + v * L);
      }
    } else if constexpr (kWeighted) {
      for (int v = 0; v < kNV; ++v) acc[v] += w * cpu::LoadV<V>(src + v * L);
    } else {
      for (int v = 0; v < kNV; ++v) acc[v] += cpu::LoadV<V>(src + v * L);
    }
  }
}

template <typename V, bool kWeighted, bool kMasked, bool kPlaced, typename T, typename Epilogue>
HARDGNN_INLINE void RowsWith(const Gather<T>& g, int64_t row_begin, int64_t row_end, const Epilogue& epi) {
  constexpr int L = cpu::Lanes<V>::kN;
  constexpr int kTile = kMaskBits / L;  // vectors per 64-column tile
  const int64_t nnz_end = g.row_ptr[row_end];
  for (int64_t r = row_begin; r < row_end; ++r) {
    const int64_t b = g.row_ptr[r], e = g.row_ptr[r + 1];
    if constexpr (Epilogue::kSkipsEmptyRows) {
      if (b == e) {
        epi.EmptyRow(r);
        continue;
      }
    }
    int64_t off = 0;
    for (; off + kMaskBits <= g.d; off += kMaskBits) {
      V acc[kTile];
      GatherTile<V, kTile, kWeighted, kMasked, kPlaced>(g, b, e, nnz_end, off, acc);
      epi.template Tile<V, kTile>(r, off, acc);
    }
    for (; off < g.d; off += L) {
      V acc[1];
      GatherTile<V, 1, kWeighted, kMasked, kPlaced>(g, b, e, nnz_end, off, acc);
      epi.template Tile<V, 1>(r, off, acc);
    }
  }
}

// One row range, vectorized when d is a multiple of the lanes, scalar otherwise. Compiled for
// the default target and for x86-64-v3 (AVX2/FMA), picked at load time.
template <typename T, bool kWeighted, bool kMasked, typename Epilogue, bool kPlaced = false>
HARDGNN_SIMD_CLONES void Rows(const Gather<T>& g, int64_t row_begin, int64_t row_end, const Epilogue& epi) {
  if (g.d % cpu::kLanes<T> == 0) {
    RowsWith<cpu::Vec<T>, kWeighted, kMasked, kPlaced>(g, row_begin, row_end, epi);
  } else {
    RowsWith<T, kWeighted, kMasked, kPlaced>(g, row_begin, row_end, epi);
  }
}

// Rows [row_begin, row_end) by the Rows instance for the gather's weights and mask.
template <typename T, typename Epilogue>
void AnyRows(const Gather<T>& g, int64_t row_begin, int64_t row_end, const Epilogue& epi) {
  const bool weighted = g.values != nullptr, masked = g.src_mask != nullptr;
  if (g.src_place != nullptr) {  // placed sources come with their masks (the GCN's backward)
    Check(masked, "placed sources without a mask");
    if (weighted) {
      Rows<T, true, true, Epilogue, true>(g, row_begin, row_end, epi);
    } else {
      Rows<T, false, true, Epilogue, true>(g, row_begin, row_end, epi);
    }
  } else if (weighted && masked) {
    Rows<T, true, true>(g, row_begin, row_end, epi);
  } else if (weighted) {
    Rows<T, true, false>(g, row_begin, row_end, epi);
  } else if (masked) {
    Rows<T, false, true>(g, row_begin, row_end, epi);
  } else {
    Rows<T, false, false>(g, row_begin, row_end, epi);
  }
}

// A product's rows as parallel tasks (a job for cpu::RunTogether), each over rows no other task
// writes. Rows [lo, hi) of orientation m, in the pieces of its balanced chunks that fall there.
template <typename T, typename Epilogue>
class RowsIn {
 public:
  RowsIn(const CsrIndex& m, int64_t lo, int64_t hi, const Gather<T>& g, const Epilogue& epi)
      : chunks_(m.chunks.data_ptr<int64_t>()), lo_(lo), hi_(hi), g_(g), epi_(epi) {
    const int64_t n = m.chunks.numel() - 1;
    first_ = std::upper_bound(chunks_, chunks_ + n + 1, lo) - chunks_ - 1;  // the chunk holding lo
    end_ = std::lower_bound(chunks_, chunks_ + n + 1, hi) - chunks_;        // the first starting at hi or on
  }
  int64_t Count() const { return lo_ < hi_ ? end_ - first_ : 0; }
  void Run(int64_t i) const {
    AnyRows(g_, std::max(chunks_[first_ + i], lo_), std::min(chunks_[first_ + i + 1], hi_), epi_);
  }

 private:
  const int64_t* chunks_;
  int64_t lo_, hi_, first_ = 0, end_ = 0;
  Gather<T> g_;
  Epilogue epi_;
};

// The listed rows (`rows`, n of them, each at most once), kListChunk a task: each listed row
// gets what RowsIn gives it, bit for bit; the others are left alone.
template <typename T, typename Epilogue>
class ListedRows {
 public:
  ListedRows(const int64_t* rows, int64_t n, const Gather<T>& g, const Epilogue& epi)
      : rows_(rows), n_(n), g_(g), epi_(epi) {}
  int64_t Count() const { return cpu::DivUp(n_, kListChunk); }
  void Run(int64_t c) const {
    for (int64_t k = c * kListChunk; k < std::min(n_, (c + 1) * kListChunk); ++k) {
      AnyRows(g_, rows_[k], rows_[k] + 1, epi_);
    }
  }

 private:
  static constexpr int64_t kListChunk = 64;
  const int64_t* rows_;
  int64_t n_;
  Gather<T> g_;
  Epilogue epi_;
};

// Runs the product over all rows of orientation m, in parallel over its balanced chunks.
template <typename T, typename Epilogue>
void RunRows(const CsrIndex& m, const Gather<T>& g, const Epilogue& epi) {
  cpu::RunTogether(RowsIn<T, Epilogue>(m, 0, m.rows, g, epi));
}

// Fills the index part of a Gather from an orientation.
template <typename T>
Gather<T> GatherOf(const CsrIndex& m, const T* values, const T* src, int64_t d) {
  Gather<T> g;
  g.row_ptr = m.row_ptr.template data_ptr<int64_t>();
  g.col = m.col.template data_ptr<int32_t>();
  g.edge = m.edge.defined() ? m.edge.template data_ptr<int64_t>() : nullptr;
  g.values = values;
  g.src = src;
  g.d = d;
  return g;
}

// An epilogue receives each finished tile (Tile); one with kSkipsEmptyRows = true gets rows
// without entries through EmptyRow(r) instead.
//
// Epilogue: out[r] = the sum.
template <typename T>
struct StoreEpilogue {
  static constexpr bool kSkipsEmptyRows = false;
  T* out;
  int64_t d;
  template <typename V, int kNV>
  HARDGNN_INLINE void Tile(int64_t r, int64_t off, const V (&acc)[kNV]) const {
    constexpr int L = cpu::Lanes<V>::kN;
    for (int v = 0; v < kNV; ++v) cpu::StoreV<V>(out + r * d + off + v * L, acc[v]);
  }
};

}  // namespace hardgnn::graph::internal

#endif  // HARDGNN_CORE_GRAPH_SPMM_KERNEL_H_
