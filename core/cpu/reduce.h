#ifndef HARDGNN_CORE_CPU_REDUCE_H_
#define HARDGNN_CORE_CPU_REDUCE_H_

// Full reductions whose result does not depend on the number of threads. ATen sums a tensor of
// at least its grain size (32768 elements) to one value in one piece per thread (a "two-pass"
// reduction), so x.sum() and x.mean() change in the last bits with --threads. These cut x into
// fixed chunks instead: one row per chunk, each summed whole by one thread (ATen splits a
// reduction with several outputs along the outputs, never along the reduced axis), then the
// chunk sums are reduced the same way until few enough remain to be summed serially.
// Differentiable (composed of ATen ops); the gradient is the same as x.sum()'s.

#include <ATen/core/Tensor.h>

namespace hardgnn::cpu {

// The sum of every element of x, a 0-dim tensor of x's dtype.
at::Tensor FixedOrderSum(const at::Tensor& x);

// FixedOrderSum(x) / x.numel().
at::Tensor FixedOrderMean(const at::Tensor& x);

// The sum of x's squared elements, a 0-dim tensor of x's dtype, independent of the number of
// threads. On the CPU kernels one pass over x, without the squared tensor; its gradient is
// g * 2x, the same bits as FixedOrderSum(x.square())'s (whose value may differ in the last bits:
// the sum is taken in another order, in double). Elsewhere FixedOrderSum(x.square()).
at::Tensor FixedOrderSumOfSquares(const at::Tensor& x);

// The order of FixedOrderSumOfSquares on the CPU kernels, for a pass that writes x and can sum
// its squares as it goes (FusedAdam): chunks of kSquaresChunk elements from element 0, each
// summed in double in four lanes (element i into lane i % 4, in order), the lanes added as
// (l0 + l1) + (l2 + l3) and the chunk's last (length % 4) elements after them in order; then
// the chunks' sums added in order from 0.
inline constexpr int64_t kSquaresChunk = 4096;
// A chunk's sum from `lanes`, which hold the squares of its elements before `i`, i - the
// chunk's start a multiple of 4: the elements [i, end) added to the lanes as above, then the
// lanes combined and the tail added. Reads x[i, end) only.
double FinishSquaresChunk(const double lanes[4], const float* x, int64_t i, int64_t end);

// sums[j] += x[0][j] + x[1][j] + ... + x[rows-1][j] for j < cols, x row-major with row stride
// ldx: each column's additions in row order, as the plain loop over rows then columns makes
// them (the same bits), with the running sums in registers across the rows rather than read
// and written back at every row. Float and double. Single-threaded.
template <typename T>
void AddColumnSums(int64_t rows, int64_t cols, const T* x, int64_t ldx, T* sums);

}  // namespace hardgnn::cpu

#endif  // HARDGNN_CORE_CPU_REDUCE_H_
