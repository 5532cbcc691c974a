#!/usr/bin/env bash
# Runs every kernel benchmark in its own process and prints a table: the best wall time over
# the repetitions, the process CPU time of that repetition, the peak RSS of the process
# (/usr/bin/time), and the GFLOP/s of a 2048^3 matmul run in the same process right after it
# (~140-165 when the machine is otherwise idle; lower means other load inflated the timings).
#
#   benchmarks/run_benchmarks.sh [FILTER_REGEX]
#   env: REPS (3), MIN_TIME (1 s), OUT (dir), BENCH_THREADS (2)
set -euo pipefail
cd "$(dirname "$0")/.."
filter=${1:-.}
reps=${REPS:-3}
min_time=${MIN_TIME:-1}
out=${OUT:-/tmp/hardgnn-bench}
mkdir -p "$out"
bazel build -c opt --jobs=2 //benchmarks:all >/dev/null 2>&1 || bazel build -c opt --jobs=2 //benchmarks:all
echo "threads: ${BENCH_THREADS:-2}; machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '| %-58s | %9s | %9s | %8s | %11s |\n' benchmark "wall ms" "CPU ms" "RSS MB" "calib GF/s"
printf '|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..60})" "-----------" "-----------" "----------" "-------------"
for bin in propagate_bench lstm_bench attention_bench pipeline_bench optimizer_bench bandwidth_bench gemm_bench; do
  for name in $(./bazel-bin/benchmarks/$bin --benchmark_list_tests | grep -v '^Calibration' | grep -E -- "$filter"); do
    json="$out/$(echo "$name" | tr '/' '_').json"
    /usr/bin/time -f '%M' -o "$out/rss" ./bazel-bin/benchmarks/$bin \
      --benchmark_filter="^${name}\$|^Calibration" --benchmark_repetitions="$reps" \
      --benchmark_min_time="$min_time" --benchmark_format=json --benchmark_out="$json" >/dev/null 2>&1
    /usr/bin/python3 - "$json" "$name" "$(cat "$out/rss")" <<'PY'
import json, sys
runs = json.load(open(sys.argv[1]))["benchmarks"]
name, rss_kb = sys.argv[2], int(sys.argv[3])
mine = [r for r in runs if r["run_type"] == "iteration" and r["run_name"].startswith(name)]
cal = [r for r in runs if r["run_type"] == "iteration" and r["run_name"].startswith("Calibration")]
best = min(mine, key=lambda r: r["real_time"])
print("| %-58s | %9.1f | %9.1f | %8.0f | %11.0f |" % (name.replace("/process_time/real_time", ""),
      best["real_time"], best["cpu_time"], rss_kb / 1024, max(r["GFLOP/s"] for r in cal) if cal else 0))
PY
  done
done
