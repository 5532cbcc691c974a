// `sal`: SelfGNN's personalized self-augmented learning loss (SPEC §2.5). For slice k and a
// pair of entries a = (u_a, i_a), b = (u_b, i_b):
//   max(0, 1 - [w_k(u_a) sbar(a) - w_k(u_b) sbar(b)] * [s_k(a) - s_k(b)])
// with sbar(u,i) = sum_d LR(ubar_u * ibar_i) (long-term, gradient stopped),
// s_k(u,i) = sum_d LR(u^k_u * i^k_i) (short-term), summed over pairs and slices.
#include <memory>

#include <ATen/ATen.h>

#include "core/cpu/reduce.h"
#include "core/cpu/sparse_rows.h"
#include "core/model/loss.h"

namespace hardgnn {
namespace {

// Rows of x, [n, d], with index_select's gradient (the same bits) written in one parallel pass.
at::Tensor Rows(const at::Tensor& x, const at::Tensor& rows) { return cpu::GatherRowsDenseGradient(x, rows); }

class Sal : public Loss {
 public:
  Sal(int64_t samples, double slope) : samples_(samples), slope_(slope) {}
  std::vector<std::string> RequiredViews() const override {
    return {view::kUserLong, view::kItem, view::kUserShortSlices, view::kItemShortSlices,
            view::kSalWeight};
  }
  std::vector<std::string> DetachedViews() const override { return {view::kUserLong, view::kItem}; }
  BatchNeeds Needs() const override { return {0, samples_}; }
  // Data parallel: the pairs span the whole batch, so the term is computed whole on every rank
  // from gathered per-entry scores (kGathered).
  Reduction BatchReduction(const Input& input) const override {
    return {input.exchange != nullptr ? Reduction::kGathered : Reduction::kSum};
  }

  at::Tensor Compute(const Input& input) override {
    const Views& v = input.views;
    const at::Tensor user_long = v.Get(view::kUserLong).detach();
    const at::Tensor item_long = v.Get(view::kItem).detach();
    const at::Tensor& user_short = v.Get(view::kUserShortSlices);  // [G,B,d]
    const at::Tensor& item_short = v.Get(view::kItemShortSlices);  // [G,I,d]
    if (input.exchange != nullptr) return Gathered(input, user_long, item_long, user_short, item_short);
    const int64_t batch = user_short.size(1), items = item_short.size(1), d = user_short.size(2);
    // All slices at once, through flat [G*N, d] views: one gather (and one scatter in the
    // backward) per tensor instead of one full-size gradient buffer per slice.
    std::vector<at::Tensor> rows_a, items_a, rows_b, items_b, flat_rows_a, flat_items_a, flat_rows_b, flat_items_b;
    for (size_t k = 0; k < input.batch.sal.size(); ++k) {
      const SalPairs& p = input.batch.sal[k];
      rows_a.push_back(p.rows_a);
      items_a.push_back(p.items_a);
      rows_b.push_back(p.rows_b);
      items_b.push_back(p.items_b);
      flat_rows_a.push_back(p.rows_a + static_cast<int64_t>(k) * batch);
      flat_items_a.push_back(p.items_a + static_cast<int64_t>(k) * items);
      flat_rows_b.push_back(p.rows_b + static_cast<int64_t>(k) * batch);
      flat_items_b.push_back(p.items_b + static_cast<int64_t>(k) * items);
    }
    if (rows_a.empty() || at::cat(rows_a).numel() == 0) return at::zeros({}, user_short.options());
    const at::Tensor us = user_short.reshape({-1, d});
    const at::Tensor w = v.Get(view::kSalWeight).reshape({-1});
    auto long_score = [&](const std::vector<at::Tensor>& r, const std::vector<at::Tensor>& i) {
      return at::leaky_relu(Rows(user_long, at::cat(r)) * Rows(item_long, at::cat(i)), slope_).sum(1);
    };
    const at::Tensor fra = at::cat(flat_rows_a), frb = at::cat(flat_rows_b);
    // Both sides of the pairs in one gather per tensor: one full-size gradient buffer each in
    // the backward, not two summed into a third. From SelfGNN's fork handle (cpu::ForkForRowGathers)
    // the items' rows stay sparse and the fork writes that buffer once with the fusion's rows.
    const int64_t n = fra.size(0);
    const at::Tensor short_both =
        at::leaky_relu(
            Rows(us, at::cat({fra, frb})) * Rows(item_short, at::cat({at::cat(flat_items_a), at::cat(flat_items_b)})),
            slope_)
            .sum(1);
    at::Tensor long_gap = w.index_select(0, fra) * long_score(rows_a, items_a) -
                          w.index_select(0, frb) * long_score(rows_b, items_b);
    at::Tensor short_gap = short_both.narrow(0, 0, n) - short_both.narrow(0, n, short_both.size(0) - n);
    return cpu::FixedOrderSum(at::clamp_min(1.0 - long_gap * short_gap, 0.0));
  }

 private:
  // Data parallel: this rank's share of the batch holds entries of its rows only, but entry j
  // pairs with entry j + n of the whole batch. Per slice, each entry's weighted long-term score
  // and short-term score are gathered from every rank (in row order, as one process lists the
  // entries) and every rank sums all pairs: the same terms, in the same order, as one process.
  at::Tensor Gathered(const Input& input, const at::Tensor& user_long, const at::Tensor& item_long,
                      const at::Tensor& user_short, const at::Tensor& item_short) const {
    const int64_t batch = user_short.size(1), items = item_short.size(1), d = user_short.size(2);
    const at::Tensor us = user_short.reshape({-1, d});
    const at::Tensor w = input.views.Get(view::kSalWeight).reshape({-1});
    std::vector<at::Tensor> pairs;
    for (size_t k = 0; k < input.batch.sal.size(); ++k) {
      const SalPairs& p = input.batch.sal[k];
      const at::Tensor rows = at::cat({p.rows_a, p.rows_b}), entry_items = at::cat({p.items_a, p.items_b});
      const at::Tensor flat_rows = rows + static_cast<int64_t>(k) * batch;
      const at::Tensor weighted_long =
          w.index_select(0, flat_rows) *
          at::leaky_relu(Rows(user_long, rows) * Rows(item_long, entry_items), slope_).sum(1);
      const at::Tensor short_term =
          at::leaky_relu(Rows(us, flat_rows) * Rows(item_short, entry_items + static_cast<int64_t>(k) * items), slope_)
              .sum(1);
      const at::Tensor all = input.exchange->AllGather(at::stack({weighted_long, short_term}, 1));  // [entries, 2]
      const int64_t n = all.size(0) / 2;
      const at::Tensor long_gap = all.select(1, 0).narrow(0, 0, n) - all.select(1, 0).narrow(0, n, n);
      const at::Tensor short_gap = all.select(1, 1).narrow(0, 0, n) - all.select(1, 1).narrow(0, n, n);
      pairs.push_back(at::clamp_min(1.0 - long_gap * short_gap, 0.0));
    }
    if (pairs.empty()) return at::zeros({}, user_short.options());
    return cpu::FixedOrderSum(at::cat(pairs));
  }


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
