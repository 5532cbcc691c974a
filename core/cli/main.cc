// hardgnn: one binary for SelfGNN, HardGNN and their variants; see README.md.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <ATen/Context.h>
#include <gflags/gflags.h>
#ifndef HARDGNN_TORCH_WHEEL  // Debian's c10 logs through glog; the wheel's has its own logging
#include <glog/logging.h>
#endif

#include "absl/status/status.h"
#include "core/cli/flagfile_check.h"
#include "core/cli/compare_command.h"
#include "core/cli/device.h"
#include "core/cpu/kernel_path.h"
#include "core/cli/list_command.h"
#include "core/cli/model_flags.h"
#include "core/cli/plugin_flags.h"
#include "core/cli/prepare_command.h"
#include "core/cli/recommend_command.h"
#include "core/cli/runtime_info.h"
#include "core/cli/train_command.h"

DEFINE_int32(threads, 0, "LibTorch intra-op threads; 0 = the machine's cores");
DEFINE_string(device, "cpu",
              "where train and eval compute: cpu, or cuda / cuda:N in the CUDA build (bazel build "
              "--config=cuda): the model's parameters live there, batches move there per step, the "
              "project's CPU kernels give way to LibTorch's ops; study and recommend run on the CPU");
DEFINE_bool(aten_kernels, false,
            "on the CPU too, compute with LibTorch's ops where the project has its own CPU kernels "
            "(LSTM, attention, layer norm, linear, dropout, propagation, cosine top-K): what --device=cuda "
            "runs, to check it against the kernels on a machine without a GPU; slower");

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
    "  recommend the top-K unseen items of given users from a checkpoint (TSV), and/or\n"
    "            export user and item vectors as .npy (--export_embeddings=DIR)\n"
    "  compare   compare run directories: selected models' metrics, variants, differing flags\n"
    "            (hardgnn compare RUN_DIR...)\n"
    "  list      list every plugin (encoders, samplers, losses) and its parameters\n"
    "\n"
    "Presets: --flagfile=experiments/configs/<name>.flags. All flags: --helpfull.";

// The commands that run OpenMP-parallel LibTorch work.
bool RunsParallelWork(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "train" || arg == "eval" || arg == "study" || arg == "recommend") return true;
  }
  return false;
}

// Runs `command` once the flags are parsed; `operands` are the words after it (compare's runs).
int RunCommand(const std::string& command, const std::vector<std::string>& operands,
               const hardgnn::CommandLine& command_line) {
  if (command == "list") return hardgnn::RunListCommand();
  if (command == "compare") return hardgnn::RunCompareCommand(operands);
  if (command == "prepare") {
    if (absl::Status s = hardgnn::CheckInputNamedWithIt(command_line); !s.ok()) {
      std::fprintf(stderr, "hardgnn prepare: %s\n", std::string(s.message()).c_str());
      return 1;
    }
    return hardgnn::RunPrepareCommand();
  }
  if (command == "train" || command == "eval" || command == "study" || command == "recommend") {
    if (FLAGS_threads < 0) {
      std::fprintf(stderr, "hardgnn: --threads=%d: must be >= 0 (0 = the machine's cores)\n", FLAGS_threads);
      return 1;
    }
    absl::StatusOr<hardgnn::DeviceSpec> device = hardgnn::ParseDeviceFlag(FLAGS_device);
    absl::Status usable = device.ok() ? hardgnn::CheckDevice(*device) : device.status();
    if (usable.ok() && device->cuda && (command == "study" || command == "recommend")) {
      usable = absl::UnimplementedError(absl::StrCat("--device=", FLAGS_device, ": `", command,
                                                     "` runs on the CPU only; --device applies to train and eval"));
    }
    if (!usable.ok()) {
      std::fprintf(stderr, "hardgnn %s: %s\n", command.c_str(), std::string(usable.message()).c_str());
      return 1;
    }
    hardgnn::cpu::ForceAtenKernels(FLAGS_aten_kernels);
    if (device->cuda) {
      // A fixed seed gives the same numbers on a GPU too: the deterministic kernels (index_add
      // sorts instead of adding atomically), and cuBLAS with a fixed workspace, set before CUDA starts.
      setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:8", /*overwrite=*/0);
      at::globalContext().setDeterministicAlgorithms(true, /*warn_only=*/true);
      at::globalContext().setDeterministicCuDNN(true);
      at::globalContext().setBenchmarkCuDNN(false);
    }
    hardgnn::ConfigureRuntime(FLAGS_threads);
    if (command == "study") return hardgnn::RunStudyCommand();
    if (command == "recommend") return hardgnn::RunRecommendCommand();
    return command == "train" ? hardgnn::RunTrainCommand() : hardgnn::RunEvalCommand();
  }
  std::fprintf(stderr, "hardgnn: unknown command '%s'\n\n%s\n", command.c_str(), kUsage);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (RunsParallelWork(argc, argv)) hardgnn::EnsureStartupEnvironment(argv, /*passive_openmp_waits=*/true);  // may re-execute
#ifndef HARDGNN_TORCH_WHEEL
  google::InitGoogleLogging(argv[0]);
#endif
  hardgnn::RegisterAllPluginFlags();
  gflags::SetUsageMessage(kUsage);
  absl::StatusOr<hardgnn::CommandLine> command_line =
      hardgnn::ExpandFlagfiles(std::vector<std::string>(argv + 1, argv + argc));
  if (!command_line.ok()) {
    std::fprintf(stderr, "hardgnn: %s\n", std::string(command_line.status().message()).c_str());
    return 1;
  }
  // gflags parses the expanded arguments (it may reorder this array, not the strings).
  std::vector<std::string> texts = command_line->Texts();
  std::vector<char*> args = {argv[0]};
  for (std::string& t : texts) args.push_back(t.data());
  args.push_back(nullptr);
  argc = static_cast<int>(args.size()) - 1;
  argv = args.data();
  gflags::ParseCommandLineFlags(&argc, &argv, /*remove_flags=*/true);
  if (argc < 2 || (argc > 2 && std::strcmp(argv[1], "compare") != 0)) {
    std::fprintf(stderr, "%s\n", argc < 2 ? kUsage : "hardgnn: expected exactly one command");
    return 2;
  }
  return RunCommand(argv[1], std::vector<std::string>(argv + 2, argv + argc), *command_line);
}
