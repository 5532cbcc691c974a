#!/usr/bin/env bash
# The README's main job: set up, then train SelfGNN and the popularity and MF baselines on the
# embedded Gowalla-NYC data (data/gowalla-nyc) and print their validation and test metrics.
# Runs go to runs/main/ (replaced on each call). Run as root on Debian 12.
set -euo pipefail
cd "$(dirname "$0")/.."

tools/setup.sh
echo "[main] building hardgnn"
bazel build //:hardgnn
bin=bazel-bin/hardgnn
out=runs/main
data=$out/gowalla-nyc

if [[ ! -f $data/dataset.bin ]]; then
  echo "[main] preparing the embedded dataset"
  "$bin" prepare --flagfile=experiments/configs/data/gowalla-nyc.flags --out="$data"
fi
for model in popularity mf selfgnn; do
  echo "[main] training $model"
  rm -rf "${out:?}/$model"
  "$bin" train --flagfile="experiments/configs/main/$model.flags" --data="$data" --run_dir="$out/$model"
done

echo
echo "Selected models on gowalla-nyc (paper protocol: the positive among 999 fixed sampled"
echo "negatives; 'full rank': among every item the user has not visited; selection on validation):"
# summary.txt: "variant: ...", "selected: ...", then the table (its header, then the rows).
sed -n '3p' "$out/popularity/summary.txt"
for model in popularity mf selfgnn; do tail -n +4 "$out/$model/summary.txt"; done
for model in popularity mf selfgnn; do echo "$model: $(head -n 2 "$out/$model/summary.txt" | paste -sd ';' -)"; done
