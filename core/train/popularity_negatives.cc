#include "core/train/popularity_negatives.h"

#include <algorithm>
#include <cmath>

#include "core/model/sampling.h"

namespace hardgnn {

PopularityNegatives::PopularityNegatives(const std::vector<int64_t>& count, double exponent) {
  cumulative_.reserve(count.size());
  double total = 0;
  for (int64_t c : count) {
    total += c > 0 ? std::pow(static_cast<double>(c), exponent) : 0.0;
    cumulative_.push_back(total);
  }
}

double PopularityNegatives::Probability(int64_t item) const {
  return Weight(item) / cumulative_.back();
}

double PopularityNegatives::Weight(int64_t item) const {
  return cumulative_[item] - (item > 0 ? cumulative_[item - 1] : 0.0);
}

int64_t PopularityNegatives::Draw(Rng& rng, const int32_t* excluded, int64_t num_excluded) const {
  const int64_t num_items = static_cast<int64_t>(cumulative_.size());
  if (!(cumulative_.back() > 0)) return UniformOutside(rng, num_items, excluded, num_excluded);
  for (int t = 0; t < kMaxTries; ++t) {
    const double x = rng.Uniform() * cumulative_.back();
    // The first item whose cumulative weight exceeds x (zero-weight items are never chosen).
    const int64_t item = std::min<int64_t>(
        num_items - 1, std::upper_bound(cumulative_.begin(), cumulative_.end(), x) - cumulative_.begin());
    if (!std::binary_search(excluded, excluded + num_excluded, static_cast<int32_t>(item))) return item;
  }
  // Rare (the user holds most of the weight): draw exactly from the allowed items' weights by
  // one pass over the items, or uniformly if the user has every item that has a weight.
  double allowed = cumulative_.back();
  for (int64_t j = 0; j < num_excluded; ++j) allowed -= Weight(excluded[j]);
  if (!(allowed > 1e-12 * cumulative_.back())) return UniformOutside(rng, num_items, excluded, num_excluded);
  double x = rng.Uniform() * allowed;
  int64_t last_allowed = -1;
  for (int64_t i = 0, e = 0; i < num_items; ++i) {
    if (e < num_excluded && excluded[e] == i) { ++e; continue; }
    const double w = Weight(i);
    if (w <= 0) continue;
    last_allowed = i;
    x -= w;
    if (x < 0) return i;
  }
  return last_allowed;  // x within rounding of the total
}

}  // namespace hardgnn
