#!/usr/bin/env bash
# Faults of a 2-rank job on gowalla-nyc, each injected:
#  1. rank 1 killed (SIGKILL) mid-epoch: rank 0 exits non-zero within a bounded time, naming
#     rank 1; --resume on both ranks then ends with the uninterrupted 2-rank run's summary,
#     log and best.pt, bit for bit;
#  2. rank 0 (the rendezvous store's host) killed: rank 1 stops, naming rank 0, on its terminal
#     although its output goes to its own log;
#  3. a rank of tools/launch.sh killed: the launcher exits non-zero and leaves no rank behind;
#  4. a write failing on rank 0 (HARDGNN_WRITE_FAULT=fail:N, ENOSPC): rank 1 stops with rank 0's
#     message.
set -uo pipefail
bin=$1 launch=$2 checkins=$3
source "$(dirname "$0")/lib.sh"
prepare_gowalla "$tmp/data"
read -ra flags <<< "$(train_flags)"
limit=40  # seconds a surviving rank may take to stop

HARDGNN_BIN=$bin "$launch" 2 --threads=1 -- train "${flags[@]}" --epochs=6 --run_dir="$tmp/straight" \
  > "$tmp/straight.out" 2>&1 || { fail "uninterrupted run"; tail -5 "$tmp/straight.out"; finish; }

evals() {
  local n
  n=$(grep -c '"event":"eval"' "$1/log.jsonl" 2> /dev/null)
  echo "${n:-0}"
}
wait_evals() {  # wait_evals RUN_DIR N: until N evaluations are logged (at most 120 s)
  for ((i = 0; i < 1200; ++i)); do
    [[ $(evals "$1") -ge $2 ]] && return 0
    sleep 0.1
  done
  return 1
}

# stop_one VICTIM SURVIVOR: kills rank VICTIM of `ranks`, waits for SURVIVOR; sets rc and took.
stop_one() {
  kill -KILL "${rank_pids[$1]}"
  local start
  start=$(date +%s.%N)
  wait "${rank_pids[$2]}"
  rc=$?
  took=$(elapsed_since "$start")
  wait "${rank_pids[$1]}" 2> /dev/null
}

# 1. Rank 1 killed a moment into epoch 2, then both resumed.
port=$(free_port)
ranks 2 "$port" "$tmp/killed" "${flags[@]}" --epochs=6 --run_dir="$tmp/killed"
wait_evals "$tmp/killed" 2 || fail "the run logged no second evaluation"
sleep 0.3
stop_one 1 0
if [[ $rc -eq 0 ]]; then
  fail "rank 0 finished although rank 1 was killed"
elif awk -v t="$took" -v l="$limit" 'BEGIN { exit !(t > l) }'; then
  fail "rank 0 took $took s to stop"
elif ! grep -q "rank 0 of 2: lost rank 1" "$tmp/killed.rank0.out"; then
  fail "rank 0's message does not name rank 1: $(tail -1 "$tmp/killed.rank0.out")"
else
  ok "rank 1 killed: rank 0 exited $rc after $took s: $(grep -o 'lost rank 1[^;]*' "$tmp/killed.rank0.out")"
fi
HARDGNN_BIN=$bin "$launch" 2 --threads=1 -- train "${flags[@]}" --epochs=6 --run_dir="$tmp/killed" --resume \
  > "$tmp/resumed.out" 2>&1 || { fail "resume on both ranks"; tail -5 "$tmp/resumed.out"; }
grep -q '"event":"resume","epoch":[1-9]' "$tmp/killed/log.jsonl" || fail "the resume did not continue a checkpoint"
if diff <(fingerprint "$tmp/killed") <(fingerprint "$tmp/straight")  > "$tmp/resume.diff"; then
  ok "resumed on both ranks: the uninterrupted run's summary, log and best.pt, bit for bit"
else
  fail "the resumed run differs from the uninterrupted one"; head -6 "$tmp/resume.diff"
fi

# 2. Rank 0, the store's host, killed.
port=$(free_port)
ranks 2 "$port" "$tmp/host" "${flags[@]}" --epochs=30 --run_dir="$tmp/host"
wait_evals "$tmp/host" 1 || fail "the run logged no evaluation"
stop_one 0 1
if [[ $rc -eq 0 ]] || awk -v t="$took" -v l="$limit" 'BEGIN { exit !(t > l) }'; then
  fail "rank 0 killed: rank 1 exited $rc after $took s"
elif ! grep -q "rank 1 of 2: .*lost rank 0" "$tmp/host.rank1.out"; then
  fail "rank 1's terminal shows no message naming rank 0: $(tail -1 "$tmp/host.rank1.out")"
else
  ok "rank 0 killed: rank 1 exited $rc after $took s: $(grep -o 'lost rank 0[^;(]*' "$tmp/host.rank1.out" | head -1)"
fi

# 3. The launcher: one of its ranks killed.
HARDGNN_BIN=$bin "$launch" 2 --threads=1 --grace=$limit -- train "${flags[@]}" --epochs=30 --run_dir="$tmp/launched" \
  > "$tmp/launched.out" 2>&1 &
launcher=$!
wait_evals "$tmp/launched" 1 || fail "the launched run logged no evaluation"
child_pids() { cat /proc/"$1"/task/*/children 2> /dev/null; }  # no procps needed
children=($(child_pids "$launcher"))
[[ ${#children[@]} -eq 2 ]] || fail "the launcher runs ${#children[@]} processes, expected 2"
kill -KILL "${children[1]}"
start=$(date +%s.%N)
wait "$launcher"
rc=$?
took=$(elapsed_since "$start")
left=0
kill -0 "${children[0]}" 2> /dev/null && left=1
if [[ $rc -eq 0 || $left -ne 0 ]]; then
  fail "launcher: exit $rc with $left rank(s) left after one was killed"
else
  ok "launcher: exit $rc after $took s, no rank left ($(grep -o 'lost rank [0-9]' "$tmp/launched.out" | head -1))"
fi

# 4. A write on rank 0 fails as on a full disk: rank 0 reports it, rank 1 stops with it.
port=$(free_port)
RANK=0 WORLD_SIZE=2 MASTER_PORT=$port HARDGNN_WRITE_FAULT=fail:5 "$bin" train "${flags[@]}" --epochs=30 \
  --run_dir="$tmp/full" > "$tmp/full.rank0.out" 2>&1 &
pid0=$!
RANK=1 WORLD_SIZE=2 MASTER_PORT=$port "$bin" train "${flags[@]}" --epochs=30 --run_dir="$tmp/full" \
  > "$tmp/full.rank1.out" 2>&1
rc1=$?
wait $pid0
rc0=$?
if [[ $rc0 -ne 1 || $rc1 -ne 1 ]]; then
  fail "a failed write on rank 0: exits $rc0 and $rc1, expected 1 and 1"
elif ! grep -q "rank 0 of 2: .*No space left on device" "$tmp/full.rank0.out"; then
  fail "rank 0 did not report its failed write: $(tail -1 "$tmp/full.rank0.out")"
elif ! grep -q "rank 1 of 2: stopping: rank 0 failed: .*No space left on device" "$tmp/full.rank1.out"; then
  fail "rank 1 did not stop with rank 0's error: $(tail -1 "$tmp/full.rank1.out")"
else
  ok "a failed write on rank 0: $(grep -o 'stopping: rank 0 failed: .\{0,60\}' "$tmp/full.rank1.out")"
fi
finish
