// `random`: K negatives per anchor, uniform over the items the anchor's user never touched.
#include <algorithm>
#include <memory>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/model/rng.h"
#include "core/model/sampler.h"
#include "core/model/sampling.h"

namespace hardgnn {
namespace {

class RandomSampler : public Sampler {
 public:
  explicit RandomSampler(int64_t k) : k_(k) {}
  int64_t NumNegatives() const override { return k_; }
  bool NeedsItemTable() const override { return false; }

  absl::StatusOr<Result> Sample(const Request& request) override {
    const int64_t batch = request.users.size(0);
    at::Tensor users = request.users.contiguous();
    const int64_t* user = users.data_ptr<int64_t>();
    const data::Csr& history = *request.history;
    for (int64_t b = 0; b < batch; ++b) {
      if (history.RowSize(user[b]) >= request.num_items) {
        return absl::FailedPreconditionError(absl::StrCat(
            "random sampler: user ", user[b], " interacted with every item; no negative exists"));
      }
    }
    at::Tensor ids = at::empty({batch, k_}, at::kLong);
    int64_t* out = ids.data_ptr<int64_t>();
    at::parallel_for(0, batch, 64, [&](int64_t begin, int64_t end) {
      for (int64_t b = begin; b < end; ++b) {
        Rng rng(request.seed, static_cast<uint64_t>(b));
        for (int64_t j = 0; j < k_; ++j) {
          out[b * k_ + j] = UniformOutside(rng, request.num_items, history.RowBegin(user[b]),
                                           history.RowSize(user[b]));
        }
      }
    });
    return Result{ids, at::Tensor()};
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
