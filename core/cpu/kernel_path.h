#ifndef HARDGNN_CORE_CPU_KERNEL_PATH_H_
#define HARDGNN_CORE_CPU_KERNEL_PATH_H_

// Which formulation an op takes: the project's CPU kernels (SIMD, OpenMP, raw pointers) for
// CPU tensors, LibTorch's own ops (what runs on CUDA) for tensors on any other device. Tests
// and `--kernels=aten` force the ATen formulation on CPU, so that the path a GPU takes is
// checked against the CPU kernels on a machine without one.

#include <ATen/core/Tensor.h>

namespace hardgnn::cpu {

// Process-wide: the CPU kernels are used for CPU tensors unless forced off.
void ForceAtenKernels(bool on);
bool AtenKernelsForced();

// True when `t` (a CPU tensor, with the kernels not forced off) goes to the CPU kernels.
inline bool UseCpuKernels(const at::Tensor& t) { return t.is_cpu() && !AtenKernelsForced(); }

// Sets a process-wide switch on for its lifetime, then back to what it was (tests).
template <bool (*kGet)(), void (*kSet)(bool)>
class ScopedSwitch {
 public:
  ScopedSwitch() : was_(kGet()) { kSet(true); }
  ~ScopedSwitch() { kSet(was_); }
  ScopedSwitch(const ScopedSwitch&) = delete;
  ScopedSwitch& operator=(const ScopedSwitch&) = delete;

 private:
  bool was_;
};

// Forces the ATen formulation for its lifetime (tests).
using ScopedAtenKernels = ScopedSwitch<AtenKernelsForced, ForceAtenKernels>;

// Whether kernels with a HARDGNN_AVX512 path (vec.h) take it: the CPU has AVX-512 F, VL, BW
// and DQ, and tests have not forced the 8-lane path. Both paths compute the same bits.
bool UseWideVectors();
void ForceNarrowVectors(bool on);
bool NarrowVectorsForced();

// Forces the 8-lane path for its lifetime (tests comparing the two).
using ScopedNarrowVectors = ScopedSwitch<NarrowVectorsForced, ForceNarrowVectors>;

// Whether the CPU has AVX2 and FMA.
bool CpuHasAvx2Fma();

// Whether 8-lane kernels with a path compiled for AVX2 take it (vec_avx2.h's Avx2Ops): the CPU
// has AVX2 and FMA, and tests have not forced vec.h's functions. Both give the same bits.
bool UseAvx2Math();
void ForceGenericMath(bool on);
bool GenericMathForced();

// Forces vec.h's functions for its lifetime (tests comparing the two).
using ScopedGenericMath = ScopedSwitch<GenericMathForced, ForceGenericMath>;

}  // namespace hardgnn::cpu

#endif  // HARDGNN_CORE_CPU_KERNEL_PATH_H_
