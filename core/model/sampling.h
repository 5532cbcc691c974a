#ifndef HARDGNN_CORE_MODEL_SAMPLING_H_
#define HARDGNN_CORE_MODEL_SAMPLING_H_

#include <cstdint>

#include "core/model/rng.h"

namespace hardgnn {

// One item drawn uniformly from [0, num_items) minus the ascending, distinct list `excluded`
// (which must leave at least one item), in O(log num_excluded) time whatever its size: the
// r-th allowed item is r + (number of excluded items below it), found by binary search over
// excluded[j] - j, the count of allowed items before excluded[j].
inline int64_t UniformOutside(Rng& rng, int64_t num_items, const int32_t* excluded,
                              int64_t num_excluded) {
  const int64_t r = static_cast<int64_t>(rng.Below(num_items - num_excluded));
  int64_t lo = 0, hi = num_excluded;  // first j with excluded[j] - j > r
  while (lo < hi) {
    const int64_t mid = (lo + hi) / 2;
    if (excluded[mid] - mid > r) hi = mid; else lo = mid + 1;
  }
  return r + lo;
}

}  // namespace hardgnn

#endif  // HARDGNN_CORE_MODEL_SAMPLING_H_
