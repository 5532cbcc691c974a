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
// against the registries (an unknown name lists the candidates).
absl::StatusOr<PluginChoice> PluginChoiceFromFlags();

// Each plugin's parameters from its flags (--<plugin>_<param>), with the generic
// --contrastive_k (the sampler's k) and --contrastive_tau (the contrastive loss's tau)
// applied on top when they are set.
ArgSource ArgSourceFromFlags(const PluginChoice& choice);

}  // namespace hardgnn

#endif  // HARDGNN_CORE_CLI_MODEL_FLAGS_H_
