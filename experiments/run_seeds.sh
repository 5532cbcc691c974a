#!/usr/bin/env bash
# Trains one configuration over several seeds, resumably: a finished run (summary.json) is
# skipped, an interrupted one resumed (--resume), and each finished run appends one row to
# the results CSV (created with its header): validation and test NDCG@10/HR@10 on both
# protocols and test full-ranking NDCG@10 by segment (revisits, novel items).
#   experiments/run_seeds.sh CSV LABEL DATA "SEEDS" [train flags...]
#   e.g. experiments/run_seeds.sh experiments/results/seed_runs.csv mf-standard \
#          runs/data/gowalla-nyc "100 101 102" --flagfile=experiments/configs/main/mf.flags --threads=1
# env BIN (default bazel-bin/hardgnn), OUT (default runs/seeds).
set -euo pipefail
csv=$1 label=$2 data=$3 seeds=$4
shift 4
bin=${BIN:-bazel-bin/hardgnn}
out=${OUT:-runs/seeds}
header="label,data,seed,best_epoch,val_paper_ndcg10,val_full_ndcg10,test_paper_hr10,test_paper_ndcg10,test_full_hr10,test_full_ndcg10,test_full_revisit_ndcg10,test_full_revisit_users,test_full_novel_ndcg10,test_full_novel_users,seconds"
[[ -f $csv ]] || echo "$header" > "$csv"
for seed in $seeds; do
  run="$out/$label/$(basename "$data")/seed$seed"
  [[ -f $run/summary.json ]] && continue
  resume=()
  if [[ -e $run/last.pt ]]; then resume=(--resume); else rm -rf "$run"; fi
  mkdir -p "$(dirname "$run")"
  if ! "$bin" train --data="$data" --seed="$seed" --progress=never --run_dir="$run" "$@" "${resume[@]}" \
       >> "$run.log" 2>&1; then
    echo "FAILED: $run (see $run.log)"; continue
  fi
  python3 - "$run/summary.json" "$label" "$(basename "$data")" "$seed" >> "$csv" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
v, t = s["best"]["validation"], s["best"]["test"]
print(",".join([sys.argv[2], sys.argv[3], sys.argv[4], str(s["best_epoch"])] +
               ["%.6f" % x for x in (v["sampled"]["ndcg@10"], v["full"]["ndcg@10"], t["sampled"]["hr@10"],
                                     t["sampled"]["ndcg@10"], t["full"]["hr@10"], t["full"]["ndcg@10"],
                                     t["full_revisit"]["ndcg@10"])] +
               [str(t["full_revisit"]["users"]), "%.6f" % t["full_novel"]["ndcg@10"], str(t["full_novel"]["users"]),
                "%.1f" % s["seconds"]]))
PY
  echo "done: $label $(basename "$data") seed $seed"
done
