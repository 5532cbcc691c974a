#include "plugins/encoders/selfgnn/linear.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <stdexcept>
#include <type_traits>
#include <vector>

#include "core/cpu/blas.h"
#include "core/cpu/parallel.h"
#include "core/cpu/reduce.h"
#include "core/model/profile.h"

namespace hardgnn::selfgnn {
namespace {

constexpr int64_t kRowBlock = kLinearRowBlock;  // rows per forward / input-gradient GEMM
constexpr int64_t kGroupRows = 8192;  // rows per weight-gradient partial

// One block of the forward: y[r0, r1) = b + x[r0, r1) w (y: row r0).
template <typename T>
void ForwardBlock(int64_t r0, int64_t r1, int64_t in, const T* x, const cpu::PackedWeight<T>& w, const T* b, T* y) {
  w.TimesPlusBias(r1 - r0, x + r0 * in, in, b, y, w.Columns());
}

template <typename T>
void Forward(int64_t m, int64_t in, int64_t out, const T* x, const T* w, const T* b, T* y) {
  const cpu::PackedWeight<T> packed = LinearWeight(w, in, out);
  cpu::ForEachChunk(m, kRowBlock, [&](int64_t r0, int64_t r1, int64_t) { ForwardBlock(r0, r1, in, x, packed, b, y + r0 * out); });
}

// The weight gradient's product and the bias's sums over rows [r0, r1) into a group's partial.
template <typename T>
void WeightGradient(int64_t r0, int64_t r1, int64_t in, int64_t out, const T* x, const T* gy, T* part) {
  cpu::Gemm(true, false, in, out, r1 - r0, T(1), x + r0 * in, in, gy + r0 * out, out, T(0), part, out);
  cpu::AddColumnSums(r1 - r0, out, gy + r0 * out, out, part + in * out);
}

// A group's dx block by block and, after each block, the weight gradient's panels
// (cpu::TransAChainPanels) and the bias's sums over the rows it completed, while those rows of gy
// and x are in cache: WeightGradient's calls on the same rows in the same order, so its bits.
void GroupInOnePass(int64_t r0, int64_t r1, int64_t in, int64_t out, const float* x, const float* gy,
                    const cpu::TransposedWeight<float>& wt, float* dx, float* part) {
  const auto panels = cpu::TransAChainPanels(in, out, r1 - r0);
  const float *xg = x + r0 * in, *gyg = gy + r0 * out;  // the group's rows
  size_t next = 0;
  for (int64_t b0 = r0; b0 < r1; b0 += kRowBlock) {
    const int64_t b1 = std::min(r1, b0 + kRowBlock);
    wt.Times(b1 - b0, gy + b0 * out, out, dx + b0 * in, in);
    for (; next < panels.size() && r0 + panels[next].first + panels[next].second <= b1; ++next) {
      const auto [p0, len] = panels[next];
      cpu::GemmTransAPanel(in, out, p0, len, xg, in, gyg, out, 0.0f, part, out);
      cpu::AddColumnSums(len, out, gyg + p0 * out, out, part + in * out);
    }
  }
}

// Two tasks a group of rows, taken in the order group 0's weight gradient (its product and the
// bias's sums, into the group's partial), group 0's dx, group 1's weight gradient, ...: threads
// taking consecutive tasks work on the same group's part of gy at about the same time (one may
// find it in the shared cache), and a call of one group (the batch's users) still uses two
// threads. dx is computed in the forward's row blocks (kGroupRows is a multiple of kRowBlock):
// the same products, the same bits. Where the weight gradient is the chain kernel's and there
// are groups for both threads, a group is one task instead (GroupInOnePass), which reads its
// rows of gy from memory once, not once a task.
template <typename T>
void Backward(int64_t m, int64_t in, int64_t out, const T* x, const T* w, const T* gy, T* dx, T* dw, T* db) {
  static_assert(kGroupRows % kRowBlock == 0);
  const cpu::TransposedWeight<T> wt(w, out, in, out);  // dx = gy · wᵀ
  const int64_t width = in * out + out, groups = cpu::DivUp(m, kGroupRows);
  cpu::ChunkPartials<T> partial(groups, width);
  const bool one_pass = std::is_same_v<T, float> && groups > 1 && cpu::GemmTakesTransAChain(in, out);
  cpu::ForEachIndex(one_pass ? groups : 2 * groups, [&](int64_t task) {
    const int64_t group = one_pass ? task : task / 2, r0 = group * kGroupRows, r1 = std::min(m, r0 + kGroupRows);
    if constexpr (std::is_same_v<T, float>) {
      if (one_pass) return GroupInOnePass(r0, r1, in, out, x, gy, wt, dx, partial.Chunk(group));
    }
    if (task % 2 == 0) return WeightGradient(r0, r1, in, out, x, gy, partial.Chunk(group));
    for (int64_t b0 = r0; b0 < r1; b0 += kRowBlock) {
      const int64_t b1 = std::min(r1, b0 + kRowBlock);
      wt.Times(b1 - b0, gy + b0 * out, out, dx + b0 * in, in);
    }
  });
  std::vector<T> sum(width);
  partial.SumInto(sum.data(), /*accumulate=*/false);
  std::copy_n(sum.data(), in * out, dw);
  std::copy_n(sum.data() + in * out, out, db);
}

struct LinearFunction : public torch::autograd::Function<LinearFunction> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, const at::Tensor& w,
                            const at::Tensor& b) {
    const int64_t in = w.size(0), out = w.size(1);
    const at::Tensor x2 = x.reshape({-1, in}).contiguous(), wc = w.contiguous();
    const at::Tensor bc = b.contiguous();
    std::vector<int64_t> sizes = x.sizes().vec();
    sizes.back() = out;
    at::Tensor y = at::empty(sizes, x.options());
    if (x.scalar_type() == at::kFloat) {
      Forward<float>(x2.size(0), in, out, x2.data_ptr<float>(), wc.data_ptr<float>(), bc.data_ptr<float>(),
                     y.data_ptr<float>());
    } else {
      Forward<double>(x2.size(0), in, out, x2.data_ptr<double>(), wc.data_ptr<double>(), bc.data_ptr<double>(),
                      y.data_ptr<double>());
    }
    ctx->save_for_backward({x2, wc});
    ctx->saved_data["x_sizes"] = x.sizes().vec();
    return y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    ScopedPhase phase("backward: linear");  // nested in the trainer's "backward" (--profile)
    const auto saved = ctx->get_saved_variables();
    const at::Tensor &x2 = saved[0], &w = saved[1];
    const int64_t in = w.size(0), out = w.size(1), m = x2.size(0);
    const at::Tensor gy = grads[0].reshape({m, out}).contiguous();
    at::Tensor dx = at::empty(ctx->saved_data["x_sizes"].toIntVector(), x2.options());
    at::Tensor dw = at::empty_like(w);
    at::Tensor db = at::empty({out}, w.options());
    if (x2.scalar_type() == at::kFloat) {
      Backward<float>(m, in, out, x2.data_ptr<float>(), w.data_ptr<float>(), gy.data_ptr<float>(), dx.data_ptr<float>(),
                      dw.data_ptr<float>(), db.data_ptr<float>());
    } else {
      Backward<double>(m, in, out, x2.data_ptr<double>(), w.data_ptr<double>(), gy.data_ptr<double>(),
                       dx.data_ptr<double>(), dw.data_ptr<double>(), db.data_ptr<double>());
    }
    return {dx, dw, db};
  }
};

}  // namespace

void LinearForwardRows(int64_t r0, int64_t r1, int64_t in, const float* x, const cpu::PackedWeight<float>& w,
                       const float* b, float* y) {
  for (int64_t b0 = r0; b0 < r1; b0 += kRowBlock) {
    ForwardBlock(b0, std::min(r1, b0 + kRowBlock), in, x, w, b, y + (b0 - r0) * w.Columns());
  }
}

at::Tensor Linear(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b) {
  if (w.dim() != 2 || x.dim() < 1 || x.size(-1) != w.size(0) ||
      (b.defined() && (b.dim() != 1 || b.size(0) != w.size(1)))) {
    throw std::invalid_argument("Linear: need x [..., in], w [in, out], b [out]");
  }
  if ((x.scalar_type() != at::kFloat && x.scalar_type() != at::kDouble) || w.scalar_type() != x.scalar_type() ||
      (b.defined() && b.scalar_type() != x.scalar_type())) {
    throw std::invalid_argument("Linear: x, w, b must all be float or all double");
  }
  // No bias: a constant zero one (an undefined tensor cannot be an autograd input).
  return LinearFunction::apply(x, w, b.defined() ? b : at::zeros({w.size(1)}, w.options()));
}

}  // namespace hardgnn::selfgnn
