#include "core/cli/model_flags.h"

#include <cmath>

#include <gflags/gflags.h>

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
              "tau: temperature of the contrastive term; when set, overrides its plugin's own flag");
DEFINE_int64(contrastive_k, 5,
             "K: negatives per anchor; when set, overrides the sampler's own k flag");
DEFINE_string(anchor, hardgnn::view::kUserShort,
              "view that contrastive losses anchor on: user_short (short-term graph embedding, "
              "the proposal), user_seq (instance-level sequence embedding, as the published "
              "HardGNN code), user (the fused scoring vector)");

namespace hardgnn {

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
  absl::Status names = ValidatePluginNames(choice);
  if (!names.ok()) return names;
  return choice;
}

ArgSource ArgSourceFromFlags(const PluginChoice& choice) {
  auto is_set = [](const char* flag) { return !gflags::GetCommandLineFlagInfoOrDie(flag).is_default; };
  const bool set_k = is_set("contrastive_k"), set_tau = is_set("contrastive_tau");
  return [choice, set_k, set_tau](const std::string& plugin, const PluginInfo& info) {
    ArgMap args = PluginArgsFromFlags(plugin, info);
    auto declares = [&](const char* param) {
      for (const ParamSpec& p : info.params) {
        if (p.name == param) return true;
      }
      return false;
    };
    if (set_k && plugin == choice.sampler && declares("k")) args["k"] = std::to_string(FLAGS_contrastive_k);
    if (set_tau && plugin == FLAGS_contrastive_loss && declares("tau")) {
      args["tau"] = absl::StrCat(FLAGS_contrastive_tau);
    }
    return args;
  };
}

}  // namespace hardgnn
