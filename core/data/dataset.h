#ifndef HARDGNN_CORE_DATA_DATASET_H_
#define HARDGNN_CORE_DATA_DATASET_H_

#include <cstdint>
#include <string>
#include <vector>

#include "core/data/csr.h"

namespace hardgnn::data {

// A dataset ready for training and evaluation: what `hardgnn prepare` writes to its cache
// and `train` / `eval` load. Ids are dense: users 0..num_users-1, items 0..num_items-1.
//
// Split (leave-one-out by time). For user u with full sequence s = Sequence(u):
//   - training prefix   s[0 .. train_len[u])            inputs and targets for training;
//   - validation        target val_item[u], input s[0 .. train_len[u]);
//   - test              target test_item[u], "clean" input s[0 .. test_input_len[u]),
//                       "official" input s (the whole sequence, as the published code does).
// For data prepared here, val = second-to-last event and test = last event, so
// train_len = n-2 and test_input_len = n-1. A SelfGNN release folder may differ (its
// non-test users have no test item; see the release reader).
struct PreparedDataset {
  static constexpr uint32_t kFormatVersion = 1;

  std::string name;    // short name, e.g. "gowalla-nyc"
  std::string source;  // how it was made: reader, path and preprocessing options
  int32_t num_users = 0;
  int32_t num_items = 0;

  // The original ids of the raw log, indexed by dense id (empty when the source has none,
  // e.g. a SelfGNN release). Not part of Fingerprint().
  std::vector<std::string> user_names;
  std::vector<std::string> item_names;

  // Every user's chronological sequence of all events (repeats kept, val and test events
  // included): user u's events are [seq_ptr[u], seq_ptr[u+1]).
  std::vector<int64_t> seq_ptr = {0};
  std::vector<int32_t> seq_item;
  std::vector<int64_t> seq_time;  // unix seconds; 0 where the source has no times

  std::vector<int32_t> train_len;       // per user
  std::vector<int32_t> val_item;        // per user, -1 if none
  std::vector<int32_t> test_item;       // per user, -1 if none
  std::vector<int32_t> test_input_len;  // per user, 0 if no test item

  // G time slices of the training interactions: slice k holds the distinct (user, item)
  // pairs with a training event in [slice_bounds[k], slice_bounds[k+1]) (the last slice
  // also holds t = slice_bounds[G]). Stored in both directions.
  std::vector<int64_t> slice_bounds;     // G+1 unix times
  std::vector<Csr> slice_user_item;      // G matrices, num_users x num_items
  std::vector<Csr> slice_item_user;      // their transposes

  // Every item in each user's full sequence (training, validation and test events):
  // sampled negatives, for training and evaluation, never come from here.
  Csr interacted;  // num_users x num_items

  // Fixed evaluation candidates, shared by every model and every evaluation: the users
  // evaluated (ascending) and, for each, negatives_per_user items sampled uniformly with
  // replacement from the items the user never interacted with.
  std::vector<int32_t> eval_users;
  int32_t negatives_per_user = 999;
  std::vector<int32_t> eval_negatives;  // eval_users.size() x negatives_per_user, row-major

  int32_t num_slices() const { return static_cast<int32_t>(slice_user_item.size()); }
  int64_t SequenceLength(int32_t u) const { return seq_ptr[u + 1] - seq_ptr[u]; }
  const int32_t* Sequence(int32_t u) const { return seq_item.data() + seq_ptr[u]; }
  const int32_t* EvalNegatives(int64_t eval_row) const {
    return eval_negatives.data() + eval_row * negatives_per_user;
  }
  // Events per item over every user's prefix Sequence(u)[0 .. prefix_len(u)), e.g. the
  // training prefixes: popularity that validation and test events cannot leak into.
  template <typename PrefixLength>
  std::vector<int64_t> ItemEventCounts(PrefixLength prefix_len) const {
    std::vector<int64_t> counts(num_items, 0);
    for (int32_t u = 0; u < num_users; ++u) {
      const int32_t* s = Sequence(u);
      for (int64_t j = 0, n = prefix_len(u); j < n; ++j) ++counts[s[j]];
    }
    return counts;
  }
};

}  // namespace hardgnn::data

#endif  // HARDGNN_CORE_DATA_DATASET_H_
