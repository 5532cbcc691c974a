#ifndef HARDGNN_CORE_DATA_PREPARE_H_
#define HARDGNN_CORE_DATA_PREPARE_H_

// From a raw interaction log to a PreparedDataset:
//   1. optional time window [time_begin, time_end);
//   2. filter: iterated k-core on event counts (default k = 5), or the published SelfGNN
//      notebook's filter (SPEC §1.3: >= 20 / >= 20 distinct pairs, then users >= 15, then
//      users >= 5, items not re-filtered);
//   3. users left with fewer than 3 events (one training event + validation + test) are
//      dropped and counted in the report; items left without events disappear;
//   4. dense ids in order of first appearance in the log (users and items separately);
//   5. each user's events sorted by time (ties keep file order): last = test, second to
//      last = validation, the rest = training (train_len = n-2, test_input_len = n-1);
//   6. optional noise: round(noise * #training events) training events, chosen uniformly
//      without replacement, get a uniformly random different item (times kept). The
//      validation and test events are never changed;
//   7. G equal-width time slices of the training events (SPEC §1.3 step 7; slices.h);
//   8. interacted = every (user, item) of the (possibly noisy) full sequences;
//   9. evaluated users: all users, or a seeded subset of num_eval_users, ascending; a user
//      who interacted with every item has no possible negative and is not evaluated
//      (counted in the report);
//  10. eval_negatives negatives per evaluated user, uniform with replacement over the items
//      the user never interacted with (negatives.h).
// Deterministic for a fixed seed; each random step has its own stream (rng.h DeriveSeed).

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "core/data/dataset.h"
#include "core/data/filters.h"
#include "core/data/interaction_log.h"

namespace hardgnn::data {

enum class FilterKind {
  kKCore,    // "kcore"
  kSelfGnn,  // "selfgnn"
};

struct PrepareOptions {
  std::string name = "dataset";
  FilterKind filter = FilterKind::kKCore;
  int32_t kcore = 5;  // k of kKCore; 0 or 1: no filtering
  std::optional<int64_t> time_begin;  // unix seconds, inclusive
  std::optional<int64_t> time_end;    // unix seconds, exclusive
  int32_t num_slices = 3;             // G
  int32_t num_eval_users = 0;         // 0: every user
  int32_t eval_negatives = 999;
  double noise = 0.0;                 // fraction of training events replaced, in [0, 1]
  uint64_t seed = 2024;
};

// What preprocessing did, for stats.json and the printed table.
struct PrepareReport {
  FilterPass input;                          // the raw log
  int64_t events_outside_window = 0;
  std::vector<FilterPass> filter_passes;     // after the window and after each filter pass
  int64_t users_dropped_short = 0;           // users left with fewer than 3 events ...
  int64_t events_dropped_short = 0;          // ... and their events
  FilterPass output;                         // the prepared dataset
  int64_t noise_replaced = 0;                // training events given a random item
  int64_t users_without_negatives = 0;       // interacted with every item: not evaluated
  int64_t eval_users = 0;

  // Ordered (key, value) rows for stats.json and the table; values are JSON literals.
  std::vector<std::pair<std::string, std::string>> ToKeyValues() const;
};

absl::StatusOr<FilterKind> ParseFilterKind(const std::string& name);

// Fewer events than this and a user cannot have training, validation and test events.
constexpr int32_t kMinUserEvents = 3;

// Runs the pipeline above. `report` may be null. An invalid option, or no user left with
// kMinUserEvents events, is an error.
absl::StatusOr<PreparedDataset> Prepare(const InteractionLog& log, const PrepareOptions& options,
                                        PrepareReport* report = nullptr);

// For tests: Prepare(InteractionLog::FromTriples(triples)) without any filter, with
// `num_slices` slices and `eval_negatives` negatives per user, e.g.
//   PrepareTriples({{"u1", "a", 1}, {"u1", "b", 2}, {"u1", "c", 3}}, /*num_slices=*/1);
absl::StatusOr<PreparedDataset> PrepareTriples(const std::vector<Triple>& triples, int32_t num_slices = 2,
                                               int32_t eval_negatives = 10, uint64_t seed = 1);

}  // namespace hardgnn::data

#endif  // HARDGNN_CORE_DATA_PREPARE_H_
