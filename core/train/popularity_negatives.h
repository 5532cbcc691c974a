#ifndef HARDGNN_CORE_TRAIN_POPULARITY_NEGATIVES_H_
#define HARDGNN_CORE_TRAIN_POPULARITY_NEGATIVES_H_

#include <cstdint>
#include <vector>

#include "core/model/rng.h"

namespace hardgnn {

// Ranking negatives drawn with probability proportional to count[i]^exponent over the items
// the user has not interacted with, where count is each item's number of training events
// (exponent 0.75 is word2vec's unigram^0.75). Items with no count are never drawn unless the
// user has every item that has one; then the draw is uniform over the rest. Rejection
// sampling, with an exact linear pass after kMaxTries rejections. Deterministic given the Rng.
class PopularityNegatives {
 public:
  static constexpr int kMaxTries = 32;

  // count: one non-negative entry per item (all zero: every draw is uniform).
  PopularityNegatives(const std::vector<int64_t>& count, double exponent);

  // One item outside the ascending, distinct list `excluded` (which leaves at least one item).
  int64_t Draw(Rng& rng, const int32_t* excluded, int64_t num_excluded) const;

  // The probability of item i under the table (before rejection).
  double Probability(int64_t item) const;

 private:
  double Weight(int64_t item) const;

  std::vector<double> cumulative_;  // cumulative_[i] = sum of weights of items 0..i
};

}  // namespace hardgnn

#endif  // HARDGNN_CORE_TRAIN_POPULARITY_NEGATIVES_H_
