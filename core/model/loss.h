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
  };

  virtual ~Loss() = default;
  virtual std::vector<std::string> RequiredViews() const = 0;
  virtual bool NeedsNegatives() const { return false; }
  // The view a sampler should use as anchors, when NeedsNegatives().
  virtual std::string AnchorView() const { return ""; }
  virtual at::Tensor Compute(const Input& input) = 0;  // a scalar
};

using LossRegistry = Registry<Loss>;

}  // namespace hardgnn

#endif  // HARDGNN_CORE_MODEL_LOSS_H_
