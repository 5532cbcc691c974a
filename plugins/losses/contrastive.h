#ifndef HARDGNN_PLUGINS_LOSSES_CONTRASTIVE_H_
#define HARDGNN_PLUGINS_LOSSES_CONTRASTIVE_H_

#include <string>

#include <ATen/ATen.h>

#include "core/model/loss.h"

namespace hardgnn {

// The pieces every contrastive loss of SPEC §7 shares, per anchor b (a batch row): the
// anchor a_b, its positive p_b (the batch target) and its sampled negatives n_bj, all
// L2-normalized; the anchor view and the item view carry the gradients.
struct ContrastiveTerms {
  at::Tensor pos;      // [B]   s+ = <a, p> / tau
  at::Tensor neg;      // [B,K] s_j = <a, n_j> / tau
  at::Tensor valid;    // [B,K] 1 for a negative outside the anchor user's history, else 0
  at::Tensor weights;  // [B,K] sampler importance weights rescaled to mean 1 over the valid
                       //       negatives of each row (ones when the sampler gives none)
  at::Tensor count;    // [B]   number of valid negatives, N
};

ContrastiveTerms ComputeContrastiveTerms(const Loss::Input& input, const std::string& anchor_view, double tau);

// Rescales w [B,K] so each row's mean over valid entries is 1 (invalid entries become 0).
at::Tensor MeanOneOverValid(const at::Tensor& w, const at::Tensor& valid);

// The debiased (Chuang et al. 2020) estimate of the negatives' mass with the clamp of SPEC §7:
// N g = max((sum_j w_j e^{s_j} - tau_plus N e^{s+}) / (1 - tau_plus), N e^{-1/tau}), and the
// loss mean_b [log(e^{s+} + N g) - s+].
at::Tensor DebiasedLoss(const ContrastiveTerms& t, const at::Tensor& weights, double tau, double tau_plus);

}  // namespace hardgnn

#endif  // HARDGNN_PLUGINS_LOSSES_CONTRASTIVE_H_
