#ifndef HARDGNN_CORE_CLI_DEVICE_H_
#define HARDGNN_CORE_CLI_DEVICE_H_

#include <string>

#include <c10/core/Device.h>

#include "absl/status/statusor.h"

namespace hardgnn {

// What --device asks for: "cpu", "cuda" (device 0) or "cuda:N".
struct DeviceSpec {
  bool cuda = false;
  int index = 0;
};

absl::StatusOr<DeviceSpec> ParseDeviceFlag(const std::string& text);

// LibTorch's name for it.
inline c10::Device TorchDevice(const DeviceSpec& spec) {
  return spec.cuda ? c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(spec.index)) : c10::Device(c10::kCPU);
}

// Checks that the device can be used by this binary on this machine, and says why not: a binary
// built on Debian's CPU-only LibTorch; LibTorch's CUDA backend (libtorch_cuda.so, loaded here on
// demand, so that the CPU paths need none of the CUDA libraries) or a library it needs missing;
// no visible device; an index past the last device.
absl::Status CheckDevice(const DeviceSpec& device);

}  // namespace hardgnn

#endif  // HARDGNN_CORE_CLI_DEVICE_H_
