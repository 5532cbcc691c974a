#ifndef HARDGNN_CORE_CLI_TRAIN_COMMAND_H_
#define HARDGNN_CORE_CLI_TRAIN_COMMAND_H_

namespace hardgnn {

// `hardgnn train`: trains the chosen plugins on a prepared dataset, writes a run directory
// and prints validation and test metrics of the selected model.
int RunTrainCommand();

// `hardgnn study`: trains like `train` and, before training and after every epoch, measures
// on fixed probe users the mean cosine of anchors with their positive, their hard negatives
// and random negatives, and the InfoNCE values; rows go to <run_dir>/study.csv.
int RunStudyCommand();

// `hardgnn eval`: evaluates a checkpoint (or an untrained model such as popularity).
int RunEvalCommand();

}  // namespace hardgnn

#endif  // HARDGNN_CORE_CLI_TRAIN_COMMAND_H_
