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

// dense [R, d] = zeros with src's rows added at rows[i] in increasing i: index_add_ into
// at::zeros bit for bit (each element +0 plus its parts in index order; ATen adds x·1 + y, which
// rounds as x + y), but each row written once, in parallel over rows (index_add_ runs on one
// thread). The parts are grouped by row first, in index order (a counting sort).
template <typename T>
void ZerosPlusRows(int64_t num_rows, int64_t d, const int64_t* rows, int64_t n, const T* src, T* dense) {
  std::vector<int64_t> start(num_rows + 1, 0);
  for (int64_t i = 0; i < n; ++i) ++start[rows[i] + 1];
  for (int64_t r = 0; r < num_rows; ++r) start[r + 1] += start[r];
  std::vector<int64_t> order(n), next(start.begin(), start.end() - 1);
  for (int64_t i = 0; i < n; ++i) order[next[rows[i]]++] = i;
  const int64_t vec_end = d - d % kLanes<T>;
  ForEachChunk(num_rows, 2048, [&](int64_t r0, int64_t r1, int64_t) {
    for (int64_t r = r0; r < r1; ++r) {
      T* out = dense + r * d;
      std::fill_n(out, d, T(0));
      for (int64_t j = start[r]; j < start[r + 1]; ++j) {
        const T* part = src + order[j] * d;
        int64_t k = 0;
        for (; k < vec_end; k += kLanes<T>) Store(out + k, Load(out + k) + Load(part + k));
        for (; k < d; ++k) out[k] += part[k];
      }
    }
  });
}

// Rows flat_rows of x seen as [R, d].
at::Tensor Rows(const at::Tensor& x, const at::Tensor& flat_rows) {
  return x.reshape({-1, x.size(-1)}).index_select(0, flat_rows);
}

struct GatherRowsFunction : public torch::autograd::Function<GatherRowsFunction> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, const at::Tensor& flat_rows,
                            bool sparse_gradient) {
    ctx->saved_data["sizes"] = x.sizes().vec();
    ctx->saved_data["sparse"] = sparse_gradient;
    ctx->save_for_backward({flat_rows});
    return Rows(x, flat_rows);
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad) {
    const std::vector<int64_t> sizes = ctx->saved_data["sizes"].toIntVector();
    if (!ctx->saved_data["sparse"].toBool()) {
      const at::Tensor rows = ctx->get_saved_variables()[0].to(at::kLong).contiguous();
      const at::Tensor g = grad[0].contiguous();
      at::Tensor dense = at::empty(sizes, g.options());
      const int64_t d = sizes.back();
      AT_DISPATCH_FLOATING_TYPES(g.scalar_type(), "GatherRowsDenseGradient", [&] {
        ZerosPlusRows(dense.numel() / std::max<int64_t>(d, 1), d, rows.data_ptr<int64_t>(), rows.numel(),
                      g.data_ptr<scalar_t>(), dense.data_ptr<scalar_t>());
      });
      return {dense, at::Tensor(), at::Tensor()};
    }
    at::Tensor rest = ctx->get_saved_variables()[0].to(at::kLong);
    // The flat row index unravelled over x's leading dims, last dim fastest.
    const int64_t sparse_dims = static_cast<int64_t>(sizes.size()) - 1;
    std::vector<at::Tensor> coords(sparse_dims);
    for (int64_t k = sparse_dims - 1; k >= 0; --k) {
      coords[k] = rest.remainder(sizes[k]);
      rest = rest.div(sizes[k], "floor");
    }
    const at::Tensor indices = at::stack(coords);
    return {at::_sparse_coo_tensor_unsafe(indices, grad[0].contiguous(), sizes, grad[0].options().layout(at::kSparse)),
            at::Tensor(), at::Tensor()};
  }
};

}  // namespace

at::Tensor GatherRowsSparseGradient(const at::Tensor& x, const at::Tensor& flat_rows) {
  if (!UseCpuKernels(x) || !x.requires_grad() || x.dim() < 2) return Rows(x, flat_rows);
  return GatherRowsFunction::apply(x, flat_rows, /*sparse_gradient=*/true);
}

at::Tensor GatherRowsDenseGradient(const at::Tensor& x, const at::Tensor& flat_rows) {
  if (!UseCpuKernels(x) || !x.requires_grad() || x.dim() < 2) return Rows(x, flat_rows);
  return GatherRowsFunction::apply(x, flat_rows, /*sparse_gradient=*/false);
}

}  // namespace hardgnn::cpu
