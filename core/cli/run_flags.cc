#include "core/cli/run_flags.h"

#include <algorithm>
#include <map>
#include <vector>

#include <gflags/gflags.h>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace hardgnn {

const char* const kResumableFlags[8] = {"epochs", "max_steps", "threads", "device", "aten_kernels", "progress", "profile", "keep_last"};

namespace {

// Flags that name where things are or what to do, not what the run computes.
bool IsBookkeeping(const std::string& name) {
  return name == "flagfile" || name == "resume" || name == "run_dir" || name == "checkpoint" || name == "data";
}

bool IsRunFlag(const gflags::CommandLineFlagInfo& f, const PluginChoice& choice) {
  if (f.filename == "core/cli/train_command.cc" || f.filename == "core/cli/model_flags.cc" ||
      f.filename == "core/cli/main.cc") {
    return true;
  }
  std::vector<std::string> plugins = {"plugins/encoders/" + choice.encoder};
  if (!choice.sampler.empty()) plugins.push_back("plugins/samplers/" + choice.sampler);
  for (const LossSpec& l : choice.losses) plugins.push_back("plugins/losses/" + l.name);
  return std::find(plugins.begin(), plugins.end(), f.filename) != plugins.end();
}

std::vector<gflags::CommandLineFlagInfo> RunFlags(const PluginChoice& choice) {
  std::vector<gflags::CommandLineFlagInfo> all, out;
  gflags::GetAllFlags(&all);  // sorted by name
  for (const auto& f : all) {
    if (IsRunFlag(f, choice)) out.push_back(f);
  }
  return out;
}

}  // namespace

std::string RunFlagfile(const PluginChoice& choice) {
  std::string out;
  for (const auto& f : RunFlags(choice)) {
    if (IsBookkeeping(f.name) && f.name != "data") continue;  // the data path makes a rerun find its data
    absl::StrAppend(&out, "--", f.name, "=", f.current_value, "\n");
  }
  return out;
}

CheckpointIdentity IdentityFromFlags(const PluginChoice& choice) {
  CheckpointIdentity id;
  const std::string encoder_group = "plugins/encoders/" + choice.encoder;
  const std::vector<std::string> resumable(std::begin(kResumableFlags), std::end(kResumableFlags));
  for (const auto& f : RunFlags(choice)) {
    const std::string line = absl::StrCat(f.name, "=", f.current_value, "\n");
    if (f.name == "encoder" || f.name == "max_seq_len" || f.filename == encoder_group) {
      absl::StrAppend(&id.architecture, line);
    } else if (!IsBookkeeping(f.name) &&
               std::find(resumable.begin(), resumable.end(), f.name) == resumable.end()) {
      absl::StrAppend(&id.config, line);
      absl::StrAppend(&id.config_defaults, f.name, "=", f.default_value, "\n");
    }
  }
  std::vector<std::string> names;
  for (const char* name : kResumableFlags) names.push_back(absl::StrCat("--", name));
  id.config_note = absl::StrCat("--resume continues a run with the flags it was started with; only ",
                                absl::StrJoin(names, ", "), " may change (the run's flags.txt holds them all)");
  return id;
}

std::map<std::string, std::string> CurrentFlagValues() {
  std::vector<gflags::CommandLineFlagInfo> all;
  gflags::GetAllFlags(&all);
  std::map<std::string, std::string> out;
  for (const auto& f : all) out[f.name] = f.current_value;
  return out;
}

std::string VariantName(const std::map<std::string, std::string>& flags) {
  auto get = [&](const char* name) {
    auto it = flags.find(name);
    return it == flags.end() ? std::string() : it->second;
  };
  std::string losses = get("losses");
  if (!get("contrastive_loss").empty()) {
    double weight = 0;
    const std::string w = get("contrastive_weight");
    absl::StrAppend(&losses, losses.empty() ? "" : ",", get("contrastive_loss"), ":",
                    absl::SimpleAtod(w, &weight) ? absl::StrCat(weight) : w);
  }
  std::string name = absl::StrCat(get("encoder"), " | losses ", losses.empty() ? "none" : losses);
  if (!get("sampler").empty()) absl::StrAppend(&name, " | sampler ", get("sampler"), " | anchor ", get("anchor"));
  return name;
}

}  // namespace hardgnn
