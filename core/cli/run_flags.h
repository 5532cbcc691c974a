#ifndef HARDGNN_CORE_CLI_RUN_FLAGS_H_
#define HARDGNN_CORE_CLI_RUN_FLAGS_H_

#include <map>
#include <string>

#include "core/train/checkpoint.h"
#include "core/train/model_setup.h"

namespace hardgnn {

// The flags of a training run, read from gflags: those of train, eval and study, and those
// of the chosen plugins (not prepare's, not other plugins').

// Every one of them with its value, defaults included, as a flagfile: rerunning with it
// reproduces the run (flags.txt).
std::string RunFlagfile(const PluginChoice& choice);

// What checkpoints store: the architecture (the encoder and its parameters), and every
// other flag except those a resume may change (kResumableFlags) and the data path (the
// data itself is checked by fingerprint), with their defaults (config_defaults), so a
// checkpoint written before a flag existed still resumes while that flag keeps its default.
CheckpointIdentity IdentityFromFlags(const PluginChoice& choice);

// The flags --resume accepts with a new value.
extern const char* const kResumableFlags[8];

// Every defined flag's current value, by name.
std::map<std::string, std::string> CurrentFlagValues();

// The variant a run trains, from its flags (CurrentFlagValues, or a run's flags.txt): the
// encoder, every loss term with its weight (the contrastive one included), and the sampler and
// anchor when there is a sampler, e.g. "selfgnn | losses hinge,sal:1e-6,l2:1e-3,infonce:0.1 |
// sampler hard_cosine | anchor user_short".
std::string VariantName(const std::map<std::string, std::string>& flags);

}  // namespace hardgnn

#endif  // HARDGNN_CORE_CLI_RUN_FLAGS_H_
