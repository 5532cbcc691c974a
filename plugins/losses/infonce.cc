// `infonce`: the HardGNN proposal's contrastive term, per anchor
//   -log( e^{s+} / (e^{s+} + sum_j w_j e^{s_j}) ),  s = cosine / tau,
// with the sampler's negatives (w_j = 1 unless the sampler gives importance weights) and
// negatives from the anchor user's history masked.
#include <memory>

#include <ATen/ATen.h>

#include "absl/status/status.h"
#include "core/cpu/reduce.h"
#include "plugins/losses/contrastive.h"

namespace hardgnn {
namespace {

class InfoNce : public Loss {
 public:
  InfoNce(std::string anchor, double tau) : anchor_(std::move(anchor)), tau_(tau) {}
  std::vector<std::string> RequiredViews() const override { return {view::kItem}; }
  bool NeedsNegatives() const override { return true; }
  std::string AnchorView() const override { return anchor_; }
  Reduction BatchReduction(const Input& input) const override { return {Reduction::kMean, input.batch.size()}; }
  at::Tensor Compute(const Input& input) override {
    ContrastiveTerms t = ComputeContrastiveTerms(input, anchor_, tau_);
    // log(e^{s+} + sum_j w_j e^{s_j}) as a logsumexp; log 0 = -inf removes masked terms.
    at::Tensor logits = at::cat({t.pos.unsqueeze(1), t.neg + at::log(t.weights)}, 1);
    return cpu::FixedOrderMean(at::logsumexp(logits, 1) - t.pos);
  }

 private:
  std::string anchor_;
  double tau_;
};

const Registration<Loss> kRegistration(
    "infonce",
    {"InfoNCE on the anchor view against the next item and the sampler's negatives (cosine / tau); "
     "negatives from the user's history are masked",
     {{"tau", ParamType::kDouble, "0.1", "temperature"}}},
    [](const PluginArgs& a, const Loss::Context& ctx) -> absl::StatusOr<std::unique_ptr<Loss>> {
      if (!(a.Double("tau") > 0)) return absl::InvalidArgumentError("infonce: tau must be > 0");
      return std::make_unique<InfoNce>(ctx.anchor_view, a.Double("tau"));
    });

}  // namespace
}  // namespace hardgnn
