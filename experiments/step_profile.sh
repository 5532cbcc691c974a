#!/usr/bin/env bash
# Per-phase time of one SelfGNN training step on a synthetic dataset shaped like the published
# Yelp (20k users, 38k items, 700k interactions, 12 slices; published Yelp hyperparameters: 3
# GNN layers, 2 attention layers, 16 heads), for hardgnn's formulation (fused kernels, interval
# fusion only for the rows the step reads) and the straightforward one of the published code
# (every user and item through the stock LibTorch LSTM and attention at every step), with the
# peak resident memory of each. Needs GNU time (/usr/bin/time). Run from the repository root.
#   experiments/step_profile.sh [steps (default 6)] [extra train flags...]
#   env FORMS: the formulations to run (default "fused straightforward"); TAG: run-dir suffix;
#   BIN: another hardgnn binary to profile (say, one built at an earlier commit), instead of
#   building this tree's. Without BIN each run's profile, peak memory and commit also go to
#   experiments/results/step_profile/<form>[-TAG].json, which summarize_step_profile.py turns
#   into REPORT §3's table.
# HardGNN's step against SelfGNN's:
#   FORMS=fused TAG=selfgnn experiments/step_profile.sh 10
#   FORMS=fused TAG=hardgnn experiments/step_profile.sh 10 --flagfile=experiments/configs/variants/hardgnn.flags
set -euo pipefail
steps=${1:-6}; shift || true
out=runs/step_profile
machine="$(experiments/cpu_name.sh), $(nproc) cores"  # REPORT §3 names it
mkdir -p "$out"
bin=${BIN:-bazel-bin/hardgnn}
[[ -n ${BIN:-} ]] || bazel build //:hardgnn
[[ -f $out/yelp-shape.tsv ]] || python3 tools/make_synthetic_log.py --out="$out/yelp-shape.tsv"
[[ -f $out/yelp-shape/dataset.bin ]] || "$bin" prepare --input="$out/yelp-shape.tsv" --format=generic \
  --name=yelp-shape --kcore=0 --slices=12 --num_eval_users=10000 --out="$out/yelp-shape"
for variant in ${FORMS:-fused straightforward}; do
  flags=()
  [[ $variant == straightforward ]] && flags=(--selfgnn_fused=false --selfgnn_all_rows=true)
  run="$out/run-$variant${TAG:+-$TAG}"
  rm -rf "$run"
  echo "== $variant"
  /usr/bin/time -o "$run.time" -f "%M" "$bin" train --data="$out/yelp-shape" \
    --flagfile=experiments/configs/published/yelp.flags --epochs=1 --max_steps="$steps" --profile \
    --progress=never --run_dir="$run" "${flags[@]}" "$@" 2>&1 | grep -E "per-step|  [a-z].* ms$|WARNING"
  echo "peak resident memory: $(cat "$run.time") KB"
  [[ -n ${BIN:-} ]] && continue
  mkdir -p experiments/results/step_profile
  {
    printf '{"commit":"%s","machine":"%s","form":"%s","flags":"%s","peak_rss_kb":%s,"profile":' \
      "$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- core plugins || echo ' (modified)')" "$machine" \
      "$variant${TAG:+-$TAG}" "${flags[*]} $*" "$(cat "$run.time")"
    grep '"event":"profile"' "$run/log.jsonl"
    echo "}"
  } | tr -d '\n' > "experiments/results/step_profile/$variant${TAG:+-$TAG}.json"
done
