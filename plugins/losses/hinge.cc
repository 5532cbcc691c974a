// `hinge`: the published SelfGNN ranking loss (SPEC §2.6), mean over pairs of
// max(0, margin - (score(pos) - score(neg))).
#include <memory>

#include <ATen/ATen.h>

#include "core/cpu/reduce.h"
#include "core/model/loss.h"
#include "core/model/pair_scores.h"

namespace hardgnn {
namespace {

class Hinge : public Loss {
 public:
  Hinge(int64_t negatives, double margin, bool sum) : negatives_(negatives), margin_(margin), sum_(sum) {}
  std::vector<std::string> RequiredViews() const override { return {view::kUser, view::kItem}; }
  BatchNeeds Needs() const override { return {negatives_, 0}; }
  at::Tensor Compute(const Input& input) override {
    auto [pos, neg] = PairScores(input.batch, input.views);
    at::Tensor hinge = at::clamp_min(margin_ - (pos - neg), 0.0);
    return sum_ ? cpu::FixedOrderSum(hinge) : cpu::FixedOrderMean(hinge);
  }
  Reduction BatchReduction(const Input& input) const override {
    return sum_ ? Reduction{Reduction::kSum} : Reduction{Reduction::kMean, input.batch.pair_rows.numel()};
  }

 private:
  int64_t negatives_;
  double margin_;
  bool sum_;
};

const Registration<Loss> kRegistration(
    "hinge",
    {"pairwise hinge max(0, margin - (pos - neg)) over sampled ranking pairs, the published "
     "SelfGNN loss",
     {{"negatives", ParamType::kInt, "40", "negatives per user, capped at its sequence length "
                                          "(the published code hard-codes 40)"},
      {"margin", ParamType::kDouble, "1", "hinge margin"},
      {"sum", ParamType::kBool, "false", "sum over pairs as the paper writes, not the code's mean"}}},
    [](const PluginArgs& a, const Loss::Context&) -> absl::StatusOr<std::unique_ptr<Loss>> {
      if (a.Int("negatives") < 1) return absl::InvalidArgumentError("hinge: negatives must be >= 1");
      return std::make_unique<Hinge>(a.Int("negatives"), a.Double("margin"), a.Bool("sum"));
    });

}  // namespace
}  // namespace hardgnn
