#include "core/cpu/reduce.h"

#include <ATen/ATen.h>

namespace hardgnn::cpu {
namespace {

// Elements per chunk: below ATen's grain size, so the last serial sum stays on one thread.
constexpr int64_t kChunk = 4096;

}  // namespace

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
