#!/usr/bin/env bash
# False negatives (issue 15 §5): trains full HardGNN (the dataset's tuned SelfGNN preset plus
# the proposal's InfoNCE term with hard_cosine negatives) under `hardgnn study`, which after
# every epoch mines K = 5 hard and K = 5 random negatives for 1,024 probe users and counts how
# often a probe's validation or test item (what the user does next) is among them. Under the
# clean protocol only the training prefix is excluded from the negatives, so a held-out item
# can be drawn. Resumable per case; each finished case's study.csv is copied to
# experiments/results/false_negatives/<dataset>-<variant>.csv.
#   experiments/false_negatives.sh [DATASET...]   (gowalla-nyc yelp2019; env BIN, OUT)
set -euo pipefail
bin=${BIN:-bazel-bin/hardgnn}
out=${OUT:-runs/false_negatives}
results=experiments/results/false_negatives
mkdir -p "$out" "$results"

declare -A data=([gowalla-nyc]=runs/data/gowalla-nyc [yelp2019]=runs/data/yelp2019-2slices)
declare -A preset=([gowalla-nyc]=experiments/configs/gowalla-nyc-bpr.flags
                   [yelp2019]=experiments/configs/yelp2019-hinge200.flags)
declare -A variant=([hardgnn]="" [hardgnn-normalized]="--selfgnn_normalized=true")

datasets=("$@")
((${#datasets[@]})) || datasets=(gowalla-nyc yelp2019)
for dataset in "${datasets[@]}"; do
  for name in hardgnn hardgnn-normalized; do
    case=$dataset-$name
    [[ -f $results/$case.csv ]] && continue
    rm -rf "${out:?}/$case"
    # shellcheck disable=SC2086  # the variant's flags are words
    if OMP_WAIT_POLICY=PASSIVE nice "$bin" study --data="${data[$dataset]}" --flagfile="${preset[$dataset]}" \
        --flagfile=experiments/configs/variants/hardgnn.flags ${variant[$name]} --study_grad_norms=false \
        --seed=1 --threads=1 --progress=never --run_dir="$out/$case" > "$out/$case.log" 2>&1; then
      cp "$out/$case/study.csv" "$results/$case.csv.tmp" && mv "$results/$case.csv.tmp" "$results/$case.csv"
      echo "done: $case"
    else
      echo "FAILED: $case (see $out/$case.log)"
    fi
  done
done
