# Shared by the data-parallel shell tests: sourced with bin, launch and checkins set.
#   prepare_gowalla DIR [extra prepare flags]   the gowalla-nyc test data (//data:gowalla_nyc)
#   train_flags                                 a short HardGNN run on it (SelfGNN + SAL + hard negatives)
#   ranks N PORT DIR LOGPREFIX [flags]          N ranks started by hand (RANK, WORLD_SIZE, ...) in the
#                                               background; their pids in rank_pids
#   fingerprint RUN_DIR                         what two equal runs share (no wall times)
#   elapsed_since T0                            seconds since T0 (date +%s.%N)
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }
finish() {
  if [[ $failures -gt 0 ]]; then echo "$failures check(s) failed"; exit 1; fi
  echo "all checks passed"
  exit 0
}

prepare_gowalla() {  # prepare_gowalla OUT [flags...]
  local out=$1; shift
  "$bin" prepare --input="$checkins" --format=gowalla --name=gowalla-nyc --filter=kcore --kcore=5 --slices=3 \
    --eval_negatives=999 --data_seed=2024 --out="$out" "$@" > "$out.log" 2>&1 \
    || { echo "FAIL: prepare"; cat "$out.log"; exit 1; }
}

train_flags() {
  echo --data="$tmp/data" --flagfile=experiments/configs/gowalla-nyc.flags \
    --flagfile=experiments/configs/variants/hardgnn.flags --users_per_epoch=1024 --eval_every=1 \
    --threads=1 --progress=never --dist_timeout=60
}

rank_pids=()
ranks() {  # ranks N PORT LOGPREFIX [flags...]
  local n=$1 port=$2 prefix=$3; shift 3
  rank_pids=()
  for ((r = 0; r < n; ++r)); do
    RANK=$r WORLD_SIZE=$n MASTER_ADDR=127.0.0.1 MASTER_PORT=$port "$bin" train "$@" > "$prefix.rank$r.out" 2>&1 &
    rank_pids+=($!)
  done
}

free_port() {  # a port nothing listens on, in 20000..29999
  local p
  for ((i = 0; i < 100; ++i)); do
    p=$((20000 + (RANDOM * 7 + $$) % 10000))
    (exec 3<> "/dev/tcp/127.0.0.1/$p") 2> /dev/null || { echo "$p"; return; }
  done
  echo 29999
}

fingerprint() {  # fingerprint RUN_DIR
  sed -E 's/"seconds":[0-9.e+-]+//g' "$1/summary.json"
  grep -v '"event":"resume"' "$1/log.jsonl" | sed -E 's/"seconds":[0-9.e+-]+//g'
  md5sum < "$1/best.pt"
}

elapsed_since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
