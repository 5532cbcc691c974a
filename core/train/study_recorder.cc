#include "core/train/study_recorder.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <ATen/ATen.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace hardgnn {
namespace {

// Opens `path` for appending and writes `header` when the file is new (a resumed study
// continues the same table).
absl::StatusOr<data::AppendOnlyFile> OpenTable(const std::string& path, const std::string& header) {
  absl::StatusOr<data::AppendOnlyFile> file = data::AppendOnlyFile::Open(path);
  if (!file.ok()) return file.status();
  if (file->size() == 0) {
    if (absl::Status s = file->Append(header); !s.ok()) return s;
  }
  return file;
}

}  // namespace

absl::StatusOr<std::unique_ptr<StudyRecorder>> StudyRecorder::Create(SamplerStudy study, Encoder& encoder,
                                                                     const std::string& run_dir, bool grad_norms) {
  absl::StatusOr<data::AppendOnlyFile> rows = OpenTable(run_dir + "/study.csv", StudyRow::CsvHeader() + "\n");
  if (!rows.ok()) return rows.status();
  std::unique_ptr<StudyRecorder> recorder(new StudyRecorder(std::move(study), encoder, std::move(*rows)));
  if (grad_norms) {
    absl::StatusOr<data::AppendOnlyFile> norms = OpenTable(run_dir + "/grad_norms.csv", GradNormsHeader());
    if (!norms.ok()) return norms.status();
    recorder->grad_norms_.emplace(std::move(*norms));
  }
  return recorder;
}

absl::Status StudyRecorder::DropRowsFrom(data::AppendOnlyFile& table, int column, int64_t first) {
  std::ifstream in(table.path());
  std::string line, kept;
  bool header = true, dropped = false;
  while (std::getline(in, line)) {
    const std::vector<absl::string_view> fields = absl::StrSplit(line, ',');
    int64_t value = 0;
    if (!header && fields.size() > static_cast<size_t>(column) && absl::SimpleAtoi(fields[column], &value) &&
        value >= first) {
      dropped = true;
      continue;
    }
    header = false;
    absl::StrAppend(&kept, line, "\n");
  }
  if (in.bad()) return absl::DataLossError(absl::StrCat("cannot read ", table.path()));
  if (!dropped) return absl::OkStatus();
  if (absl::Status s = data::WriteFileAtomically(table.path(), kept); !s.ok()) return s;
  absl::StatusOr<data::AppendOnlyFile> reopened = data::AppendOnlyFile::Open(table.path());
  if (!reopened.ok()) return reopened.status();
  table = std::move(*reopened);
  return absl::OkStatus();
}

absl::Status StudyRecorder::Attach(TrainOptions& options) {
  resumed_rows_ = resumed_norms_ = options.resume;
  if (!options.resume) {
    if (absl::Status s = Measure(-1, std::nan("")); !s.ok()) return s;
  }
  options.after_epoch = [this](int64_t epoch, double loss) { return Measure(epoch, loss); };
  if (grad_norms_) {
    options.after_backward = [this](int64_t step, int64_t epoch) { return RecordGradients(step, epoch); };
  }
  return absl::OkStatus();
}

absl::Status StudyRecorder::Measure(int64_t epoch, double loss) {
  absl::StatusOr<StudyRow> row = study_.Measure(encoder_, epoch, loss);
  if (!row.ok()) return row.status();
  if (resumed_rows_) {
    resumed_rows_ = false;
    if (absl::Status s = DropRowsFrom(rows_, /*column=epoch*/ 0, epoch); !s.ok()) return s;
  }
  if (absl::Status s = rows_.Append(row->ToCsv() + "\n"); !s.ok()) return s;
  std::fprintf(stderr,
               "study: epoch %lld cos(anchor, positive) %.4f hard %.4f random %.4f | InfoNCE hard %.4f random "
               "%.4f (chance ln(K+1) = %.4f) | anchor pair cosine %.3f\n",
               static_cast<long long>(epoch), row->cos_positive, row->cos_hard, row->cos_random, row->infonce_hard,
               row->infonce_random, std::log(static_cast<double>(study_.options().k) + 1), row->anchor_pair_cos);
  return absl::OkStatus();
}

absl::Status StudyRecorder::RecordGradients(int64_t step, int64_t epoch) {
  if (resumed_norms_) {
    resumed_norms_ = false;
    if (absl::Status s = DropRowsFrom(*grad_norms_, /*column=step*/ 0, step); !s.ok()) return s;
  }
  std::string lines;
  for (const auto& p : encoder_.named_parameters()) {
    const at::Tensor& grad = p.value().grad();
    const double g = grad.defined() ? grad.norm().item<double>() : 0.0;
    absl::StrAppendFormat(&lines, "%d,%d,%s,%.6g,%.6g\n", step, epoch, p.key(), g, p.value().norm().item<double>());
  }
  return grad_norms_->Append(lines);
}

}  // namespace hardgnn
