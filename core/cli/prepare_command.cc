#include "core/cli/prepare_command.h"

#include <chrono>
#include <cstdio>
#include <string>

#include <gflags/gflags.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/data/cache.h"
#include "core/data/file_io.h"
#include "core/data/input_format.h"
#include "core/data/prepare.h"
#include "core/data/selfgnn_release.h"
#include "core/data/stats.h"
#include "core/data/text_fields.h"

// Names chosen not to clash with the ~90 flags libtorch and glog define (a clash aborts).
DEFINE_string(input, "data/gowalla-nyc/checkins.tsv.gz",
              "prepare: raw interaction log (plain or gzip), pickled scipy csr_matrix of event times, or SelfGNN "
              "release folder");
DEFINE_string(format, "",
              "prepare: selfgnn|gowalla|movielens_dat|movielens_csv|amazon|generic|csr_pickle; empty = guess from "
              "--input");
DEFINE_string(out, "", "prepare: output folder for dataset.bin and stats.json; empty = runs/prepared/<name>");
DEFINE_string(name, "", "prepare: dataset name; empty = the input's folder name");
DEFINE_int32(kcore, 5, "prepare: k of the iterated k-core filter on event counts (0 = none)");
DEFINE_string(filter, "kcore", "prepare: kcore (iterated --kcore) or selfgnn (the published notebook's filter)");
DEFINE_int32(slices, 3, "prepare: number G of equal-width time slices of the training events");
DEFINE_string(time_begin, "", "prepare: keep events at or after this time (unix seconds or YYYY-MM-DD, UTC)");
DEFINE_string(time_end, "", "prepare: keep events before this time (unix seconds or YYYY-MM-DD, UTC)");
DEFINE_int32(num_eval_users, 0, "prepare: evaluate a seeded subset of this many users (0 = all)");
DEFINE_int32(eval_negatives, 999, "prepare: sampled negatives per evaluated user");
DEFINE_double(noise, 0.0, "prepare: fraction of training events replaced by random items (robustness study)");
DEFINE_uint64(data_seed, 2024, "prepare: seed of every random step of preprocessing");
DEFINE_string(time_unit, "s",
              "prepare: unit of the raw log's numeric timestamps, s|ms|us|ns (converted to unix seconds, "
              "rounding down)");
DEFINE_bool(audit, false, "prepare: on a SelfGNN release, print the leakage checks of SPEC 1.6");

namespace hardgnn {
namespace {

namespace hd = ::hardgnn::data;

int Fail(const absl::Status& s) {
  std::fprintf(stderr, "hardgnn prepare: %s\n", std::string(s.message()).c_str());
  return 1;
}

int BadFlag(const std::string& message) {
  std::fprintf(stderr, "hardgnn prepare: %s\n", message.c_str());
  return 2;
}

// Unix seconds, "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SSZ".
absl::StatusOr<int64_t> ParseTime(const std::string& flag, const std::string& value) {
  int64_t t = 0;
  std::string problem;
  if (hd::IsDigits(value) && absl::SimpleAtoi(value, &t)) return t;
  const std::string iso = value.size() == 10 ? value + "T00:00:00Z" : value;
  if (hd::ParseIso8601Utc(iso, &t, &problem)) return t;
  return absl::InvalidArgumentError(
      absl::StrCat("--", flag, "=", value, ": expected unix seconds, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ"));
}

std::string DefaultName(const std::string& input) {
  std::string path = input;
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  const size_t slash = path.find_last_of('/');
  if (hd::IsDirectory(path)) return slash == std::string::npos ? path : path.substr(slash + 1);
  if (slash == std::string::npos || slash == 0) return "dataset";
  const std::string parent = path.substr(0, slash);
  const size_t p = parent.find_last_of('/');
  return p == std::string::npos ? parent : parent.substr(p + 1);
}

absl::StatusOr<hd::PrepareOptions> OptionsFromFlags(const std::string& name) {
  hd::PrepareOptions o;
  o.name = name;
  absl::StatusOr<hd::FilterKind> filter = hd::ParseFilterKind(FLAGS_filter);
  if (!filter.ok()) return filter.status();
  o.filter = *filter;
  o.kcore = FLAGS_kcore;
  o.num_slices = FLAGS_slices;
  o.num_eval_users = FLAGS_num_eval_users;
  o.eval_negatives = FLAGS_eval_negatives;
  o.noise = FLAGS_noise;
  o.seed = FLAGS_data_seed;
  if (!FLAGS_time_begin.empty()) {
    absl::StatusOr<int64_t> t = ParseTime("time_begin", FLAGS_time_begin);
    if (!t.ok()) return t.status();
    o.time_begin = *t;
  }
  if (!FLAGS_time_end.empty()) {
    absl::StatusOr<int64_t> t = ParseTime("time_end", FLAGS_time_end);
    if (!t.ok()) return t.status();
    o.time_end = *t;
  }
  return o;
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

// Prints each warning to stderr and appends them to the report rows as "warnings": [...].
std::vector<std::pair<std::string, std::string>> WithWarnings(std::vector<std::pair<std::string, std::string>> rows,
                                                               const std::vector<std::string>& warnings) {
  if (warnings.empty()) return rows;
  std::string list = "[";
  for (const std::string& w : warnings) {
    std::fprintf(stderr, "hardgnn prepare: warning: %s\n", w.c_str());
    absl::StrAppend(&list, list.size() > 1 ? ", " : "", hd::JsonString(w));
  }
  rows.emplace_back("warnings", list + "]");
  return rows;
}

// Writes dataset.bin and stats.json under `out` and prints the table; `warnings` (the
// reader's), and those about thin time slices, go to stderr and stats.json.
int WriteOutputs(const hd::PreparedDataset& ds, const std::string& out,
                 const std::vector<std::pair<std::string, std::string>>& report, std::vector<std::string> warnings) {
  if (absl::Status s = hd::MakeDirectories(out); !s.ok()) return Fail(s);
  const auto t0 = std::chrono::steady_clock::now();
  if (absl::Status s = hd::SavePreparedDataset(ds, out + "/dataset.bin"); !s.ok()) return Fail(s);
  const double save_s = Seconds(t0);
  const hd::DatasetStats stats = hd::ComputeStats(ds);
  for (std::string& w : hd::ThinSliceWarnings(stats)) warnings.push_back(std::move(w));
  const std::vector<std::pair<std::string, std::string>> rows = WithWarnings(report, warnings);
  if (absl::Status s = hd::WriteFileAtomically(out + "/stats.json", hd::StatsToJson(stats, rows)); !s.ok()) {
    return Fail(s);
  }
  std::printf("%s", hd::StatsToTable(stats, rows).c_str());
  std::printf("wrote %s/dataset.bin (%.2f s) and %s/stats.json\n", out.c_str(), save_s, out.c_str());
  return 0;
}

int PrepareRelease(const std::string& dir, const std::string& name, const std::string& out) {
  absl::StatusOr<hd::SelfGnnRelease> release = hd::ReadSelfGnnRelease(dir);
  if (!release.ok()) return Fail(release.status());
  const std::string audit = FLAGS_audit ? hd::FormatAudit(hd::AuditRelease(*release)) : "";
  if (FLAGS_audit) std::printf("%s\n", audit.c_str());
  if (FLAGS_audit && FLAGS_out.empty()) return 0;
  hd::ReleaseReport report;
  absl::StatusOr<hd::PreparedDataset> ds = hd::ReleaseToPrepared(*release, name, &report);
  if (!ds.ok()) return Fail(ds.status());
  const int rc = WriteOutputs(*ds, out, report.ToKeyValues(), {});
  if (rc == 0 && FLAGS_audit) {
    if (absl::Status s = hd::WriteFileAtomically(out + "/audit.txt", audit); !s.ok()) return Fail(s);
  }
  return rc;
}

}  // namespace

int RunPrepareCommand() {
  const auto start = std::chrono::steady_clock::now();
  const std::string& input = FLAGS_input;
  if (input.empty()) return BadFlag("--input is required");
  if (!hd::FileExists(input)) return BadFlag(absl::StrCat("--input=", input, ": no such file or folder"));
  hd::InputFormat format;
  if (FLAGS_format.empty()) {
    absl::StatusOr<hd::InputFormat> f = hd::GuessInputFormat(input);
    if (!f.ok()) return BadFlag(std::string(f.status().message()));
    format = *f;
  } else {
    absl::StatusOr<hd::InputFormat> f = hd::ParseInputFormat(FLAGS_format);
    if (!f.ok()) return BadFlag(absl::StrCat("--format: ", f.status().message()));
    format = *f;
  }
  if (FLAGS_audit && format != hd::InputFormat::kSelfGnn) {
    return BadFlag("--audit needs a SelfGNN release folder (--format=selfgnn)");
  }
  absl::StatusOr<hd::TimeUnit> unit = hd::ParseTimeUnit(FLAGS_time_unit);
  if (!unit.ok()) return BadFlag(absl::StrCat("--time_unit: ", unit.status().message()));
  if (format == hd::InputFormat::kSelfGnn && *unit != hd::TimeUnit::kSeconds) {
    return BadFlag("--time_unit applies to raw logs, not to a SelfGNN release");
  }
  const std::string name = FLAGS_name.empty() ? DefaultName(input) : FLAGS_name;
  const std::string out = FLAGS_out.empty() ? absl::StrCat("runs/prepared/", name) : FLAGS_out;
  int rc;
  if (format == hd::InputFormat::kSelfGnn) {
    rc = PrepareRelease(input, name, out);
  } else {
    absl::StatusOr<hd::PrepareOptions> options = OptionsFromFlags(name);
    if (!options.ok()) return BadFlag(std::string(options.status().message()));
    absl::StatusOr<hd::InteractionLog> log = hd::ReadInteractionFile(input, format, *unit);
    if (!log.ok()) return Fail(log.status());
    std::printf("read %lld events from %s (%s) in %.2f s\n", static_cast<long long>(log->size()), input.c_str(),
                hd::InputFormatName(format), Seconds(start));
    hd::PrepareReport report;
    absl::StatusOr<hd::PreparedDataset> ds = hd::Prepare(*log, *options, &report);
    if (!ds.ok()) return Fail(ds.status());
    rc = WriteOutputs(*ds, out, report.ToKeyValues(), log->warnings);
  }
  if (rc == 0) std::printf("prepare took %.2f s\n", Seconds(start));
  return rc;
}

}  // namespace hardgnn
