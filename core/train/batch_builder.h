#ifndef HARDGNN_CORE_TRAIN_BATCH_BUILDER_H_
#define HARDGNN_CORE_TRAIN_BATCH_BUILDER_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "core/data/dataset.h"
#include "core/model/batch.h"
#include "core/model/rng.h"
#include "core/train/popularity_negatives.h"

namespace hardgnn {

// Which part of each user's sequence training may use (SPEC §1.4-1.6).
enum class TrainSplit {
  kClean,     // the training prefix only: validation and test items are never targets
  kOfficial,  // the published code: every event but the last (the validation item is a target)
};

// Which of a user's items training treats as seen: never a ranking negative, never a sampled
// or masked contrastive negative.
enum class SeenItems {
  kTrainingPrefix,  // the items training may use (clean: held-out items can be negatives)
  kWholeSequence,   // every item of the sequence, held-out ones included (the published code)
};

// One training row: the target is Sequence(user)[pos], the input everything before it;
// pos = -1 draws the target among the user's last pred_num + 1 prefix events (SPEC §1.5).
struct TrainingEvent {
  int32_t user;
  int32_t pos = -1;
};

struct BatchOptions {
  TrainSplit split = TrainSplit::kClean;
  int64_t max_seq_len = 200;   // pos_length: the most recent items kept as input
  int64_t pred_num = 5;        // the target is one of the last pred_num+1 items (SPEC §1.5)
  int64_t rec_negatives = 0;   // ranking negatives per user, capped at |P| (0 = no pairs)
  // 0: ranking negatives uniform over the user's unseen items (the published code); > 0:
  // drawn in proportion to (training events of the item)^negative_popularity instead.
  double negative_popularity = 0;
  int64_t sal_samples = 0;     // SAL items per user per slice, capped at |P_k|/2 (0 = no SAL)
  SeenItems seen = SeenItems::kTrainingPrefix;
};

// Builds training batches as the published code does (SPEC §1.5, §2.5, §2.6). Everything
// random comes from Rng streams keyed by (seed, user), so a batch is a function of its
// users and the seed alone.
class BatchBuilder {
 public:
  BatchBuilder(const data::PreparedDataset& dataset, BatchOptions options);

  // Users with at least one training target under the split; epochs draw from these.
  const std::vector<int32_t>& TrainableUsers() const { return trainable_; }

  // A training batch for `users` (each must be trainable), each row's target drawn among the
  // user's last pred_num + 1 prefix events (SPEC §1.5).
  Batch Build(const std::vector<int32_t>& users, uint64_t seed) const;

  // A training batch of given rows (events, or users with pos = -1).
  Batch BuildRows(const std::vector<TrainingEvent>& rows, uint64_t seed) const;

  // The targets BuildRows(rows, seed) draws, without the rest of the batch ([rows] int64):
  // data-parallel training gives an in-batch sampler the whole batch's positives.
  at::Tensor Targets(const std::vector<TrainingEvent>& rows, uint64_t seed) const;

  // Every event of every trainable user's training prefix.
  std::vector<TrainingEvent> TrainingEvents() const;

  // The length of the sequence prefix training draws targets from.
  int64_t TrainPrefix(int32_t user) const;

  // Per user, the items training must not use as negatives (options.seen).
  const data::Csr& Seen() const { return seen_prefix_ ? *seen_prefix_ : d_.interacted; }

 private:
  // A row's generator, and the position of its target drawn from it (its first draw).
  Rng RowRng(const TrainingEvent& row, uint64_t seed) const;
  int64_t TargetPosition(const TrainingEvent& row, Rng& rng) const;

  const data::PreparedDataset& d_;
  BatchOptions options_;
  std::vector<int32_t> trainable_;
  std::optional<PopularityNegatives> popular_;  // set when negative_popularity > 0
  std::optional<data::Csr> seen_prefix_;         // set for SeenItems::kTrainingPrefix
};

}  // namespace hardgnn

#endif  // HARDGNN_CORE_TRAIN_BATCH_BUILDER_H_
