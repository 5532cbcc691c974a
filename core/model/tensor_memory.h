#ifndef HARDGNN_CORE_MODEL_TENSOR_MEMORY_H_
#define HARDGNN_CORE_MODEL_TENSOR_MEMORY_H_

#include <cstdint>

namespace hardgnn {

// Bytes of LibTorch's CPU tensors alive, as c10's CPU allocator reports them to a memory
// reporter (c10::MemoryReportingInfoBase, what the autograd profiler's profile_memory uses).
// The allocator counts the allocations of the threads that carry the reporter, here the one
// that called StartTracking, from then on; tensors made by OpenMP workers are not counted.
// The counting takes a lock per allocation, so it is for --profile runs.
class TensorMemory {
 public:
  static void StartTracking();  // on the thread that trains; idempotent
  static bool Tracking();
  static int64_t Live();  // bytes now
  static int64_t Peak();  // the most bytes at once since StartTracking or ResetPeak
  static void ResetPeak();  // the peak from now on starts at Live()
};

}  // namespace hardgnn

#endif  // HARDGNN_CORE_MODEL_TENSOR_MEMORY_H_
