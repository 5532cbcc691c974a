#include "core/cli/runtime_info.h"

#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
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

void EnsurePassiveOpenMpWaits(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr || std::getenv("GOMP_SPINCOUNT") != nullptr) return;
  if (setenv("OMP_WAIT_POLICY", "PASSIVE", 1) != 0) return;
  execv("/proc/self/exe", argv);
  // Still here: the exec failed; this process keeps the spinning default.
  std::fprintf(stderr, "hardgnn: warning: cannot re-execute with OMP_WAIT_POLICY=PASSIVE (%s); OpenMP threads "
                       "will spin while waiting: export OMP_WAIT_POLICY=PASSIVE on a shared machine\n",
               std::strerror(errno));
  unsetenv("OMP_WAIT_POLICY");
}

std::string OpenMpWaitPolicy() {
  if (const char* count = std::getenv("GOMP_SPINCOUNT")) return std::string("spin ") + count;
  const char* policy = std::getenv("OMP_WAIT_POLICY");
  if (policy == nullptr) return "spin (libgomp default)";
  std::string p = policy;
  for (char& c : p) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return p;
}

int ConfigureRuntime(int threads) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(threads);
  BlasInfo blas = CurrentBlas();
  std::fprintf(stderr, "hardgnn: %d thread(s), OpenMP waits: %s, BLAS: %s%s%s\n", threads,
               OpenMpWaitPolicy().c_str(), BlasKindName(blas.kind), blas.path.empty() ? "" : " at ", blas.path.c_str());
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
