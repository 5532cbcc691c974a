#include "core/train/sampler_study.h"

#include <algorithm>
#include <cmath>

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "core/model/sampler.h"

namespace hardgnn {
namespace {

at::Tensor Unit(const at::Tensor& x) {
  return x / at::linalg_vector_norm(x, 2, {-1}, true).clamp_min(1e-12);
}

// Mean cosine of each anchor with its negatives, and the InfoNCE of (anchor, positive, negatives);
// anchors, positives and unit_items are L2-normalized rows.
std::pair<double, double> CosineAndInfoNce(const at::Tensor& anchors, const at::Tensor& positives,
                                           const at::Tensor& unit_items, const at::Tensor& ids, double tau) {
  at::Tensor neg = unit_items.index_select(0, ids.reshape(-1)).view({ids.size(0), ids.size(1), -1});
  at::Tensor cos_neg = (neg * anchors.unsqueeze(1)).sum(2);
  at::Tensor cos_pos = (positives * anchors).sum(1);
  at::Tensor logits = at::cat({cos_pos.unsqueeze(1), cos_neg}, 1) / tau;
  return {cos_neg.mean().item<double>(), (at::logsumexp(logits, 1) - logits.select(1, 0)).mean().item<double>()};
}

}  // namespace

// (|sum x|^2 - N) / (N (N-1)): the sum of all pairs' cosines without the diagonal.
double MeanPairCosine(const at::Tensor& x) {
  const double n = static_cast<double>(x.size(0));
  if (n < 2) return 0;
  const double s = x.to(at::kDouble).sum(0).pow(2).sum().item<double>();
  return (s - n) / (n * (n - 1));
}

double TopDirectionShare(const at::Tensor& x) {
  const at::Tensor s2 = at::linalg_svdvals(x.to(at::kDouble)).pow(2);
  return (s2[0] / s2.sum().clamp_min(1e-300)).item<double>();
}

std::string StudyRow::CsvHeader() {
  return "epoch,train_loss,cos_positive,cos_hard,cos_random,infonce_hard,infonce_random,heldout_hard,"
         "anchor_pair_cos,item_pair_cos,anchor_top_share,item_top_share,heldout_random";
}

std::string StudyRow::ToCsv() const {
  return absl::StrFormat("%d,%.6g,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f", epoch, train_loss,
                         cos_positive, cos_hard, cos_random, infonce_hard, infonce_random, heldout_hard,
                         anchor_pair_cos, item_pair_cos, anchor_top_share, item_top_share, heldout_random);
}

absl::StatusOr<SamplerStudy> SamplerStudy::Create(const data::PreparedDataset& dataset, BatchOptions batch,
                                                  StudyOptions options) {
  BatchBuilder builder(dataset, batch);
  std::vector<int32_t> users = builder.TrainableUsers();
  if (users.empty()) return absl::FailedPreconditionError("sampler study: no user has a training target");
  // An evenly spaced, fixed subset of the users.
  const int64_t n = std::min<int64_t>(options.probe_users, users.size());
  std::vector<int32_t> probes;
  for (int64_t j = 0; j < n; ++j) probes.push_back(users[j * users.size() / n]);
  return SamplerStudy(dataset, std::move(options), builder.Build(probes, options.seed), builder.Seen());
}

// Under the clean protocol a held-out item is an ordinary unseen item, so it can be mined.
double SamplerStudy::HeldOutShare(const at::Tensor& ids) const {
  const at::Tensor flat = ids.contiguous(), users = probes_.users.contiguous();
  const int64_t* id = flat.data_ptr<int64_t>();
  const int64_t* user = users.data_ptr<int64_t>();
  const int64_t k = flat.size(1);
  int64_t hits = 0;
  for (int64_t b = 0; b < flat.size(0); ++b) {
    const int64_t u = user[b];
    for (int64_t j = 0; j < k; ++j) {
      if (id[b * k + j] == dataset_->val_item[u] || id[b * k + j] == dataset_->test_item[u]) {
        ++hits;
        break;
      }
    }
  }
  return static_cast<double>(hits) / std::max<int64_t>(1, flat.size(0));
}

absl::StatusOr<StudyRow> SamplerStudy::Measure(Encoder& encoder, int64_t epoch, double train_loss) {
  torch::NoGradGuard no_grad;
  const bool was_training = encoder.is_training();
  encoder.eval();
  Views views = encoder.Forward(probes_, /*all_items=*/true);
  encoder.train(was_training);
  const at::Tensor anchors = Unit(views.Get(options_.anchor_view).to(at::kFloat));
  const at::Tensor items = views.Get(view::kItem).to(at::kFloat);
  const at::Tensor unit_items = Unit(items);
  const at::Tensor positives = unit_items.index_select(0, probes_.targets);

  Sampler::Request request;
  request.anchors = anchors;
  request.items = items;
  request.users = probes_.users;
  request.positives = probes_.targets;
  request.history = &seen_;
  request.num_items = dataset_->num_items;
  request.seed = options_.seed;
  StudyRow row;
  row.epoch = epoch;
  row.train_loss = train_loss;
  row.cos_positive = (positives * anchors).sum(1).mean().item<double>();
  row.anchor_pair_cos = MeanPairCosine(anchors);
  row.item_pair_cos = MeanPairCosine(unit_items);
  row.anchor_top_share = TopDirectionShare(anchors);
  row.item_top_share = TopDirectionShare(unit_items);
  for (const char* name : {"hard_cosine", "random"}) {
    auto sampler = SamplerRegistry::Global().Create(name, {{"k", std::to_string(options_.k)}}, {});
    if (!sampler.ok()) return sampler.status();
    auto negatives = (*sampler)->Sample(request);
    if (!negatives.ok()) return negatives.status();
    auto [cos, nce] = CosineAndInfoNce(anchors, positives, unit_items, negatives->ids, options_.tau);
    const bool random = std::string(name) == "random";
    (random ? row.cos_random : row.cos_hard) = cos;
    (random ? row.infonce_random : row.infonce_hard) = nce;
    (random ? row.heldout_random : row.heldout_hard) = HeldOutShare(negatives->ids);
  }
  return row;
}

}  // namespace hardgnn
