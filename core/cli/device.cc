#include "core/cli/device.h"

#include <dlfcn.h>

#include <torch/cuda.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace hardgnn {

absl::StatusOr<DeviceSpec> ParseDeviceFlag(const std::string& text) {
  DeviceSpec spec;
  absl::string_view rest = text;
  if (text == "cpu") return spec;
  if (absl::ConsumePrefix(&rest, "cuda")) {
    spec.cuda = true;
    if (rest.empty()) return spec;
    if (absl::ConsumePrefix(&rest, ":") && absl::SimpleAtoi(rest, &spec.index) && spec.index >= 0) return spec;
  }
  return absl::InvalidArgumentError(absl::StrCat("--device=", text, ": must be cpu, cuda or cuda:N"));
}

absl::Status CheckDevice(const DeviceSpec& device) {
  if (!device.cuda) return absl::OkStatus();
#ifndef HARDGNN_TORCH_WHEEL
  return absl::FailedPreconditionError(
      "--device=cuda: this binary is built on Debian's LibTorch, which has no CUDA; build the CUDA "
      "configuration: tools/setup.sh --cuda && bazel build --config=cuda //:hardgnn (README: A CUDA build)");
#else
  // Registers LibTorch's CUDA backend. RTLD_GLOBAL: its kernels register into libtorch_cpu's
  // dispatcher. Found through this binary's rpath (.cuda/libtorch/lib).
  if (dlopen("libtorch_cuda.so", RTLD_NOW | RTLD_GLOBAL) == nullptr) {
    const char* why = dlerror();
    return absl::FailedPreconditionError(absl::StrCat(
        "--device=cuda: cannot load LibTorch's CUDA backend: ", why ? why : "libtorch_cuda.so: unknown error",
        ". It needs the CUDA libraries of PyTorch's CUDA set (cuBLAS, cuDNN, cuFFT, cuSPARSE, cuFile, NCCL, "
        "NVSHMEM, ...) on the library path: on a machine with PyTorch for CUDA installed, add the lib folders "
        "of its nvidia packages to LD_LIBRARY_PATH"));
  }
  const int64_t count = static_cast<int64_t>(torch::cuda::device_count());
  if (count == 0) {
    return absl::FailedPreconditionError(
        "--device=cuda: LibTorch's CUDA backend loaded, but no CUDA device is visible (torch::cuda::device_count() = "
        "0: no GPU, no driver, or CUDA_VISIBLE_DEVICES hides them)");
  }
  if (device.index >= count) {
    return absl::InvalidArgumentError(absl::StrCat("--device=cuda:", device.index, ": this machine has ", count,
                                                   " CUDA device(s), cuda:0 to cuda:", count - 1));
  }
  return absl::OkStatus();
#endif
}

}  // namespace hardgnn
