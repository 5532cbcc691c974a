#ifndef HARDGNN_CORE_MODEL_ENCODER_H_
#define HARDGNN_CORE_MODEL_ENCODER_H_

#include <memory>
#include <string>
#include <vector>

#include <torch/nn/module.h>

#include "core/data/dataset.h"
#include "core/model/batch.h"
#include "core/model/views.h"
#include "core/registry/registry.h"

namespace hardgnn {

// Scores users against items at evaluation time. Made once per evaluation, so whatever
// does not depend on the batch (long-term embeddings) is computed once.
class EvalScorer {
 public:
  virtual ~EvalScorer() = default;
  virtual at::Tensor Items() = 0;                    // [I,d]
  virtual at::Tensor Queries(const Batch& batch) = 0;  // [B,d]; score = Queries · Items^T
};

// A model that turns a batch into named views (see views.h). Registered by name; its
// parameters are the plugin's declared parameters.
class Encoder : public torch::nn::Module {
 public:
  static constexpr char kKind[] = "encoder";
  struct Context {
    const data::PreparedDataset* dataset = nullptr;
    uint64_t seed = 0;
    int64_t max_seq_len = 200;  // width of Batch::seq
  };

  // The views Forward publishes.
  virtual std::vector<std::string> ProvidedViews() const = 0;

  // A training forward pass (dropout on). With all_items, item views must be valid for
  // every item (a sampler scans them); otherwise only the batch's touched_items rows need be.
  // Rows outside touched_items may then be constants (no gradient): a sampler's picks among
  // them get differentiable rows from AddItemRows before the losses run.
  virtual Views Forward(const Batch& batch, bool all_items) = 0;

  // Makes the item view's rows `ids` differentiable (a sampler chose them after Forward). The
  // default does nothing: right for encoders whose all_items rows already carry gradients.
  virtual void AddItemRows(Views& views, const at::Tensor& ids) {}

  // Parameters under the L2 penalty.
  virtual std::vector<at::Tensor> RegularizedParameters() = 0;
  // True when RegularizedParameters() does not depend on the step's Forward (whole tables,
  // not the batch's rows): the trainer may then compute the penalty before the forward pass,
  // so that its gradient is not held through the backward.
  virtual bool RegularizedBeforeForward() const { return false; }

  // For evaluation: no gradients, dropout off.
  virtual std::unique_ptr<EvalScorer> MakeEvalScorer() = 0;

  // False for models with nothing to train (popularity): the trainer then only evaluates.
  virtual bool Trainable() const { return true; }
};

using EncoderRegistry = Registry<Encoder>;

}  // namespace hardgnn

#endif  // HARDGNN_CORE_MODEL_ENCODER_H_
