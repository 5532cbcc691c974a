#ifndef HARDGNN_CORE_DATA_NEGATIVES_H_
#define HARDGNN_CORE_DATA_NEGATIVES_H_

#include <cstdint>

#include "core/data/rng.h"

namespace hardgnn::data {

// One item drawn uniformly from [0, num_items) minus the sorted, distinct items
// [excluded_begin, excluded_end), in O(log |excluded|) time and one random draw: the r-th
// item of the complement is found by binary search, with no rejection loop, so a user who
// interacted with nearly every item costs the same as any other. Returns -1 if the
// complement is empty.
int32_t SampleFromComplement(const int32_t* excluded_begin, const int32_t* excluded_end, int32_t num_items,
                             Rng* rng);

}  // namespace hardgnn::data

#endif  // HARDGNN_CORE_DATA_NEGATIVES_H_
