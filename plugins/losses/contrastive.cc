#include "plugins/losses/contrastive.h"

#include <cmath>

#include "core/cpu/reduce.h"
#include "core/cpu/sparse_rows.h"

namespace hardgnn {
namespace {

at::Tensor L2Normalize(const at::Tensor& x) {  // rows of x, as F.normalize(x, dim=1)
  return x / at::linalg_vector_norm(x, 2, {1}, /*keepdim=*/true).clamp_min(1e-12);
}

}  // namespace

at::Tensor MeanOneOverValid(const at::Tensor& w, const at::Tensor& valid) {
  at::Tensor masked = w * valid;
  at::Tensor mean = masked.sum(1, /*keepdim=*/true) / valid.sum(1, true).clamp_min(1);
  return masked / mean.clamp_min(1e-30);
}

ContrastiveTerms ComputeContrastiveTerms(const Loss::Input& input, const std::string& anchor_view, double tau) {
  const at::Tensor& ids = input.negatives->ids;  // [B,K]
  at::Tensor anchor = L2Normalize(input.views.Get(anchor_view));
  const at::Tensor& items = input.views.Get(view::kItem);
  // The item table's rows with index_select's gradient in one parallel pass (the same bits).
  at::Tensor pos = L2Normalize(cpu::GatherRowsDenseGradient(items, input.batch.targets));
  at::Tensor neg =
      L2Normalize(cpu::GatherRowsDenseGradient(items, ids.reshape(-1))).view({ids.size(0), ids.size(1), -1});
  ContrastiveTerms t;
  t.pos = (anchor * pos).sum(1) / tau;
  t.neg = at::matmul(neg, anchor.unsqueeze(2)).squeeze(2) / tau;

  // Mask negatives the anchor's user interacted with (the positive included).
  t.valid = at::ones(ids.sizes(), anchor.options());
  if (input.history != nullptr) {
    // The history is read on the host: the ids and users come there (a copy off the CPU).
    at::Tensor users = input.batch.users.cpu().contiguous(), flat = ids.cpu().contiguous();
    const int64_t* u = users.data_ptr<int64_t>();
    const int64_t* id = flat.data_ptr<int64_t>();
    at::Tensor valid = at::ones(ids.sizes(), at::kFloat);
    float* v = valid.data_ptr<float>();
    for (int64_t b = 0; b < ids.size(0); ++b) {
      for (int64_t j = 0; j < ids.size(1); ++j) {
        if (input.history->Contains(u[b], static_cast<int32_t>(id[b * ids.size(1) + j]))) v[b * ids.size(1) + j] = 0;
      }
    }
    t.valid = valid.to(anchor.device(), anchor.scalar_type());
  }
  t.count = t.valid.sum(1);
  const at::Tensor& w = input.negatives->weights;
  t.weights = MeanOneOverValid(w.defined() ? w.to(anchor.scalar_type()) : at::ones_like(t.valid), t.valid);
  return t;
}

at::Tensor DebiasedLoss(const ContrastiveTerms& t, const at::Tensor& weights, double tau, double tau_plus) {
  at::Tensor pos = at::exp(t.pos);
  at::Tensor mass = (weights * at::exp(t.neg)).sum(1);
  at::Tensor ng = at::maximum((mass - tau_plus * t.count * pos) / (1 - tau_plus), t.count * std::exp(-1.0 / tau));
  return cpu::FixedOrderMean(at::log(pos + ng) - t.pos);
}

}  // namespace hardgnn
