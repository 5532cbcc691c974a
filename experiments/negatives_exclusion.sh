#!/usr/bin/env bash
# Issue 14 §6: what the clean protocol's training negatives change. Trains MF, SelfGNN and
# HardGNN on gowalla-nyc over five seeds twice: with --negatives_exclude=prefix (the clean
# protocol's default: held-out validation and test items are ordinary unseen items) and
# =sequence (the published code: no training negative is ever a held-out item). Resumable:
# a finished run (summary.json) is skipped, an interrupted one resumed; each finished run
# appends its row to the results CSV. Two runs side by side at one thread each.
#   experiments/negatives_exclusion.sh [BIN] [OUT]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-bazel-bin/hardgnn}
out=${2:-runs/negatives_exclusion}
data=runs/data/gowalla-nyc
csv=experiments/results/negatives_exclusion_gowalla-nyc.csv
seeds="100 101 102 103 104"

if [[ ! -f $data/dataset.bin ]]; then
  "$bin" prepare --flagfile=experiments/configs/data/gowalla-nyc.flags --out="$data"
fi
[[ -f $csv ]] || echo "model,exclude,seed,best_epoch,val_paper_ndcg10,test_paper_hr10,test_paper_ndcg10,test_full_hr10,test_full_ndcg10,seconds" > "$csv"

flags_of() {
  case $1 in
    mf) echo "--flagfile=experiments/configs/mf-last21.flags" ;;
    selfgnn) echo "--flagfile=experiments/configs/gowalla-nyc-bpr.flags --flagfile=experiments/configs/variants/selfgnn.flags" ;;
    hardgnn) echo "--flagfile=experiments/configs/gowalla-nyc-bpr.flags --flagfile=experiments/configs/variants/hardgnn.flags" ;;
  esac
}

run_one() {  # model exclude seed
  local model=$1 exclude=$2 seed=$3
  local run="$out/$model-$exclude/seed$seed"
  [[ -f $run/summary.json ]] && return 0
  local resume=""
  [[ -e $run/last.pt ]] && resume=--resume || rm -rf "$run"
  mkdir -p "$(dirname "$run")"
  # shellcheck disable=SC2046
  nice -n 10 "$bin" train --data="$data" $(flags_of "$model") --negatives_exclude="$exclude" --seed="$seed" \
    --threads=1 --progress=never --run_dir="$run" $resume >> "$run.log" 2>&1 || { echo "FAILED: $run (see $run.log)"; return 0; }
  python3 - "$run/summary.json" "$model" "$exclude" "$seed" >> "$csv" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
b = s["best"]
print(",".join([sys.argv[2], sys.argv[3], sys.argv[4], str(s["best_epoch"]),
                "%.6f" % b["validation"]["sampled"]["ndcg@10"],
                "%.6f" % b["test"]["sampled"]["hr@10"], "%.6f" % b["test"]["sampled"]["ndcg@10"],
                "%.6f" % b["test"]["full"]["hr@10"], "%.6f" % b["test"]["full"]["ndcg@10"],
                "%.1f" % s["seconds"]]))
EOF
  echo "done: $model $exclude seed $seed"
}
export -f run_one flags_of
export bin out data csv

jobs=()
for model in mf selfgnn hardgnn; do
  for seed in $seeds; do
    for exclude in prefix sequence; do jobs+=("$model $exclude $seed"); done
  done
done
printf '%s\n' "${jobs[@]}" | xargs -P 2 -L 1 bash -c 'run_one "$@"' _
