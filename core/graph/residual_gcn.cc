#include "core/graph/residual_gcn.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/cpu/kernel_path.h"
#include "core/cpu/parallel.h"
#include "core/graph/spmm_kernel.h"
#include "core/model/profile.h"

namespace hardgnn::graph {
namespace {

using internal::kMaskBits;
using internal::MaskWords;

// A row without entries gets no message and is never gathered by the other side, so all its
// layers equal layer 0: its total is (L + 1)·e^0, written on the first layer; later layers skip
// it (its next, total and mask are never read). Likewise its input gradient is (L + 1)·gS,
// written on the last backward step. On sparse time slices most rows are empty.
//
// Forward epilogue: z = LR(sum); e = z + prev; next = e (unless last layer); total += e (on the
// first layer total = prev + e, prev being layer 0, which saves a copy); and the sign bits of
// the pre-activation into mask. With a list of the rows the caller reads (listed: each row's
// place in it, or -1), only those rows keep a total, in list order; on the last layer, which
// computes those rows only, their masks are kept in list order too (compact_mask).
template <typename T>
struct ResidualLeakyEpilogue {
  static constexpr bool kSkipsEmptyRows = true;
  const T* prev;
  T* next;  // null on the last layer
  T* total;
  bool first;
  uint64_t* mask;  // [rows, MaskWords(d)]
  int64_t d;
  T slope;
  T layers_plus_one;
  const int32_t* listed = nullptr;  // null: every row keeps its total (and mask) at its own row
  bool compact_mask = false;
  HARDGNN_INLINE int64_t TotalRow(int64_t r) const { return listed != nullptr ? listed[r] : r; }
  HARDGNN_INLINE void EmptyRow(int64_t r) const {
    const int64_t t = TotalRow(r);
    if (first && t >= 0) {
      for (int64_t j = 0; j < d; ++j) total[t * d + j] = layers_plus_one * prev[r * d + j];
    }
  }
  template <typename V, int kNV>
  HARDGNN_INLINE void Tile(int64_t r, int64_t off, const V (&acc)[kNV]) const {
    constexpr int L = cpu::Lanes<V>::kN;
    const V sl = cpu::SplatV<V>(slope);
    const int64_t t = TotalRow(r);
    uint64_t bits = 0;
    for (int v = 0; v < kNV; ++v) {
      const V a = acc[v];
      bits |= cpu::PositiveBits(a) << (v * L);
      const int64_t i = r * d + off + v * L;
      const V p = cpu::LoadV<V>(prev + i);
      const V e = (a > V{} ? a : a * sl) + p;
      if (next != nullptr) cpu::StoreV<V>(next + i, e);
      if (t >= 0) {
        T* out = total + t * d + off + v * L;
        cpu::StoreV<V>(out, (first ? p : cpu::LoadV<V>(out)) + e);
      }
    }
    uint64_t& word = mask[(compact_mask ? t : r) * MaskWords(d) + off / kMaskBits];
    const int64_t shift = off % kMaskBits;
    word = shift == 0 ? bits : (word | (bits << shift));
  }
};

// Row r of a matrix whose rows are held for listed rows only (listed[r]: its row, or -1: a row
// of zeros, null returned); every row where listed is null.
template <typename T>
HARDGNN_INLINE const T* RowOf(const T* m, const int32_t* listed, int64_t r, int64_t d) {
  if (listed == nullptr) return m + r * d;
  return listed[r] >= 0 ? m + listed[r] * d : nullptr;
}

template <typename V>
HARDGNN_INLINE V LoadOrZero(const typename cpu::Lanes<V>::T* row, int64_t i) {
  return row != nullptr ? cpu::LoadV<V>(row + i) : V{};
}

// Backward epilogue: out = a + b + sum; empty rows: out = (L + 1)·a on the last step, else
// skipped. a and b may be held for listed rows only (a_listed, b_listed: RowOf), the other rows
// being zeros: the gradient of a layer whose last pass computed the listed rows only.
template <typename T>
struct AddTwoEpilogue {
  static constexpr bool kSkipsEmptyRows = true;
  const T* a;
  const T* b;
  T* out;
  int64_t d;
  bool last;
  T layers_plus_one;
  const int32_t* a_listed = nullptr;
  const int32_t* b_listed = nullptr;
  HARDGNN_INLINE void EmptyRow(int64_t r) const {
    if (last) {
      const T* ar = RowOf(a, a_listed, r, d);
      for (int64_t j = 0; j < d; ++j) out[r * d + j] = layers_plus_one * (ar != nullptr ? ar[j] : T(0));
    }
  }
  template <typename V, int kNV>
  HARDGNN_INLINE void Tile(int64_t r, int64_t off, const V (&acc)[kNV]) const {
    constexpr int L = cpu::Lanes<V>::kN;
    const T* ar = RowOf(a, a_listed, r, d);
    const T* br = RowOf(b, b_listed, r, d);
    for (int v = 0; v < kNV; ++v) {
      const int64_t j = off + v * L;
      cpu::StoreV<V>(out + r * d + j, LoadOrZero<V>(ar, j) + LoadOrZero<V>(br, j) + acc[v]);
    }
  }
};

// The rows of the last layer the caller reads (residual_gcn.h's last_layer_rows): the list,
// ascending, and each row's place in it (int32, -1: not listed), made once in the forward and
// kept for the backward.
struct Listed {
  const int64_t* rows = nullptr;  // null: every row
  int64_t n = 0;
  at::Tensor place;
  Listed() = default;
  Listed(const at::Tensor& list, const at::Tensor& places)
      : rows(list.data_ptr<int64_t>()), n(list.numel()), place(places) {}
  static Listed Of(const at::Tensor& list, int64_t num_rows) {
    at::Tensor places = at::full({num_rows}, -1, at::kInt);
    int32_t* at = places.data_ptr<int32_t>();
    const int64_t* rows = list.data_ptr<int64_t>();
    for (int64_t k = 0; k < list.numel(); ++k) at[rows[k]] = static_cast<int32_t>(k);
    return Listed(list, places);
  }
  const int32_t* Places() const { return rows != nullptr ? place.data_ptr<int32_t>() : nullptr; }
};

uint64_t* Bits(const at::Tensor& masks, int64_t layer) {
  return reinterpret_cast<uint64_t*>(masks[layer].data_ptr<int64_t>());
}

// One time slice's rows on each side: the graph is block diagonal (CsrGraph::BlockDiagonal), so
// a slice's rows read only the other side's rows of the same slice. The passes run slice by slice,
// every layer of a slice before the next slice, so that the layers' tables of one slice (about
// 45 MB at the published Yelp shape) stay in the last-level cache from one layer to the next;
// each row's sum is the same whatever the order, so the bits are.
struct Slice {
  int64_t r_lo, r_hi, c_lo, c_hi;
  Slice(const CsrIndex& a, int64_t blocks, int64_t s)
      : r_lo(s * (a.rows / blocks)),
        r_hi((s + 1) * (a.rows / blocks)),
        c_lo(s * (a.cols / blocks)),
        c_hi((s + 1) * (a.cols / blocks)) {}
  // The listed rows (ascending) that fall in the slice's rows.
  std::pair<const int64_t*, int64_t> ListedIn(const Listed& listed) const {
    const int64_t* lo = std::lower_bound(listed.rows, listed.rows + listed.n, r_lo);
    const int64_t* hi = std::lower_bound(listed.rows, listed.rows + listed.n, r_hi);
    return {lo, hi - lo};
  }
};

// A slice's table as the whole table's pointer: its row r (a row of the whole graph, in the slice)
// at AsWhole(p, first, d) + r·d. Only the slice's rows are ever read or written through it.
template <typename T>
T* AsWhole(T* slice_table, int64_t first_row, int64_t d) {
  return reinterpret_cast<T*>(reinterpret_cast<uintptr_t>(slice_table) - first_row * d * sizeof(T));
}

// listed: the rows whose last layer is computed (residual_gcn.h); r_total then holds those rows
// only, in list order, and the last layer's r mask too. blocks: the graph's time slices.
template <typename T>
void Forward(const CsrIndex& a, const CsrIndex& at_, const T* values, const at::Tensor& r0, const at::Tensor& c0,
             int64_t layers, T slope, const Listed& listed, T* r_total, T* c_total, at::Tensor& r_masks,
             at::Tensor& c_masks, int64_t blocks) {
  const int64_t d = r0.size(1);
  if (layers == 0) {
    const T* r0p = r0.data_ptr<T>();
    if (listed.rows == nullptr) {
      std::copy_n(r0p, r0.numel(), r_total);
    } else {
      for (int64_t k = 0; k < listed.n; ++k) std::copy_n(r0p + listed.rows[k] * d, d, r_total + k * d);
    }
    std::copy_n(c0.data_ptr<T>(), c0.numel(), c_total);
    return;
  }
  // The layers between the first and the last, one slice large: each slice reuses them, so their
  // lines stay in cache, and only the input, the totals and the masks go through memory.
  const int64_t slice_rows = a.rows / blocks, slice_cols = a.cols / blocks;
  at::Tensor r_buf[2], c_buf[2];
  if (layers > 1) {
    for (int k = 0; k < 2; ++k) {
      r_buf[k] = at::empty({slice_rows, d}, r0.options());
      c_buf[k] = at::empty({slice_cols, d}, c0.options());
    }
  }
  for (int64_t s = 0; s < blocks; ++s) {
    const Slice slice(a, blocks, s);
    const T* r_prev = r0.data_ptr<T>();
    const T* c_prev = c0.data_ptr<T>();
    for (int64_t l = 0; l < layers; ++l) {
      const bool last = l + 1 == layers, listed_only = last && listed.rows != nullptr;
      T* r_next = last ? nullptr : AsWhole(r_buf[l % 2].data_ptr<T>(), slice.r_lo, d);
      T* c_next = last ? nullptr : AsWhole(c_buf[l % 2].data_ptr<T>(), slice.c_lo, d);
      const internal::Gather<T> from_c = internal::GatherOf<T>(a, values, c_prev, d);
      using Epilogue = ResidualLeakyEpilogue<T>;
      Epilogue r_epilogue{r_prev, r_next, r_total, l == 0, Bits(r_masks, l), d, slope, T(layers + 1)};
      r_epilogue.listed = listed.Places();
      r_epilogue.compact_mask = listed_only;
      // The column pass reads the layer before, as the row pass does: both in one parallel loop.
      const internal::RowsIn<T, Epilogue> c_pass(
          at_, slice.c_lo, slice.c_hi, internal::GatherOf<T>(at_, values, r_prev, d),
          Epilogue{c_prev, c_next, c_total, l == 0, Bits(c_masks, l), d, slope, T(layers + 1)});
      if (listed_only) {
        const auto [rows, n] = slice.ListedIn(listed);
        cpu::RunTogether(internal::ListedRows<T, Epilogue>(rows, n, from_c, r_epilogue), c_pass);
      } else {
        cpu::RunTogether(internal::RowsIn<T, Epilogue>(a, slice.r_lo, slice.r_hi, from_c, r_epilogue), c_pass);
      }
      r_prev = r_next;
      c_prev = c_next;
    }
  }
}

// G^L = gS; G^{l-1}_r = gS_r + G^l_r + A·(G^l_c ⊙ LR'_c^l); G^{l-1}_c = gS_c + G^l_c + Aᵀ·(G^l_r ⊙ LR'_r^l).
// With a list, gS_r is held for the listed rows only ([n, d], the others zeros), and so is G^L_r:
// the first step's column pass sums the entries of listed sources only (the others would add
// +0, which leaves every sum's bits as they are: a sum from +0 is never -0).
template <typename T>
void Backward(const CsrIndex& a, const CsrIndex& at_, const T* values, const at::Tensor& gr, const at::Tensor& gc,
              int64_t layers, T slope, const at::Tensor& r_masks, const at::Tensor& c_masks, const Listed& listed,
              int64_t blocks, at::Tensor& r_out, at::Tensor& c_out) {
  const int64_t d = gr.size(1);
  const int32_t* gr_listed = listed.Places();
  if (layers == 0) {
    if (listed.rows == nullptr) {
      r_out = gr.clone();
    } else {
      r_out = at::zeros({a.rows, d}, gr.options());
      for (int64_t k = 0; k < listed.n; ++k) {
        std::copy_n(gr.data_ptr<T>() + k * d, d, r_out.data_ptr<T>() + listed.rows[k] * d);
      }
    }
    c_out = gc.clone();
    return;
  }
  // The last step's gradients are the outputs; the steps before it, one slice large (as the
  // forward's layers).
  r_out = at::empty({a.rows, d}, gr.options());
  c_out = at::empty_like(gc);
  at::Tensor r_buf[2], c_buf[2];
  if (layers > 1) {
    for (int k = 0; k < 2; ++k) {
      r_buf[k] = at::empty({a.rows / blocks, d}, gr.options());
      c_buf[k] = at::empty({a.cols / blocks, d}, gc.options());
    }
  }
  for (int64_t s = 0; s < blocks; ++s) {
    const Slice slice(a, blocks, s);
    const T* r_cur = gr.data_ptr<T>();
    const int32_t* r_cur_listed = gr_listed;
    const T* c_cur = gc.data_ptr<T>();
    for (int64_t l = layers - 1, k = 0; l >= 0; --l, k ^= 1) {
      T* r_next = l == 0 ? r_out.data_ptr<T>() : AsWhole(r_buf[k].data_ptr<T>(), slice.r_lo, d);
      T* c_next = l == 0 ? c_out.data_ptr<T>() : AsWhole(c_buf[k].data_ptr<T>(), slice.c_lo, d);
      using Epilogue = AddTwoEpilogue<T>;
      internal::Gather<T> from_c = internal::GatherOf<T>(a, values, c_cur, d);
      from_c.src_mask = Bits(c_masks, l);
      from_c.slope = slope;
      // The row and column passes read the step before only: both in one parallel loop.
      const internal::RowsIn<T, Epilogue> r_pass(
          a, slice.r_lo, slice.r_hi, from_c,
          Epilogue{gr.data_ptr<T>(), r_cur, r_next, d, l == 0, T(layers + 1), gr_listed, r_cur_listed});
      internal::Gather<T> from_r = internal::GatherOf<T>(at_, values, r_cur, d);
      from_r.src_mask = Bits(r_masks, l);
      from_r.slope = slope;
      // G^L_r is held for the listed rows only (and their masks, in list order): the column
      // pass reads each source at its place in the list, and skips the others.
      from_r.src_place = r_cur_listed;
      const Epilogue c_epilogue{gc.data_ptr<T>(), c_cur, c_next, d, l == 0, T(layers + 1)};
      cpu::RunTogether(r_pass, internal::RowsIn<T, Epilogue>(at_, slice.c_lo, slice.c_hi, from_r, c_epilogue));
      r_cur = r_next;
      r_cur_listed = nullptr;
      c_cur = c_next;
    }
  }
}

struct ResidualGcnFunction : public torch::autograd::Function<ResidualGcnFunction> {
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx, const at::Tensor& rows0,
                                                const at::Tensor& cols0, const CsrGraph* g, int64_t layers,
                                                double slope, const internal::EdgeValues& ev,
                                                const at::Tensor* last_rows_or_null) {
    // Not a tensor argument: autograd's apply would take an undefined one for an input.
    const at::Tensor last_rows = last_rows_or_null != nullptr ? *last_rows_or_null : at::Tensor();
    const Listed listed = last_rows.defined() ? Listed::Of(last_rows, g->rows()) : Listed();
    const at::Tensor r0 = internal::AsMatrix(rows0, g->rows(), g->num_blocks());
    const at::Tensor c0 = internal::AsMatrix(cols0, g->cols(), g->num_blocks());
    internal::Check(r0.size(1) == c0.size(1) && r0.scalar_type() == c0.scalar_type(),
                    "ResidualGcn: rows0 and cols0 differ in width or dtype");
    const int64_t d = r0.size(1), words = MaskWords(d);
    // Outputs allocated in their final shape (not views); the rows' as the list's where given.
    at::Tensor r_total =
        last_rows.defined() ? at::empty({listed.n, d}, r0.options()) : at::empty(rows0.sizes(), r0.options());
    at::Tensor c_total = at::empty(cols0.sizes(), c0.options());
    at::Tensor r_masks = at::empty({std::max<int64_t>(layers, 1), g->rows(), words}, at::kLong);
    at::Tensor c_masks = at::empty({std::max<int64_t>(layers, 1), g->cols(), words}, at::kLong);
    if (r0.scalar_type() == at::kFloat) {
      Forward<float>(g->forward(), g->transposed(), ev.values.defined() ? ev.values.data_ptr<float>() : nullptr, r0, c0,
                     layers, static_cast<float>(slope), listed, r_total.data_ptr<float>(), c_total.data_ptr<float>(),
                     r_masks, c_masks, g->num_blocks());
    } else {
      Forward<double>(g->forward(), g->transposed(), ev.values.defined() ? ev.values.data_ptr<double>() : nullptr, r0,
                      c0, layers, slope, listed, r_total.data_ptr<double>(), c_total.data_ptr<double>(), r_masks,
                      c_masks, g->num_blocks());
    }
    internal::SaveIndex(ctx, "a", g->forward());
    internal::SaveIndex(ctx, "at", g->transposed());
    ctx->saved_data["values"] = ev.values;
    ctx->saved_data["r_masks"] = r_masks;
    ctx->saved_data["last_rows"] = last_rows;
    ctx->saved_data["last_rows_places"] = listed.place;
    ctx->saved_data["c_masks"] = c_masks;
    ctx->saved_data["layers"] = layers;
    ctx->saved_data["slope"] = slope;
    ctx->saved_data["blocks"] = g->num_blocks();
    ctx->saved_data["r_sizes"] = rows0.sizes().vec();
    ctx->saved_data["c_sizes"] = cols0.sizes().vec();
    return {r_total, c_total};
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    ScopedPhase phase("backward: residual GCN");  // nested in the trainer's "backward" (--profile)
    const CsrIndex a = internal::LoadIndex(ctx, "a");
    const CsrIndex at_ = internal::LoadIndex(ctx, "at");
    const at::Tensor values = ctx->saved_data["values"].toTensor();
    const at::Tensor r_masks = ctx->saved_data["r_masks"].toTensor();
    const at::Tensor c_masks = ctx->saved_data["c_masks"].toTensor();
    const int64_t layers = ctx->saved_data["layers"].toInt();
    const double slope = ctx->saved_data["slope"].toDouble();
    const int64_t blocks = ctx->saved_data["blocks"].toInt();
    const int64_t d = grads[0].size(-1);
    // A gradient made only of sparse gathers' rows (cpu::GatherRowsSparseGradient) arrives sparse.
    const auto dense = [](const at::Tensor& g) { return g.is_sparse() ? g.to_dense() : g; };
    const at::Tensor last_rows = ctx->saved_data["last_rows"].toTensor();
    const Listed listed =
        last_rows.defined() ? Listed(last_rows, ctx->saved_data["last_rows_places"].toTensor()) : Listed();
    // The listed rows' gradient added to +0, as a gather of them from all rows would give it
    // back (so -0 becomes +0): the input gradients are then that gather's, bit for bit.
    const at::Tensor gr =
        last_rows.defined() ? at::zeros({listed.n, d}, grads[0].options()).add_(dense(grads[0]).reshape({listed.n, d}))
                            : dense(grads[0]).reshape({a.rows, d}).contiguous();
    const at::Tensor gc = dense(grads[1]).reshape({a.cols, d}).contiguous();
    at::Tensor r_out, c_out;
    if (gr.scalar_type() == at::kFloat) {
      Backward<float>(a, at_, values.defined() ? values.data_ptr<float>() : nullptr, gr, gc, layers,
                      static_cast<float>(slope), r_masks, c_masks, listed, blocks, r_out, c_out);
    } else {
      Backward<double>(a, at_, values.defined() ? values.data_ptr<double>() : nullptr, gr, gc, layers, slope, r_masks,
                       c_masks, listed, blocks, r_out, c_out);
    }
    return {r_out.view(ctx->saved_data["r_sizes"].toIntVector()),
            c_out.view(ctx->saved_data["c_sizes"].toIntVector()),
            at::Tensor(),
            at::Tensor(),
            at::Tensor(),
            at::Tensor(),
            at::Tensor()};
  }
};

// The unfused formulation of residual_gcn.h's header, through Propagate's ATen path.
ResidualGcnResult UnfusedResidualGcn(const CsrGraph& g, const at::Tensor& rows0, const at::Tensor& cols0,
                                     int64_t layers, double slope, const at::Tensor& edge_values) {
  at::Tensor r = rows0, c = cols0, sum_r = rows0, sum_c = cols0;
  for (int64_t l = 0; l < layers; ++l) {
    at::Tensor r2 = at::leaky_relu(Propagate(g, c, edge_values), slope) + r;
    at::Tensor c2 = at::leaky_relu(PropagateTransposed(g, r, edge_values), slope) + c;
    r = r2;
    c = c2;
    sum_r = sum_r + r;
    sum_c = sum_c + c;
  }
  return {sum_r, sum_c};
}

}  // namespace

ResidualGcnResult ResidualGcn(const CsrGraph& g, const at::Tensor& rows0, const at::Tensor& cols0, int64_t layers,
                              double slope, const at::Tensor& edge_values, const at::Tensor& last_layer_rows) {
  internal::Check(layers >= 0, "ResidualGcn: layers must be >= 0");
  const internal::EdgeValues ev = internal::CheckedEdgeValues(g, edge_values, rows0);
  at::Tensor last_rows;
  if (last_layer_rows.defined()) {
    last_rows = last_layer_rows.to(at::kCPU, at::kLong).contiguous();
    internal::Check(last_rows.dim() == 1, "ResidualGcn: last_layer_rows must be a list of rows");
    const int64_t* row = last_rows.data_ptr<int64_t>();
    bool in_range = true, ascending = true;  // one Check each, not two a row: each builds its message
    for (int64_t k = 0; k < last_rows.numel(); ++k) {
      in_range = in_range && row[k] >= 0 && row[k] < g.rows();
      ascending = ascending && (k == 0 || row[k] > row[k - 1]);
    }
    internal::Check(in_range, "ResidualGcn: last_layer_rows out of range");
    internal::Check(ascending, "ResidualGcn: last_layer_rows not ascending, or a row twice");
  }
  if (!cpu::UseCpuKernels(rows0)) {
    ResidualGcnResult whole = UnfusedResidualGcn(g, rows0, cols0, layers, slope, ev.values);
    if (last_rows.defined()) {
      whole.rows = whole.rows.reshape({-1, rows0.size(-1)}).index_select(0, last_rows.to(rows0.device()));
    }
    return whole;
  }
  const auto out =
      ResidualGcnFunction::apply(rows0, cols0, &g, layers, slope, ev, last_rows.defined() ? &last_rows : nullptr);
  return {out[0], out[1]};
}

}  // namespace hardgnn::graph
