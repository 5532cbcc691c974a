#!/usr/bin/env bash
# The README's main job: set up, build, then train the project's ablation on the embedded
# Gowalla-NYC data (data/gowalla-nyc) beside its baselines: popularity, BPR-MF, SelfGNN, HardGNN
# with random negatives and HardGNN (experiments/configs/main/*.flags, the study's presets), as
# many at once as the machine has cores, with a progress line every 30 s. It ends with one table
# of test metrics under both protocols, each variant's difference to SelfGNN with its 95%
# interval over users, and a plot (runs/main/ndcg10.png). Runs go to runs/main/ (each model's
# folder replaced on each call). Run as root on Debian 12.
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
exec python3 experiments/main_job.py --bin="$bin" --data="$data" --out="$out" --dataset_name=gowalla-nyc
