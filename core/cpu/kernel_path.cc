#include "core/cpu/kernel_path.h"

#include <atomic>

namespace hardgnn::cpu {
namespace {
std::atomic<bool> aten_forced{false};
std::atomic<bool> narrow_forced{false};
std::atomic<bool> generic_math_forced{false};

bool CpuHasAvx512() {
  static const bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
                          __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq");
  return has;
}
}  // namespace

void ForceAtenKernels(bool on) { aten_forced.store(on, std::memory_order_relaxed); }
bool AtenKernelsForced() { return aten_forced.load(std::memory_order_relaxed); }

bool UseWideVectors() { return CpuHasAvx512() && !narrow_forced.load(std::memory_order_relaxed); }
void ForceNarrowVectors(bool on) { narrow_forced.store(on, std::memory_order_relaxed); }
bool NarrowVectorsForced() { return narrow_forced.load(std::memory_order_relaxed); }

bool CpuHasAvx2Fma() {
  static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return has;
}
bool UseAvx2Math() { return CpuHasAvx2Fma() && !generic_math_forced.load(std::memory_order_relaxed); }
void ForceGenericMath(bool on) { generic_math_forced.store(on, std::memory_order_relaxed); }
bool GenericMathForced() { return generic_math_forced.load(std::memory_order_relaxed); }

}  // namespace hardgnn::cpu
