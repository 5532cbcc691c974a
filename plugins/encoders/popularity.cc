// `popularity`: ranks items by how often they occur in the training interactions, the same
// list for every user. A floor every model must clear.
#include <memory>
#include <vector>

#include <ATen/ATen.h>

#include "core/model/encoder.h"

namespace hardgnn {
namespace {

// Score = <1, count(i)>: a one-dimensional embedding, so evaluation treats it like any model.
class PopularityScorer : public EvalScorer {
 public:
  explicit PopularityScorer(at::Tensor counts) : counts_(std::move(counts)) {}
  at::Tensor Items() override { return counts_; }
  at::Tensor Queries(const Batch& batch) override { return at::ones({batch.size(), 1}); }

 private:
  at::Tensor counts_;
};

class Popularity : public Encoder {
 public:
  explicit Popularity(const data::PreparedDataset& d) {
    const std::vector<int64_t> events = d.ItemEventCounts([&d](int32_t u) { return d.train_len[u]; });
    counts_ = at::tensor(events, at::kLong).to(at::kFloat).view({d.num_items, 1});
  }
  std::vector<std::string> ProvidedViews() const override { return {view::kUser, view::kItem}; }
  Views Forward(const Batch& batch, bool) override {
    Views v;
    v.Set(view::kUser, at::ones({batch.size(), 1}));
    v.Set(view::kItem, counts_);
    return v;
  }
  std::vector<at::Tensor> RegularizedParameters() override { return {}; }
  std::unique_ptr<EvalScorer> MakeEvalScorer() override {
    return std::make_unique<PopularityScorer>(counts_);
  }
  bool Trainable() const override { return false; }

 private:
  at::Tensor counts_;  // [I,1] training events per item
};

const Registration<Encoder> kRegistration(
    "popularity", {"training-set item popularity, the same ranking for every user (no training)", {}},
    [](const PluginArgs&, const Encoder::Context& ctx) -> absl::StatusOr<std::unique_ptr<Encoder>> {
      return std::make_unique<Popularity>(*ctx.dataset);
    });

}  // namespace
}  // namespace hardgnn
