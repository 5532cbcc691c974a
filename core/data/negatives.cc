#include "core/data/negatives.h"

namespace hardgnn::data {

int32_t SampleFromComplement(const int32_t* excluded_begin, const int32_t* excluded_end, int32_t num_items,
                             Rng* rng) {
  const int64_t n_excluded = excluded_end - excluded_begin;
  const int64_t n_free = static_cast<int64_t>(num_items) - n_excluded;
  if (n_free <= 0) return -1;
  const int64_t r = static_cast<int64_t>(rng->Uniform(static_cast<uint64_t>(n_free)));
  // The answer is r + j, where j = number of excluded items below it: the smallest j with
  // excluded[j] - j > r (excluded[j] - j is non-decreasing because items are distinct).
  int64_t lo = 0, hi = n_excluded;
  while (lo < hi) {
    const int64_t mid = lo + (hi - lo) / 2;
    if (excluded_begin[mid] - mid > r) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  return static_cast<int32_t>(r + lo);
}

}  // namespace hardgnn::data
