#include "core/cpu/sparse_rows.h"

#include <algorithm>
#include <vector>

#include <ATen/ATen.h>
#include <torch/csrc/autograd/custom_function.h>

#include "core/cpu/kernel_path.h"
#include "core/cpu/parallel.h"
#include "core/cpu/vec.h"

namespace hardgnn::cpu {
namespace {

// Rows of gradient parts: part i is src[i·d, (i + 1)·d) for row rows[i], i < n.
template <typename T>
struct RowParts {
  const int64_t* rows;
  int64_t n;
  const T* src;
};

// How many rows ahead the row passes below fetch (rows/gather_gradient in benchmarks/
// bandwidth_bench: 1.3-1.5x faster at 4, 8 or 16 on an AMD Zen 5, alike at the three).
constexpr int64_t kRowsAhead = 8;

// Asks for row `row` (d elements) in cache, one prefetch a 64-byte line.
template <typename T>
void FetchRow(const T* row, int64_t d, bool for_write) {
  const char* p = reinterpret_cast<const char*>(row);
  for (int64_t b = 0; b < d * static_cast<int64_t>(sizeof(T)); b += 64) {
    if (for_write) {
      __builtin_prefetch(p + b, 1);
    } else {
      __builtin_prefetch(p + b);
    }
  }
}

// dense [R, d] = zeros with every part's rows added, a row's parts in the order of the list and
// of each part's indices: index_add_ into at::zeros bit for bit (each element +0 plus its parts
// in index order; ATen adds x·1 + y, which rounds as x + y), but each row written once, in
// parallel over rows (index_add_ runs on one thread). The parts are grouped by row first, in
// that order (a counting sort). Rows are visited as [slices, R / slices] column by column (all
// slices of one inner row, then the next), the order in which a [N, slices, d] gradient of
// gathered slices (the fusion's) lies in memory; a row's sum does not depend on it.
template <typename T>
void ZerosPlusRows(int64_t num_rows, int64_t d, const std::vector<RowParts<T>>& parts, T* dense, int64_t slices = 1) {
  std::vector<int64_t> start(num_rows + 1, 0);
  int64_t total = 0;
  for (const RowParts<T>& p : parts) {
    for (int64_t i = 0; i < p.n; ++i) ++start[p.rows[i] + 1];
    total += p.n;
  }
  for (int64_t r = 0; r < num_rows; ++r) start[r + 1] += start[r];
  std::vector<const T*> order(total);
  std::vector<int64_t> next(start.begin(), start.end() - 1);
  for (const RowParts<T>& p : parts) {
    for (int64_t i = 0; i < p.n; ++i) order[next[p.rows[i]]++] = p.src + i * d;
  }
  const int64_t vec_end = d - d % kLanes<T>, inner = num_rows / slices;
  ForEachChunk(inner, std::max<int64_t>(1, 2048 / slices), [&](int64_t b0, int64_t b1, int64_t) {
    for (int64_t i = b0 * slices; i < b1 * slices; ++i) {
      // The rows kRowsAhead on, in `slices` strided streams the hardware's prefetchers follow
      // too late: the output row to write and its parts to read.
      if (i + kRowsAhead < b1 * slices) {
        const int64_t ahead = (i + kRowsAhead) % slices * inner + (i + kRowsAhead) / slices;
        FetchRow(dense + ahead * d, d, /*for_write=*/true);
        for (int64_t j = start[ahead]; j < start[ahead + 1]; ++j) FetchRow(order[j], d, false);
      }
      const int64_t r = i % slices * inner + i / slices;
      T* out = dense + r * d;
      std::fill_n(out, d, T(0));
      for (int64_t j = start[r]; j < start[r + 1]; ++j) {
        const T* part = order[j];
        int64_t k = 0;
        for (; k < vec_end; k += kLanes<T>) Store(out + k, Load(out + k) + Load(part + k));
        for (; k < d; ++k) out[k] += part[k];
      }
    }
  });
}

// A sparse COO gradient of x (sizes: x's) holding row i of g ([n, d]) at flat row flat[i] of x
// seen as [R, d]: its leading dims sparse, the last dense. The indices unravelled in one
// parallel pass; uncoalesced, so its repeats stay as they came.
at::Tensor SparseRowsGradient(const std::vector<int64_t>& sizes, const at::Tensor& flat, const at::Tensor& g) {
  const int64_t sparse_dims = static_cast<int64_t>(sizes.size()) - 1, n = flat.numel();
  at::Tensor indices = at::empty({sparse_dims, n}, flat.options().dtype(at::kLong));
  const at::Tensor rows = flat.to(at::kLong).contiguous();
  const int64_t* f = rows.data_ptr<int64_t>();
  int64_t* out = indices.data_ptr<int64_t>();
  ForEachChunk(n, 16384, [&](int64_t i0, int64_t i1, int64_t) {
    for (int64_t i = i0; i < i1; ++i) {
      int64_t rest = f[i];
      for (int64_t k = sparse_dims - 1; k >= 0; --k) {  // last dim fastest
        out[k * n + i] = rest % sizes[k];
        rest /= sizes[k];
      }
    }
  });
  return at::_sparse_coo_tensor_unsafe(indices, g.contiguous(), sizes, g.options().layout(at::kSparse));
}

// The flat rows ([n], of x seen as [R, d]) of a sparse gradient SparseRowsGradient made, or any
// COO tensor with x's leading dims sparse and its last dense.
at::Tensor FlatRowsOf(const at::Tensor& sparse) {
  const at::Tensor indices = sparse._indices();
  at::Tensor flat = indices[0].clone();
  for (int64_t k = 1; k < indices.size(0); ++k) flat.mul_(sparse.size(k)).add_(indices[k]);
  return flat.contiguous();
}

// Rows flat_rows of x seen as [R, d].
at::Tensor Rows(const at::Tensor& x, const at::Tensor& flat_rows) {
  return x.reshape({-1, x.size(-1)}).index_select(0, flat_rows);
}

// Rows(x, flat_rows) (the same values, copied) for a contiguous float or double x on the CPU
// kernels: in parallel, each thread fetching the source row kRowsAhead on (the fusion's rows of
// the per-slice item embeddings come in `slices` strided streams; rows/gather_slices in
// benchmarks/bandwidth_bench).
at::Tensor CopyRows(const at::Tensor& x, const at::Tensor& flat_rows) {
  const int64_t d = x.dim() > 0 ? x.size(-1) : 0;
  const bool float_or_double = x.scalar_type() == at::kFloat || x.scalar_type() == at::kDouble;
  if (!x.is_cpu() || !x.is_contiguous() || !float_or_double || d == 0 || flat_rows.scalar_type() != at::kLong ||
      flat_rows.dim() != 1) {
    return Rows(x, flat_rows);
  }
  const at::Tensor flat = flat_rows.contiguous();
  const int64_t n = flat.numel(), num_rows = x.numel() / d;
  const int64_t* f = flat.data_ptr<int64_t>();
  bool in_range = true;
  for (int64_t i = 0; i < n; ++i) in_range = in_range && f[i] >= 0 && f[i] < num_rows;
  TORCH_CHECK(in_range, "GatherRows: a row index out of range of the ", num_rows, " rows");
  at::Tensor out = at::empty({n, d}, x.options());
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "CopyRows", [&] {
    const scalar_t* src = x.data_ptr<scalar_t>();
    scalar_t* dst = out.data_ptr<scalar_t>();
    ForEachChunk(n, 2048, [&](int64_t i0, int64_t i1, int64_t) {
      for (int64_t i = i0; i < i1; ++i) {
        if (i + kRowsAhead < i1) FetchRow(src + f[i + kRowsAhead] * d, d, /*for_write=*/false);
        std::copy_n(src + f[i] * d, d, dst + i * d);
      }
    });
  });
  return out;
}

// The buffer of a fork's gradient, shared by the fork and its handles' gathers: the first
// gather's backward allocates it (as a dense gather's gradient would be, so that the allocator's
// layout, and the resident peak, stay as they were), the fork's backward fills and hands it on.
struct ForkBuffer : torch::CustomClassHolder {
  at::Tensor buffer;
};

// The fork's buffer where x is one of its handles (an undefined IValue otherwise).
c10::IValue ForkBufferOf(const at::Tensor& x);

struct GatherRowsFunction : public torch::autograd::Function<GatherRowsFunction> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, const at::Tensor& flat_rows,
                            bool sparse_gradient) {
    ctx->saved_data["sizes"] = x.sizes().vec();
    // A fork's handle takes its rows sparse: the fork writes the dense gradient once from all.
    const c10::IValue fork = ForkBufferOf(x);
    ctx->saved_data["sparse"] = sparse_gradient || fork.isCapsule();
    if (fork.isCapsule()) ctx->saved_data["fork"] = fork;
    ctx->save_for_backward({flat_rows});
    return CopyRows(x, flat_rows);
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad) {
    const std::vector<int64_t> sizes = ctx->saved_data["sizes"].toIntVector();
    const at::Tensor rows = ctx->get_saved_variables()[0].to(at::kLong).contiguous();
    if (ctx->saved_data.count("fork") > 0) {
      auto fork = c10::static_intrusive_pointer_cast<ForkBuffer>(ctx->saved_data["fork"].toCapsule());
      if (!fork->buffer.defined()) fork->buffer = at::empty(sizes, grad[0].options());
    }
    if (ctx->saved_data["sparse"].toBool()) {
      return {SparseRowsGradient(sizes, rows, grad[0]), at::Tensor(), at::Tensor()};
    }
    const at::Tensor g = grad[0].contiguous();
    at::Tensor dense = at::empty(sizes, g.options());
    const int64_t d = sizes.back();
    AT_DISPATCH_FLOATING_TYPES(g.scalar_type(), "GatherRowsDenseGradient", [&] {
      ZerosPlusRows<scalar_t>(dense.numel() / std::max<int64_t>(d, 1), d,
                              {{rows.data_ptr<int64_t>(), rows.numel(), g.data_ptr<scalar_t>()}},
                              dense.data_ptr<scalar_t>());
    });
    return {dense, at::Tensor(), at::Tensor()};
  }
};

// x's gradient from its fork handles' gradients (each undefined, dense or sparse rows): the
// dense ones summed, then every sparse one's rows added in the handles' order; all sparse, in
// one parallel pass (ZerosPlusRows). Undefined where neither handle got a gradient.
at::Tensor MergeHandleGradients(const std::vector<int64_t>& sizes, const torch::autograd::variable_list& grads,
                                at::Tensor buffer) {
  at::Tensor dense;
  std::vector<at::Tensor> sparse;
  for (const at::Tensor& g : grads) {
    if (!g.defined()) continue;
    if (g.is_sparse()) {
      sparse.push_back(g);
    } else {
      dense = dense.defined() ? dense + g : g;
    }
  }
  if (sparse.empty()) return dense;
  const at::ScalarType dtype = sparse[0].scalar_type();
  const at::TensorOptions options = sparse[0].options().layout(at::kStrided);
  at::Tensor out = buffer.defined() && buffer.sizes() == sizes && buffer.options().dtype() == options.dtype()
                       ? buffer
                       : at::empty(sizes, options);
  std::vector<at::Tensor> rows, values;
  for (const at::Tensor& g : sparse) {
    rows.push_back(FlatRowsOf(g));
    values.push_back(g._values().to(dtype).contiguous());
  }
  const int64_t d = sizes.back();
  AT_DISPATCH_FLOATING_TYPES(dtype, "MergeHandleGradients", [&] {
    std::vector<RowParts<scalar_t>> parts;
    for (size_t k = 0; k < rows.size(); ++k) {
      parts.push_back({rows[k].data_ptr<int64_t>(), rows[k].numel(), values[k].data_ptr<scalar_t>()});
    }
    ZerosPlusRows<scalar_t>(out.numel() / std::max<int64_t>(d, 1), d, parts, out.data_ptr<scalar_t>(),
                            sizes.size() > 2 ? sizes[0] : 1);
  });
  return dense.defined() ? out.add_(dense) : out;
}

struct ForkFunction : public torch::autograd::Function<ForkFunction> {
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x) {
    ctx->saved_data["sizes"] = x.sizes().vec();
    ctx->saved_data["buffer"] = c10::IValue::make_capsule(c10::make_intrusive<ForkBuffer>());
    return {x, x};  // returned inputs: autograd hands out two views of x, this node their grad_fn
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto fork = c10::static_intrusive_pointer_cast<ForkBuffer>(ctx->saved_data["buffer"].toCapsule());
    at::Tensor buffer = std::move(fork->buffer);
    fork->buffer = at::Tensor();  // a second backward (retain_graph) gets a buffer of its own
    return {MergeHandleGradients(ctx->saved_data["sizes"].toIntVector(), grads, std::move(buffer))};
  }
};

c10::IValue ForkBufferOf(const at::Tensor& x) {
  auto* fork = dynamic_cast<torch::autograd::CppNode<ForkFunction>*>(x.grad_fn().get());
  return fork != nullptr ? fork->ctx_.saved_data["buffer"] : c10::IValue();
}

}  // namespace

at::Tensor GatherRowsSparseGradient(const at::Tensor& x, const at::Tensor& flat_rows) {
  if (!UseCpuKernels(x) || !x.requires_grad() || x.dim() < 2) return Rows(x, flat_rows);
  return GatherRowsFunction::apply(x, flat_rows, /*sparse_gradient=*/true);
}

std::pair<at::Tensor, at::Tensor> ForkForRowGathers(const at::Tensor& x) {
  if (!UseCpuKernels(x) || !x.requires_grad() || !at::GradMode::is_enabled() || x.dim() < 2) return {x, x};
  const torch::autograd::variable_list handles = ForkFunction::apply(x);
  return {handles[0], handles[1]};
}

at::Tensor GatherRowsDenseGradient(const at::Tensor& x, const at::Tensor& flat_rows) {
  if (!UseCpuKernels(x) || !x.requires_grad() || x.dim() < 2) return Rows(x, flat_rows);
  return GatherRowsFunction::apply(x, flat_rows, /*sparse_gradient=*/false);
}

}  // namespace hardgnn::cpu
