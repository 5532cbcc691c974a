// `bpr`: Bayesian personalized ranking, mean over pairs of -log sigmoid(score(pos) - score(neg)).
#include <memory>

#include <ATen/ATen.h>

#include "core/cpu/reduce.h"
#include "core/model/loss.h"
#include "core/model/pair_scores.h"

namespace hardgnn {
namespace {

class Bpr : public Loss {
 public:
  explicit Bpr(int64_t negatives) : negatives_(negatives) {}
  std::vector<std::string> RequiredViews() const override { return {view::kUser, view::kItem}; }
  BatchNeeds Needs() const override { return {negatives_, 0}; }
  at::Tensor Compute(const Input& input) override {
    auto [pos, neg] = PairScores(input.batch, input.views);
    return cpu::FixedOrderMean(at::softplus(neg - pos));  // -log sigmoid(x) = softplus(-x), stable
  }
  Reduction BatchReduction(const Input& input) const override {
    return {Reduction::kMean, input.batch.pair_rows.numel()};
  }

 private:
  int64_t negatives_;
};

const Registration<Loss> kRegistration(
    "bpr", {"BPR: mean of -log sigmoid(pos - neg) over sampled ranking pairs",
            {{"negatives", ParamType::kInt, "4", "negatives per user, capped at its sequence length"}}},
    [](const PluginArgs& a, const Loss::Context&) -> absl::StatusOr<std::unique_ptr<Loss>> {
      if (a.Int("negatives") < 1) return absl::InvalidArgumentError("bpr: negatives must be >= 1");
      return std::make_unique<Bpr>(a.Int("negatives"));
    });

}  // namespace
}  // namespace hardgnn
