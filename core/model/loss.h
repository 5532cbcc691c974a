#ifndef HARDGNN_CORE_MODEL_LOSS_H_
#define HARDGNN_CORE_MODEL_LOSS_H_

#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "core/model/batch.h"
#include "core/model/encoder.h"
#include "core/model/sampler.h"
#include "core/model/views.h"
#include "core/registry/registry.h"

namespace hardgnn {

// What a loss needs the batch builder to sample for it.
struct BatchNeeds {
  int64_t rec_negatives = 0;  // ranking negatives per user (pair_rows/pair_pos/pair_neg)
  int64_t sal_samples = 0;    // SAL items per user per slice (Batch::sal)
};

// One term of the objective; the trainer sums the chosen terms with their weights.
class Loss {
 public:
  static constexpr char kKind[] = "loss";
  struct Context {
    std::string anchor_view = view::kUserShort;  // contrastive losses: the anchor
  };

  struct Input {
    const Batch& batch;
    const Views& views;
    Encoder& encoder;
    const Sampler::Result* negatives = nullptr;  // set when NeedsNegatives()
    const data::Csr* history = nullptr;  // users x items interacted; contrastive losses mask these
  };

  virtual ~Loss() = default;
  virtual std::vector<std::string> RequiredViews() const = 0;
  // Views read under a stop-gradient (the published SAL stops the long-term scores').
  virtual std::vector<std::string> DetachedViews() const { return {}; }
  virtual BatchNeeds Needs() const { return {}; }
  virtual bool NeedsNegatives() const { return false; }
  // The view a sampler should use as anchors, when NeedsNegatives().
  virtual std::string AnchorView() const { return ""; }
  virtual at::Tensor Compute(const Input& input) = 0;  // a scalar
};

using LossRegistry = Registry<Loss>;

}  // namespace hardgnn

#endif  // HARDGNN_CORE_MODEL_LOSS_H_
