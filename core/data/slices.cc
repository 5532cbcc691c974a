#include "core/data/slices.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"

namespace hardgnn::data {

std::vector<int64_t> EqualWidthBounds(int64_t t_min, int64_t t_max, int32_t num_slices) {
  std::vector<int64_t> bounds(num_slices + 1);
  const __int128 span = static_cast<__int128>(t_max) - t_min;
  for (int32_t k = 0; k < num_slices; ++k) {
    bounds[k] = static_cast<int64_t>(t_min + span * k / num_slices);
  }
  bounds[num_slices] = t_max;
  return bounds;
}

int32_t SliceOf(const std::vector<int64_t>& bounds, int64_t t) {
  const int32_t g = static_cast<int32_t>(bounds.size()) - 1;
  // First bound among bounds[0..g) strictly greater than t, minus one.
  const auto it = std::upper_bound(bounds.begin(), bounds.begin() + g, t);
  return std::max<int32_t>(0, static_cast<int32_t>(it - bounds.begin()) - 1);
}

absl::Status BuildTimeSlices(int32_t num_slices, PreparedDataset* ds) {
  if (num_slices < 1) return absl::InvalidArgumentError(absl::StrCat("need at least 1 time slice, got ", num_slices));
  int64_t t_min = std::numeric_limits<int64_t>::max(), t_max = std::numeric_limits<int64_t>::min();
  for (int32_t u = 0; u < ds->num_users; ++u) {
    for (int64_t p = ds->seq_ptr[u]; p < ds->seq_ptr[u] + ds->train_len[u]; ++p) {
      t_min = std::min(t_min, ds->seq_time[p]);
      t_max = std::max(t_max, ds->seq_time[p]);
    }
  }
  if (t_min > t_max) t_min = t_max = 0;  // no training events at all
  ds->slice_bounds = EqualWidthBounds(t_min, t_max, num_slices);
  std::vector<std::vector<std::pair<int32_t, int32_t>>> pairs(num_slices);
  for (int32_t u = 0; u < ds->num_users; ++u) {
    for (int64_t p = ds->seq_ptr[u]; p < ds->seq_ptr[u] + ds->train_len[u]; ++p) {
      pairs[SliceOf(ds->slice_bounds, ds->seq_time[p])].emplace_back(u, ds->seq_item[p]);
    }
  }
  ds->slice_user_item.clear();
  ds->slice_item_user.clear();
  for (int32_t k = 0; k < num_slices; ++k) {
    ds->slice_user_item.push_back(CsrFromPairs(ds->num_users, ds->num_items, std::move(pairs[k])));
    ds->slice_item_user.push_back(ds->slice_user_item.back().Transposed());
  }
  return absl::OkStatus();
}

}  // namespace hardgnn::data
