#ifndef HARDGNN_CORE_CLI_RUN_FLAGS_H_
#define HARDGNN_CORE_CLI_RUN_FLAGS_H_

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
// data itself is checked by fingerprint).
CheckpointIdentity IdentityFromFlags(const PluginChoice& choice);

// The flags --resume accepts with a new value.
extern const char* const kResumableFlags[5];

}  // namespace hardgnn

#endif  // HARDGNN_CORE_CLI_RUN_FLAGS_H_
