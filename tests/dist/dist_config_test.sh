#!/usr/bin/env bash
# Jobs that must not start: each rank exits 1 within a bounded time with a message naming
# what is wrong, and no rank hangs. Another WORLD_SIZE on one rank, the rendezvous port taken
# by another program, other flags or another dataset on one rank, a rank that never comes,
# two processes with one rank, a rank beyond WORLD_SIZE.
set -uo pipefail
bin=$1 launch=$2 checkins=$3
source "$(dirname "$0")/lib.sh"
prepare_gowalla "$tmp/data"
prepare_gowalla "$tmp/data7" --data_seed=7  # the same users and items, other evaluation negatives
read -ra flags <<< "$(train_flags)"
flags+=(--epochs=1 --dist_timeout=8)
limit=30

port=""
# job NAME N [R:SPEC...]: starts ranks 0..N-1 (on $port, else a free one) and waits for them; SPEC holds rank R's extra
# VAR=VALUE settings and --flags, or "skip" (rank R never starts). Every started rank must
# exit 1 within the limit; its output goes to NAME.rankR.out.
job() {
  local name=$1 n=$2; shift 2
  local -a pids=() ranks_started=() envs args
  local start r w spec
  port=${port:-$(free_port)}
  start=$(date +%s.%N)
  for ((r = 0; r < n; ++r)); do
    envs=() args=()
    for spec in "$@"; do
      [[ $spec == "$r:"* ]] || continue
      for w in ${spec#*:}; do
        if [[ $w == skip ]]; then continue 3; elif [[ $w == -* ]]; then args+=("$w"); else envs+=("$w"); fi
      done
    done
    env RANK=$r WORLD_SIZE=$n MASTER_PORT=$port "${envs[@]}" "$bin" train "${flags[@]}" --run_dir="$tmp/$name" "${args[@]}" \
      > "$tmp/$name.rank$r.out" 2>&1 &
    pids+=($!)
    ranks_started+=($r)
  done
  local i rc took
  for i in "${!pids[@]}"; do
    wait "${pids[$i]}"
    rc=$?
    [[ $rc -eq 1 ]] || { fail "$name: rank ${ranks_started[$i]} exited $rc, expected 1"; tail -2 "$tmp/$name.rank${ranks_started[$i]}.out"; }
  done
  took=$(elapsed_since "$start")
  if awk -v t="$took" -v l="$limit" 'BEGIN { exit !(t > l) }'; then fail "$name: took $took s"; fi
  port=""  # the next job takes a fresh port
}
expect() {  # expect NAME RANK REGEX
  if grep -Eq -- "$3" "$tmp/$1.rank$2.out"; then ok "$1, rank $2: $(grep -Eo -- "$3" "$tmp/$1.rank$2.out" | head -1)"
  else fail "$1, rank $2: no /$3/ in: $(tail -1 "$tmp/$1.rank$2.out")"; fi
}

job world 2 "1:WORLD_SIZE=3"
expect world 0 "rank 1 \(host [^)]*\) was started with WORLD_SIZE=3, rank 0 with WORLD_SIZE=2"
expect world 1 "rank 0 \(host [^)]*\) was started with WORLD_SIZE=2, rank 1 with WORLD_SIZE=3"

job flags 2 "1:--lr=0.002 --contrastive_k=7"
expect flags 0 "contrastive_k: rank 0 has '5', rank 1 has '7'; .*lr: rank 0 has '0.001', rank 1 has '0.002'"
expect flags 1 "lr: rank 0 has '0.001', rank 1 has '0.002'"

job data 2 "1:--data=$tmp/data7"
expect data 0 "dataset_fingerprint: rank 0 has '[0-9a-f]+', rank 1 has '[0-9a-f]+'"
expect data 1 "dataset_fingerprint: rank 0 has"

job missing 3 "2:skip"
for r in 0 1; do expect missing $r "rank 2 of 3 did not join within 8 s"; done

# The port taken by a program that accepts connections but is no rendezvous store.
port=$(free_port)
taken=$port
/usr/bin/python3 -c "import socket, time; s = socket.socket(); s.bind(('127.0.0.1', $port)); s.listen(); time.sleep(60)" &
squatter=$!
sleep 0.5
job port 2
kill "$squatter" 2> /dev/null
expect port 0 "rank 0 cannot serve the rendezvous store on port $taken: .*[Aa]ddress already in use"  # 1.13 / 2.x
expect port 1 "is not rank 0's rendezvous store \(no answer within 8 s"

# Two processes as rank 1: the one that comes second is refused; the first one's job goes on.
port=$(free_port)
RANK=0 WORLD_SIZE=2 MASTER_PORT=$port "$bin" train "${flags[@]}" --epochs=6 --run_dir="$tmp/twice" > "$tmp/twice.rank0.out" 2>&1 &
p0=$!
RANK=1 WORLD_SIZE=2 MASTER_PORT=$port "$bin" train "${flags[@]}" --epochs=6 --run_dir="$tmp/twice" > "$tmp/twice.rank1.out" 2>&1 &
p1=$!
for ((i = 0; i < 600; ++i)); do grep -q "rank 1 of 2 logs to" "$tmp/twice.rank1.out" && break; sleep 0.1; done
RANK=1 WORLD_SIZE=2 MASTER_PORT=$port "$bin" train "${flags[@]}" --epochs=6 --run_dir="$tmp/twice" > "$tmp/twice.again.out" 2>&1
rc=$?
wait $p0; rc0=$?
wait $p1; rc1=$?
[[ $rc -eq 1 ]] && grep -q "another process already joined as rank 1" "$tmp/twice.again.out" \
  && ok "a second rank 1 is refused: $(grep -o 'another process already joined as rank 1.*' "$tmp/twice.again.out")" \
  || fail "a second rank 1: exit $rc: $(tail -1 "$tmp/twice.again.out")"
[[ $rc0 -eq 0 && $rc1 -eq 0 ]] && ok "the first rank 1's job finished" || fail "the first job: exits $rc0 and $rc1"

out=$(RANK=2 WORLD_SIZE=2 "$bin" train "${flags[@]}" 2>&1)
[[ $? -eq 1 ]] && grep -q "RANK=2 (or --rank) is not below WORLD_SIZE=2" <<< "$out" && ok "RANK beyond WORLD_SIZE is refused" \
  || fail "RANK=2 of 2: $out"
finish
