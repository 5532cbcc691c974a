// `in_batch`: negatives are the other anchors' positives, the cheap classic of contrastive
// recommenders. Items from the anchor's own history are skipped; when the batch runs short,
// the rest are uniform over the items the user never touched.
#include <memory>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include "absl/status/status.h"
#include "core/model/rng.h"
#include "core/model/sampler.h"
#include "core/model/sampling.h"
#include "plugins/samplers/uniform.h"

namespace hardgnn {
namespace {

class InBatchSampler : public Sampler {
 public:
  explicit InBatchSampler(int64_t k) : k_(k) {}
  int64_t NumNegatives() const override { return k_; }
  bool NeedsItemTable() const override { return false; }

  absl::StatusOr<Result> Sample(const Request& request) override {
    absl::Status status = CheckNegativesExist(request, "in_batch");
    if (!status.ok()) return status;
    const int64_t batch = request.users.size(0);
    // The whole batch's positives: this request's, or all ranks' when it holds one rank's rows.
    at::Tensor users = request.users.contiguous(),
               positives = (request.batch_positives.defined() ? request.batch_positives : request.positives).contiguous();
    const int64_t whole = positives.size(0);
    const int64_t* user = users.data_ptr<int64_t>();
    const int64_t* positive = positives.data_ptr<int64_t>();
    const data::Csr& history = *request.history;
    at::Tensor ids = at::empty({batch, k_}, at::kLong);
    int64_t* out = ids.data_ptr<int64_t>();
    at::parallel_for(0, batch, 64, [&](int64_t begin, int64_t end) {
      for (int64_t b = begin; b < end; ++b) {
        Rng rng(request.seed, static_cast<uint64_t>(request.first_row + b));
        const int64_t start = static_cast<int64_t>(rng.Below(whole));
        int64_t taken = 0;
        // Visit the other rows from a random start; each yields its positive if allowed.
        for (int64_t step = 0; step < whole && taken < k_; ++step) {
          const int64_t item = positive[(start + step) % whole];
          if (!history.Contains(user[b], static_cast<int32_t>(item))) out[b * k_ + taken++] = item;
        }
        for (; taken < k_; ++taken) {
          out[b * k_ + taken] = UniformOutside(rng, request.num_items, history.RowBegin(user[b]),
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
    "in_batch",
    {"the other anchors' positives as negatives (skipping the user's history), topped up "
     "with uniform negatives when the batch has too few",
     {{"k", ParamType::kInt, "5", "negatives per anchor"}}},
    [](const PluginArgs& args, const Sampler::Context&) -> absl::StatusOr<std::unique_ptr<Sampler>> {
      if (args.Int("k") < 1) return absl::InvalidArgumentError("in_batch sampler: k must be >= 1");
      return std::make_unique<InBatchSampler>(args.Int("k"));
    });

}  // namespace
}  // namespace hardgnn
