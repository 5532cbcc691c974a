#ifndef HARDGNN_CORE_TRAIN_RUN_DIRECTORY_H_
#define HARDGNN_CORE_TRAIN_RUN_DIRECTORY_H_

#include <cstdint>
#include <optional>
#include <string>

#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

#include "absl/status/statusor.h"
#include "core/data/durable_io.h"
#include "core/train/checkpoint.h"

namespace hardgnn {

// The trainer's state between epochs: what a resumed run continues from.
struct TrainerState {
  int64_t next_epoch = 0;
  int64_t step = 0;
  int64_t best_epoch = -1;
  double best_metric = -1;
  int64_t stale_evals = 0;
  double first_loss = 0;  // |loss| of step 0: the reference of the divergence rule
  int64_t log_bytes = 0;  // the log's length when this state was committed

  std::string Serialize() const;
  static absl::StatusOr<TrainerState> Parse(const std::string& text, const std::string& where);
};

// A run's files: log.jsonl, best.pt (the selected model: weights and identity only, what
// evaluation needs) and last.pt, the one unit a resume needs (weights, optimizer state and
// TrainerState, committed together). The log is cut back
// to the committed length on resume, so every line in it belongs to the state resumed from.
// With an empty folder name nothing is written and every call succeeds.
class RunDirectory {
 public:
  // Removes temporary files left by a killed run and opens the log for appending.
  static absl::StatusOr<RunDirectory> Open(const std::string& dir);

  bool enabled() const { return log_.has_value(); }

  // Restores last.pt (checked against `identity`, config included) and cuts the log back. A
  // folder without last.pt (the run stopped before its first checkpoint) starts from scratch
  // and says so on stderr, unless it holds summary.json: a finished run whose last.pt was
  // dropped (--keep_last=false) is refused, not restarted over its results.
  absl::StatusOr<TrainerState> Resume(torch::nn::Module& module, torch::optim::Optimizer& optimizer,
                                      const CheckpointIdentity& identity);

  absl::Status Log(const std::string& json_line);
  absl::Status SaveBest(torch::nn::Module& module, const CheckpointIdentity& identity);
  absl::Status LoadBest(torch::nn::Module& module, const CheckpointIdentity& identity);
  // Flushes the log, records its length in `state` and writes last.pt.
  absl::Status Commit(torch::nn::Module& module, torch::optim::Optimizer& optimizer,
                      const CheckpointIdentity& identity, TrainerState state);

 private:
  absl::Status CutLog(int64_t size);  // truncates log.jsonl and reopens it for appending

  std::string dir_;
  std::optional<data::AppendOnlyFile> log_;
};

}  // namespace hardgnn

#endif  // HARDGNN_CORE_TRAIN_RUN_DIRECTORY_H_
