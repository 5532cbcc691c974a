// --device: parsing, and what a machine without a usable GPU says (every build, here and in CI).
#include "core/cli/device.h"

#include "gtest/gtest.h"

namespace hardgnn {
namespace {

TEST(DeviceTest, ParsesCpuCudaAndCudaN) {
  EXPECT_FALSE(ParseDeviceFlag("cpu")->cuda);
  EXPECT_TRUE(ParseDeviceFlag("cuda")->cuda);
  EXPECT_EQ(ParseDeviceFlag("cuda")->index, 0);
  EXPECT_EQ(ParseDeviceFlag("cuda:3")->index, 3);
  for (const char* bad : {"gpu", "cuda:", "cuda:-1", "cuda:x", "cuda1", "CPU", ""}) {
    absl::StatusOr<DeviceSpec> d = ParseDeviceFlag(bad);
    ASSERT_FALSE(d.ok()) << bad;
    EXPECT_NE(d.status().message().find("must be cpu, cuda or cuda:N"), std::string::npos) << d.status();
  }
}

TEST(DeviceTest, CpuIsAlwaysUsable) { EXPECT_TRUE(CheckDevice(DeviceSpec()).ok()); }

// Without a GPU (here, CI) both builds say why --device=cuda cannot run; the CUDA build on a GPU
// machine accepts it.
TEST(DeviceTest, CudaSaysWhyItCannotRun) {
  absl::Status s = CheckDevice(*ParseDeviceFlag("cuda"));
#ifndef HARDGNN_TORCH_WHEEL
  ASSERT_FALSE(s.ok()) << "Debian's LibTorch has no CUDA";
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("Debian's LibTorch, which has no CUDA"), std::string::npos) << s;
  EXPECT_NE(s.message().find("bazel build --config=cuda"), std::string::npos) << s;
#else
  if (s.ok()) GTEST_SKIP() << "a CUDA device is visible: --device=cuda runs";
  const std::string m(s.message());
  EXPECT_TRUE(m.find("cannot load LibTorch's CUDA backend: ") != std::string::npos ||
              m.find("no CUDA device is visible") != std::string::npos)
      << s;
#endif
}

}  // namespace
}  // namespace hardgnn
