#include "core/cli/list_command.h"

#include <cstdio>

#include <gflags/gflags.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/cli/plugin_flags.h"
#include "core/model/encoder.h"
#include "core/model/loss.h"
#include "core/model/sampler.h"

namespace hardgnn {
namespace {

std::string KindPlural(absl::string_view kind) {
  return absl::StrCat(kind, absl::EndsWith(kind, "s") ? "es" : "s");
}

template <typename T>
void Describe(std::string* out) {
  auto entries = Registry<T>::Global().Entries();
  absl::StrAppend(out, KindPlural(T::kKind), " (", entries.size(), "):\n");
  for (const auto* entry : entries) {
    absl::StrAppendFormat(out, "  %-14s %s\n", entry->name, entry->info.description);
    for (const ParamSpec& p : entry->info.params) {
      absl::StrAppendFormat(out, "      --%s=%s  (%s) %s\n", PluginFlagName(entry->name, p.name),
                            p.default_value, ParamTypeName(p.type), p.help);
    }
  }
  absl::StrAppend(out, "\n");
}

// The training flags counted in some unit, with the unit: a schedule in steps runs at another
// pace per epoch on more data, one in epochs does not.
std::string DescribeScheduleUnits() {
  std::string out = "schedule flags and their units (all flags: --helpfull):\n";
  for (const char* name : {"epochs", "lr_decay_steps", "lr_decay_epochs", "eval_every", "patience", "max_steps"}) {
    gflags::CommandLineFlagInfo info;
    if (!gflags::GetCommandLineFlagInfo(name, &info)) continue;
    absl::StrAppendFormat(&out, "  --%s=%s  %s\n", name, info.default_value, info.description);
  }
  return out;
}

}  // namespace

std::string DescribePlugins() {
  std::string out;
  Describe<Encoder>(&out);
  Describe<Sampler>(&out);
  Describe<Loss>(&out);
  return out;
}

int RunListCommand() {
  std::fputs(DescribePlugins().c_str(), stdout);
  std::fputs(DescribeScheduleUnits().c_str(), stdout);
  return 0;
}

}  // namespace hardgnn
