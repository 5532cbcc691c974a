#!/usr/bin/env bash
# Every shipped training preset (experiments/configs; the data/ ones, which name raw files,
# only for their flag names) parses, resolves its nested flagfiles and plugins, and trains one step and evaluates
# on a small generated dataset: a renamed flag, a plugin parameter that no longer exists or a
# broken nested flagfile fails here, not in a researcher's hour-long run.
set -uo pipefail
bin="$1"
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
failures=0

# 60 users x 15 interactions over 80 items, one per day, deterministic.
awk 'BEGIN { for (u = 0; u < 60; ++u) for (k = 0; k < 15; ++k)
               printf "u%d\ti%d\t%d\n", u, (u * 7 + k * 11) % 80, 1600000000 + (u + k * 60) * 86400 }' \
  > "$tmp/log.tsv"
if ! "$bin" prepare --input="$tmp/log.tsv" --format=generic --name=tiny --filter=kcore --kcore=2 \
     --slices=3 --eval_negatives=20 --out="$tmp/data" > "$tmp/prepare.log" 2>&1; then
  echo "FAIL: prepare"; cat "$tmp/prepare.log"; exit 1
fi

presets=$(find experiments/configs -name '*.flags' -not -path '*/data/*' | sort)
[[ -n $presets ]] || { echo "FAIL: no presets found"; exit 1; }
i=0
for p in $presets; do
  i=$((i + 1)); run="$tmp/run$i"
  if ! "$bin" train --flagfile="$p" --data="$tmp/data" --run_dir="$run" --threads=1 --epochs=1 --max_steps=1 \
       --users_per_epoch=16 --batch_size=16 --progress=never > "$run.log" 2>&1; then
    echo "FAIL: $p does not train"; tail -5 "$run.log"; failures=$((failures + 1)); continue
  fi
  if [[ ! -s $run/summary.json ]]; then
    echo "FAIL: $p wrote no summary"; failures=$((failures + 1)); continue
  fi
  echo "ok: $p"
done

# The data presets name raw files a fresh clone may lack: check only that their flags exist.
for p in $(find experiments/configs/data -name '*.flags' | sort); do
  if ! "$bin" --flagfile="$p" list > "$tmp/list.log" 2>&1; then
    echo "FAIL: $p"; tail -3 "$tmp/list.log"; failures=$((failures + 1)); continue
  fi
  echo "ok: $p (flags only)"
done

# From another working directory: nested flagfiles are found relative to the preset naming
# them (main/selfgnn.flags -> ../gowalla-nyc-bpr.flags -> gowalla-nyc.flags -> published/).
root=$PWD
bin_abs=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
mkdir -p "$tmp/elsewhere"
if (cd "$tmp/elsewhere" && "$bin_abs" train --flagfile="$root/experiments/configs/main/selfgnn.flags" --data="$tmp/data" \
      --run_dir="$tmp/elsewhere/run" --threads=1 --epochs=1 --max_steps=1 --users_per_epoch=16 --batch_size=16 \
      --progress=never > "$tmp/elsewhere.log" 2>&1); then
  # The innermost file's values arrived: published/gowalla.flags sets the attention and SAL sizes.
  if grep -qx -- "--selfgnn_ssl_dim=48" "$tmp/elsewhere/run/flags.txt" && grep -qx -- "--pred_num=50" "$tmp/elsewhere/run/flags.txt"; then
    echo "ok: a three-level preset trains from another directory"
  else
    echo "FAIL: from another directory, the nested presets' values are missing"; failures=$((failures + 1))
  fi
else
  echo "FAIL: a nested preset from another directory"; tail -3 "$tmp/elsewhere.log"; failures=$((failures + 1))
fi
if (cd "$tmp/elsewhere" && "$bin_abs" --flagfile="$root/experiments/configs/data/yelp2019-2slices.flags" list > /dev/null 2>&1); then
  echo "ok: a nested data preset resolves from another directory"
else
  echo "FAIL: data/yelp2019-2slices.flags from another directory"; failures=$((failures + 1))
fi

if [[ $failures -gt 0 ]]; then echo "$failures check(s) failed"; exit 1; fi
echo "all $i presets train"
