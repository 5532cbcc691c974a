#!/usr/bin/env bash
# Issue 14 §4: training on a shared machine. One gowalla-nyc epoch of SelfGNN and of HardGNN
# (the gowalla-nyc-bpr preset, without and with variants/hardgnn.flags) at the binary's
# default threads, on a quiet machine and beside one busy-looping process, REPEATS times each
# (alternating), under the OpenMP wait settings in WAITS:
#   hardgnn  the binary's own choice (no OpenMP variable set by this script)
#   spin     GOMP_SPINCOUNT=300000: libgomp's default when no variable is set, i.e. what the
#            binary did before it chose for itself
#   spinN    GOMP_SPINCOUNT=N
# Prints one line per run (epoch wall seconds from log.jsonl, process CPU seconds) and the
# medians with the busy/quiet ratio. Needs GNU time. Run from the repository root on an
# otherwise idle machine.
#   experiments/thread_bench.sh [BIN]       env REPEATS (default 3), WAITS (default "hardgnn spin")
set -euo pipefail
bin=${1:-bazel-bin/hardgnn}
out=runs/thread_bench
data=runs/data/gowalla-nyc
mkdir -p "$out"
[[ -f $data/dataset.bin ]] || "$bin" prepare --flagfile=experiments/configs/data/gowalla-nyc.flags --out="$data" > /dev/null

busy_pid=
start_busy() { bash -c 'while :; do :; done' & busy_pid=$!; }
stop_busy() { [[ -n $busy_pid ]] && kill "$busy_pid" 2> /dev/null; wait "$busy_pid" 2> /dev/null || true; busy_pid=; }
trap stop_busy EXIT

one() {  # one VARIANT WAIT LOAD REPEAT -> prints "VARIANT WAIT LOAD epoch_s cpu_s"
  local variant=$1 wait=$2 load=$3 rep=$4 run="$out/$1-$2-$3-$4"
  local flags=(--flagfile=experiments/configs/gowalla-nyc-bpr.flags)
  [[ $variant == hardgnn ]] && flags+=(--flagfile=experiments/configs/variants/hardgnn.flags)
  local env=()
  [[ $wait == spin ]] && env=(GOMP_SPINCOUNT=300000)
  [[ $wait =~ ^spin([0-9]+)$ ]] && env=(GOMP_SPINCOUNT="${BASH_REMATCH[1]}")
  rm -rf "$run"
  [[ $load == busy ]] && start_busy
  env "${env[@]}" /usr/bin/time -f "%U %S" -o "$run.time" "$bin" train --data="$data" "${flags[@]}" --epochs=1 \
    --full_ranking=false --progress=never --run_dir="$run" > "$run.log" 2>&1
  stop_busy
  local epoch cpu
  epoch=$(grep -o '"event":"epoch".*"seconds":[0-9.]*' "$run/log.jsonl" | grep -o '[0-9.]*$')
  cpu=$(awk '{ print $1 + $2 }' "$run.time")
  echo "$variant $wait $load $epoch $cpu"
}

results="$out/results.txt"
: > "$results"
for rep in $(seq 1 "${REPEATS:-3}"); do
  for wait in ${WAITS:-hardgnn spin}; do
    for variant in selfgnn hardgnn; do
      for load in quiet busy; do one "$variant" "$wait" "$load" "$rep" | tee -a "$results"; done
    done
  done
done
echo
echo "medians over ${REPEATS:-3} runs: epoch wall seconds (process CPU seconds)"
python3 - "$results" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
keys = sorted({(r[0], r[1]) for r in rows}, key=lambda k: (k[1], k[0]))
for variant, wait in keys:
    med = {}
    for load in ("quiet", "busy"):
        sel = [r for r in rows if r[0] == variant and r[1] == wait and r[2] == load]
        med[load] = (statistics.median(float(r[3]) for r in sel), statistics.median(float(r[4]) for r in sel))
    print(f"{variant:8s} waits={wait:8s} quiet {med['quiet'][0]:6.2f} s ({med['quiet'][1]:6.2f} CPU)  "
          f"busy {med['busy'][0]:6.2f} s ({med['busy'][1]:6.2f} CPU)  busy/quiet {med['busy'][0] / med['quiet'][0]:.2f}")
EOF
