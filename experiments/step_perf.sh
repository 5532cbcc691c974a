#!/usr/bin/env bash
# Where a training step's time goes by kernel: perf samples of a run at REPORT §3's Yelp shape
# (its data and flags), taken from after its first steps to before its evaluation, saved as
# perf's per-symbol report with the commit, the machine and the run's mean step time in
# experiments/results/step_perf/NAME.txt; experiments/summarize_step_perf.py groups them by
# part of the step for REPORT §3. Needs perf and the data of experiments/step_profile.sh.
#   experiments/step_perf.sh NAME [seconds of samples (default 9)] [extra train flags...]
#   env BIN: another hardgnn binary (default: this tree's, built); its report then goes to
#   runs/step_perf/NAME/report.txt only.
set -euo pipefail
name=$1 seconds=${2:-9}
shift $(($# < 2 ? $# : 2))
cd "$(dirname "$0")/.."
source experiments/yelp_shape_run.sh
yelp_shape_run step_perf "$name"
# One epoch of the data's 20 steps: loading takes about 2 s and a step about 1 s, so a window
# from 5 s to 5 + seconds lies within the training (checked below, from the log).
"$bin" train --data="$data" --flagfile=experiments/configs/published/yelp.flags --epochs=1 --profile \
  --progress=never --run_dir="$run/train" "$@" > "$run/train.out" 2>&1 &
pid=$!
sleep 5
perf record -q -F 999 -p "$pid" -o "$run/perf.data" -- sleep "$seconds"
if grep -q '"event":"epoch"' "$run/train/log.jsonl" 2>/dev/null; then
  echo "the training ended inside the sampling window (its evaluation sampled too): use fewer seconds" >&2
  kill "$pid" 2>/dev/null || true
  exit 1
fi
wait "$pid"
step=$(grep -o '"seconds_per_step":{[^}]*"step (total)":[0-9.e-]*' "$run/train/log.jsonl" | sed 's/.*://')
[[ -n $step ]] || { echo "no step time in $run/train/log.jsonl" >&2; exit 1; }
{
  echo "# commit: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- core plugins || echo ' (modified)')${BIN:+ (BIN=$BIN)}"
  echo "# machine: $(experiments/cpu_name.sh), $(nproc) cores"
  echo "# train flags: --flagfile=experiments/configs/published/yelp.flags ${*}"
  echo "# step seconds: $step"
  echo "# window: ${seconds} s from 5 s after the start"
  echo "# seconds: $seconds"
  echo "# busiest threads' samples: $(perf script -i "$run/perf.data" -F tid 2>/dev/null | sort | uniq -c | sort -rn |
    head -2 | awk '{print $1}' | tr '\n' ' ' | sed 's/ $//')"
  perf report -i "$run/perf.data" --stdio --no-children -F overhead,dso,sym --percent-limit 0.01 2>/dev/null |
    grep -E '^ +[0-9.]+%'
} > "$run/report.txt"
if [[ -z ${BIN:-} ]]; then
  cp "$run/report.txt" "experiments/results/step_perf/$name.txt"
  echo "wrote experiments/results/step_perf/$name.txt"
fi
