#include "core/graph/residual_gcn.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <vector>

#include "core/cpu/kernel_path.h"
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
// the pre-activation into mask.
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
  HARDGNN_INLINE void EmptyRow(int64_t r) const {
    if (first) {
      for (int64_t j = 0; j < d; ++j) total[r * d + j] = layers_plus_one * prev[r * d + j];
    }
  }
  template <typename V, int kNV>
  HARDGNN_INLINE void Tile(int64_t r, int64_t off, const V (&acc)[kNV]) const {
    constexpr int L = cpu::Lanes<V>::kN;
    const V sl = cpu::SplatV<V>(slope);
    uint64_t bits = 0;
    for (int v = 0; v < kNV; ++v) {
      const V a = acc[v];
      bits |= cpu::PositiveBits(a) << (v * L);
      const int64_t i = r * d + off + v * L;
      const V p = cpu::LoadV<V>(prev + i);
      const V e = (a > V{} ? a : a * sl) + p;
      if (next != nullptr) cpu::StoreV<V>(next + i, e);
      cpu::StoreV<V>(total + i, (first ? p : cpu::LoadV<V>(total + i)) + e);
    }
    uint64_t& word = mask[r * MaskWords(d) + off / kMaskBits];
    const int64_t shift = off % kMaskBits;
    word = shift == 0 ? bits : (word | (bits << shift));
  }
};

// Backward epilogue: out = a + b + sum; empty rows: out = (L + 1)·a on the last step, else skipped.
template <typename T>
struct AddTwoEpilogue {
  static constexpr bool kSkipsEmptyRows = true;
  const T* a;
  const T* b;
  T* out;
  int64_t d;
  bool last;
  T layers_plus_one;
  HARDGNN_INLINE void EmptyRow(int64_t r) const {
    if (last) {
      for (int64_t j = 0; j < d; ++j) out[r * d + j] = layers_plus_one * a[r * d + j];
    }
  }
  template <typename V, int kNV>
  HARDGNN_INLINE void Tile(int64_t r, int64_t off, const V (&acc)[kNV]) const {
    constexpr int L = cpu::Lanes<V>::kN;
    for (int v = 0; v < kNV; ++v) {
      const int64_t i = r * d + off + v * L;
      cpu::StoreV<V>(out + i, cpu::LoadV<V>(a + i) + cpu::LoadV<V>(b + i) + acc[v]);
    }
  }
};

uint64_t* Bits(const at::Tensor& masks, int64_t layer) {
  return reinterpret_cast<uint64_t*>(masks[layer].data_ptr<int64_t>());
}

// last_rows: undefined (every row) or the rows whose last layer is computed (residual_gcn.h).
template <typename T>
void Forward(const CsrIndex& a, const CsrIndex& at_, const T* values, const at::Tensor& r0, const at::Tensor& c0,
             int64_t layers, T slope, const at::Tensor& last_rows, T* r_total, T* c_total, at::Tensor& r_masks,
             at::Tensor& c_masks) {
  const int64_t d = r0.size(1);
  if (layers == 0) {
    std::copy_n(r0.data_ptr<T>(), r0.numel(), r_total);
    std::copy_n(c0.data_ptr<T>(), c0.numel(), c_total);
    return;
  }
  at::Tensor r_buf[2], c_buf[2];
  if (layers > 1) {
    for (int k = 0; k < 2; ++k) {
      r_buf[k] = at::empty_like(r0);
      c_buf[k] = at::empty_like(c0);
    }
  }
  const T* r_prev = r0.data_ptr<T>();
  const T* c_prev = c0.data_ptr<T>();
  for (int64_t l = 0; l < layers; ++l) {
    const bool last = l + 1 == layers;
    T* r_next = last ? nullptr : r_buf[l % 2].data_ptr<T>();
    T* c_next = last ? nullptr : c_buf[l % 2].data_ptr<T>();
    const internal::Gather<T> from_c = internal::GatherOf<T>(a, values, c_prev, d);
    const ResidualLeakyEpilogue<T> r_epilogue{r_prev, r_next, r_total, l == 0, Bits(r_masks, l), d, slope, T(layers + 1)};
    if (last && last_rows.defined()) {
      // The unlisted rows' last-layer signs are never set; zeros, so that the backward, which
      // multiplies them by those rows' zero gradients, reads defined bits.
      r_masks[l].zero_();
      internal::RunListedRows(last_rows.data_ptr<int64_t>(), last_rows.numel(), from_c, r_epilogue);
    } else {
      internal::RunRows(a, from_c, r_epilogue);
    }
    internal::RunRows(
        at_, internal::GatherOf<T>(at_, values, r_prev, d),
        ResidualLeakyEpilogue<T>{c_prev, c_next, c_total, l == 0, Bits(c_masks, l), d, slope, T(layers + 1)});
    r_prev = r_next;
    c_prev = c_next;
  }
}

// G^L = gS; G^{l-1}_r = gS_r + G^l_r + A·(G^l_c ⊙ LR'_c^l); G^{l-1}_c = gS_c + G^l_c + Aᵀ·(G^l_r ⊙ LR'_r^l).
template <typename T>
void Backward(const CsrIndex& a, const CsrIndex& at_, const T* values, const at::Tensor& gr, const at::Tensor& gc,
              int64_t layers, T slope, const at::Tensor& r_masks, const at::Tensor& c_masks, at::Tensor& r_out,
              at::Tensor& c_out) {
  const int64_t d = gr.size(1);
  if (layers == 0) {
    r_out = gr.clone();
    c_out = gc.clone();
    return;
  }
  at::Tensor r_buf[2] = {at::empty_like(gr), layers > 1 ? at::empty_like(gr) : at::Tensor()};
  at::Tensor c_buf[2] = {at::empty_like(gc), layers > 1 ? at::empty_like(gc) : at::Tensor()};
  const T* r_cur = gr.data_ptr<T>();
  const T* c_cur = gc.data_ptr<T>();
  for (int64_t l = layers - 1, k = 0; l >= 0; --l, k ^= 1) {
    T* r_next = r_buf[k].data_ptr<T>();
    T* c_next = c_buf[k].data_ptr<T>();
    internal::Gather<T> from_c = internal::GatherOf<T>(a, values, c_cur, d);
    from_c.src_mask = Bits(c_masks, l);
    from_c.slope = slope;
    internal::RunRows(a, from_c, AddTwoEpilogue<T>{gr.data_ptr<T>(), r_cur, r_next, d, l == 0, T(layers + 1)});
    internal::Gather<T> from_r = internal::GatherOf<T>(at_, values, r_cur, d);
    from_r.src_mask = Bits(r_masks, l);
    from_r.slope = slope;
    internal::RunRows(at_, from_r, AddTwoEpilogue<T>{gc.data_ptr<T>(), c_cur, c_next, d, l == 0, T(layers + 1)});
    r_cur = r_next;
    c_cur = c_next;
    r_out = r_buf[k];
    c_out = c_buf[k];
  }
}

struct ResidualGcnFunction : public torch::autograd::Function<ResidualGcnFunction> {
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx, const at::Tensor& rows0,
                                                const at::Tensor& cols0, const CsrGraph* g, int64_t layers,
                                                double slope, const internal::EdgeValues& ev,
                                                const at::Tensor* last_rows_or_null) {
    // Not a tensor argument: autograd's apply would take an undefined one for an input.
    const at::Tensor last_rows = last_rows_or_null != nullptr ? *last_rows_or_null : at::Tensor();
    const at::Tensor r0 = internal::AsMatrix(rows0, g->rows(), g->num_blocks());
    const at::Tensor c0 = internal::AsMatrix(cols0, g->cols(), g->num_blocks());
    internal::Check(r0.size(1) == c0.size(1) && r0.scalar_type() == c0.scalar_type(),
                    "ResidualGcn: rows0 and cols0 differ in width or dtype");
    const int64_t d = r0.size(1), words = MaskWords(d);
    // Outputs allocated in their final shape (not views).
    at::Tensor r_total = at::empty(rows0.sizes(), r0.options()), c_total = at::empty(cols0.sizes(), c0.options());
    at::Tensor r_masks = at::empty({std::max<int64_t>(layers, 1), g->rows(), words}, at::kLong);
    at::Tensor c_masks = at::empty({std::max<int64_t>(layers, 1), g->cols(), words}, at::kLong);
    if (r0.scalar_type() == at::kFloat) {
      Forward<float>(g->forward(), g->transposed(), ev.values.defined() ? ev.values.data_ptr<float>() : nullptr, r0, c0,
                     layers, static_cast<float>(slope), last_rows, r_total.data_ptr<float>(), c_total.data_ptr<float>(),
                     r_masks, c_masks);
    } else {
      Forward<double>(g->forward(), g->transposed(), ev.values.defined() ? ev.values.data_ptr<double>() : nullptr, r0,
                      c0, layers, slope, last_rows, r_total.data_ptr<double>(), c_total.data_ptr<double>(), r_masks,
                      c_masks);
    }
    internal::SaveIndex(ctx, "a", g->forward());
    internal::SaveIndex(ctx, "at", g->transposed());
    ctx->saved_data["values"] = ev.values;
    ctx->saved_data["r_masks"] = r_masks;
    ctx->saved_data["c_masks"] = c_masks;
    ctx->saved_data["layers"] = layers;
    ctx->saved_data["slope"] = slope;
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
    const int64_t d = grads[0].size(-1);
    // A gradient made only of sparse gathers' rows (cpu::GatherRowsSparseGradient) arrives sparse.
    const auto dense = [](const at::Tensor& g) { return g.is_sparse() ? g.to_dense() : g; };
    const at::Tensor gr = dense(grads[0]).reshape({a.rows, d}).contiguous();
    const at::Tensor gc = dense(grads[1]).reshape({a.cols, d}).contiguous();
    at::Tensor r_out, c_out;
    if (gr.scalar_type() == at::kFloat) {
      Backward<float>(a, at_, values.defined() ? values.data_ptr<float>() : nullptr, gr, gc, layers,
                      static_cast<float>(slope), r_masks, c_masks, r_out, c_out);
    } else {
      Backward<double>(a, at_, values.defined() ? values.data_ptr<double>() : nullptr, gr, gc, layers, slope, r_masks,
                       c_masks, r_out, c_out);
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
  if (!cpu::UseCpuKernels(rows0)) return UnfusedResidualGcn(g, rows0, cols0, layers, slope, ev.values);
  at::Tensor last_rows;
  if (last_layer_rows.defined()) {
    last_rows = last_layer_rows.to(at::kLong).contiguous();
    internal::Check(last_rows.dim() == 1, "ResidualGcn: last_layer_rows must be a list of rows");
    const int64_t* row = last_rows.data_ptr<int64_t>();
    for (int64_t k = 0; k < last_rows.numel(); ++k) {
      internal::Check(row[k] >= 0 && row[k] < g.rows(), "ResidualGcn: last_layer_rows out of range");
      internal::Check(k == 0 || row[k] > row[k - 1], "ResidualGcn: last_layer_rows not ascending, or a row twice");
    }
  }
  const auto out =
      ResidualGcnFunction::apply(rows0, cols0, &g, layers, slope, ev, last_rows.defined() ? &last_rows : nullptr);
  return {out[0], out[1]};
}

}  // namespace hardgnn::graph
