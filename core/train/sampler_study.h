#ifndef HARDGNN_CORE_TRAIN_SAMPLER_STUDY_H_
#define HARDGNN_CORE_TRAIN_SAMPLER_STUDY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/data/dataset.h"
#include "core/model/encoder.h"
#include "core/train/batch_builder.h"

namespace hardgnn {

struct StudyOptions {
  int64_t probe_users = 1024;  // a fixed set of users, measured after every epoch
  int64_t k = 5;               // hard and random negatives per probe anchor
  double tau = 0.1;            // temperature of the InfoNCE values reported
  std::string anchor_view;
  uint64_t seed = 1;
};

// What the sampler study reports per epoch, over the probe users (eval mode, no dropout).
struct StudyRow {
  int64_t epoch = 0;          // -1: before training
  double train_loss = 0;      // mean training loss of the epoch (NaN before training)
  double cos_positive = 0;    // mean cosine anchor / next item
  double cos_hard = 0;        // mean cosine anchor / its top-K hard negatives (hard_cosine)
  double cos_random = 0;      // mean cosine anchor / K uniform negatives (random)
  double infonce_hard = 0;    // InfoNCE of the probes against the hard negatives
  double infonce_random = 0;  // and against the random ones
  double heldout_hard = 0;    // share of probes whose validation or test item is among their hard negatives
  // Anisotropy: the mean cosine between two different probe anchors (two different items),
  // and the share of the unit vectors' second moment on their top singular direction (1/d
  // for an isotropic cloud, 1 when every vector points the same way).
  double anchor_pair_cos = 0;
  double item_pair_cos = 0;
  double anchor_top_share = 0;
  double item_top_share = 0;
  double heldout_random = 0;  // the same share for the K random negatives (the false-negative baseline)

  static std::string CsvHeader();
  std::string ToCsv() const;
};

// Mean cosine over the pairs of different rows of unit vectors x [N,d].
double MeanPairCosine(const at::Tensor& x);
// sigma_1^2 / sum_i sigma_i^2 of x [N,d], uncentered: 1/d for rows spread evenly over every
// direction, 1 when all rows are parallel.
double TopDirectionShare(const at::Tensor& x);

// Measures whether mined negatives really are closer to the anchor than random ones, and
// whether training separates them (proposal step 3.2).
class SamplerStudy {
 public:
  static absl::StatusOr<SamplerStudy> Create(const data::PreparedDataset& dataset, BatchOptions batch,
                                             StudyOptions options);
  absl::StatusOr<StudyRow> Measure(Encoder& encoder, int64_t epoch, double train_loss);
  const StudyOptions& options() const { return options_; }

 private:
  SamplerStudy(const data::PreparedDataset& dataset, StudyOptions options, Batch probes, data::Csr seen)
      : dataset_(&dataset), options_(std::move(options)), probes_(std::move(probes)), seen_(std::move(seen)) {}
  double HeldOutShare(const at::Tensor& ids) const;

  const data::PreparedDataset* dataset_;
  StudyOptions options_;
  Batch probes_;
  data::Csr seen_;  // what training treats as each user's seen items (BatchBuilder::Seen)
};

}  // namespace hardgnn

#endif  // HARDGNN_CORE_TRAIN_SAMPLER_STUDY_H_
