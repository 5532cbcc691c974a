// `debiased`: uniform negatives outside the user's history with importance weights that tilt
// them towards the anchor, w_j ∝ exp(beta * cos(a, n_j) / tau) (Robinson et al. 2021),
// rescaled to mean 1 per anchor; beta = 0 gives plain uniform negatives (Chuang et al. 2020).
// The weights carry no gradient; pair it with `dcl` (class prior tau_plus) for the debiased
// hard-negative objective, or with `infonce`.
#include <cmath>
#include <memory>

#include <ATen/ATen.h>

#include "absl/status/status.h"
#include "core/model/sampler.h"
#include "plugins/samplers/uniform.h"

namespace hardgnn {
namespace {

class DebiasedSampler : public Sampler {
 public:
  DebiasedSampler(int64_t k, double beta, double tau) : k_(k), beta_(beta), tau_(tau) {}
  int64_t NumNegatives() const override { return k_; }
  bool NeedsItemTable() const override { return beta_ != 0; }

  absl::StatusOr<Result> Sample(const Request& request) override {
    absl::Status status = CheckNegativesExist(request, "debiased");
    if (!status.ok()) return status;
    const int64_t batch = request.users.size(0);
    at::Tensor ids = UniformNegatives(request, k_);
    if (beta_ == 0) return Result{ids, at::ones({batch, k_})};
    // cos(a, n_j) / tau, tilted by beta; the row max is subtracted before exp (the rescale
    // to mean 1 cancels it).
    at::Tensor a = request.anchors.to(at::kFloat);
    a = a / at::linalg_vector_norm(a, 2, {1}, true).clamp_min(1e-12);
    at::Tensor n = request.items.to(at::kFloat).index_select(0, ids.view(-1).to(request.items.device())).view({batch, k_, -1});
    n = n / at::linalg_vector_norm(n, 2, {2}, true).clamp_min(1e-12);
    at::Tensor logits = at::matmul(n, a.unsqueeze(2)).squeeze(2) * (beta_ / tau_);
    at::Tensor w = at::exp(logits - std::get<0>(logits.max(1, true)));
    return Result{ids, w / w.mean(1, true)};
  }

 private:
  int64_t k_;
  double beta_, tau_;
};

const Registration<Sampler> kRegistration(
    "debiased",
    {"uniform negatives outside the user's history with importance weights exp(beta cos / tau), "
     "mean 1 per anchor (Robinson et al. 2021; beta = 0: Chuang et al. 2020)",
     {{"k", ParamType::kInt, "16", "negatives per anchor"},
      {"beta", ParamType::kDouble, "1", "concentration of the tilt towards the anchor (>= 0)"},
      {"tau", ParamType::kDouble, "0.1", "temperature of the cosine in the weights"}}},
    [](const PluginArgs& a, const Sampler::Context&) -> absl::StatusOr<std::unique_ptr<Sampler>> {
      if (a.Int("k") < 1 || !(a.Double("beta") >= 0) || !(a.Double("tau") > 0)) {
        return absl::InvalidArgumentError("debiased: k >= 1, beta >= 0 and tau > 0");
      }
      return std::make_unique<DebiasedSampler>(a.Int("k"), a.Double("beta"), a.Double("tau"));
    });

}  // namespace
}  // namespace hardgnn
