// `hcl`: hard-negative debiased contrastive loss (Robinson et al. 2021; SPEC §7). The
// negatives' distribution is tilted towards the anchor by importance weights
// w_j = e^{beta s_j} (rescaled to mean 1; not detached, as the reference code), then
// debiased with the class prior tau+. beta = 0 gives dcl; beta = 0 and tau+ = 0, InfoNCE.
// Meant for uniform negatives: with top-K mined ones it counts hardness twice.
#include <memory>

#include <ATen/ATen.h>

#include "absl/status/status.h"
#include "plugins/losses/contrastive.h"

namespace hardgnn {
namespace {

class Hcl : public Loss {
 public:
  Hcl(std::string anchor, double tau, double tau_plus, double beta, bool detach)
      : anchor_(std::move(anchor)), tau_(tau), tau_plus_(tau_plus), beta_(beta), detach_(detach) {}
  std::vector<std::string> RequiredViews() const override { return {view::kItem}; }
  bool NeedsNegatives() const override { return true; }
  std::string AnchorView() const override { return anchor_; }
  Reduction BatchReduction(const Input& input) const override { return {Reduction::kMean, input.batch.size()}; }
  at::Tensor Compute(const Input& input) override {
    ContrastiveTerms t = ComputeContrastiveTerms(input, anchor_, tau_);
    // Subtracting the row max before exp leaves the rescaled weights unchanged.
    at::Tensor tilt = beta_ * t.neg;
    tilt = at::exp(tilt - std::get<0>(tilt.max(1, true)).detach());
    if (detach_) tilt = tilt.detach();
    return DebiasedLoss(t, MeanOneOverValid(tilt * t.weights, t.valid), tau_, tau_plus_);
  }

 private:
  std::string anchor_;
  double tau_, tau_plus_, beta_;
  bool detach_;
};

const Registration<Loss> kRegistration(
    "hcl",
    {"hard-negative debiased contrastive loss (Robinson et al. 2021): importance weights "
     "e^{beta s} over the sampler's negatives, class prior tau_plus",
     {{"tau", ParamType::kDouble, "0.1", "temperature"},
      {"tau_plus", ParamType::kDouble, "0.1", "class prior: expected share of false negatives, in [0, 1)"},
      {"beta", ParamType::kDouble, "1", "concentration of the tilt towards the anchor (>= 0)"},
      {"detach", ParamType::kBool, "false", "stop the gradient through the weights"}}},
    [](const PluginArgs& a, const Loss::Context& ctx) -> absl::StatusOr<std::unique_ptr<Loss>> {
      if (!(a.Double("tau") > 0)) return absl::InvalidArgumentError("hcl: tau must be > 0");
      if (!(a.Double("tau_plus") >= 0 && a.Double("tau_plus") < 1)) {
        return absl::InvalidArgumentError("hcl: tau_plus must be in [0, 1)");
      }
      if (!(a.Double("beta") >= 0)) return absl::InvalidArgumentError("hcl: beta must be >= 0");
      return std::make_unique<Hcl>(ctx.anchor_view, a.Double("tau"), a.Double("tau_plus"), a.Double("beta"),
                                   a.Bool("detach"));
    });

}  // namespace
}  // namespace hardgnn
