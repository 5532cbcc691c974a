#ifndef HARDGNN_CORE_CLI_MODEL_FLAGS_H_
#define HARDGNN_CORE_CLI_MODEL_FLAGS_H_

#include <gflags/gflags_declare.h>

#include "absl/status/statusor.h"
#include "core/train/model_setup.h"

DECLARE_string(encoder);
DECLARE_string(sampler);
DECLARE_string(losses);
DECLARE_string(anchor);
DECLARE_string(contrastive_loss);

namespace hardgnn {

// The plugin choice from --encoder, --sampler, --losses and --anchor, with every name checked
// against the registries (an unknown name lists the candidates). The generic --contrastive_k
// and --contrastive_tau name the same knobs as the chosen sampler's k and contrastive loss's
// tau: both set to different values is an error naming both flags; otherwise both flags are
// given the value in force (what is set, else the plugin's), so flags.txt holds one value.
absl::StatusOr<PluginChoice> PluginChoiceFromFlags();

// Each plugin's parameters from its flags (--<plugin>_<param>); call after
// PluginChoiceFromFlags, which folds the generic flags into them.
ArgSource ArgSourceFromFlags(const PluginChoice& choice);

}  // namespace hardgnn

#endif  // HARDGNN_CORE_CLI_MODEL_FLAGS_H_
