#include "core/cpu/reduce.h"

#include <algorithm>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include "core/cpu/kernel_path.h"
#include "core/cpu/parallel.h"
#include "core/cpu/vec.h"

namespace hardgnn::cpu {
namespace {

// Elements per chunk: below ATen's grain size, so the last serial sum stays on one thread.
constexpr int64_t kChunk = kSquaresChunk;

// FinishSquaresChunk for float and double.
template <typename T>
HARDGNN_INLINE double FinishSquares(const double start[4], const T* x, int64_t i, int64_t end) {
  double lanes[4] = {start[0], start[1], start[2], start[3]};
  for (; i + 4 <= end; i += 4) {
    for (int l = 0; l < 4; ++l) lanes[l] += static_cast<double>(x[i + l]) * x[i + l];
  }
  double sum = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
  for (; i < end; ++i) sum += static_cast<double>(x[i]) * x[i];
  return sum;
}

// sum(x[i]^2) over the chunk [begin, end) in kSquaresChunk's order.
template <typename T>
HARDGNN_SIMD_CLONES double SquaresOf(const T* x, int64_t begin, int64_t end) {
  const double zeros[4] = {0, 0, 0, 0};
  return FinishSquares(zeros, x, begin, end);
}

struct SumOfSquaresFunction : public torch::autograd::Function<SumOfSquaresFunction> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x) {
    ctx->save_for_backward({x});
    const at::Tensor c = x.contiguous();
    const int64_t n = c.numel(), chunks = (n + kChunk - 1) / kChunk;
    std::vector<double> sums(chunks);
    AT_DISPATCH_FLOATING_TYPES(c.scalar_type(), "FixedOrderSumOfSquares", [&] {
      const scalar_t* data = c.data_ptr<scalar_t>();
      ForEachChunk(chunks, 16, [&](int64_t c0, int64_t c1, int64_t) {
        for (int64_t k = c0; k < c1; ++k) sums[k] = SquaresOf(data, k * kChunk, std::min(n, (k + 1) * kChunk));
      });
    });
    double total = 0;
    for (double s : sums) total += s;
    return at::scalar_tensor(total, x.options());
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad) {
    const at::Tensor x = ctx->get_saved_variables()[0];
    return {x * (grad[0] * 2)};  // 2g is exact, so x * 2g rounds as the power rule's g * 2x does
  }
};

// Columns [j0, j0 + kNV·L) of AddColumnSums.
template <typename V, int kNV>
HARDGNN_INLINE void ColumnBlockSums(int64_t rows, const typename Lanes<V>::T* x, int64_t ldx,
                                    typename Lanes<V>::T* sums) {
  constexpr int L = Lanes<V>::kN;
  V acc[kNV];
  for (int v = 0; v < kNV; ++v) acc[v] = LoadV<V>(sums + v * L);
  for (int64_t i = 0; i < rows; ++i) {
    for (int v = 0; v < kNV; ++v) acc[v] += LoadV<V>(x + i * ldx + v * L);
  }
  for (int v = 0; v < kNV; ++v) StoreV<V>(sums + v * L, acc[v]);
}

// Rows a chunk at a time, every column block over the chunk, so that x is read once from
// memory (a chunk of 32 rows of 256 floats stays in L1 across its column blocks).
template <typename T>
HARDGNN_SIMD_CLONES void ColumnSums(int64_t rows, int64_t cols, const T* x, int64_t ldx, T* sums) {
  constexpr int L = kLanes<T>, kNV = 8;
  constexpr int64_t kRowChunk = 32;
  for (int64_t i = 0; i < rows; i += kRowChunk) {
    const int64_t n = std::min(kRowChunk, rows - i);
    const T* xi = x + i * ldx;
    int64_t j = 0;
    for (; j + kNV * L <= cols; j += kNV * L) ColumnBlockSums<Vec<T>, kNV>(n, xi + j, ldx, sums + j);
    for (; j + L <= cols; j += L) ColumnBlockSums<Vec<T>, 1>(n, xi + j, ldx, sums + j);
    for (; j < cols; ++j) ColumnBlockSums<T, 1>(n, xi + j, ldx, sums + j);
  }
}

}  // namespace

double FinishSquaresChunk(const double lanes[4], const float* x, int64_t i, int64_t end) {
  return FinishSquares(lanes, x, i, end);
}

template <typename T>
void AddColumnSums(int64_t rows, int64_t cols, const T* x, int64_t ldx, T* sums) {
  ColumnSums(rows, cols, x, ldx, sums);
}
template void AddColumnSums<float>(int64_t, int64_t, const float*, int64_t, float*);
template void AddColumnSums<double>(int64_t, int64_t, const double*, int64_t, double*);

at::Tensor FixedOrderSumOfSquares(const at::Tensor& x) {
  if (!UseCpuKernels(x) || !at::isFloatingType(x.scalar_type())) return FixedOrderSum(x.square());
  return SumOfSquaresFunction::apply(x);
}

at::Tensor FixedOrderSum(const at::Tensor& x) {
  const at::Tensor flat = x.reshape({-1});
  const int64_t n = flat.numel();
  if (n <= kChunk) return flat.sum();
  const int64_t rows = n / kChunk, head = rows * kChunk;
  const at::Tensor chunk_sums = flat.narrow(0, 0, head).view({rows, kChunk}).sum(1);
  at::Tensor total = FixedOrderSum(chunk_sums);
  return head == n ? total : total + flat.narrow(0, head, n - head).sum();
}

at::Tensor FixedOrderMean(const at::Tensor& x) { return FixedOrderSum(x) / static_cast<double>(x.numel()); }

}  // namespace hardgnn::cpu
