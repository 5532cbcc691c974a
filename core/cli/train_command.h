#ifndef HARDGNN_CORE_CLI_TRAIN_COMMAND_H_
#define HARDGNN_CORE_CLI_TRAIN_COMMAND_H_

#include <memory>

#include "absl/status/statusor.h"
#include "core/data/dataset.h"
#include "core/train/checkpoint.h"
#include "core/train/model_setup.h"
#include "core/train/trainer.h"

namespace hardgnn {

// `hardgnn train`: trains the chosen plugins on a prepared dataset, writes a run directory
// and prints validation and test metrics of the selected model.
int RunTrainCommand();

// `hardgnn study`: trains like `train` and, before training and after every epoch, measures
// on fixed probe users the mean cosine of anchors with their positive, their hard negatives
// and random negatives, and the InfoNCE values; rows go to <run_dir>/study.csv.
int RunStudyCommand();

// `hardgnn eval`: evaluates a checkpoint (or an untrained model such as popularity). The
// validation row says "trained on!" when the checkpoint's own config trained on it
// (eval_protocol=official), whatever this command line's protocol.
int RunEvalCommand();

// What train, eval and recommend work on, from the flags (those of a run: its flags.txt).
struct LoadedModel {
  PluginChoice choice;
  TrainOptions options;
  std::unique_ptr<data::PreparedDataset> dataset;  // the model points into it: never moved
  Model model;
  CheckpointIdentity trained;  // the identity stored in --checkpoint (empty without one)
};

// The plugins, options, dataset (--data) and an untrained model, every flag checked.
absl::StatusOr<LoadedModel> LoadModelFromFlags();

// Loads --checkpoint into m.model (checked against the data and the architecture) and fills
// m.trained; without --checkpoint only an encoder with nothing to train passes.
absl::Status LoadCheckpointFromFlags(LoadedModel& m);

}  // namespace hardgnn

#endif  // HARDGNN_CORE_CLI_TRAIN_COMMAND_H_
