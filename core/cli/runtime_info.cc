#include "core/cli/runtime_info.h"

#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include <ATen/Parallel.h>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"

namespace hardgnn {

BlasInfo BlasFromMaps(const std::string& maps_text) {
  BlasInfo info;
  for (absl::string_view line : absl::StrSplit(maps_text, '\n')) {
    size_t slash = line.find('/');
    if (slash == absl::string_view::npos) continue;
    absl::string_view path = line.substr(slash);
    // LAPACK also maps libopenblas.so.0; the libblas.so.3 line is the one BLAS calls use.
    if (!absl::StrContains(path, "libblas.so")) continue;
    info.path = std::string(path);
    if (absl::StrContains(path, "openblas-openmp")) {
      info.kind = BlasKind::kOpenBlasOpenMp;
    } else if (absl::StrContains(path, "openblas-pthread")) {
      info.kind = BlasKind::kOpenBlasPthread;
    } else if (absl::StrContains(path, "openblas-serial")) {
      info.kind = BlasKind::kOpenBlasSerial;
    } else if (absl::StrContains(path, "/blas/libblas.so")) {
      info.kind = BlasKind::kReference;
    } else {
      info.kind = BlasKind::kOther;
    }
    return info;
  }
  return info;
}

BlasInfo CurrentBlas() {
  std::ifstream in("/proc/self/maps");
  std::stringstream text;
  text << in.rdbuf();
  return BlasFromMaps(text.str());
}

const char* BlasKindName(BlasKind kind) {
  switch (kind) {
    case BlasKind::kOpenBlasOpenMp: return "OpenBLAS (OpenMP)";
    case BlasKind::kOpenBlasPthread: return "OpenBLAS (pthreads)";
    case BlasKind::kOpenBlasSerial: return "OpenBLAS (serial)";
    case BlasKind::kReference: return "reference BLAS";
    case BlasKind::kOther: return "other BLAS";
    case BlasKind::kUnknown: return "unknown BLAS";
  }
  return "?";
}

int ConfigureRuntime(int threads) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(threads);
  BlasInfo blas = CurrentBlas();
  std::fprintf(stderr, "hardgnn: %d thread(s), BLAS: %s%s%s\n", threads, BlasKindName(blas.kind),
               blas.path.empty() ? "" : " at ", blas.path.c_str());
  if (blas.kind == BlasKind::kReference || blas.kind == BlasKind::kOpenBlasPthread) {
    std::fprintf(stderr,
                 "hardgnn: WARNING ***********************************************************\n"
                 "hardgnn: WARNING %s makes matrix products up to 30x slower or ignores --threads.\n"
                 "hardgnn: WARNING Run tools/setup.sh (as root) to select OpenBLAS (OpenMP).\n"
                 "hardgnn: WARNING ***********************************************************\n",
                 BlasKindName(blas.kind));
  }
  return threads;
}

}  // namespace hardgnn
