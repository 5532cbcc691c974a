#include "core/cli/model_flags.h"

#include <gflags/gflags.h>

#include "core/model/views.h"

DEFINE_string(encoder, "selfgnn", "encoder plugin (see `hardgnn list`)");
DEFINE_string(sampler, "", "negative sampler for contrastive losses (see `hardgnn list`)");
DEFINE_string(losses, "hinge,sal:1e-6,l2:1e-2",
              "weighted loss terms, name[:weight],... e.g. hinge,sal:1e-6,l2:1e-2,infonce:0.1");
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
  absl::Status names = ValidatePluginNames(choice);
  if (!names.ok()) return names;
  return choice;
}

}  // namespace hardgnn
