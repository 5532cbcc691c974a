#!/usr/bin/env bash
# The GPU check of the CUDA build, in two halves, so that a lent GPU's few minutes go to
# measuring, not building (nothing can be fetched on the GPU machines, and they have no Bazel):
#
#   tools/gpu_check.sh pack   here, no GPU needed: builds `bazel build --config=cuda //:hardgnn`
#                             against the pinned LibTorch (tools/cuda-requirements.txt: the torch
#                             the lent GPU machines' PyTorch has) and writes .gpu/bundle.tar.xz:
#                             the binary and the libraries it needs beyond LibTorch, CUDA and the
#                             C and C++ runtimes (Abseil, gflags, OpenBLAS, ...).
#   tools/gpu_check.sh run    on the GPU machine (the `device` tool, carrying .gpu), from the
#                             repository root: puts that machine's PyTorch libraries and CUDA set
#                             and the bundle's libraries on the library path, then measures and
#                             writes $OUT/gpu_report.md, with every log beside it:
#                               1. the GPU, and --device=cuda accepted;
#                               2. SelfGNN's and HardGNN's training step at the published Yelp
#                                  shape (experiments/step_profile.sh's data and flags), per
#                                  phase, on the GPU and on that machine's CPU cores;
#                               3. evaluation at that shape (both protocols, full ranking);
#                               4. SelfGNN on gowalla-nyc with the main job's preset on the GPU,
#                                  beside the CPU's test metrics of the same seed
#                                  (experiments/results/main_job/results.tsv).
#   env GPU_CHECK_TORCH_LIB: LibTorch's lib folder (default: python3's torch package); a dry run
#   here, where every step but the GPU's runs: GPU_CHECK_TORCH_LIB=.cuda/libtorch/lib OUT=/tmp/o
#   tools/gpu_check.sh run. GPU_CHECK_BUDGET: seconds for the gowalla-nyc training (default 240).
set -uo pipefail
cd "$(dirname "$0")/.."
mode=${1:-}
say() { echo "gpu_check: $*" >&2; }
die() { say "$*"; exit 1; }

if [[ $mode == pack ]]; then
  [[ -d .cuda/libtorch ]] || die "no CUDA LibTorch: run tools/setup.sh --cuda first"
  bazel build --config=cuda //:hardgnn || die "the CUDA build failed"
  bin="$(bazel info --config=cuda bazel-bin 2>/dev/null)/hardgnn"
  stage=$(mktemp -d)
  mkdir -p "$stage/lib" .gpu
  cp "$bin" "$stage/hardgnn"
  git rev-parse HEAD > "$stage/COMMIT"
  # What the GPU machine has itself (its PyTorch and CUDA set, the C and C++ runtimes) stays.
  ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $1, $3 }' | while read -r name path; do
    case $name in
      libtorch*|libc10*|libcuda*|libcudart*|libcupti*|libnv*|libc.so*|libm.so*|libdl.so*|libpthread.so*|librt.so*|\
      ld-linux*|libstdc++*|libgcc_s*|libutil.so*|libz.so*) ;;
      *) cp -L "$path" "$stage/lib/$name" ;;
    esac
  done
  tar -cJf .gpu/bundle.tar.xz -C "$stage" . || die "tar failed"
  rm -rf "$stage"
  say "wrote .gpu/bundle.tar.xz ($(du -h .gpu/bundle.tar.xz | cut -f1)): $(tar -tJf .gpu/bundle.tar.xz | grep -c '^./lib/.') libraries"
  exit 0
fi
[[ $mode == run ]] || die "usage: tools/gpu_check.sh pack | run"

out=${OUT:?set OUT to the folder for the report}
work=$(mktemp -d)
tar -xJf .gpu/bundle.tar.xz -C "$work" || die "no .gpu/bundle.tar.xz: run tools/gpu_check.sh pack and carry .gpu"
bin="$work/hardgnn"
torch_lib=${GPU_CHECK_TORCH_LIB:-$(python3 -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')}
site=$(dirname "$(dirname "$torch_lib")")
nvidia_libs=$(find "$site/nvidia" -maxdepth 3 -type d -name lib 2>/dev/null | tr '\n' ':')
export LD_LIBRARY_PATH="$work/lib:$torch_lib:$nvidia_libs${LD_LIBRARY_PATH:-}"
export OMP_WAIT_POLICY=PASSIVE
report="$out/gpu_report.md"
log() { echo "$*" >> "$report"; }
section() { log ""; log "## $*"; log ""; }
{ echo "# GPU check of the CUDA build"; echo; echo "commit $(cat "$work/COMMIT"), $(date -u '+%Y-%m-%d %H:%M UTC')"; } > "$report"

section "1. The machine"
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 || echo "no nvidia-smi"
  echo "CPU: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
  echo "LibTorch: $torch_lib"; } | sed 's/^/    /' >> "$report"
device=cuda
if ! "$bin" train --device=cuda --data=/nonexistent > "$out/device.log" 2>&1 && grep -q -- "--device=cuda" "$out/device.log"; then
  log "--device=cuda refused: $(grep -- '--device' "$out/device.log" | head -2)"
  log "(the measurements below run on the CPU only)"
  device=""
else
  log "--device=cuda accepted (the run then stops at the missing --data, as it should)."
fi

# The published Yelp shape (experiments/step_profile.sh) and gowalla-nyc, prepared on this machine.
data="$work/data"
mkdir -p "$data"
python3 tools/make_synthetic_log.py --out="$data/yelp-shape.tsv" || die "make_synthetic_log failed"
"$bin" prepare --input="$data/yelp-shape.tsv" --format=generic --name=yelp-shape --kcore=0 --slices=12 \
  --num_eval_users=10000 --out="$data/yelp-shape" > "$out/prepare.log" 2>&1 || die "prepare yelp-shape: $(tail -2 "$out/prepare.log")"
"$bin" prepare --flagfile=experiments/configs/data/gowalla-nyc.flags --out="$data/gowalla-nyc" >> "$out/prepare.log" 2>&1 \
  || die "prepare gowalla-nyc: $(tail -2 "$out/prepare.log")"

# One profiled short run: 1 epoch, `steps` steps, then its evaluation.
profile() {  # profile NAME DEVICE STEPS [flags...]
  local name=$1 dev=$2 steps=$3; shift 3
  timeout 150 "$bin" train --data="$data/yelp-shape" --flagfile=experiments/configs/published/yelp.flags \
    --epochs=1 --max_steps="$steps" --profile --progress=never --device="${dev:-cpu}" --threads=0 \
    --run_dir="$work/run-$name" "$@" > "$out/profile-$name.log" 2>&1
  echo "rc=$?" >> "$out/profile-$name.log"
}
section "2-3. Step and evaluation at the published Yelp shape (20k users, 38k items, 700k events, G = 12)"
log "From \`hardgnn train --profile\` (per-step means over the run's steps) and the run's"
log "evaluation (log.jsonl, both protocols with full ranking, 10,000 users). CPU: all cores."
log ""
for dev in $device cpu; do
  steps=12; [[ $dev == cpu ]] && steps=4
  profile "selfgnn-$dev" "$dev" "$steps"
  profile "hardgnn-$dev" "$dev" "$steps" --flagfile=experiments/configs/variants/hardgnn.flags
done
python3 - "$work" "$out" "$device" >> "$report" <<'EOF'
import json, re, sys
work, out, device = sys.argv[1], sys.argv[2], sys.argv[3]
print("| run | device | step (ms) | evaluation (s) | phases (ms per step) |")
print("|---|---|---|---|---|")
for dev in ([device] if device else []) + ["cpu"]:
    for model in ("selfgnn", "hardgnn"):
        name = f"{model}-{dev}"
        rc = re.search(r"rc=(\d+)", open(f"{out}/profile-{name}.log", errors="replace").read())
        events = []
        try:
            events = [json.loads(line) for line in open(f"{work}/run-{name}/log.jsonl")]
        except OSError:
            pass
        evals = [e["result"]["seconds"] for e in events if e.get("event") == "eval"]
        profile = next((e["seconds_per_step"] for e in events if e.get("event") == "profile"), {})
        step = profile.get("step (total)")
        phases = "; ".join(f"{k} {1e3 * v:.0f}" for k, v in profile.items() if k != "step (total)")
        status = "" if rc and rc.group(1) == "0" else f" (rc {rc.group(1) if rc else '?'}: profile-{name}.log)"
        print(f"| {model}{status} | {dev} | {f'{1e3 * step:.0f}' if step else '-'} | "
              f"{f'{evals[0]:.2f}' if evals else '-'} | {phases} |")
EOF

section "4. SelfGNN on gowalla-nyc, the main job's preset, seed 100"
budget=${GPU_CHECK_BUDGET:-240}
timeout "$budget" "$bin" train --data="$data/gowalla-nyc" --flagfile=experiments/configs/gowalla-nyc-bpr.flags \
  --flagfile=experiments/configs/main/selfgnn.flags --seed=100 --progress=never --device="${device:-cpu}" --threads=0 \
  --run_dir="$work/run-gowalla" > "$out/gowalla.log" 2>&1
rc=$?
cp "$work/run-gowalla/log.jsonl" "$out/gowalla-log.jsonl" 2>/dev/null
python3 - "$work/run-gowalla" "$rc" "$budget" "${device:-cpu}" >> "$report" <<'EOF'
import csv, json, os, sys
run, rc, budget, dev = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
def metrics(split):
    return split["sampled"]["ndcg@10"], split["full"]["ndcg@10"]
cpu = {}
for row in csv.DictReader(open("experiments/results/main_job/results.tsv"), delimiter="\t"):
    if row.get("model") == "selfgnn":
        cpu = row
if os.path.exists(f"{run}/summary.json"):
    s = json.load(open(f"{run}/summary.json"))
    paper, full = metrics(s["best"]["test"])
    print(f"{dev}: finished, best epoch {s['best_epoch']}, {s['seconds']:.0f} s; test NDCG@10 paper {paper:.4f}, full {full:.4f}")
else:
    evals = [json.loads(l) for l in open(f"{run}/log.jsonl")] if os.path.exists(f"{run}/log.jsonl") else []
    evals = [e for e in evals if e.get("event") == "eval"]
    what = "cut at the budget" if rc in (124, 137) else f"failed (rc {rc}, see gowalla.log)"
    print(f"{dev}: {what} ({budget} s), after {len(evals)} evaluations")
    if evals:
        paper, full = metrics(evals[-1]["result"]["test"])
        print(f"last evaluation (epoch {evals[-1]['epoch']}): test NDCG@10 paper {paper:.4f}, full {full:.4f}")
print()
print(f"CPU reference (experiments/results/main_job/results.tsv, same seed and preset, 1 thread): test NDCG@10 "
      f"paper {float(cpu['paper_ndcg10']):.4f} ± {float(cpu['paper_ci95']):.4f}, full {float(cpu['full_ndcg10']):.4f} "
      f"± {float(cpu['full_ci95']):.4f} (95% CI over users), {float(cpu['seconds']):.0f} s")
EOF
say "wrote $report"
cat "$report"
