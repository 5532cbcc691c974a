// hardgnn: one binary for SelfGNN, HardGNN and their variants; see README.md.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <gflags/gflags.h>
#include <glog/logging.h>

#include "absl/status/status.h"
#include "core/cli/flagfile_check.h"
#include "core/cli/list_command.h"
#include "core/cli/model_flags.h"
#include "core/cli/plugin_flags.h"
#include "core/cli/prepare_command.h"
#include "core/cli/runtime_info.h"
#include "core/cli/train_command.h"

DEFINE_int32(threads, 0, "LibTorch intra-op threads; 0 = the machine's cores");

namespace {

constexpr char kUsage[] =
    "hardgnn <command> [flags]\n"
    "\n"
    "commands:\n"
    "  prepare   read a raw log or a SelfGNN release folder, write a prepared dataset\n"
    "  train     train a model on a prepared dataset, evaluating as it goes\n"
    "  eval      evaluate a trained checkpoint\n"
    "  study     train and measure, every epoch, how close mined and random negatives are\n"
    "            to the anchors (the sampler study; writes study.csv)\n"
    "  list      list every plugin (encoders, samplers, losses) and its parameters\n"
    "\n"
    "Presets: --flagfile=experiments/configs/<name>.flags. All flags: --helpfull.";

// The commands that run OpenMP-parallel LibTorch work.
bool RunsParallelWork(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "train" || arg == "eval" || arg == "study") return true;
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  if (RunsParallelWork(argc, argv)) hardgnn::EnsurePassiveOpenMpWaits(argv);  // may re-execute
  google::InitGoogleLogging(argv[0]);
  hardgnn::RegisterAllPluginFlags();
  gflags::SetUsageMessage(kUsage);
  if (absl::Status s = hardgnn::CheckFlagfiles(std::vector<std::string>(argv + 1, argv + argc)); !s.ok()) {
    std::fprintf(stderr, "hardgnn: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  gflags::ParseCommandLineFlags(&argc, &argv, /*remove_flags=*/true);
  if (argc != 2) {
    std::fprintf(stderr, "%s\n", argc < 2 ? kUsage : "hardgnn: expected exactly one command");
    return 2;
  }
  const std::string command = argv[1];
  if (command == "list") return hardgnn::RunListCommand();
  if (command == "prepare") return hardgnn::RunPrepareCommand();
  if (command == "train" || command == "eval" || command == "study") {
    if (FLAGS_threads < 0) {
      std::fprintf(stderr, "hardgnn: --threads=%d: must be >= 0 (0 = the machine's cores)\n", FLAGS_threads);
      return 1;
    }
    hardgnn::ConfigureRuntime(FLAGS_threads);
    if (command == "study") return hardgnn::RunStudyCommand();
    return command == "train" ? hardgnn::RunTrainCommand() : hardgnn::RunEvalCommand();
  }
  std::fprintf(stderr, "hardgnn: unknown command '%s'\n\n%s\n", command.c_str(), kUsage);
  return 2;
}
