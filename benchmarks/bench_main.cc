// main() of the kernel benchmarks: OpenBLAS's own kernels for this CPU first (its generic
// fallback would make every dense reference 3x slower; see EnsureStartupEnvironment), then
// Google Benchmark.
#include <benchmark/benchmark.h>

#include "core/cli/runtime_info.h"

int main(int argc, char** argv) {
  hardgnn::EnsureStartupEnvironment(argv, /*passive_openmp_waits=*/false);  // may re-execute
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
