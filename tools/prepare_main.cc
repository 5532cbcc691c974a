// A stand-alone `prepare` (the same as `hardgnn prepare`), torch-free: quick to build, for
// data work without LibTorch. Usage: bazel run //tools:prepare -- --input=... --out=...
#include <gflags/gflags.h>

#include "core/cli/prepare_command.h"

int main(int argc, char** argv) {
  gflags::SetUsageMessage("prepare --input=<log or SelfGNN folder> [--out=<dir>] [flags]");
  gflags::ParseCommandLineFlags(&argc, &argv, /*remove_flags=*/true);
  return hardgnn::RunPrepareCommand();
}
