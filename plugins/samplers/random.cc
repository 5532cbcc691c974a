// `random`: K negatives per anchor, uniform over the items the anchor's user never touched.
#include <memory>

#include "absl/status/status.h"
#include "core/model/sampler.h"
#include "plugins/samplers/uniform.h"

namespace hardgnn {
namespace {

class RandomSampler : public Sampler {
 public:
  explicit RandomSampler(int64_t k) : k_(k) {}
  int64_t NumNegatives() const override { return k_; }
  bool NeedsItemTable() const override { return false; }

  absl::StatusOr<Result> Sample(const Request& request) override {
    absl::Status status = CheckNegativesExist(request, "random");
    if (!status.ok()) return status;
    return Result{UniformNegatives(request, k_), at::Tensor()};
  }

 private:
  int64_t k_;
};

const Registration<Sampler> kRegistration(
    "random",
    {"K negatives per anchor, uniform over items the user never interacted with (with "
     "replacement; exact, bounded time even for users who touched nearly every item)",
     {{"k", ParamType::kInt, "5", "negatives per anchor"}}},
    [](const PluginArgs& args, const Sampler::Context&) -> absl::StatusOr<std::unique_ptr<Sampler>> {
      if (args.Int("k") < 1) return absl::InvalidArgumentError("random sampler: k must be >= 1");
      return std::make_unique<RandomSampler>(args.Int("k"));
    });

}  // namespace
}  // namespace hardgnn
