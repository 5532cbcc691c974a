#!/usr/bin/env bash
# Builds the data layer's libFuzzer targets outside Bazel with clang-14 (ASan + UBSan) from
# the torch-free sources, then runs each for a while on its committed seeds.
#
#   tools/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     (default 150 s; pickle text cache release)
#
# Needs clang-14 and libclang-rt-14-dev (tools/setup.sh --dev). Output under build/fuzz/:
# the binaries, the growing corpora (corpus/<target>), logs (<target>.log) and any crash
# inputs (artifacts/). A crash input worth keeping goes into
# tests/data/fuzz/regressions/<target>/, which `bazel test //tests/data/fuzz/...` replays.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-150}
shift || true
targets=("$@")
((${#targets[@]})) || targets=(pickle text cache release)

out=build/fuzz
mkdir -p "$out/obj" "$out/artifacts"
sanitize=(-fsanitize=address,undefined -fno-sanitize-recover=undefined)
cxxflags=(-std=c++17 -O1 -g -fno-omit-frame-pointer -I. "${sanitize[@]}")
libs=$(pkg-config --libs absl_status absl_statusor absl_str_format absl_strings absl_flat_hash_map \
  absl_flat_hash_set absl_hash)

echo "[fuzz] compiling core/data with clang++-14 ${sanitize[*]}"
objs=()
for src in core/data/*.cc; do
  obj="$out/obj/$(basename "${src%.cc}").o"
  if [[ ! -f "$obj" || "$src" -nt "$obj" || -n "$(find core/data -name '*.h' -newer "$obj" -print -quit)" ]]; then
    clang++-14 "${cxxflags[@]}" -fsanitize=fuzzer-no-link -c "$src" -o "$obj"
  fi
  objs+=("$obj")
done

declare -A max_len=([pickle]=16384 [text]=4096 [cache]=8192 [release]=32768)
for t in "${targets[@]}"; do
  echo "[fuzz] building ${t}_fuzzer"
  clang++-14 "${cxxflags[@]}" -fsanitize=fuzzer "tests/data/fuzz/${t}_fuzzer.cc" "${objs[@]}" $libs -lz \
    -o "$out/${t}_fuzzer"
done

for t in "${targets[@]}"; do
  mkdir -p "$out/corpus/$t"
  seeds=("tests/data/fuzz/seeds/$t")
  [[ -d "tests/data/fuzz/regressions/$t" ]] && seeds+=("tests/data/fuzz/regressions/$t")
  echo "[fuzz] running ${t}_fuzzer for ${seconds}s"
  UBSAN_OPTIONS=print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1 \
    "$out/${t}_fuzzer" -max_total_time="$seconds" -max_len="${max_len[$t]:-8192}" -rss_limit_mb=2048 \
    -timeout=10 -print_final_stats=1 -artifact_prefix="$out/artifacts/$t-" \
    "$out/corpus/$t" "${seeds[@]}" >"$out/$t.log" 2>&1 || echo "[fuzz] ${t}_fuzzer FAILED: see $out/$t.log"
  grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb|ERROR|SUMMARY" "$out/$t.log" | sed "s/^/[fuzz] $t: /" || true
done
