// `mf`: matrix factorization (score = <p_u, q_i>), trained with bpr or hinge; a baseline
// with no sequence or time information.
#include <memory>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include "core/model/encoder.h"
#include "plugins/encoders/table_scorer.h"

namespace hardgnn {
namespace {

class Mf : public Encoder {
 public:
  Mf(const data::PreparedDataset& d, int64_t dim, double init_std, uint64_t seed) {
    at::Generator gen = at::detail::createCPUGenerator(seed);
    users_ = register_parameter("user", at::normal(0.0, init_std, {d.num_users, dim}, gen));
    items_ = register_parameter("item", at::normal(0.0, init_std, {d.num_items, dim}, gen));
  }
  std::vector<std::string> ProvidedViews() const override { return {view::kUser, view::kItem}; }
  Views Forward(const Batch& batch, bool) override {
    Views v;
    v.Set(view::kUser, users_.index_select(0, batch.users));
    v.Set(view::kItem, items_);
    return v;
  }
  std::vector<at::Tensor> RegularizedParameters() override { return {users_, items_}; }
  bool RegularizedBeforeForward() const override { return true; }
  std::unique_ptr<EvalScorer> MakeEvalScorer() override {
    return std::make_unique<TableScorer>(users_.detach(), items_.detach());
  }

 private:
  at::Tensor users_, items_;
};

const Registration<Encoder> kRegistration(
    "mf",
    {"matrix factorization: one embedding per user and per item, score = dot product",
     {{"dim", ParamType::kInt, "64", "embedding width"},
      {"init_std", ParamType::kDouble, "0.01", "standard deviation of the normal initialization"}}},
    [](const PluginArgs& a, const Encoder::Context& ctx) -> absl::StatusOr<std::unique_ptr<Encoder>> {
      if (a.Int("dim") < 1) return absl::InvalidArgumentError("mf: dim must be >= 1");
      return std::make_unique<Mf>(*ctx.dataset, a.Int("dim"), a.Double("init_std"), ctx.seed);
    });

}  // namespace
}  // namespace hardgnn
