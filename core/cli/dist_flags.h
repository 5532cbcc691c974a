#ifndef HARDGNN_CORE_CLI_DIST_FLAGS_H_
#define HARDGNN_CORE_CLI_DIST_FLAGS_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/dist/config.h"
#include "core/dist/gloo_group.h"
#include "core/data/dataset.h"
#include "core/train/model_setup.h"
#include "core/train/trainer.h"

namespace hardgnn {

// `train`, `eval` and `study` as one rank of a data-parallel job (core/dist, README "Several
// processes and hosts"): torchrun's variables RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT and
// LOCAL_RANK, or --rank, --world_size, --master_addr, --master_port and --local_rank.
class RankOfJob {
 public:
  // nullptr when this process is the only one (WORLD_SIZE unset or 1).
  static absl::StatusOr<std::unique_ptr<RankOfJob>> FromFlags();

  int rank() const { return config_.rank; }
  int size() const { return config_.world_size; }
  bool writes_run() const { return config_.rank == 0; }  // rank 0 alone writes the run directory

  // Joins the job. Every rank must share the run's flags (the checkpoint identity's
  // architecture and config), the dataset's fingerprint, the command, --epochs, --max_steps,
  // --resume, --profile and the data-parallel flags. `run_dir`: rank 0's run directory; on a
  // rank > 0, stdout and stderr then go to <rank 0's run_dir>/rank<r>.log (fatal messages
  // reach the terminal as well).
  absl::Status Join(const std::string& command, const PluginChoice& choice, const data::PreparedDataset& dataset,
                    const std::string& run_dir);

  // This rank's share of a training run: the group, sharded evaluation, and on ranks > 0 no
  // run directory, no resume of one (rank 0's state is broadcast) and no start-up files.
  void Configure(TrainOptions& options);
  // Sharded evaluation over the job's ranks.
  void ConfigureEval(EvalOptions& options);

  dist::GlooGroup& group() { return *group_; }

  // A failed command on this rank: prints "hardgnn COMMAND: rank r of n: MESSAGE" (on a rank
  // > 0 also on the terminal it was started from), tells the other ranks, returns 1.
  int Fail(const char* command, const absl::Status& status);
  // The end of a command that went well: every rank meets before any leaves.
  void Finish();

 private:
  void Say(const std::string& message) const;  // stderr, and the terminal when redirected

  dist::Config config_;
  std::unique_ptr<dist::GlooGroup> group_;
  int terminal_ = -1;  // the original stderr of a rank whose output goes to its own log
};

}  // namespace hardgnn

#endif  // HARDGNN_CORE_CLI_DIST_FLAGS_H_
