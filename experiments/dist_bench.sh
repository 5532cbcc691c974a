#!/usr/bin/env bash
# Data-parallel training on one machine (issue 17): one yelp2019 epoch of the yelp2019-hinge200
# preset (SelfGNN, data runs/data/yelp2019-2slices) as 1 process x 2 threads and as 2 ranks x 1
# thread (tools/launch.sh; gradients dense, then as sparse rows), with 1 process x 1 thread
# to split the step into what every rank repeats and what the ranks share, back to back so the ratios
# come from one stretch of machine load; then MF, whose embedding gradients are sparse, both
# ways; and 4 steps at the published Yelp shape (20k users, 38k items, 12 slices, synthetic) on
# 1 x 1, 1 x 2 and 2 x 1, for the cost model (experiments/REPORT.md §11). Each run
# trains one epoch (or those 4 steps) with --profile (per-step phases, all-reduced bytes, share of
# table gradient rows that are not zero) and evaluates once. Writes the table to
# experiments/results/dist_bench.txt (or $OUT), with the command and the raw profile lines.
#   experiments/dist_bench.sh [BINARY]      BINARY: default bazel-bin/hardgnn (copied first)
#   environment: DATA (default runs/data/yelp2019-2slices), OUT, EXTRA (more train flags)
set -euo pipefail
cd "$(dirname "$0")/.."
src=${1:-bazel-bin/hardgnn}
out=${OUT:-experiments/results/dist_bench.txt}
data=${DATA:-runs/data/yelp2019-2slices}
work=$(mktemp -d /tmp/dist_bench.XXXXXX)
cp "$src" "$work/hardgnn"  # others may rebuild bazel-bin while this runs
bin=$work/hardgnn
[[ -e $data/dataset.bin ]] || { echo "dist_bench: no $data (prepare it with experiments/configs/data/yelp2019-2slices.flags)" >&2; exit 1; }

selfgnn=(--flagfile=experiments/configs/yelp2019-hinge200.flags --data="$data")
# MF without L2: the published L2 runs over the whole tables every step, which makes every
# gradient row non-zero (SelfGNN's graph propagation does that anyway).
mf=(--encoder=mf --losses=bpr --mf_dim=64 --users_per_epoch=0 --data="$data")
common=(--epochs=1 --eval_every=1 --profile --progress=never)
read -ra extra <<< "${EXTRA:-}"  # more train flags, e.g. EXTRA=--max_steps=2 for a quick check
common+=("${extra[@]}")

run() {  # run NAME RANKS THREADS [flags...]
  local name=$1 ranks=$2 threads=$3
  shift 3
  local start end
  start=$(date +%s.%N)
  # The preset first: the flags after it (one epoch, --profile) win.
  if [[ $ranks -eq 1 ]]; then
    "$bin" train "$@" "${common[@]}" --threads="$threads" --run_dir="$work/$name" > "$work/$name.out" 2>&1
  else
    HARDGNN_BIN=$bin tools/launch.sh "$ranks" --threads="$threads" -- train "$@" "${common[@]}" --run_dir="$work/$name" \
      > "$work/$name.out" 2>&1
  fi
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }' > "$work/$name.wall"
}

# phase NAME LABEL: ms per step of a profiled phase (0 when absent)
phase() { awk -v p="$2" 'index($0, "  " p " ") == 1 { v = $(NF - 1) } END { print v + 0 }' "$work/$1.out"; }
epoch_seconds() { grep -o '"event":"epoch".*"seconds":[0-9.]*' "$work/$1/log.jsonl" | grep -o '[0-9.]*$' | head -1; }
eval_seconds() {
  grep '"event":"eval"' "$work/$1/log.jsonl" | head -1 | grep -o '"seconds":[0-9.e+-]*}}$' | grep -o '[0-9.]*' | head -1 \
    | awk '{ printf "%.2f", $1 }'
}
mb_per_step() { grep -o '[0-9.]* MB all-reduced per step' "$work/$1.out" | cut -d' ' -f1; }
nonzero() { grep -o '[0-9.]*% of the tables' "$work/$1.out" | cut -d'%' -f1; }

row() {  # row NAME DESCRIPTION
  local n=$1 step wait_ms grad terms gather comm
  step=$(phase "$n" "step (total)")
  wait_ms=$(phase "$n" "all-reduce: waiting for the slowest rank")
  grad=$(phase "$n" "all-reduce: gradients")
  terms=$(phase "$n" "all-reduce: loss terms")
  gather=$(phase "$n" "all-gather: loss entries")
  comm=$(awk -v g="$grad" -v t="$terms" -v a="$gather" -v w="$wait_ms" 'BEGIN { print g + t + a + w }')
  printf '%-34s %7s %7s %8s %8s %8s %8s %6s %7s %8s\n' "$2" "$(epoch_seconds "$n")" "$(eval_seconds "$n")" "$step" \
    "$grad" "$wait_ms" "$(awk -v c="$comm" -v s="$step" 'BEGIN { printf "%.1f%%", 100 * c / s }')" \
    "$(mb_per_step "$n" || echo -)" "$(nonzero "$n" || echo -)" "$(cat "$work/$n.wall")"
}

run selfgnn_1x2 1 2 "${selfgnn[@]}"
run selfgnn_1x1 1 1 "${selfgnn[@]}"
run selfgnn_2x1 2 1 "${selfgnn[@]}"
run selfgnn_2x1_sparse 2 1 "${selfgnn[@]}" --dist_sparse_grads
# The published Yelp shape (synthetic, as experiments/step_profile.sh: 20k users, 38k items, 12
# slices; the published Yelp hyperparameters): 4 steps, for the cost model's per-rank split.
if [[ ${SHAPE:-1} == 1 ]]; then
  shape=runs/step_profile/yelp-shape
  if [[ ! -e $shape/dataset.bin ]]; then
    mkdir -p runs/step_profile
    [[ -f runs/step_profile/yelp-shape.tsv ]] || python3 tools/make_synthetic_log.py --out=runs/step_profile/yelp-shape.tsv
    "$bin" prepare --input=runs/step_profile/yelp-shape.tsv --format=generic --name=yelp-shape --kcore=0 --slices=12 \
      --num_eval_users=10000 --out="$shape" > "$work/shape-prepare.log" 2>&1
  fi
  published=(--flagfile=experiments/configs/published/yelp.flags --data="$shape" --max_steps=4 --full_ranking=false)
  run shape_1x2 1 2 "${published[@]}"
  run shape_1x1 1 1 "${published[@]}"
  run shape_2x1 2 1 "${published[@]}"
fi
run mf_1x2 1 2 "${mf[@]}"
run mf_2x1 2 1 "${mf[@]}"
run mf_2x1_sparse 2 1 "${mf[@]}" --dist_sparse_grads

{
  echo "# experiments/dist_bench.sh ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores shared with other jobs: load $(cut -d' ' -f1-3 /proc/loadavg))"
  echo "# one epoch each, --profile; ms are per training step (means); 'comm' = gradient all-reduce + loss-term"
  echo "# all-reduce + SAL all-gather + barrier wait, as a share of the step; MB = payload all-reduced per step;"
  echo "# nonzero = share of the embedding tables' gradient rows that are not zero (rank-local, before the sum)"
  printf '%-34s %7s %7s %8s %8s %8s %8s %6s %7s %8s\n' run "epoch_s" "eval_s" "step_ms" "grad_ms" "wait_ms" comm MB "nonzero" "wall_s"
  row selfgnn_1x2 "SelfGNN yelp, 1 process x 2 threads"
  row selfgnn_1x1 "SelfGNN yelp, 1 process x 1 thread"
  row selfgnn_2x1 "SelfGNN yelp, 2 ranks x 1 thread"
  row selfgnn_2x1_sparse "  same, sparse gradient rows"
  if [[ ${SHAPE:-1} == 1 ]]; then
    row shape_1x2 "published Yelp shape, 1 x 2 threads"
    row shape_1x1 "published Yelp shape, 1 x 1 thread"
    row shape_2x1 "published Yelp shape, 2 ranks x 1"
  fi
  row mf_1x2 "MF yelp, 1 process x 2 threads"
  row mf_2x1 "MF yelp, 2 ranks x 1 thread"
  row mf_2x1_sparse "  same, sparse gradient rows"
  for n in selfgnn_1x2 selfgnn_1x1 selfgnn_2x1 selfgnn_2x1_sparse ${shape:+shape_1x2 shape_1x1 shape_2x1} mf_2x1 mf_2x1_sparse; do
    echo
    echo "## $n: per-step phases (rank 0)"
    sed -n '/per-step wall time by phase/,/^[^ ]/p' "$work/$n.out" | grep '^ '
  done
} > "$out"
cat "$out"
echo "dist_bench: runs kept in $work" >&2
