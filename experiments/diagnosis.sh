#!/usr/bin/env bash
# The diagnosis of the contrastive term (issue 15 §1): `hardgnn study` trains InfoNCE alone
# (K = 5, tau = 0.1, hard_cosine negatives, gowalla-nyc preset, 30 epochs = 210 Adam steps)
# under one change at a time and records, per epoch, the probe anchors' InfoNCE against hard
# and random negatives (chance: ln 6 = 1.79), the cosines, the anisotropy of anchors and items
# (study.csv) and every parameter's gradient norm per step (grad_norms.csv). Each finished
# case's study.csv is copied to experiments/results/diagnosis/<case>.csv (and the gradient norms of
# the embedding tables and the LSTM bias to <case>.grad.csv); finished cases are
# skipped, so the script can be stopped and rerun. Two cases run at a time, one thread each.
#   experiments/diagnosis.sh            (env BIN, default bazel-bin/hardgnn; DATA, OUT)
set -euo pipefail
bin=${BIN:-bazel-bin/hardgnn}
data=${DATA:-runs/data/gowalla-nyc}
out=${OUT:-runs/diagnosis}
results=experiments/results/diagnosis
mkdir -p "$out" "$results"

cases=(
  "published|"
  "anchor-user_seq|--anchor=user_seq"
  "anchor-user|--anchor=user"
  "lr-1e-2|--lr=1e-2"
  "no-dropout|--selfgnn_keep_rate=1"
  "layernorm-lastdim|--selfgnn_ln_lastdim=true"
  "gnn-layers-0|--selfgnn_gnn_layers=0"
  "gnn-layers-1|--selfgnn_gnn_layers=1"
  "normalized|--selfgnn_normalized=true"
  "mf|--encoder=mf --anchor=user"
  "steps-2100|--epochs=300 --eval_every=1000"
)

run_case() {
  local name=$1 flags=$2
  [[ -f $results/$name.csv ]] && return 0
  rm -rf "${out:?}/$name"
  # shellcheck disable=SC2086  # flags are words
  if OMP_WAIT_POLICY=PASSIVE nice "$bin" study --data="$data" --flagfile=experiments/configs/gowalla-nyc.flags \
      --losses= --contrastive_loss=infonce --contrastive_weight=1 --contrastive_tau=0.1 --contrastive_k=5 \
      --anchor=user_short --sampler=hard_cosine --epochs=30 --threads=1 --progress=never $flags \
      --run_dir="$out/$name" > "$out/$name.log" 2>&1; then
    # The gradients reaching the embedding tables (what user_short is made of) and the LSTM bias.
    awk -F, 'NR == 1 || $3 ~ /^(user_embed|item_embed|user|item|rnn\.bias)$/' "$out/$name/grad_norms.csv" \
      > "$results/$name.grad.csv"
    cp "$out/$name/study.csv" "$results/$name.csv.tmp" && mv "$results/$name.csv.tmp" "$results/$name.csv"
    echo "done: $name"
  else
    echo "FAILED: $name (see $out/$name.log)"
  fi
}

for ((i = 0; i < ${#cases[@]}; i += 2)); do
  run_case "${cases[i]%%|*}" "${cases[i]#*|}" &
  if ((i + 1 < ${#cases[@]})); then run_case "${cases[i+1]%%|*}" "${cases[i+1]#*|}" & fi
  wait
done
