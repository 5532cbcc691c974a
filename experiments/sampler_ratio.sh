#!/usr/bin/env bash
# The hard-negative miner against the bare dense product and the straightforward miner at the
# issue's shape (B = 512 anchors, N = 50,000 items, d = 64, K = 5, 50 excluded items per
# anchor), as ratios measured within each run: RUNS separate processes (default 5), each the
# median of 5 repetitions, then the median and range of the per-run ratios. Timings on a
# shared machine swing by 20-30% between runs; ratios within a run are what to read.
#   experiments/sampler_ratio.sh [runs]
set -euo pipefail
runs=${1:-5}
bazel build --jobs=2 //benchmarks:sampler_bench >/dev/null 2>&1 || bazel build --jobs=2 //benchmarks:sampler_bench
shape='B512/N50000/d64'
for ((r = 1; r <= runs; ++r)); do
  ./bazel-bin/benchmarks/sampler_bench \
    --benchmark_filter="^(dense_product/$shape|(straightforward_hard|hard_cosine|hard_cosine_float_screen)/$shape/K5)/" \
    --benchmark_repetitions=5 --benchmark_report_aggregates_only=true 2>/dev/null |
    awk -v run="$r" '/_median/ { split($1, name, "/"); print run, name[1], $2 }'
done | python3 -c '
import collections, statistics, sys
ms = collections.defaultdict(dict)
for line in sys.stdin:
    run, name, t = line.split()
    ms[int(run)][name] = float(t)
print("run  dense ms  straightforward ms  hard_cosine ms  float screen ms  hard/dense  straightforward/hard")
ratios, speedups = [], []
for run in sorted(ms):
    dense, straight, hard, flt = (ms[run][k] for k in ("dense_product", "straightforward_hard", "hard_cosine",
                                                       "hard_cosine_float_screen"))
    ratios.append(hard / dense)
    speedups.append(straight / hard)
    print(f"{run:3d}  {dense:8.1f}  {straight:18.1f}  {hard:14.1f}  {flt:15.1f}  {ratios[-1]:10.2f}  {speedups[-1]:19.2f}")
print(f"median hard_cosine / dense product {statistics.median(ratios):.2f} (range {min(ratios):.2f}-{max(ratios):.2f}); "
      f"median speedup over the straightforward miner {statistics.median(speedups):.2f}x "
      f"(range {min(speedups):.2f}-{max(speedups):.2f})")
'
