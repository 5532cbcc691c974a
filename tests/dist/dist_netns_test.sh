#!/usr/bin/env bash
# Two hosts without leaving this machine: two network namespaces joined by a veth pair, one
# rank in each, rank 0's rendezvous store on the first. The ranks reach each other only
# through the veth pair (their addresses exist in no other namespace), and train the same
# bits as two ranks over loopback. Then the pair's link is cut mid-run: each rank stops on
# its own, within a bounded time, saying which rank it lost. Skipped, saying why, where
# network namespaces cannot be created (not root, or no CAP_NET_ADMIN).
set -uo pipefail
bin=$1 launch=$2 checkins=$3
source "$(dirname "$0")/lib.sh"

a=hgA$$ b=hgB$$ va=hga$$ vb=hgb$$
subnet=10.$((200 + RANDOM % 50)).$((RANDOM % 250)).  # inside our namespaces only
cleanup() { ip netns del "$a" 2> /dev/null; ip netns del "$b" 2> /dev/null; }
trap cleanup EXIT
if [[ $(id -u) -ne 0 ]]; then echo "SKIPPED: not root: cannot create network namespaces"; exit 0; fi
if ! out=$(ip netns add "$a" 2>&1 && ip netns add "$b" 2>&1); then
  echo "SKIPPED: 'ip netns add' fails here: $out"; exit 0
fi
ip link add "$va" type veth peer name "$vb" && ip link set "$va" netns "$a" && ip link set "$vb" netns "$b" \
  && ip -n "$a" addr add "${subnet}1/24" dev "$va" && ip -n "$b" addr add "${subnet}2/24" dev "$vb" \
  && ip -n "$a" link set "$va" up && ip -n "$b" link set "$vb" up \
  && ip -n "$a" link set lo up && ip -n "$b" link set lo up || { echo "SKIPPED: cannot wire a veth pair"; exit 0; }
ok "namespaces $a (${subnet}1) and $b (${subnet}2), joined by a veth pair"

prepare_gowalla "$tmp/data"
read -ra flags <<< "$(train_flags)"
in_ns() {  # in_ns NS RANK RUN_DIR OUT [flags...]: one rank in a namespace, store at ${subnet}1
  local ns=$1 rank=$2 dir=$3 out=$4; shift 4
  ip netns exec "$ns" env RANK="$rank" WORLD_SIZE=2 MASTER_ADDR="${subnet}1" MASTER_PORT=29500 \
    "$bin" train "${flags[@]}" --run_dir="$dir" "$@" > "$out" 2>&1
}
in_ns "$a" 0 "$tmp/hosts" "$tmp/a.out" --epochs=2 &
in_ns "$b" 1 "$tmp/hosts" "$tmp/b.out" --epochs=2
rc1=$?
wait $!
rc0=$?
[[ $rc0 -eq 0 && $rc1 -eq 0 ]] || { fail "two hosts: exit $rc0 and $rc1"; tail -3 "$tmp/a.out" "$tmp/b.out" "$tmp/hosts/rank1.log"; finish; }
grep -q "rank 1 of 2 joined (Gloo on ${subnet}2)" "$tmp/hosts/rank1.log" && ok "rank 1 talked from ${subnet}2" \
  || fail "rank 1 did not use its namespace's address: $(grep joined "$tmp/hosts/rank1.log")"
HARDGNN_BIN=$bin "$launch" 2 --threads=1 -- train "${flags[@]}" --epochs=2 --run_dir="$tmp/loopback" > "$tmp/loopback.out" 2>&1 \
  || fail "two ranks over loopback"
diff <(fingerprint "$tmp/hosts") <(fingerprint "$tmp/loopback") > /dev/null \
  && ok "two hosts train the loopback run's bits" || fail "two hosts differ from two ranks over loopback"

# The link goes down mid-run: no connection is reset, the peers just stop answering. Each
# rank gives up after --dist_timeout and names the rank it lost.
in_ns "$a" 0 "$tmp/cut" "$tmp/cut_a.out" --epochs=50 --dist_timeout=10 &
pid_a=$!
in_ns "$b" 1 "$tmp/cut" "$tmp/cut_b.out" --epochs=50 --dist_timeout=10 &
pid_b=$!
for ((i = 0; i < 600; ++i)); do
  [[ $(grep -c '"event":"eval"' "$tmp/cut/log.jsonl" 2> /dev/null) -ge 1 ]] && break
  sleep 0.1
done
ip -n "$b" link set "$vb" down
start=$(date +%s.%N)
wait $pid_a; rc_a=$?; t_a=$(elapsed_since "$start")
wait $pid_b; rc_b=$?; t_b=$(elapsed_since "$start")
[[ $rc_a -ne 0 && $rc_b -ne 0 ]] || fail "after the cut: exit $rc_a and $rc_b, expected failures"
awk -v a="$t_a" -v b="$t_b" 'BEGIN { exit !(a < 60 && b < 60) }' || fail "after the cut the ranks took $t_a s and $t_b s"
grep -q "lost rank 1" "$tmp/cut_a.out" && ok "rank 0 stopped after $t_a s: $(grep -o 'lost rank 1[^;]*' "$tmp/cut_a.out" | head -1)" \
  || { fail "rank 0's message names no lost rank"; tail -2 "$tmp/cut_a.out"; }
grep -Eq "lost rank 0|rank 0 is lost" "$tmp/cut_b.out" && ok "rank 1 stopped after $t_b s: $(grep -Eo '(lost rank 0|rank 0 is lost)[^;]*' "$tmp/cut_b.out" | head -1)" \
  || { fail "rank 1's message names no lost rank"; tail -2 "$tmp/cut_b.out"; }
finish
