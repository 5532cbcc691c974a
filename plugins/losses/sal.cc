// `sal`: SelfGNN's personalized self-augmented learning loss (SPEC §2.5). For slice k and a
// pair of entries a = (u_a, i_a), b = (u_b, i_b):
//   max(0, 1 - [w_k(u_a) sbar(a) - w_k(u_b) sbar(b)] * [s_k(a) - s_k(b)])
// with sbar(u,i) = sum_d LR(ubar_u * ibar_i) (long-term, gradient stopped),
// s_k(u,i) = sum_d LR(u^k_u * i^k_i) (short-term), summed over pairs and slices.
#include <memory>

#include <ATen/ATen.h>

#include "core/model/loss.h"

namespace hardgnn {
namespace {

class Sal : public Loss {
 public:
  Sal(int64_t samples, double slope) : samples_(samples), slope_(slope) {}
  std::vector<std::string> RequiredViews() const override {
    return {view::kUserLong, view::kItem, view::kUserShortSlices, view::kItemShortSlices,
            view::kSalWeight};
  }
  std::vector<std::string> DetachedViews() const override { return {view::kUserLong, view::kItem}; }
  BatchNeeds Needs() const override { return {0, samples_}; }

  at::Tensor Compute(const Input& input) override {
    const Views& v = input.views;
    const at::Tensor user_long = v.Get(view::kUserLong).detach();
    const at::Tensor item_long = v.Get(view::kItem).detach();
    const at::Tensor& user_short = v.Get(view::kUserShortSlices);
    const at::Tensor& item_short = v.Get(view::kItemShortSlices);
    const at::Tensor& weight = v.Get(view::kSalWeight);
    at::Tensor total = at::zeros({}, user_short.options());
    for (size_t k = 0; k < input.batch.sal.size(); ++k) {
      const SalPairs& p = input.batch.sal[k];
      if (p.rows_a.numel() == 0) continue;
      auto long_score = [&](const at::Tensor& rows, const at::Tensor& items) {
        return at::leaky_relu(user_long.index_select(0, rows) * item_long.index_select(0, items), slope_).sum(1);
      };
      auto short_score = [&](const at::Tensor& rows, const at::Tensor& items) {
        return at::leaky_relu(user_short[k].index_select(0, rows) * item_short[k].index_select(0, items), slope_)
            .sum(1);
      };
      at::Tensor w = weight[k];
      at::Tensor long_gap = w.index_select(0, p.rows_a) * long_score(p.rows_a, p.items_a) -
                            w.index_select(0, p.rows_b) * long_score(p.rows_b, p.items_b);
      at::Tensor short_gap = short_score(p.rows_a, p.items_a) - short_score(p.rows_b, p.items_b);
      total = total + at::clamp_min(1.0 - long_gap * short_gap, 0.0).sum();
    }
    return total;
  }

 private:
  int64_t samples_;
  double slope_;
};

const Registration<Loss> kRegistration(
    "sal",
    {"SelfGNN's personalized self-augmented denoising loss: short-term pair orderings agree "
     "with the stability-weighted long-term ones (sum over pairs and slices)",
     {{"samples", ParamType::kInt, "40", "items per user per slice (sslNum), capped at half the user's slice items"},
      {"leaky", ParamType::kDouble, "0.5", "LeakyReLU slope in the pair scores"}}},
    [](const PluginArgs& a, const Loss::Context&) -> absl::StatusOr<std::unique_ptr<Loss>> {
      if (a.Int("samples") < 1) return absl::InvalidArgumentError("sal: samples must be >= 1");
      return std::make_unique<Sal>(a.Int("samples"), a.Double("leaky"));
    });

}  // namespace
}  // namespace hardgnn
