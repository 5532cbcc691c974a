#ifndef HARDGNN_CORE_CLI_RUNTIME_INFO_H_
#define HARDGNN_CORE_CLI_RUNTIME_INFO_H_

#include <string>

namespace hardgnn {

enum class BlasKind { kOpenBlasOpenMp, kOpenBlasPthread, kOpenBlasSerial, kReference, kOther, kUnknown };

struct BlasInfo {
  BlasKind kind = BlasKind::kUnknown;
  std::string path;  // the library libblas.so.3 resolves to, as mapped into this process
};

// Finds the BLAS in a /proc/<pid>/maps listing (the text, so tests can feed their own).
BlasInfo BlasFromMaps(const std::string& maps_text);
BlasInfo CurrentBlas();  // reads /proc/self/maps
const char* BlasKindName(BlasKind kind);

// Two settings that only take effect at start-up, so this sets them and re-executes the binary
// (/proc/self/exe) with the same arguments; it returns if nothing needed doing or the exec
// failed (with a warning). A user who sets a variable keeps that choice.
// - passive_openmp_waits: OpenMP threads that spin while they wait take the cores of every
//   other process on a shared machine (training 6x slower beside one busy process); libgomp
//   reads its policy before main, so without OMP_WAIT_POLICY or GOMP_SPINCOUNT this sets
//   OMP_WAIT_POLICY=PASSIVE.
// - OpenBLAS's kernels, always: OpenBLAS 0.3.21 falls back to its generic Prescott (SSE3)
//   kernels on a CPU it does not know (Intel family 6 model 207, Emerald Rapids, for one):
//   matrix products 3x slower, a training step 1.7x. Without OPENBLAS_CORETYPE this sets the
//   kernels the CPU can run (OpenBlasCoreToForce).
void EnsureStartupEnvironment(char** argv, bool passive_openmp_waits);

// The kernel set OpenBLAS chose ("SkylakeX", "Prescott", ...), or "" if the BLAS is not OpenBLAS.
std::string OpenBlasCoreName();

// The OPENBLAS_CORETYPE to run with when OpenBLAS chose `core`, or nullptr to keep it: on its
// Prescott fallback, "SkylakeX" where the CPU (and OS) run AVX-512 F/CD/BW/DQ/VL, else "Haswell"
// where they run AVX2 and FMA; never over a user's own OPENBLAS_CORETYPE.
struct CpuVectorUnits {
  bool avx512 = false;    // F, CD, BW, DQ and VL
  bool avx2_fma = false;
};
CpuVectorUnits CurrentCpuVectorUnits();
const char* OpenBlasCoreToForce(const std::string& core, bool user_set, CpuVectorUnits cpu);

// The set this CPU runs where `core` is narrower (Prescott, or an AVX2 set, Haswell or Zen, where
// it runs AVX-512), else nullptr. The start-up line warns of it also where the user's
// OPENBLAS_CORETYPE chose it, and keeps it: on an AMD Zen 5 (family 26), Haswell's 2048^3
// product ran at half the rate of OpenBLAS's own choice, Cooperlake's.
const char* OpenBlasCoreWiderThan(const std::string& core, CpuVectorUnits cpu);

// How the OpenMP runtime of this process waits: "passive", "spin N" or the variable's text.
std::string OpenMpWaitPolicy();

// Sets LibTorch's intra-op threads (0 = the machine's cores) and logs the BLAS in use (and
// OpenBLAS's kernels) to stderr with the OpenMP wait policy, warning loudly if it is the slow reference BLAS.
// Returns the thread count used.
int ConfigureRuntime(int threads);

}  // namespace hardgnn

#endif  // HARDGNN_CORE_CLI_RUNTIME_INFO_H_
