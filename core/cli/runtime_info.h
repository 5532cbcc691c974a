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

// Sets LibTorch's intra-op threads (0 = the machine's cores) and logs the BLAS in use to
// stderr, warning loudly if it is the slow reference BLAS. Returns the thread count used.
int ConfigureRuntime(int threads);

}  // namespace hardgnn

#endif  // HARDGNN_CORE_CLI_RUNTIME_INFO_H_
