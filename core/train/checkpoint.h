#ifndef HARDGNN_CORE_TRAIN_CHECKPOINT_H_
#define HARDGNN_CORE_TRAIN_CHECKPOINT_H_

#include <string>

#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

#include "absl/status/status.h"

namespace hardgnn {

// Writes the module's parameters and buffers (and the optimizer's state, if given) to
// `path` atomically: a temporary file in the same folder, flushed to disk, then renamed, so
// a crash leaves either the old checkpoint or the new one, never a torn file.
absl::Status SaveCheckpoint(const std::string& path, torch::nn::Module& module,
                            torch::optim::Optimizer* optimizer);

// Restores what SaveCheckpoint wrote into a module (and optimizer) of the same shape; a
// missing file, a foreign file or a shape mismatch is an error naming the file.
absl::Status LoadCheckpoint(const std::string& path, torch::nn::Module& module,
                            torch::optim::Optimizer* optimizer);

// Writes `contents` to `path` atomically (temporary file, fsync, rename).
absl::Status WriteFileAtomically(const std::string& path, const std::string& contents);

}  // namespace hardgnn

#endif  // HARDGNN_CORE_TRAIN_CHECKPOINT_H_
