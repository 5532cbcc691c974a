#ifndef HARDGNN_CORE_DATA_SLICES_H_
#define HARDGNN_CORE_DATA_SLICES_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "core/data/dataset.h"

namespace hardgnn::data {

// G+1 equal-width bounds over [t_min, t_max] (SPEC §1.3 step 7), in whole seconds:
// bound k = t_min + floor(k * (t_max - t_min) / G), bound G = t_max. Requires G >= 1 and
// t_min <= t_max.
std::vector<int64_t> EqualWidthBounds(int64_t t_min, int64_t t_max, int32_t num_slices);

// The slice of time t: the largest k < G with bounds[k] <= t (clamped to 0 below bounds[0]).
int32_t SliceOf(const std::vector<int64_t>& bounds, int64_t t);

// Fills ds->slice_bounds, slice_user_item and slice_item_user from the training events of
// `ds` (positions [0, train_len[u]) of every sequence), with G = num_slices equal-width
// slices over the training events' time range. Needs seq_* and train_len filled.
absl::Status BuildTimeSlices(int32_t num_slices, PreparedDataset* ds);

}  // namespace hardgnn::data

#endif  // HARDGNN_CORE_DATA_SLICES_H_
