#ifndef HARDGNN_CORE_CLI_FLAGFILE_CHECK_H_
#define HARDGNN_CORE_CLI_FLAGFILE_CHECK_H_

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace hardgnn {

// gflags rejects an unknown flag on the command line but silently ignores one inside a
// --flagfile, so a misspelt preset line would quietly train something else. This reads every
// flagfile named in `args` (the command line before parsing), and those they name in turn,
// and fails naming the file, the line and the flag when a flag is not defined.
absl::Status CheckFlagfiles(const std::vector<std::string>& args);

}  // namespace hardgnn

#endif  // HARDGNN_CORE_CLI_FLAGFILE_CHECK_H_
