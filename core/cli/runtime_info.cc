#include "core/cli/runtime_info.h"

#include <dlfcn.h>
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

std::string OpenBlasCoreName() {
  // libblas.so.3 of Debian's OpenBLAS loads libopenblas.so.0, which exports this.
  using CoreName = char* (*)();
  const auto core_name = reinterpret_cast<CoreName>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  const char* name = core_name != nullptr ? core_name() : nullptr;
  return name != nullptr ? name : "";
}

CpuVectorUnits CurrentCpuVectorUnits() {
  CpuVectorUnits cpu;
#if defined(__x86_64__)
  cpu.avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
               __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
               __builtin_cpu_supports("avx512vl");
  cpu.avx2_fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
  return cpu;
}

const char* OpenBlasCoreWiderThan(const std::string& core, CpuVectorUnits cpu) {
  const bool avx2_set = core == "Haswell" || core == "Zen";
  if (core == "Prescott" || avx2_set) {
    if (cpu.avx512) return "SkylakeX";
    if (!avx2_set && cpu.avx2_fma) return "Haswell";
  }
  return nullptr;
}

const char* OpenBlasCoreToForce(const std::string& core, bool user_set, CpuVectorUnits cpu) {
  return user_set || core != "Prescott" ? nullptr : OpenBlasCoreWiderThan(core, cpu);
}

void EnsureStartupEnvironment(char** argv, bool passive_openmp_waits) {
  const bool set_waits = passive_openmp_waits && std::getenv("OMP_WAIT_POLICY") == nullptr &&
                         std::getenv("GOMP_SPINCOUNT") == nullptr;
  const std::string core = OpenBlasCoreName();
  const char* kernels = OpenBlasCoreToForce(core, std::getenv("OPENBLAS_CORETYPE") != nullptr, CurrentCpuVectorUnits());
  if (!set_waits && kernels == nullptr) return;
  if (set_waits) setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
  if (kernels != nullptr) {
    std::fprintf(stderr, "hardgnn: OpenBLAS does not know this CPU and chose its generic %s kernels (matrix products "
                         "about 3x slower); running with OPENBLAS_CORETYPE=%s\n", core.c_str(), kernels);
    setenv("OPENBLAS_CORETYPE", kernels, 1);
  }
  execv("/proc/self/exe", argv);
  // Still here: the exec failed; this process keeps what it started with.
  std::fprintf(stderr, "hardgnn: warning: cannot re-execute (%s):%s%s\n", std::strerror(errno),
               set_waits ? " OpenMP threads will spin while waiting (export OMP_WAIT_POLICY=PASSIVE on a shared machine);" : "",
               kernels != nullptr ? " OpenBLAS keeps its slow generic kernels (export OPENBLAS_CORETYPE)" : "");
  if (set_waits) unsetenv("OMP_WAIT_POLICY");
  if (kernels != nullptr) unsetenv("OPENBLAS_CORETYPE");
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
  const std::string core = OpenBlasCoreName();
  std::fprintf(stderr, "hardgnn: %d thread(s), OpenMP waits: %s, BLAS: %s%s%s%s%s\n", threads,
               OpenMpWaitPolicy().c_str(), BlasKindName(blas.kind), blas.path.empty() ? "" : " at ", blas.path.c_str(),
               core.empty() ? "" : ", kernels ", core.c_str());
  if (blas.kind == BlasKind::kReference || blas.kind == BlasKind::kOpenBlasPthread) {
    std::fprintf(stderr,
                 "hardgnn: WARNING ***********************************************************\n"
                 "hardgnn: WARNING %s makes matrix products up to 30x slower or ignores --threads.\n"
                 "hardgnn: WARNING Run tools/setup.sh (as root) to select OpenBLAS (OpenMP).\n"
                 "hardgnn: WARNING ***********************************************************\n",
                 BlasKindName(blas.kind));
  }
  if (const char* better = OpenBlasCoreWiderThan(core, CurrentCpuVectorUnits())) {
    const char* user = std::getenv("OPENBLAS_CORETYPE");
    std::fprintf(stderr,
                 "hardgnn: WARNING OpenBLAS runs its %s kernels%s on a CPU that runs %s's: matrix products "
                 "2-3x slower (OPENBLAS_CORETYPE=%s)\n",
                 core.c_str(), user != nullptr ? " (OPENBLAS_CORETYPE is set in the environment)" : "", better, better);
  }
  return threads;
}

}  // namespace hardgnn
