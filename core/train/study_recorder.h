#ifndef HARDGNN_CORE_TRAIN_STUDY_RECORDER_H_
#define HARDGNN_CORE_TRAIN_STUDY_RECORDER_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "core/data/durable_io.h"
#include "core/model/encoder.h"
#include "core/train/sampler_study.h"
#include "core/train/trainer.h"

namespace hardgnn {

// Writes what `hardgnn study` records in a run directory: study.csv (a SamplerStudy row
// before training and after every epoch) and grad_norms.csv (the L2 norm of every parameter's
// gradient and of its value, after every backward pass: where the training signal arrives).
class StudyRecorder {
 public:
  static absl::StatusOr<std::unique_ptr<StudyRecorder>> Create(SamplerStudy study, Encoder& encoder,
                                                               const std::string& run_dir, bool grad_norms);
  // Measures the model as it is now (epoch -1 on a fresh run) and hooks the recorder into
  // `options`; the recorder must outlive the training.
  absl::Status Attach(TrainOptions& options);

  static std::string GradNormsHeader() { return "step,epoch,parameter,grad_norm,value_norm\n"; }

 private:
  StudyRecorder(SamplerStudy study, Encoder& encoder, data::AppendOnlyFile rows)
      : study_(std::move(study)), encoder_(encoder), rows_(std::move(rows)) {}
  absl::Status Measure(int64_t epoch, double loss);
  absl::Status RecordGradients(int64_t step, int64_t epoch);
  // A run stopped between writing rows and committing its checkpoint redoes those rows' epoch
  // or steps after --resume: the first row each table gets after a resume drops the stale ones.
  static absl::Status DropRowsFrom(data::AppendOnlyFile& table, int column, int64_t first);

  SamplerStudy study_;
  Encoder& encoder_;
  data::AppendOnlyFile rows_;
  std::optional<data::AppendOnlyFile> grad_norms_;
  bool resumed_rows_ = false, resumed_norms_ = false;  // set by a resume until the first row
};

}  // namespace hardgnn

#endif  // HARDGNN_CORE_TRAIN_STUDY_RECORDER_H_
