#ifndef HARDGNN_CORE_TRAIN_TRAINER_H_
#define HARDGNN_CORE_TRAIN_TRAINER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <c10/core/Device.h>

#include "absl/status/statusor.h"
#include "core/data/dataset.h"
#include "core/dist/data_parallel.h"
#include "core/eval/evaluator.h"
#include "core/train/batch_builder.h"
#include "core/train/checkpoint.h"
#include "core/train/model_setup.h"
#include "core/train/progress.h"
#include "core/train/selection.h"

namespace hardgnn {

// What an epoch visits.
enum class EpochScheme {
  kUsers,   // users_per_epoch users, one target each (the published SelfGNN code)
  kEvents,  // every training event once, in random order (standard BPR-MF)
};

struct TrainOptions {
  int64_t epochs = 150;
  int64_t batch_size = 512;
  EpochScheme epoch_scheme = EpochScheme::kUsers;
  int64_t users_per_epoch = 10000;  // kUsers: trnNum, a random subset of users per epoch (0 = all)
  double lr = 1e-3;
  double lr_decay = 0.96;           // staircase: lr * decay^floor(step / decay_steps)
  int64_t lr_decay_steps = 19;      // steps per stair (0: no decay, unless lr_decay_epochs)
  int64_t lr_decay_epochs = 0;      // > 0: epochs per stair instead (lr_decay_steps is then ignored)
  int64_t eval_every = 3;           // evaluate after epochs 0, k, 2k, ... and the last
  int64_t patience = 0;             // stop after this many evaluations without improvement (0: never)
  Selection selection;              // what model selection maximizes (validation paper NDCG@10)
  uint64_t seed = 100;
  int64_t max_steps = 0;            // stop after this many steps (0: no limit), for smoke runs
  // Divergence: a step whose |loss| exceeds this many times the first step's stops training
  // with an error (0: only a non-finite loss does).
  double max_loss_growth = 1000;
  BatchOptions batch;
  EvalOptions eval;
  // Where the model's parameters and each step's tensors live (--device). Batches are built on
  // the host and moved per step; samplers read users and positives on the host.
  c10::Device device = c10::kCPU;
  std::string run_dir;              // where logs and checkpoints go ("" = nowhere)
  bool resume = false;              // continue from run_dir's last checkpoint (none: start)
  // Stored in every checkpoint; a resume refuses a checkpoint whose identity differs. Train
  // fills in the dataset (WithDataset) when the caller has not.
  CheckpointIdentity identity;
  Progress::Mode progress = Progress::Mode::kNone;
  // Called after each epoch with its mean loss (the sampler study measures here); an error
  // stops training.
  std::function<absl::Status(int64_t epoch, double mean_loss)> after_epoch;
  // Called after each backward pass, before the optimizer step, with the step's gradients in
  // the encoder's parameters (the sampler study records their norms); an error stops.
  std::function<absl::Status(int64_t step, int64_t epoch)> after_backward;
  // Terms of the parameters alone that say their gradient (Loss::CoupledDecay: L2) get it
  // added by the optimizer in its pass over each parameter, not through autograd, where that
  // is the same gradient: the encoder penalizes whole parameters (RegularizedBeforeForward)
  // and no after_backward reads the gradients. False: every term through autograd.
  bool fold_parameter_penalties = true;
  // Data-parallel training (core/dist/data_parallel.h): this process is one rank of
  // data_parallel.group (null: the only process). Each step's rows are split between the ranks,
  // which sum their loss terms and gradients: the same steps as one process. Give rank 0 alone
  // a run_dir; evaluation needs eval.shard / eval.reduce set for the group too.
  dist::DataParallelOptions data_parallel;
  // Called once the run has been resumed (or started), before its first step; an error stops.
  std::function<absl::Status()> on_start;
};

struct TrainSummary {
  int64_t steps = 0;
  int64_t epochs_run = 0;
  int64_t best_epoch = -1;
  EvalResult best;                  // the selected model, re-evaluated from its checkpoint
  std::vector<double> epoch_loss;   // mean total loss per epoch run in this call
  double seconds = 0;
};

// The training loop of SPEC §3: epochs of shuffled users, Adam with a staircase learning
// rate, evaluation every eval_every epochs, model selection by options.selection (validation
// paper-protocol NDCG@10 by default; on test for the published code's selection). With a
// run_dir (RunDirectory): a JSON-lines log, the best checkpoint and the last one, and resume
// continues from the last exactly as if the run had not stopped.
absl::StatusOr<TrainSummary> Train(Model& model, const data::PreparedDataset& dataset,
                                   const TrainOptions& options);

// The learning rate at a global step (SPEC §2.9), with stairs of options.lr_decay_steps steps.
double LearningRateAt(const TrainOptions& options, int64_t step);

// options.lr_decay_steps, or the steps of lr_decay_epochs epochs of steps_per_epoch steps
// when that is set: a schedule in epochs keeps its pace per epoch whatever the data's size.
int64_t DecayStairSteps(const TrainOptions& options, int64_t steps_per_epoch);

// The batch options the chosen losses need (ranking negatives, SAL samples), over `base`.
BatchOptions BatchOptionsFor(const Model& model, BatchOptions base);

}  // namespace hardgnn

#endif  // HARDGNN_CORE_TRAIN_TRAINER_H_
