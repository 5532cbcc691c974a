#ifndef HARDGNN_CORE_TRAIN_CHECKPOINT_H_
#define HARDGNN_CORE_TRAIN_CHECKPOINT_H_

#include <map>
#include <string>

#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/data/dataset.h"
#include "core/data/durable_io.h"

namespace hardgnn {

using data::WriteFileAtomically;

// What a checkpoint belongs to: stored inside it, compared with the caller's when loaded.
struct CheckpointIdentity {
  std::string dataset_fingerprint;  // data::FingerprintHex of the training data
  std::string dataset;              // how to name that data in a message (name, users, items)
  std::string architecture;         // "name=value" lines: what the parameters mean (encoder, its flags)
  std::string config;               // "name=value" lines: every other setting that changes the result
  std::string config_note;          // not stored: appended to a config mismatch (what may change)
  // Not stored: "name=value" defaults of the config's settings. A setting a stored config
  // lacks (a flag added since the checkpoint was written) matches its default.
  std::string config_defaults;
};

// `identity` with the dataset's fingerprint and description filled in.
CheckpointIdentity WithDataset(CheckpointIdentity identity, const data::PreparedDataset& dataset);

enum class IdentityCheck {
  kModel,       // dataset and architecture: evaluating a checkpoint
  kEverything,  // and the config: resuming a run
};

// One file holds the module's parameters and buffers, the optimizer's state (if given), the
// identity and `trainer_state`, followed by a checksum of all of it. Written atomically
// (data::WriteFileAtomically), so a crash leaves the previous checkpoint or this one.
absl::Status SaveCheckpoint(const std::string& path, torch::nn::Module& module, torch::optim::Optimizer* optimizer,
                            const CheckpointIdentity& identity, const std::string& trainer_state = "");

// Restores a checkpoint into a module (and optimizer) after checking, in this order: the
// checksum, the format, the identity against `expected` (a mismatch names both sides), and
// every tensor's name, type and shape. Nothing is changed unless every check passes.
// Returns the stored trainer state; `stored`, when given, receives the stored identity (e.g.
// the config of the run that wrote it: how it was trained).
absl::StatusOr<std::string> LoadCheckpoint(const std::string& path, torch::nn::Module& module,
                                           torch::optim::Optimizer* optimizer, const CheckpointIdentity& expected,
                                           IdentityCheck check, CheckpointIdentity* stored = nullptr);

// A "name=value\n" settings text (a config, flags.txt without the dashes) as a map.
std::map<std::string, std::string> ParseSettings(const std::string& lines);

}  // namespace hardgnn

#endif  // HARDGNN_CORE_TRAIN_CHECKPOINT_H_
