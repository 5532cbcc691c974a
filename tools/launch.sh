#!/usr/bin/env bash
# Starts the ranks of a data-parallel hardgnn job on this machine (core/dist; README
# "Several processes and hosts"), as torchrun would: it sets RANK, WORLD_SIZE, LOCAL_RANK,
# LOCAL_WORLD_SIZE, MASTER_ADDR and MASTER_PORT for each rank and splits the cores between them.
#
#   tools/launch.sh N [options] -- [BINARY] COMMAND [FLAGS...]
#
#   N                  ranks on this machine
#   --nnodes=M         machines in the job (default 1); run the launcher once on each
#   --node_rank=K      this machine's place, 0 .. M-1 (default 0); node 0 holds rank 0
#   --master_addr=A    node 0's address (default 127.0.0.1; set it on every node when M > 1)
#   --port=P           the rendezvous port (default: a free one when M = 1, else 29500)
#   --threads=T        threads per rank (default: this machine's cores / N, at least 1);
#                      a --threads flag after COMMAND wins
#   --pin              pin rank i to cores i*T .. i*T+T-1 (taskset)
#   --grace=S          once a rank fails, seconds the others get to stop on their own (they
#                      do, naming the failed rank) before they are killed (default 30)
#
# BINARY defaults to $HARDGNN_BIN, else bazel-bin/hardgnn. Rank 0 writes to this terminal and
# alone writes the run directory; every other rank writes its own <run_dir>/rank<r>.log. The
# exit status is the first failed rank's, else 0. Examples:
#   tools/launch.sh 2 -- train --data=runs/data/gowalla-nyc --flagfile=experiments/configs/gowalla-nyc.flags
#   tools/launch.sh 4 --nnodes=2 --node_rank=1 --master_addr=10.0.0.5 -- train --flagfile=...
set -uo pipefail

die() { printf 'launch.sh: %s\n' "$*" >&2; exit 2; }

[[ $# -ge 1 && $1 =~ ^[0-9]+$ && $1 -ge 1 ]] || die "usage: tools/launch.sh N [options] -- [BINARY] COMMAND [FLAGS...]"
nproc_per_node=$1
shift
nnodes=1 node_rank=0 master_addr=127.0.0.1 port="" threads="" pin=0 grace=30
while [[ $# -gt 0 && $1 != "--" ]]; do
  case $1 in
    --nnodes=*) nnodes=${1#*=} ;;
    --node_rank=*) node_rank=${1#*=} ;;
    --master_addr=*) master_addr=${1#*=} ;;
    --port=*) port=${1#*=} ;;
    --threads=*) threads=${1#*=} ;;
    --pin) pin=1 ;;
    --grace=*) grace=${1#*=} ;;
    *) die "unknown option '$1' (the hardgnn command goes after --)" ;;
  esac
  shift
done
[[ $# -ge 2 && $1 == "--" ]] || die "expected -- and the hardgnn command after the options"
shift
for v in nnodes node_rank grace; do [[ ${!v} =~ ^[0-9]+$ ]] || die "--$v must be a number, not '${!v}'"; done
[[ $nnodes -ge 1 && $node_rank -lt $nnodes ]] || die "--node_rank must be below --nnodes"

command=("$@")
case ${command[0]} in
  train | eval | study) command=("${HARDGNN_BIN:-bazel-bin/hardgnn}" "${command[@]}") ;;
esac
[[ -x ${command[0]} ]] || command -v "${command[0]}" > /dev/null || die "cannot run '${command[0]}' (build it: bazel build //:hardgnn)"

cores=$(nproc)
if [[ -z $threads ]]; then
  threads=$((cores / nproc_per_node))
  ((threads >= 1)) || threads=1
fi
[[ $threads =~ ^[0-9]+$ && $threads -ge 1 ]] || die "--threads must be >= 1"
has_threads=0
for arg in "${command[@]}"; do [[ $arg == --threads=* ]] && has_threads=1; done
((has_threads)) || command+=("--threads=$threads")

port_in_use() { (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null; }
if [[ -z $port ]]; then
  if ((nnodes > 1)); then
    port=29500
  else
    for ((try = 0; try < 50; ++try)); do
      port=$((29500 + RANDOM % 1000))
      port_in_use "$port" || break
    done
  fi
fi

world=$((nnodes * nproc_per_node))
pids=()
stop_all() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2> /dev/null; done
}
trap 'stop_all; exit 130' INT TERM
for ((local = 0; local < nproc_per_node; ++local)); do
  rank=$((node_rank * nproc_per_node + local))
  prefix=()
  if ((pin)); then
    first=$(((local * threads) % cores))
    prefix=(taskset -c "$first-$((first + threads - 1))")
  fi
  RANK=$rank WORLD_SIZE=$world LOCAL_RANK=$local LOCAL_WORLD_SIZE=$nproc_per_node MASTER_ADDR=$master_addr \
    MASTER_PORT=$port OMP_NUM_THREADS=$threads "${prefix[@]}" "${command[@]}" &
  pids+=($!)
done
printf 'launch.sh: %d rank(s) of %d on this machine (ranks %d..%d), %d thread(s) each, store at %s:%s\n' \
  "$nproc_per_node" "$world" "$((node_rank * nproc_per_node))" "$((node_rank * nproc_per_node + nproc_per_node - 1))" \
  "$threads" "$master_addr" "$port" >&2

# Wait for the ranks; after the first failure the others get --grace seconds to stop on their
# own, then are killed.
running() { [[ -r /proc/$1/stat ]] && [[ $(cut -d' ' -f3 "/proc/$1/stat" 2> /dev/null) != Z ]]; }
status=0
while ((${#pids[@]} > 0)); do
  done_pid=""
  wait -n -p done_pid "${pids[@]}"
  rc=$?
  [[ -n $done_pid ]] || continue
  for i in "${!pids[@]}"; do [[ ${pids[$i]} == "$done_pid" ]] && unset 'pids[i]'; done
  if ((rc != 0)); then
    status=$rc
    break
  fi
done
if ((status != 0 && ${#pids[@]} > 0)); then
  printf 'launch.sh: a rank exited with status %d; the other %d get %d s to stop\n' "$status" "${#pids[@]}" "$grace" >&2
  end=$((SECONDS + grace))
  while ((SECONDS < end)); do
    alive=0
    for pid in "${pids[@]}"; do running "$pid" && alive=1; done
    ((alive)) || break
    sleep 0.2
  done
  for pid in "${pids[@]}"; do
    if running "$pid"; then
      printf 'launch.sh: killing pid %d, which did not stop\n' "$pid" >&2
      kill -KILL "$pid" 2> /dev/null
    fi
  done
  wait
fi
exit "$status"
