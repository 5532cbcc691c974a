#include "core/cpu/kernel_path.h"

#include <atomic>

namespace hardgnn::cpu {
namespace {
std::atomic<bool> aten_forced{false};
}  // namespace

void ForceAtenKernels(bool on) { aten_forced.store(on, std::memory_order_relaxed); }
bool AtenKernelsForced() { return aten_forced.load(std::memory_order_relaxed); }

}  // namespace hardgnn::cpu
