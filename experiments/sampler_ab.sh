#!/usr/bin/env bash
# Two sampler_bench binaries (say, built at a commit and at its parent) on some benchmarks,
# alternated ROUNDS times, each time 12 repetitions, printing each round's three fastest: on a
# shared or virtual machine whose timings swing by 10-30%, the fastest repetitions of
# alternated runs are what to compare. Build each with
#   bazel build //benchmarks:sampler_bench && cp bazel-bin/benchmarks/sampler_bench /tmp/sampler_bench_X
#   experiments/sampler_ab.sh OLD NEW [rounds (default 4)] [benchmark regex]
set -euo pipefail
old=$1 new=$2 rounds=${3:-4} filter=${4:-'^(dense_product/B512/N50000/d64|hard_cosine/B512/N50000/d64/K5)/'}
echo "# CPU: $("$(dirname "$0")/cpu_name.sh"); benchmark $filter; ms, three fastest of 12"
for ((r = 1; r <= rounds; ++r)); do
  for which in old new; do
    bin=$old; [[ $which == new ]] && bin=$new
    # each benchmark's three fastest repetitions, a line per benchmark
    "$bin" --benchmark_filter="$filter" --benchmark_repetitions=12 2>/dev/null |
      awk '$1 ~ /real_time$/ {print $1, $2}' | sort -k1,1 -k2,2g |
      awk -v tag="$which round $r" '{ if (c[$1]++ < 3) t[$1] = t[$1] " " $2 } END { for (b in t) print tag ": " b t[b] }' | sort
  done
done
