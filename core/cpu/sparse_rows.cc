#include "core/cpu/sparse_rows.h"

#include <vector>

#include <ATen/ATen.h>
#include <torch/csrc/autograd/custom_function.h>

#include "core/cpu/kernel_path.h"

namespace hardgnn::cpu {
namespace {

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
      at::Tensor dense = at::zeros(sizes, grad[0].options());
      dense.view({-1, sizes.back()}).index_add_(0, ctx->get_saved_variables()[0], grad[0]);
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
