#!/usr/bin/env bash
# The trainer's OpenMP parallel loops a step, and by caller, at REPORT §3's Yelp shape (its data
# and flags), from a uprobe on libgomp's GOMP_parallel: the count a step exactly, as the
# difference of two whole trainings of 3 and 9 steps; the callers from DWARF call stacks over a
# few seconds of a third, grouped by experiments/classify_openmp_loops.py (the window cuts
# steps, so its loops a step are approximate). Every loop wakes the sleeping worker thread
# (passive waits, §9.2), so their count is a cost of its own. Needs perf, root (the probe) and
# the data of experiments/step_profile.sh.
#   experiments/openmp_loops.sh NAME [seconds (default 4)] [extra train flags...]
#   env BIN: another hardgnn binary (default: this tree's, built). Output: runs/openmp_loops/NAME/.
set -euo pipefail
name=$1 seconds=${2:-4}
shift $(($# < 2 ? $# : 2))
cd "$(dirname "$0")/.."
source experiments/yelp_shape_run.sh
yelp_shape_run openmp_loops "$name"
lib=$(ldd "$bin" | awk '/libgomp/ {print $3}')
[[ -n $lib ]] || { echo "$bin does not load libgomp" >&2; exit 1; }
perf probe -q -x "$lib" GOMP_parallel 2>/dev/null || perf probe -l | grep -q GOMP_parallel ||
  { echo "cannot add the uprobe on $lib's GOMP_parallel (root?)" >&2; exit 1; }
loops_in() {  # loops of a whole training of $1 steps (its loading and evaluation included)
  perf record -q -e probe_libgomp:GOMP_parallel -o "$run/count.data" -- "$bin" train --data="$data" \
    --flagfile=experiments/configs/published/yelp.flags --epochs=1 --max_steps="$1" --progress=never \
    --run_dir="$run/count" "${@:2}" > "$run/count.out" 2>&1
  perf script -i "$run/count.data" 2>/dev/null | wc -l
  rm -rf "$run/count" "$run/count.data"
}
few=$(loops_in 3 "$@") many=$(loops_in 9 "$@")
# One epoch of the data's 20 steps takes about 15 s here: a window from 6 s lies in the training.
"$bin" train --data="$data" --flagfile=experiments/configs/published/yelp.flags --epochs=1 --progress=never \
  --run_dir="$run/train" "$@" > "$run/train.out" 2>&1 &
pid=$!
sleep 6
perf record -q -e probe_libgomp:GOMP_parallel --call-graph=dwarf,16384 -p "$pid" -o "$run/perf.data" -- sleep "$seconds"
if grep -q '"event":"epoch"' "$run/train/log.jsonl" 2>/dev/null; then
  echo "the training ended inside the window (its evaluation counted too): use fewer seconds" >&2
  kill "$pid" 2>/dev/null || true
  exit 1
fi
wait "$pid"
perf script -i "$run/perf.data" -F ip,sym,dso 2>/dev/null > "$run/stacks.txt"
{
  echo "# commit: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- core plugins || echo ' (modified)')${BIN:+ (BIN=$BIN)}"
  echo "# machine: $(experiments/cpu_name.sh), $(nproc) cores"
  echo "# train flags: --flagfile=experiments/configs/published/yelp.flags ${*}"
  echo "# loops a step: $(((many - few) / 6)) (whole trainings of 3 and 9 steps: $few and $many loops)"
  echo "# call stacks: $seconds s from 6 s after the start of a third"
  python3 experiments/classify_openmp_loops.py "$run/stacks.txt"
} > "$run/loops.txt"
cat "$run/loops.txt"
