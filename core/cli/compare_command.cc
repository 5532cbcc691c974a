#include "core/cli/compare_command.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "core/cli/json.h"
#include "core/cli/run_flags.h"
#include "core/data/file_io.h"

namespace hardgnn {
namespace {

struct RunRecord {
  std::string dir;
  Json summary;
  std::map<std::string, std::string> flags;  // flags.txt: name -> value
};

absl::StatusOr<RunRecord> ReadRun(const std::string& dir) {
  RunRecord run;
  run.dir = dir;
  absl::StatusOr<std::string> summary = data::ReadFileToString(dir + "/summary.json");
  if (!summary.ok()) {
    return absl::NotFoundError(absl::StrCat(dir, "/summary.json: cannot read it (not a finished hardgnn run?): ",
                                            summary.status().message()));
  }
  absl::StatusOr<Json> json = ParseJson(*summary);
  if (!json.ok()) return absl::DataLossError(absl::StrCat(dir, "/summary.json: ", json.status().message()));
  run.summary = std::move(*json);
  absl::StatusOr<std::string> flags = data::ReadFileToString(dir + "/flags.txt");
  if (!flags.ok()) return flags.status();
  for (absl::string_view line : absl::StrSplit(*flags, '\n', absl::SkipEmpty())) {
    if (!absl::ConsumePrefix(&line, "--")) continue;
    std::pair<std::string, std::string> kv = absl::StrSplit(line, absl::MaxSplits('=', 1));
    run.flags[kv.first] = kv.second;
  }
  return run;
}

// "0.2931", or "-" where the run did not compute it (no full ranking).
std::string Metric(const Json& summary, absl::string_view split, absl::string_view protocol, absl::string_view metric) {
  const Json* users = summary.At({"best", split, protocol, "users"});
  const Json* value = summary.At({"best", split, protocol, metric});
  if (users == nullptr || value == nullptr || users->number == 0) return "-";
  return absl::StrFormat("%.4f", value->number);
}

std::string MetricsTable(const std::vector<RunRecord>& runs) {
  size_t width = 3;
  for (const RunRecord& r : runs) width = std::max(width, r.dir.size());
  const int w = static_cast<int>(width);
  std::string out = absl::StrFormat("%-*s %5s | %-17s | %-17s | %-17s | %-17s\n", w, "", "", "validation, paper",
                                    "validation, full", "test, paper", "test, full");
  absl::StrAppendFormat(&out, "%-*s %5s", w, "run", "epoch");
  for (int i = 0; i < 4; ++i) absl::StrAppendFormat(&out, " | %8s %8s", "NDCG@10", "HR@10");
  out += "\n";
  for (const RunRecord& r : runs) {
    const Json* epoch = r.summary.At({"best_epoch"});
    absl::StrAppendFormat(&out, "%-*s %5s", w, r.dir, epoch ? absl::StrCat(static_cast<int64_t>(epoch->number)) : "?");
    for (const char* split : {"validation", "test"}) {
      for (const char* protocol : {"sampled", "full"}) {
        absl::StrAppendFormat(&out, " | %8s %8s", Metric(r.summary, split, protocol, "ndcg@10"),
                              Metric(r.summary, split, protocol, "hr@10"));
      }
    }
    out += "\n";
  }
  return out;
}

std::string Variants(const std::vector<RunRecord>& runs) {
  std::string out = "variants:\n";
  for (const RunRecord& r : runs) {
    const Json* protocol = r.summary.At({"protocol"});
    const Json* selected = r.summary.At({"selected_on"});
    const bool official = protocol != nullptr && protocol->string == "official";
    absl::StrAppend(&out, "  ", r.dir, ": ", VariantName(r.flags), "; selected on ",
                    selected ? selected->string : "?",
                    official ? " (eval_protocol=official: trained on the validation item)" : "", "\n");
  }
  return out;
}

// A flags.txt number as short as it reads back exactly ("0.1", not "0.10000000000000001").
std::string Shortest(const std::string& value) {
  double d;
  if (value.find_first_of(".eE") == std::string::npos || !absl::SimpleAtod(value, &d)) return value;
  for (int digits = 1; digits <= 17; ++digits) {
    const std::string text = absl::StrFormat("%.*g", digits, d);
    double back;
    if (absl::SimpleAtod(text, &back) && back == d) return text;
  }
  return value;
}

// Every flag whose value differs among the runs that have it (a plugin's parameters exist
// only in the runs that use that plugin: the others get an empty cell).
std::string FlagDifferences(const std::vector<RunRecord>& runs) {
  std::set<std::string> names;
  for (const RunRecord& r : runs) {
    for (const auto& [name, value] : r.flags) names.insert(name);
  }
  std::vector<std::vector<std::string>> rows = {{"flag"}};
  for (const RunRecord& r : runs) rows[0].push_back(r.dir);
  for (const std::string& name : names) {
    std::vector<std::string> row = {"--" + name};
    std::set<std::string> values;
    for (const RunRecord& r : runs) {
      auto it = r.flags.find(name);
      row.push_back(it == r.flags.end() ? "" : Shortest(it->second));
      if (it != r.flags.end()) values.insert(it->second);
    }
    if (values.size() > 1) rows.push_back(row);
  }
  if (rows.size() == 1) return "flags: no flag differs between the runs\n";
  std::vector<size_t> widths(rows[0].size(), 0);
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], row[c].size());
  }
  std::string out = "flags that differ (flags.txt; empty: the run's plugins have no such flag):\n";
  for (const auto& row : rows) {
    std::string line = " ";
    for (size_t c = 0; c < row.size(); ++c) absl::StrAppendFormat(&line, " %-*s", static_cast<int>(widths[c]), row[c]);
    absl::StrAppend(&out, absl::StripTrailingAsciiWhitespace(line), "\n");
  }
  return out;
}

}  // namespace

int RunCompareCommand(const std::vector<std::string>& run_dirs) {
  if (run_dirs.empty()) {
    std::fprintf(stderr, "hardgnn compare: name the run directories to compare: hardgnn compare RUN_DIR...\n");
    return 2;
  }
  std::vector<RunRecord> runs;
  for (const std::string& dir : run_dirs) {
    absl::StatusOr<RunRecord> run = ReadRun(dir);
    if (!run.ok()) {
      std::fprintf(stderr, "hardgnn compare: %s\n", std::string(run.status().message()).c_str());
      return 1;
    }
    runs.push_back(std::move(*run));
  }
  std::printf("%s\n%s\n%s", MetricsTable(runs).c_str(), Variants(runs).c_str(), FlagDifferences(runs).c_str());
  return 0;
}

}  // namespace hardgnn
