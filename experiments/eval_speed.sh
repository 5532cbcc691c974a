#!/usr/bin/env bash
# Evaluation time of an untrained SelfGNN of the published Yelp shape (REPORT §4) on the
# synthetic Yelp-shaped log of experiments/step_profile.sh (20,000 users, 38,000 items):
# hardgnn's evaluator with every user evaluated (the paper protocol alone, then with full
# ranking; scored by chain products, as it runs, and through a score matrix) and with 10,000,
# beside the published code's loop (a full-graph forward per batch of
# 512 users, fused kernels) on the same 10,000 in the same run; each in a fresh process, the
# evaluator's also timed a second time in it. Writes the benchmarks' JSON and
# the machine to experiments/results/eval_speed/; summarize_eval_speed.py makes the table and writes it into REPORT §4.
#   experiments/eval_speed.sh        (about 2 minutes on 2 cores; run it on a quiet machine)
set -euo pipefail
cd "$(dirname "$0")/.."
out=experiments/results/eval_speed
data=runs/step_profile
mkdir -p "$out" "$data"
bazel build --jobs=2 //:hardgnn //benchmarks:eval_bench >/dev/null
[[ -f $data/yelp-shape.tsv ]] || python3 tools/make_synthetic_log.py --out="$data/yelp-shape.tsv"
for users in 10000 20000; do
  dir=$data/yelp-shape-eval$users
  [[ -f $dir/dataset.bin ]] || bazel-bin/hardgnn prepare --input="$data/yelp-shape.tsv" --format=generic \
    --name=yelp-shape --kcore=0 --slices=12 --num_eval_users=$users --out="$dir" >/dev/null
done
bench() {  # dataset users, benchmark filter, output name: one benchmark per process (a cold first evaluation)
  bazel-bin/benchmarks/eval_bench --dataset="$data/yelp-shape-eval$1/dataset.bin" --benchmark_filter="$2" \
    --benchmark_format=json --benchmark_out="$out/$3.json" >/dev/null
}
rm -f "$out"/users*.json
bench 20000 '^hardgnn_evaluator/paper_protocol/' users20000-1
bench 20000 '^hardgnn_evaluator_score_matrix/paper_protocol/' users20000-2
bench 20000 '^hardgnn_evaluator/paper_protocol\+full' users20000-3
bench 20000 '^hardgnn_evaluator_score_matrix/paper_protocol\+full' users20000-4
bench 10000 '^hardgnn_evaluator/paper_protocol\+full' users10000-1
bench 10000 '^per_batch_forward_fused/paper_protocol\+full' users10000-2
{
  echo "commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- core plugins benchmarks || echo ' (modified)')"
  echo "machine: $(nproc) cores, $(experiments/cpu_name.sh), 2 threads"
} > "$out/run.txt"
/usr/bin/python3 experiments/summarize_eval_speed.py --report experiments/REPORT.md && echo "REPORT §4 regenerated"
