#include "core/graph/spmm.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <mutex>
#include <stdexcept>
#include <string>

#include "core/cpu/kernel_path.h"
#include "core/graph/spmm_kernel.h"
#include "core/model/profile.h"

namespace hardgnn::graph {
namespace {

at::Tensor ToTensor(const std::vector<int64_t>& v) {
  return at::from_blob(const_cast<int64_t*>(v.data()), {static_cast<int64_t>(v.size())}, at::kLong).clone();
}
at::Tensor ToTensor(const std::vector<int32_t>& v) {
  return at::from_blob(const_cast<int32_t*>(v.data()), {static_cast<int64_t>(v.size())}, at::kInt).clone();
}

// Row boundaries of chunks of about equal cost (one unit per entry and per row).
at::Tensor BalancedChunks(const std::vector<int64_t>& row_ptr) {
  const int64_t rows = static_cast<int64_t>(row_ptr.size()) - 1;
  const int64_t total = row_ptr.back() + rows;
  const int64_t num_chunks = std::clamp<int64_t>(total / 16384, 1, std::max<int64_t>(rows, 1));
  std::vector<int64_t> bounds = {0};
  for (int64_t c = 1; c < num_chunks; ++c) {
    const int64_t target = total * c / num_chunks;
    int64_t r = bounds.back();
    while (r < rows && row_ptr[r] + r < target) ++r;
    bounds.push_back(r);
  }
  bounds.push_back(rows);
  return ToTensor(bounds);
}

CsrIndex MakeIndex(int64_t rows, int64_t cols, const std::vector<int64_t>& row_ptr, const std::vector<int32_t>& col,
                   const std::vector<int64_t>* edge) {
  CsrIndex m;
  m.rows = rows;
  m.cols = cols;
  m.row_ptr = ToTensor(row_ptr);
  m.col = ToTensor(col);
  if (edge != nullptr) m.edge = ToTensor(*edge);
  m.chunks = BalancedChunks(row_ptr);
  return m;
}

// out[r] = Σ_e w_e · dense[col[e]] over the entries e of row r (w_e = 1 without values).
template <typename T>
void SpmmTyped(const CsrIndex& m, const at::Tensor& values, const at::Tensor& dense, at::Tensor& out) {
  const T* vals = values.defined() ? values.data_ptr<T>() : nullptr;
  const int64_t d = dense.size(1);
  internal::RunRows(m, internal::GatherOf<T>(m, vals, dense.data_ptr<T>(), d),
                    internal::StoreEpilogue<T>{out.data_ptr<T>(), d});
}

struct PropagateFunction : public torch::autograd::Function<PropagateFunction> {
  // out = m · dense; the backward applies the other orientation `mt`.
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& dense,
                            const internal::EdgeValues& ev, const CsrIndex* m, const CsrIndex* mt, int64_t num_blocks) {
    const at::Tensor& edge_values = ev.values;
    const at::Tensor x = internal::AsMatrix(dense, m->cols, num_blocks);
    const int64_t d = x.size(1);
    at::Tensor out = dense.dim() == 3 ? at::empty({num_blocks, m->rows / num_blocks, d}, x.options())
                                      : at::empty({m->rows, d}, x.options());
    at::Tensor out2d = out.view({m->rows, d});
    SpmmInto(*m, edge_values, x, out2d);
    internal::SaveIndex(ctx, "mt", *mt);
    ctx->saved_data["values"] = edge_values;
    ctx->saved_data["in_sizes"] = dense.sizes().vec();
    return out;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    ScopedPhase phase("backward: sparse products");  // nested in the trainer's "backward" (--profile)
    const CsrIndex mt = internal::LoadIndex(ctx, "mt");
    const at::Tensor values = ctx->saved_data["values"].toTensor();
    const auto in_sizes = ctx->saved_data["in_sizes"].toIntVector();
    const at::Tensor g = grads[0].reshape({mt.cols, grads[0].size(-1)}).contiguous();
    at::Tensor gin = at::empty(in_sizes, g.options());
    at::Tensor gin2d = gin.view({mt.rows, g.size(1)});
    SpmmInto(mt, values, g, gin2d);
    return {gin, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

// out[to[e]] += w_e · x[from[e]] over the edges, with (to, from) = (row, col) for A and
// (col, row) for Aᵀ, in LibTorch ops on dense's device.
at::Tensor AtenApply(const CsrGraph& g, const at::Tensor& dense, const at::Tensor& values, bool transposed) {
  const auto [row, col] = g.Coo(dense.device());
  const int64_t n_in = transposed ? g.rows() : g.cols(), n_out = transposed ? g.cols() : g.rows();
  const at::Tensor x = internal::AsMatrix(dense, n_in, g.num_blocks());
  at::Tensor messages = x.index_select(0, transposed ? row : col);
  if (values.defined()) messages = messages * values.to(x.device()).unsqueeze(1);
  const at::Tensor out = at::zeros({n_out, x.size(1)}, x.options()).index_add(0, transposed ? col : row, messages);
  return dense.dim() == 3 ? out.view({g.num_blocks(), n_out / g.num_blocks(), x.size(1)}) : out;
}

at::Tensor Apply(const CsrGraph& g, const at::Tensor& dense, const at::Tensor& edge_values, bool transposed) {
  const internal::EdgeValues values = internal::CheckedEdgeValues(g, edge_values, dense);
  if (!cpu::UseCpuKernels(dense)) return AtenApply(g, dense, values.values, transposed);
  const CsrIndex* m = transposed ? &g.transposed() : &g.forward();
  const CsrIndex* mt = transposed ? &g.forward() : &g.transposed();
  return PropagateFunction::apply(dense, values, m, mt, g.num_blocks());
}

}  // namespace

namespace internal {

void Check(bool ok, const std::string& what) {
  if (!ok) throw std::invalid_argument("graph: " + what);
}

at::Tensor AsMatrix(const at::Tensor& dense, int64_t n, int64_t num_blocks) {
  Check(dense.scalar_type() == at::kFloat || dense.scalar_type() == at::kDouble, "dense must be float or double");
  if (dense.dim() == 3) {
    Check(dense.size(0) == num_blocks && dense.size(0) * dense.size(1) == n,
          "3-D dense must be [G, n/G, d] for a graph of G blocks");
  } else {
    Check(dense.dim() == 2 && dense.size(0) == n, "dense must be [n, d] with n = " + std::to_string(n));
  }
  return dense.reshape({n, dense.size(-1)}).contiguous();
}

EdgeValues CheckedEdgeValues(const CsrGraph& g, const at::Tensor& edge_values, const at::Tensor& dense) {
  if (!edge_values.defined()) return {};
  Check(edge_values.dim() == 1 && edge_values.numel() == g.nnz(), "edge_values must be [nnz]");
  Check(edge_values.scalar_type() == dense.scalar_type(), "edge_values must have dense's dtype");
  return {edge_values.detach().contiguous()};
}

void SaveIndex(torch::autograd::AutogradContext* ctx, const std::string& prefix, const CsrIndex& m) {
  ctx->saved_data[prefix + ".row_ptr"] = m.row_ptr;
  ctx->saved_data[prefix + ".col"] = m.col;
  ctx->saved_data[prefix + ".edge"] = m.edge;
  ctx->saved_data[prefix + ".chunks"] = m.chunks;
  ctx->saved_data[prefix + ".rows"] = m.rows;
  ctx->saved_data[prefix + ".cols"] = m.cols;
}

CsrIndex LoadIndex(torch::autograd::AutogradContext* ctx, const std::string& prefix) {
  CsrIndex m;
  m.row_ptr = ctx->saved_data[prefix + ".row_ptr"].toTensor();
  m.col = ctx->saved_data[prefix + ".col"].toTensor();
  m.edge = ctx->saved_data[prefix + ".edge"].toTensor();
  m.chunks = ctx->saved_data[prefix + ".chunks"].toTensor();
  m.rows = ctx->saved_data[prefix + ".rows"].toInt();
  m.cols = ctx->saved_data[prefix + ".cols"].toInt();
  return m;
}

Transposed TransposeRows(int64_t num_cols, const int64_t* row_ptr, const int32_t* col, const int64_t* rows,
                         int64_t n) {
  const auto row = [&](int64_t k) { return rows != nullptr ? rows[k] : k; };
  Transposed t;
  t.row_ptr.assign(num_cols + 1, 0);
  for (int64_t k = 0; k < n; ++k) {
    for (int64_t e = row_ptr[row(k)]; e < row_ptr[row(k) + 1]; ++e) ++t.row_ptr[col[e] + 1];
  }
  for (int64_t c = 0; c < num_cols; ++c) t.row_ptr[c + 1] += t.row_ptr[c];
  t.col.resize(t.row_ptr[num_cols]);
  t.edge.resize(t.row_ptr[num_cols]);
  std::vector<int64_t> next(t.row_ptr.begin(), t.row_ptr.end() - 1);
  for (int64_t k = 0; k < n; ++k) {  // sources in order: each transposed row ascending
    for (int64_t e = row_ptr[row(k)]; e < row_ptr[row(k) + 1]; ++e) {
      const int64_t at = next[col[e]]++;
      t.col[at] = static_cast<int32_t>(k);
      t.edge[at] = e;
    }
  }
  return t;
}

}  // namespace internal

std::pair<at::Tensor, at::Tensor> CsrGraph::Coo(const c10::Device& device) const {
  std::lock_guard<std::mutex> lock(coo_->mu);
  for (const auto& [where, coo] : coo_->per_device) {
    if (where == device) return coo;
  }
  const at::Tensor row = at::repeat_interleave(at::arange(fwd_.rows, at::kLong), fwd_.row_ptr.diff(), /*dim=*/0, /*output_size=*/nnz_);
  coo_->per_device.emplace_back(device, std::make_pair(row.to(device), fwd_.col.to(at::kLong).to(device)));
  return coo_->per_device.back().second;
}

CsrGraph::CsrGraph(const data::Csr& a) : CsrGraph(a, 1) {}

CsrGraph::CsrGraph(const data::Csr& a, int64_t num_blocks)
    : nnz_(a.nnz()), num_blocks_(num_blocks) {
  if (static_cast<int64_t>(a.row_ptr.size()) != a.num_rows + 1 || a.row_ptr.back() != a.nnz()) {
    throw std::invalid_argument("CsrGraph: inconsistent Csr");
  }
  fwd_ = MakeIndex(a.num_rows, a.num_cols, a.row_ptr, a.col, nullptr);
  for (int32_t c : a.col) {
    if (c < 0 || c >= a.num_cols) throw std::invalid_argument("CsrGraph: column out of range");
  }
  const internal::Transposed t =
      internal::TransposeRows(a.num_cols, a.row_ptr.data(), a.col.data(), nullptr, a.num_rows);
  bwd_ = MakeIndex(a.num_cols, a.num_rows, t.row_ptr, t.col, &t.edge);
}

CsrGraph CsrGraph::BlockDiagonal(const std::vector<data::Csr>& blocks) {
  if (blocks.empty()) throw std::invalid_argument("CsrGraph::BlockDiagonal: no blocks");
  const int64_t R = blocks[0].num_rows, C = blocks[0].num_cols;
  const int64_t G = static_cast<int64_t>(blocks.size());
  if (G * std::max(R, C) > (int64_t{1} << 31) - 1) throw std::invalid_argument("BlockDiagonal: too many columns");
  data::Csr all;
  all.num_rows = G * R;
  all.num_cols = G * C;
  all.row_ptr.assign(1, 0);
  all.row_ptr.reserve(G * R + 1);
  for (int64_t k = 0; k < G; ++k) {
    const data::Csr& b = blocks[k];
    if (b.num_rows != R || b.num_cols != C) throw std::invalid_argument("BlockDiagonal: blocks differ in shape");
    const int64_t base = all.row_ptr.back();
    for (int64_t r = 0; r < R; ++r) all.row_ptr.push_back(base + b.row_ptr[r + 1]);
    for (int32_t c : b.col) all.col.push_back(static_cast<int32_t>(c + k * C));
  }
  return CsrGraph(all, G);
}

void SpmmInto(const CsrIndex& m, const at::Tensor& edge_values, const at::Tensor& dense, at::Tensor& out) {
  internal::Check(dense.dim() == 2 && dense.size(0) == m.cols && dense.is_contiguous(),
                  "SpmmInto: dense must be [cols, d]");
  internal::Check(out.dim() == 2 && out.size(0) == m.rows && out.size(1) == dense.size(1) && out.is_contiguous() &&
                      out.scalar_type() == dense.scalar_type(),
                  "SpmmInto: out must be [rows, d] like dense");
  if (dense.scalar_type() == at::kFloat) {
    SpmmTyped<float>(m, edge_values, dense, out);
  } else {
    SpmmTyped<double>(m, edge_values, dense, out);
  }
}

at::Tensor Propagate(const CsrGraph& g, const at::Tensor& dense, const at::Tensor& edge_values) {
  return Apply(g, dense, edge_values, /*transposed=*/false);
}

at::Tensor PropagateTransposed(const CsrGraph& g, const at::Tensor& dense, const at::Tensor& edge_values) {
  return Apply(g, dense, edge_values, /*transposed=*/true);
}

}  // namespace hardgnn::graph
