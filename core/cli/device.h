#ifndef HARDGNN_CORE_CLI_DEVICE_H_
#define HARDGNN_CORE_CLI_DEVICE_H_

#include <string>

#include "absl/status/statusor.h"

namespace hardgnn {

// What --device asks for: "cpu", "cuda" (device 0) or "cuda:N".
struct DeviceSpec {
  bool cuda = false;
  int index = 0;
};

absl::StatusOr<DeviceSpec> ParseDeviceFlag(const std::string& text);

// Checks that the device can be used by this binary on this machine, and says why not: a binary
// built on Debian's CPU-only LibTorch; LibTorch's CUDA backend (libtorch_cuda.so, loaded here on
// demand, so that the CPU paths need none of the CUDA libraries) or a library it needs missing;
// no visible device; an index past the last device. Then, for CUDA: training on the device is
// not implemented yet, which is said too.
absl::Status CheckDevice(const DeviceSpec& device);

}  // namespace hardgnn

#endif  // HARDGNN_CORE_CLI_DEVICE_H_
