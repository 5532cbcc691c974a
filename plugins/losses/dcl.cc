// `dcl`: debiased contrastive loss (Chuang et al. 2020; SPEC §7), with the class prior tau+
// and the clamp N e^{-1/tau}; with importance weights from the sampler (`debiased`) it is
// the hard-negative estimator of Robinson et al. 2021 with detached weights.
#include <memory>

#include "absl/status/status.h"
#include "plugins/losses/contrastive.h"

namespace hardgnn {
namespace {

class Dcl : public Loss {
 public:
  Dcl(std::string anchor, double tau, double tau_plus) : anchor_(std::move(anchor)), tau_(tau), tau_plus_(tau_plus) {}
  std::vector<std::string> RequiredViews() const override { return {view::kItem}; }
  bool NeedsNegatives() const override { return true; }
  std::string AnchorView() const override { return anchor_; }
  Reduction BatchReduction(const Input& input) const override { return {Reduction::kMean, input.batch.size()}; }
  at::Tensor Compute(const Input& input) override {
    ContrastiveTerms t = ComputeContrastiveTerms(input, anchor_, tau_);
    return DebiasedLoss(t, t.weights, tau_, tau_plus_);
  }

 private:
  std::string anchor_;
  double tau_, tau_plus_;
};

const Registration<Loss> kRegistration(
    "dcl",
    {"debiased contrastive loss (Chuang et al. 2020) with class prior tau_plus; uses the sampler's "
     "importance weights when it gives them",
     {{"tau", ParamType::kDouble, "0.1", "temperature"},
      {"tau_plus", ParamType::kDouble, "0.1", "class prior: expected share of false negatives, in [0, 1)"}}},
    [](const PluginArgs& a, const Loss::Context& ctx) -> absl::StatusOr<std::unique_ptr<Loss>> {
      if (!(a.Double("tau") > 0)) return absl::InvalidArgumentError("dcl: tau must be > 0");
      if (!(a.Double("tau_plus") >= 0 && a.Double("tau_plus") < 1)) {
        return absl::InvalidArgumentError("dcl: tau_plus must be in [0, 1)");
      }
      return std::make_unique<Dcl>(ctx.anchor_view, a.Double("tau"), a.Double("tau_plus"));
    });

}  // namespace
}  // namespace hardgnn
