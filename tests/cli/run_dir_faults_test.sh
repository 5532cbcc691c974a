#!/usr/bin/env bash
# A run directory survives a crash at every write point and reports every write failure.
#  1. Crash: a short HardGNN run (SelfGNN encoder, hard_cosine negatives, dropout) is killed
#     (SIGKILL, HARDGNN_WRITE_FAULT=crash:N) at each of its write points in turn, then
#     resumed; the summary, best.pt and every logged metric must equal the uninterrupted
#     run's bit for bit, and no temporary file may remain.
#  2. Full disk: the N-th write fails with ENOSPC (HARDGNN_WRITE_FAULT=fail:N), for every N:
#     exit code 1 (never an abort), a message naming the file and "No space left on device",
#     and no file renamed into place half-written. Then once more on a real 2 MB tmpfs when
#     this machine lets the test mount one.
set -uo pipefail
bin="$1"
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
# Where the binary re-executes itself to pick OpenBLAS's kernels (a CPU OpenBLAS does not know),
# its choice is kept for the many runs below: each re-execution is a second start-up.
kernels=$("$bin" train --threads=1 2>&1 | sed -n 's/.*running with OPENBLAS_CORETYPE=\([A-Za-z0-9]*\).*/\1/p')
[[ -n $kernels ]] && export OPENBLAS_CORETYPE=$kernels

awk 'BEGIN { for (u = 0; u < 60; ++u) for (k = 0; k < 15; ++k)
               printf "u%d\ti%d\t%d\n", u, (u * 7 + k * 11) % 80, 1600000000 + (u + k * 60) * 86400 }' \
  > "$tmp/log.tsv"
"$bin" prepare --input="$tmp/log.tsv" --format=generic --name=tiny --filter=kcore --kcore=2 --slices=3 \
  --eval_negatives=20 --out="$tmp/data" > "$tmp/prepare.log" 2>&1 || { echo "FAIL: prepare"; cat "$tmp/prepare.log"; exit 1; }

train() {  # train RUN_DIR [extra flags...]
  local run=$1; shift
  "$bin" train --data="$tmp/data" --encoder=selfgnn --selfgnn_dim=8 --selfgnn_heads=2 --losses=bpr,sal:1e-6,l2:1e-3 \
    --contrastive_loss=infonce --sampler=hard_cosine --contrastive_k=3 --selfgnn_keep_rate=0.7 \
    --epochs=4 --eval_every=1 --batch_size=16 --users_per_epoch=0 --lr=0.01 --threads=1 --progress=never \
    --run_dir="$run" "$@"
}
# What must match: the summary without its wall time, the log's metric events without theirs.
fingerprint() {  # fingerprint RUN_DIR
  local run=$1
  sed -E 's/"seconds":[0-9.e+-]+//g' "$run/summary.json"
  grep -v '"event":"resume"' "$run/log.jsonl" | sed -E 's/"seconds":[0-9.e+-]+//g'
  md5sum < "$run/best.pt"
  cat "$run/summary.txt"
}

train "$tmp/straight" > "$tmp/straight.log" 2>&1 || { echo "FAIL: uninterrupted run"; tail "$tmp/straight.log"; exit 1; }
fingerprint "$tmp/straight" > "$tmp/straight.expected"
grep -q '"event":"best"' "$tmp/straight.expected" || { echo "FAIL: the run logged no best event"; exit 1; }

# 1. Crash at write point n = 1, 2, ... until a run with the fault armed finishes untouched.
crashes=0
for ((n = 1; n < 500; ++n)); do
  run="$tmp/crash$n"
  HARDGNN_WRITE_FAULT=crash:$n train "$run" > "$run.out" 2>&1
  rc=$?
  if [[ $rc -eq 0 ]]; then break; fi
  crashes=$((crashes + 1))
  if [[ $rc -ne 137 ]] || ! grep -q "injected crash at write point $n " "$run.out"; then
    fail "crash point $n: exit $rc"; tail -3 "$run.out"; continue
  fi
  if ! train "$run" --resume > "$run.resume" 2>&1; then fail "resume after crash point $n"; tail -3 "$run.resume"; continue; fi
  if ! diff -q <(fingerprint "$run") "$tmp/straight.expected" > /dev/null; then
    fail "crash point $n ($(grep -o 'injected crash.*' "$run.out")): the resumed run differs"
    diff <(fingerprint "$run") "$tmp/straight.expected" | head -6
  fi
  if ls "$run" | grep -q '\.tmp\.'; then fail "crash point $n: temporary files remain: $(ls "$run" | grep '\.tmp\.')"; fi
  rm -rf "$run"
done
[[ $crashes -ge 30 ]] || fail "only $crashes write points were crashed at: the fault switch is not reached"
echo "crash test: $crashes write points, each crashed and resumed"

# A resume that changes what the run computes is refused, naming the flag and both values;
# an allowed change (--epochs) continues.
cp -r "$tmp/straight" "$tmp/changed"
out=$(train "$tmp/changed" --resume --lr=0.02 2>&1) && fail "a resume with another --lr was accepted"
grep -q "lr: the checkpoint has '0.01', now '0.02'" <<<"$out" || { fail "refused resume message: $out"; }
out=$(train "$tmp/changed" --resume --epochs=5 2>&1) || fail "a resume with more --epochs was refused: $out"
grep -q -- "--epochs=5" "$tmp/changed/flags.txt" || fail "flags.txt does not record the resumed run's --epochs"

# eval: the run's own checkpoint and flags are accepted; another dataset of the same size,
# another model and a damaged file are refused, naming what differs.
evaluate() { "$bin" eval --flagfile="$tmp/straight/flags.txt" --threads=1 "$@" 2>&1; }
out=$(evaluate --checkpoint="$tmp/straight/best.pt") || fail "eval of the run's best.pt: $out"
"$bin" prepare --input="$tmp/log.tsv" --format=generic --name=tiny --filter=kcore --kcore=2 --slices=3 \
  --eval_negatives=20 --data_seed=7 --out="$tmp/data7" > /dev/null 2>&1 || fail "prepare data7"
out=$(evaluate --checkpoint="$tmp/straight/best.pt" --data="$tmp/data7") && fail "eval on other data was accepted"
grep -q "trained on another dataset: the checkpoint's is tiny (.*), --data is tiny" <<<"$out" || fail "other data: $out"
out=$(evaluate --checkpoint="$tmp/straight/best.pt" --selfgnn_dim=16) && fail "eval with another width was accepted"
grep -q "selfgnn_dim: the checkpoint has '8', now '16'" <<<"$out" || fail "other model: $out"
cp "$tmp/straight/best.pt" "$tmp/flipped.pt"
printf '\x55' | dd of="$tmp/flipped.pt" bs=1 seek=2000 conv=notrunc 2> /dev/null
out=$(evaluate --checkpoint="$tmp/flipped.pt") && fail "eval of a damaged checkpoint was accepted"
grep -q "checksum mismatch" <<<"$out" || fail "damaged checkpoint: $out"
echo "eval refuses other data, another model and a damaged file"

# 2. Every write point failing as on a full disk.
for ((n = 1; n <= crashes; ++n)); do
  run="$tmp/full$n"
  HARDGNN_WRITE_FAULT=fail:$n train "$run" > "$run.out" 2>&1
  rc=$?
  if [[ $rc -ne 1 ]]; then fail "failed write $n: exit $rc, expected 1"; tail -2 "$run.out"; continue; fi
  grep -Eq "hardgnn train: .*$run/[a-z.]+[^:]*: cannot .*: No space left on device" "$run.out" \
    || { fail "failed write $n: message: $(tail -1 "$run.out")"; continue; }
  for f in flags.txt dataset.txt summary.json summary.txt; do
    [[ ! -e $run/$f || -s $run/$f ]] || fail "failed write $n: $f is in place but empty"
  done
  if ls "$run" | grep -q '\.tmp\.'; then fail "failed write $n: temporary files remain"; fi
  if [[ -e $run/log.jsonl ]] && [[ -n $(tail -c 1 "$run/log.jsonl") ]]; then fail "failed write $n: torn log line"; fi
  rm -rf "$run"
done
echo "full-disk injection: $crashes write points, each failed cleanly"

# A real full disk, when unprivileged mount namespaces are available here.
if unshare -rm true 2> /dev/null; then
  mkdir -p "$tmp/small"
  out=$(unshare -rm bash -c "mount -t tmpfs -o size=2m tmpfs '$tmp/small' && head -c 1900000 /dev/zero > '$tmp/small/filler'; \
        $(declare -f train); bin='$bin' tmp='$tmp' train '$tmp/small/run'; echo rc=\$?" 2>&1)
  grep -q "rc=1$" <<<"$out" || fail "tmpfs: expected exit 1: $(tail -3 <<<"$out")"
  grep -q "No space left on device" <<<"$out" || fail "tmpfs: no 'No space left on device' in: $(tail -3 <<<"$out")"
  echo "tmpfs: $(grep -m1 'No space' <<<"$out")"
else
  echo "tmpfs part skipped: this machine does not allow an unprivileged mount namespace"
fi

if [[ $failures -gt 0 ]]; then echo "$failures check(s) failed"; exit 1; fi
echo "all checks passed"
