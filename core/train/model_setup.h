#ifndef HARDGNN_CORE_TRAIN_MODEL_SETUP_H_
#define HARDGNN_CORE_TRAIN_MODEL_SETUP_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/data/dataset.h"
#include "core/model/encoder.h"
#include "core/model/loss.h"
#include "core/model/sampler.h"
#include "core/train/loss_spec.h"

namespace hardgnn {

// Which plugins make up a model: every variant (SelfGNN, HardGNN, ...) is one of these.
struct PluginChoice {
  std::string encoder;
  std::string sampler;             // empty: none (allowed only if no loss needs negatives)
  std::vector<LossSpec> losses;
  std::string anchor_view = view::kUserShort;  // what contrastive losses anchor on
  int64_t max_seq_len = 200;                   // input sequence width the encoder sees
};

struct WeightedLoss {
  std::string name;
  double weight;
  std::unique_ptr<Loss> loss;
};

struct Model {
  std::shared_ptr<Encoder> encoder;
  std::unique_ptr<Sampler> sampler;  // null when no loss needs negatives
  std::vector<WeightedLoss> losses;
};

// Where each plugin's parameters come from: command-line flags in the binary, maps in tests.
using ArgSource = std::function<ArgMap(const std::string& plugin, const PluginInfo& info)>;
ArgMap NoArgs(const std::string&, const PluginInfo&);

// Checks that every named plugin is registered (NotFound lists the candidates), before any
// data is loaded.
absl::Status ValidatePluginNames(const PluginChoice& choice);

// Creates the plugins and checks that the encoder publishes every view the losses and the
// sampler's anchor need, with a message naming the loss, the view and the encoder.
absl::StatusOr<Model> CreateModel(const PluginChoice& choice, const data::PreparedDataset& dataset,
                                  uint64_t seed, const ArgSource& args);

}  // namespace hardgnn

#endif  // HARDGNN_CORE_TRAIN_MODEL_SETUP_H_
