#include "core/cli/model_flags.h"

#include <cmath>
#include <string>
#include <vector>

#include <gflags/gflags.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/cli/plugin_flags.h"
#include "core/model/views.h"

DEFINE_string(encoder, "selfgnn", "encoder plugin (see `hardgnn list`)");
DEFINE_string(sampler, "", "negative sampler for contrastive losses (see `hardgnn list`)");
DEFINE_string(losses, "hinge,sal:1e-6,l2:1e-2",
              "weighted loss terms, name[:weight],... e.g. hinge,sal:1e-6,l2:1e-2,infonce:0.1");
DEFINE_string(contrastive_loss, "",
              "contrastive term added to --losses: infonce, dcl or hcl (empty: none); needs --sampler");
DEFINE_double(contrastive_weight, 0.1, "lambda: weight of the contrastive term");
DEFINE_double(contrastive_tau, 0.1,
              "tau: temperature of the contrastive term, the same knob as its loss's own flag (e.g. "
              "--infonce_tau): set either; both set to different values is an error");
DEFINE_int64(contrastive_k, 5,
             "K: negatives per anchor, the same knob as the sampler's own k flag (e.g. --hard_cosine_k): set "
             "either; both set to different values is an error");
DEFINE_string(anchor, hardgnn::view::kUserShort,
              "view that contrastive losses anchor on: user_short (short-term graph embedding, "
              "the proposal), user_seq (instance-level sequence embedding, as the published "
              "HardGNN code), user (the fused scoring vector)");

namespace hardgnn {
namespace {

// A generic flag and the plugin parameter flag it stands for: two names of one knob.
struct Alias {
  std::string generic, plugin_flag, what;
};

std::vector<Alias> Aliases(const PluginChoice& choice) {
  auto defined = [](const std::string& flag) {
    gflags::CommandLineFlagInfo info;
    return gflags::GetCommandLineFlagInfo(flag.c_str(), &info);
  };
  std::vector<Alias> out;
  if (!choice.sampler.empty() && defined(PluginFlagName(choice.sampler, "k"))) {
    out.push_back({"contrastive_k", PluginFlagName(choice.sampler, "k"), "the sampler's negatives per anchor"});
  }
  if (!FLAGS_contrastive_loss.empty() && defined(PluginFlagName(FLAGS_contrastive_loss, "tau"))) {
    out.push_back({"contrastive_tau", PluginFlagName(FLAGS_contrastive_loss, "tau"),
                   "the contrastive loss's temperature"});
  }
  return out;
}

std::string Shown(const std::string& value) {
  double d;
  return absl::SimpleAtod(value, &d) ? absl::StrCat(d) : value;
}

// Refuses two different values for one knob; otherwise gives both flags the value in force
// (the one set, else the plugin's), so flags.txt and checkpoints record one value for it and a
// rerun from flags.txt sets both alike.
absl::Status Resolve(const Alias& alias) {
  const gflags::CommandLineFlagInfo generic = gflags::GetCommandLineFlagInfoOrDie(alias.generic.c_str());
  const gflags::CommandLineFlagInfo plugin = gflags::GetCommandLineFlagInfoOrDie(alias.plugin_flag.c_str());
  double a = 0, b = 0;
  const bool same = absl::SimpleAtod(generic.current_value, &a) && absl::SimpleAtod(plugin.current_value, &b) && a == b;
  if (!generic.is_default && !plugin.is_default && !same) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", alias.generic, "=", Shown(generic.current_value), " and --", alias.plugin_flag, "=",
        Shown(plugin.current_value), " both set ", alias.what, ": give one of them (or both with the same value)"));
  }
  const std::string value = generic.is_default || !plugin.is_default ? plugin.current_value : generic.current_value;
  gflags::SetCommandLineOption(alias.generic.c_str(), value.c_str());
  gflags::SetCommandLineOption(alias.plugin_flag.c_str(), value.c_str());
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<PluginChoice> PluginChoiceFromFlags() {
  PluginChoice choice;
  choice.encoder = FLAGS_encoder;
  choice.sampler = FLAGS_sampler;
  choice.anchor_view = FLAGS_anchor;
  absl::StatusOr<std::vector<LossSpec>> losses = ParseLossSpecs(FLAGS_losses);
  if (!losses.ok()) return losses.status();
  choice.losses = std::move(*losses);
  if (!std::isfinite(FLAGS_contrastive_weight) || FLAGS_contrastive_weight < 0) {
    return absl::InvalidArgumentError(absl::StrCat("--contrastive_weight=", FLAGS_contrastive_weight,
                                                   ": must be a finite number >= 0 (0 disables the term)"));
  }
  if (!FLAGS_contrastive_loss.empty()) {
    for (const LossSpec& spec : choice.losses) {
      if (spec.name == FLAGS_contrastive_loss) {
        return absl::InvalidArgumentError(absl::StrCat("--contrastive_loss=", FLAGS_contrastive_loss,
                                                       " is already in --losses"));
      }
    }
    choice.losses.push_back({FLAGS_contrastive_loss, FLAGS_contrastive_weight});
  }
  if (absl::Status names = ValidatePluginNames(choice); !names.ok()) return names;
  for (const Alias& alias : Aliases(choice)) {
    if (absl::Status s = Resolve(alias); !s.ok()) return s;
  }
  return choice;
}

ArgSource ArgSourceFromFlags(const PluginChoice&) {
  return [](const std::string& plugin, const PluginInfo& info) { return PluginArgsFromFlags(plugin, info); };
}

}  // namespace hardgnn
