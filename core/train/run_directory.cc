#include "core/train/run_directory.h"

#include <unistd.h>

#include <cstdio>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/data/file_io.h"

namespace hardgnn {

std::string TrainerState::Serialize() const {
  return absl::StrFormat(
      "next_epoch=%d\nstep=%d\nbest_epoch=%d\nbest_metric=%.17g\nstale_evals=%d\nfirst_loss=%.17g\nlog_bytes=%d\n",
      next_epoch, step, best_epoch, best_metric, stale_evals, first_loss, log_bytes);
}

absl::StatusOr<TrainerState> TrainerState::Parse(const std::string& text, const std::string& where) {
  TrainerState s;
  int line_no = 0, fields = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    ++line_no;
    std::pair<std::string, std::string> kv = absl::StrSplit(line, absl::MaxSplits('=', 1));
    bool ok = true;
    if (kv.first == "next_epoch") ok = absl::SimpleAtoi(kv.second, &s.next_epoch);
    else if (kv.first == "step") ok = absl::SimpleAtoi(kv.second, &s.step);
    else if (kv.first == "best_epoch") ok = absl::SimpleAtoi(kv.second, &s.best_epoch);
    else if (kv.first == "best_metric") ok = absl::SimpleAtod(kv.second, &s.best_metric);
    else if (kv.first == "stale_evals") ok = absl::SimpleAtoi(kv.second, &s.stale_evals);
    else if (kv.first == "first_loss") ok = absl::SimpleAtod(kv.second, &s.first_loss);
    else if (kv.first == "log_bytes") ok = absl::SimpleAtoi(kv.second, &s.log_bytes);
    else ok = false;
    if (!ok) return absl::DataLossError(absl::StrCat(where, ": trainer state line ", line_no, ": bad line '", line, "'"));
    ++fields;
  }
  if (fields != 7) return absl::DataLossError(absl::StrCat(where, ": incomplete trainer state"));
  return s;
}

absl::StatusOr<RunDirectory> RunDirectory::Open(const std::string& dir) {
  RunDirectory run;
  run.dir_ = dir;
  if (dir.empty()) return run;
  const std::vector<std::string> removed = data::RemoveStaleTemporaries(dir);
  if (!removed.empty()) {
    std::fprintf(stderr, "hardgnn train: removed %zu temporary file(s) a killed run left in %s: %s\n",
                 removed.size(), dir.c_str(), absl::StrJoin(removed, ", ").c_str());
  }
  absl::StatusOr<data::AppendOnlyFile> log = data::AppendOnlyFile::Open(dir + "/log.jsonl");
  if (!log.ok()) return log.status();
  run.log_.emplace(std::move(*log));
  return run;
}

absl::StatusOr<TrainerState> RunDirectory::Resume(torch::nn::Module& module, torch::optim::Optimizer& optimizer,
                                                  const CheckpointIdentity& identity) {
  if (!enabled()) return absl::InvalidArgumentError("--resume needs a run directory");
  const std::string last = dir_ + "/last.pt";
  if (!data::FileExists(last)) {
    if (data::FileExists(dir_ + "/summary.json")) {
      return absl::FailedPreconditionError(absl::StrCat(
          dir_, " holds a finished run whose last.pt was removed (--keep_last=false): nothing to resume "
          "(its best.pt still evaluates); choose another --run_dir to train again"));
    }
    std::fprintf(stderr, "hardgnn train: %s holds no checkpoint (the run stopped before its first one): "
                         "starting from scratch\n", dir_.c_str());
    ::unlink((dir_ + "/best.pt").c_str());
    if (absl::Status s = CutLog(0); !s.ok()) return s;
    return TrainerState();
  }
  absl::StatusOr<std::string> text = LoadCheckpoint(last, module, &optimizer, identity, IdentityCheck::kEverything);
  if (!text.ok()) return text.status();
  absl::StatusOr<TrainerState> state = TrainerState::Parse(*text, last);
  if (!state.ok()) return state.status();
  if (log_->size() < state->log_bytes) {
    return absl::DataLossError(absl::StrCat(log_->path(), " is shorter (", log_->size(), " bytes) than when ", last,
                                            " was written (", state->log_bytes, " bytes)"));
  }
  // Lines written after the checkpoint belong to epochs this run is about to redo.
  if (absl::Status s = CutLog(state->log_bytes); !s.ok()) return s;
  return state;
}

absl::Status RunDirectory::CutLog(int64_t size) {
  if (absl::Status s = data::TruncateFile(log_->path(), size); !s.ok()) return s;
  absl::StatusOr<data::AppendOnlyFile> log = data::AppendOnlyFile::Open(log_->path());
  if (!log.ok()) return log.status();
  *log_ = std::move(*log);
  return absl::OkStatus();
}

absl::Status RunDirectory::Log(const std::string& json_line) {
  if (!enabled()) return absl::OkStatus();
  return log_->Append(json_line + "\n");
}

absl::Status RunDirectory::SaveBest(torch::nn::Module& module, const CheckpointIdentity& identity) {
  if (!enabled()) return absl::OkStatus();
  return SaveCheckpoint(dir_ + "/best.pt", module, nullptr, identity);
}

absl::Status RunDirectory::LoadBest(torch::nn::Module& module, const CheckpointIdentity& identity) {
  if (!enabled()) return absl::OkStatus();
  return LoadCheckpoint(dir_ + "/best.pt", module, nullptr, identity, IdentityCheck::kModel).status();
}

absl::Status RunDirectory::Commit(torch::nn::Module& module, torch::optim::Optimizer& optimizer,
                                  const CheckpointIdentity& identity, TrainerState state) {
  if (!enabled()) return absl::OkStatus();
  if (absl::Status s = log_->Sync(); !s.ok()) return s;
  state.log_bytes = log_->size();
  return SaveCheckpoint(dir_ + "/last.pt", module, &optimizer, identity, state.Serialize());
}

}  // namespace hardgnn
