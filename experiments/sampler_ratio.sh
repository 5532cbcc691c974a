#!/usr/bin/env bash
# The hard-negative miner against the bare dense product and the straightforward miner at the
# issue's shape (B = 512 anchors, N = 50,000 items, d = 64, K = 5, 50 excluded items per
# anchor), as ratios measured within each run: RUNS separate processes (default 5), each the
# median of 5 repetitions, then the median and range of the per-run ratios. Timings on a
# shared machine swing by 20-30% between runs; ratios within a run are what to read. Besides
# hard_cosine as configured by default (its 8-bit screen where the CPU has AVX-512 VNNI, else
# its int16 screen): its float screen, its int16 screen on VNNI tiles and on AVX2 tiles (all
# three int16 runs are the same where the CPU has no VNNI).
# The first line names the CPU and the kernel OpenBLAS chose for the dense product.
# Output also goes to experiments/results/sampler_ratio/NAME.txt (env NAME, default runs: one
# file per machine kind), from which summarize_sampler_ratio.py makes REPORT §7's tables.
#   [NAME=zen3-avx2] experiments/sampler_ratio.sh [runs]
set -euo pipefail
runs=${1:-5}
bazel build --jobs=2 //benchmarks:sampler_bench >/dev/null 2>&1 || bazel build --jobs=2 //benchmarks:sampler_bench
shape='B512/N50000/d64'
bench=./bazel-bin/benchmarks/sampler_bench
vnni=$(grep -qw avx512_vnni /proc/cpuinfo && echo "AVX-512 VNNI" || echo "no AVX-512 VNNI")
# The last kernel OpenBLAS names is the one the benchmark runs: where OpenBLAS falls back to its
# generic kernels, the benchmark re-executes itself with the CPU's own (EnsureStartupEnvironment).
core=$(OPENBLAS_VERBOSE=2 $bench --benchmark_filter="^dense_product/B512/N10000/d64/" --benchmark_min_time=0.01 2>&1 |
  sed -n 's/^Core: //p' | tail -1)
mkdir -p experiments/results/sampler_ratio
exec > >(tee "experiments/results/sampler_ratio/${NAME:-runs}.txt")
echo "# commit $(git log -1 --format=%h -- core plugins benchmarks)$(git diff --quiet HEAD -- core plugins benchmarks || echo ' (modified)'): experiments/sampler_ratio.sh $runs"
echo "# CPU: $(experiments/cpu_name.sh), $vnni; OpenBLAS kernel: ${core:-unknown}"
for ((r = 1; r <= runs; ++r)); do
  $bench \
    --benchmark_filter="^(dense_product/$shape|(straightforward_hard|hard_cosine|hard_cosine_float_screen|hard_cosine_int16_screen|hard_cosine_avx2_tiles)/$shape/K5)/" \
    --benchmark_repetitions=5 --benchmark_report_aggregates_only=true 2>/dev/null |
    awk -v run="$r" '/_median/ { split($1, name, "/"); print run, name[1], $2 }'
done | python3 -c '
import collections, statistics, sys
ms = collections.defaultdict(dict)
for line in sys.stdin:
    run, name, t = line.split()
    ms[int(run)][name] = float(t)
print("run  dense ms  straightforward ms  hard_cosine ms  float screen ms  int16 screen ms  avx2 tiles ms  hard/dense  int16/dense  straightforward/hard")
ratios, ratios16, speedups = [], [], []
for run in sorted(ms):
    dense, straight, hard, flt, int16, avx2 = (ms[run][k] for k in ("dense_product", "straightforward_hard", "hard_cosine",
                                                                   "hard_cosine_float_screen", "hard_cosine_int16_screen",
                                                                   "hard_cosine_avx2_tiles"))
    ratios.append(hard / dense)
    ratios16.append(int16 / dense)
    speedups.append(straight / hard)
    print(f"{run:3d}  {dense:8.1f}  {straight:18.1f}  {hard:14.1f}  {flt:15.1f}  {int16:15.1f}  {avx2:13.1f}  {ratios[-1]:10.2f}"
          f"  {ratios16[-1]:11.2f}  {speedups[-1]:19.2f}")
print(f"median hard_cosine / dense product {statistics.median(ratios):.2f} (range {min(ratios):.2f}-{max(ratios):.2f}); "
      f"int16 screen {statistics.median(ratios16):.2f} ({min(ratios16):.2f}-{max(ratios16):.2f}); "
      f"median speedup over the straightforward miner {statistics.median(speedups):.2f}x "
      f"(range {min(speedups):.2f}-{max(speedups):.2f})")
'
