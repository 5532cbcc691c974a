#!/usr/bin/env bash
# Two hardgnn binaries (say, a commit and its parent) on the step at the published Yelp shape,
# alternated ROUNDS times in ABBA order (old, new; then new, old; ...) so that a host whose speed
# drifts favours neither, then per phase each binary's median and the paired difference with its
# 95% confidence interval (experiments/summarize_step_ab.py). On these 2-core VMs one binary's
# step moves by 10-50% between runs minutes apart; a difference is real where its interval
# excludes 0. Each run is experiments/step_profile.sh with BIN set (its data, flags and output).
#   experiments/step_ab.sh OLD NEW [rounds (default 4)] [steps (default 8)] [train flags...]
#   env OUT: where the runs' outputs go (default runs/step_ab/<time>); the summary is printed
#   and written to OUT/summary.txt.
set -euo pipefail
old=$(realpath "$1") new=$(realpath "$2") rounds=${3:-4} steps=${4:-8}
shift $(($# < 4 ? $# : 4))
cd "$(dirname "$0")/.."
out=${OUT:-runs/step_ab/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out"
{
  echo "# old: $old ($(sha256sum "$old" | cut -c1-12)); new: $new ($(sha256sum "$new" | cut -c1-12))"
  echo "# $rounds rounds of $steps steps, ABBA; train flags: ${*:-none}; CPU: $(experiments/cpu_name.sh), $(nproc) cores"
} > "$out/header.txt"
for ((r = 1; r <= rounds; ++r)); do
  order=(old new)
  ((r % 2 == 0)) && order=(new old)
  for which in "${order[@]}"; do
    bin=$old
    [[ $which == new ]] && bin=$new
    echo "== round $r: $which" >&2
    BIN=$bin FORMS=fused TAG="ab-$which" experiments/step_profile.sh "$steps" "$@" > "$out/round$r-$which.txt"
  done
done
/usr/bin/python3 experiments/summarize_step_ab.py "$out" | tee "$out/summary.txt"
