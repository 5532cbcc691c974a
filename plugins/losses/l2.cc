// `l2`: sum of squared entries of the encoder's regularized parameters (SPEC §2.7: the
// published code uses reg * sum ||theta||^2, no 1/2, over the full tables every step).
#include <memory>
#include <optional>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include "core/cpu/reduce.h"
#include "core/model/loss.h"

namespace hardgnn {
namespace {

class L2 : public Loss {
 public:
  std::vector<std::string> RequiredViews() const override { return {}; }
  Reduction BatchReduction(const Input&) const override { return {Reduction::kParameters}; }
  double CoupledDecay() const override { return 2; }  // d/dp sum p^2 = 2p
  at::Tensor Compute(const Input& input) override {
    at::Tensor total = at::zeros({});
    const bool value_only = !at::GradMode::is_enabled() && input.known_sum_of_squares;
    for (const at::Tensor& p : input.encoder.RegularizedParameters()) {
      const std::optional<double> known = value_only ? input.known_sum_of_squares(p) : std::nullopt;
      // FixedOrderSumOfSquares rounds its double sum to p's dtype the same way.
      total = total + (known ? at::scalar_tensor(*known, p.options()) : cpu::FixedOrderSumOfSquares(p));
    }
    return total;
  }
};

const Registration<Loss> kRegistration(
    "l2", {"sum of squared regularized parameters (embedding tables, SAL MLP weights)", {}},
    [](const PluginArgs&, const Loss::Context&) -> absl::StatusOr<std::unique_ptr<Loss>> {
      return std::make_unique<L2>();
    });

}  // namespace
}  // namespace hardgnn
