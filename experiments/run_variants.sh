#!/usr/bin/env bash
# Trains the four variants (SelfGNN, HardGNN with random negatives, HardGNN, HardGNN with
# debiased negatives) over several seeds on one prepared dataset, one run directory each
# (OUT/<variant>/seed<s>), skipping runs already finished, then tabulates mean and standard
# deviation. Run from the repository root after `bazel build //:hardgnn`.
#   experiments/run_variants.sh DATA MODEL_FLAGFILE OUT "SEEDS" [extra train flags...]
#   e.g. experiments/run_variants.sh runs/data/gowalla-nyc experiments/configs/gowalla-nyc.flags \
#          runs/variants/gowalla-nyc "1 2 3" --epochs=100
set -euo pipefail
data=$1 model=$2 out=$3 seeds=$4
shift 4
bin=bazel-bin/hardgnn
for variant in selfgnn hardgnn_random hardgnn hardgnn_debiased; do
  for seed in $seeds; do
    run="$out/$variant/seed$seed"
    [[ -f $run/summary.json ]] && continue
    rm -rf "$run"
    mkdir -p "$out/$variant"
    start=$(date +%s)
    "$bin" train --data="$data" --flagfile="$model" --flagfile="experiments/configs/variants/$variant.flags" \
      --seed="$seed" --progress=never --run_dir="$run" "$@" > "$out/$variant/seed$seed.log" 2>&1
    echo "$variant seed $seed: $(( $(date +%s) - start )) s"
  done
done
python3 experiments/summarize_runs.py "$out"/*
