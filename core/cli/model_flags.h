#ifndef HARDGNN_CORE_CLI_MODEL_FLAGS_H_
#define HARDGNN_CORE_CLI_MODEL_FLAGS_H_

#include <gflags/gflags_declare.h>

#include "absl/status/statusor.h"
#include "core/train/model_setup.h"

DECLARE_string(encoder);
DECLARE_string(sampler);
DECLARE_string(losses);
DECLARE_string(anchor);

namespace hardgnn {

// The plugin choice from --encoder, --sampler, --losses and --anchor, with every name checked
// against the registries (an unknown name lists the candidates).
absl::StatusOr<PluginChoice> PluginChoiceFromFlags();

}  // namespace hardgnn

#endif  // HARDGNN_CORE_CLI_MODEL_FLAGS_H_
