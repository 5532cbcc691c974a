#!/usr/bin/env bash
# Two builds of one Google Benchmark binary (say, at a commit and at its parent) on the
# benchmarks matching a regex, alternated ROUNDS times, each time REPS repetitions, printing
# each round's four fastest per benchmark: on a shared or virtual machine whose timings swing by
# 10-30%, the fastest repetitions of alternated runs are what to compare (sampler_ab.sh is the
# same for the sampler benchmark). Build each with -c opt, as benchmarks/run_benchmarks.sh does:
#   bazel build -c opt //benchmarks:lstm_bench && cp bazel-bin/benchmarks/lstm_bench /tmp/lstm_X
#   experiments/bench_ab.sh OLD NEW REGEX [rounds (default 2)] [reps (default 10)]
set -euo pipefail
old=$1 new=$2 filter=$3 rounds=${4:-2} reps=${5:-10}
echo "# CPU: $("$(dirname "$0")/cpu_name.sh"); benchmark $filter; ms (wall), four fastest of $reps"
for ((r = 1; r <= rounds; ++r)); do
  for which in old new; do
    bin=$old; [[ $which == new ]] && bin=$new
    "$bin" --benchmark_filter="$filter" --benchmark_repetitions="$reps" 2>/dev/null |
      awk '$1 ~ /real_time$/ {print $1, $2}' | sort -k1,1 -k2,2g |
      awk -v tag="$which round $r" '{ if (c[$1]++ < 4) t[$1] = t[$1] " " $2 } END { for (b in t) print tag ": " b t[b] }' | sort
  done
done
