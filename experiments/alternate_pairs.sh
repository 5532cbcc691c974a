#!/usr/bin/env bash
# Two trainings at REPORT §3's Yelp shape alternated in ABBA order, each round one of each, their
# mean steps (--profile's 'step (total)') and each round's ratio B / A: on these VMs one form's step
# moves by 10-40% within an hour, so a ratio is read within a round, and over several.
#   experiments/alternate_pairs.sh ratio [rounds (default 4)] [steps (default 16)]
#     A: hardgnn's SelfGNN, B: the straightforward formulation (issue 18's 20x: B / A)
#   experiments/alternate_pairs.sh hardgnn [rounds] [steps]
#     A: SelfGNN, B: HardGNN (issue 18's target 2: B / A)
# env BIN: the binary (default: this tree's, built). Output: the rounds, then each round's ratio
# and their median; the runs in runs/pairs/KIND/. Needs the data of experiments/step_profile.sh.
set -euo pipefail
kind=${1:?ratio or hardgnn} rounds=${2:-4} steps=${3:-16}
cd "$(dirname "$0")/.."
case $kind in
  ratio) b_flags=(--selfgnn_fused=false --selfgnn_all_rows=true) names=(fused straightforward) ;;
  hardgnn) b_flags=(--flagfile=experiments/configs/variants/hardgnn.flags) names=(selfgnn hardgnn) ;;
  *) echo "unknown kind '$kind' (ratio or hardgnn)" >&2; exit 2 ;;
esac
source experiments/yelp_shape_run.sh
yelp_shape_run pairs "$kind" >/dev/null  # sets data, bin and run
step() {  # form (0: A, 1: B) -> its mean step in seconds, or an error naming its output
  local out=$run/${names[$1]} flags=() seconds
  (($1 == 1)) && flags=("${b_flags[@]}")
  rm -rf "$out"
  "$bin" train --data="$data" --flagfile=experiments/configs/published/yelp.flags --epochs=1 --max_steps="$steps" \
    --profile --progress=never --run_dir="$out" "${flags[@]}" > "$out.out" 2>&1 || true
  seconds=$(awk '/step \(total\)/ && / ms$/ {print $(NF-1) / 1000; exit}' "$out.out")
  [[ -n $seconds ]] || { echo "$out.out: no 'step (total)' time (did the training fail?)" >&2; return 1; }
  echo "$seconds"
}
echo "# ${names[1]} / ${names[0]}: $steps-step runs alternated ABBA, $rounds rounds; commit" \
  "$(git rev-parse --short HEAD)${BIN:+ (BIN=$BIN)}; $(experiments/cpu_name.sh), $(nproc) cores"
ratios=()
for ((r = 1; r <= rounds; ++r)); do
  if ((r % 2)); then a=$(step 0); b=$(step 1); else b=$(step 1); a=$(step 0); fi
  ratio=$(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.2f", b / a}')
  ratios+=("$ratio")
  echo "round $r ${names[0]} $a ${names[1]} $b ratio $ratio"
done
# The kernels the runs had (hardgnn's start-up line), and its warnings (say, a set OPENBLAS_CORETYPE
# narrower than the CPU runs).
blas=$(grep -o -m1 'BLAS: .*' "$run/${names[0]}.out" || true)
[[ -z $blas ]] || echo "# $blas"
grep -h WARNING "$run"/*.out | sort -u | sed 's/^/# /' || true
printf '%s\n' "${ratios[@]}" | sort -g | awk '{v[NR] = $1} END {
  m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
  printf "median ratio %.2f (range %.2f-%.2f over %d rounds)\n", m, v[1], v[NR], NR}'
