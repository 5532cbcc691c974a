#include "core/model/tensor_memory.h"

#include <atomic>
#include <memory>

#include <c10/core/Allocator.h>
#include <c10/util/ThreadLocalDebugInfo.h>

namespace hardgnn {
namespace {

std::atomic<int64_t> g_live{0}, g_peak{0};
std::atomic<bool> g_tracking{false};

// The totals' type: int64_t in LibTorch 1.13, size_t in the wheel's 2.x.
#ifdef HARDGNN_TORCH_WHEEL
using Total = size_t;
#else
using Total = int64_t;
#endif

class Reporter : public c10::MemoryReportingInfoBase {
 public:
  // total_allocated: the allocator's running count of the bytes it handed out and was not
  // given back (CPU; the CUDA allocator reports its own device, not counted here).
  void reportMemoryUsage(void*, int64_t, Total total_allocated, Total, c10::Device device) override {
    if (!device.is_cpu()) return;
    const int64_t total = static_cast<int64_t>(total_allocated);
    g_live = total;
    int64_t peak = g_peak.load();
    while (total > peak && !g_peak.compare_exchange_weak(peak, total)) {
    }
  }
  bool memoryProfilingEnabled() const override { return true; }
};

}  // namespace

void TensorMemory::StartTracking() {
  if (g_tracking.exchange(true)) return;
  // Kept for the rest of the process: the reporter is thread-local debug info of this thread.
  static c10::DebugInfoGuard* guard =
      new c10::DebugInfoGuard(c10::DebugInfoKind::PROFILER_STATE, std::make_shared<Reporter>());
  (void)guard;
}

bool TensorMemory::Tracking() { return g_tracking; }
int64_t TensorMemory::Live() { return g_live; }
int64_t TensorMemory::Peak() { return g_peak; }
void TensorMemory::ResetPeak() { g_peak = g_live.load(); }

}  // namespace hardgnn
