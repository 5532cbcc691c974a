#ifndef HARDGNN_CORE_CLI_FLAGFILE_CHECK_H_
#define HARDGNN_CORE_CLI_FLAGFILE_CHECK_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace hardgnn {

// The command line with every --flagfile replaced by the flags it holds, in order, so gflags
// sees exactly what a preset sets, and each argument knows where it came from.
//
// hardgnn reads flagfiles itself rather than letting gflags do it, because gflags
//  - silently ignores a flag inside a flagfile that is not defined (a misspelt preset line
//    would quietly train something else): here it is an error naming the file and line;
//  - resolves a nested --flagfile against the current directory, so presets worked only from
//    the repository root: here a nested path is relative to the file that names it (an
//    absolute path stays as it is; a --flagfile on the command line is relative to the
//    current directory, as any path there).
// A flagfile holds one --flag=value (or boolean --flag / --noflag) per line and # comments;
// gflags' program-name sections (a line without a leading '-') are refused, as is a cycle.
struct CommandLine {
  struct Arg {
    std::string text;  // "--name=value" (or any argument given on the command line)
    std::string file;  // the flagfile it comes from; empty on the command line
    int line = 0;      // its line in `file`
    std::string Origin() const;  // "FILE:LINE" or "the command line"
  };
  std::vector<Arg> args;  // argv[1..], expanded

  std::vector<std::string> Texts() const;
  // The index in `args` of the last setting of --name (or --noname), -1 if none.
  int LastSetting(const std::string& name) const;
};

absl::StatusOr<CommandLine> ExpandFlagfiles(const std::vector<std::string>& args);

// `prepare`: the data presets set --input and --name together, so a later --input alone
// (another file under the preset's name) would label other data with the preset's name. This
// refuses an --input set after --name from another source (the command line after a preset,
// or another file), naming both settings.
absl::Status CheckInputNamedWithIt(const CommandLine& command_line);

}  // namespace hardgnn

#endif  // HARDGNN_CORE_CLI_FLAGFILE_CHECK_H_
