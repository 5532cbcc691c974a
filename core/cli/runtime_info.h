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

// OpenMP threads that spin while they wait for work take the cores of every other process
// on a shared machine (training 6x slower beside one busy process). libgomp reads its wait
// policy once, before main, so when the environment sets neither OMP_WAIT_POLICY nor
// GOMP_SPINCOUNT, this sets OMP_WAIT_POLICY=PASSIVE and re-executes the binary
// (/proc/self/exe) with the same arguments; it returns only if nothing needed doing or the
// exec failed. A user who sets either variable keeps that choice.
void EnsurePassiveOpenMpWaits(char** argv);

// How the OpenMP runtime of this process waits: "passive", "spin N" or the variable's text.
std::string OpenMpWaitPolicy();

// Sets LibTorch's intra-op threads (0 = the machine's cores) and logs the BLAS in use to
// stderr with the OpenMP wait policy, warning loudly if it is the slow reference BLAS.
// Returns the thread count used.
int ConfigureRuntime(int threads);

}  // namespace hardgnn

#endif  // HARDGNN_CORE_CLI_RUNTIME_INFO_H_
