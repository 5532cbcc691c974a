#!/usr/bin/env bash
# Installs every Debian package hardgnn needs to build, test and run its experiments, and
# selects OpenBLAS (OpenMP build) as the system BLAS. Idempotent: a second run changes
# nothing. Run as root on Debian 12 (bookworm).
#   tools/setup.sh          build, test and experiment dependencies
#   tools/setup.sh --dev    also clang-14 + libFuzzer runtime and numpy (fuzzers, fixtures)
set -euo pipefail

say() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }

packages=(
  bazel-bootstrap bazel-rules-java   # Bazel 4.2.3 and the rules_java it loads even for C++
  g++ libtorch-dev                   # LibTorch 1.13.1, CPU
  libabsl-dev libgflags-dev libgoogle-glog-dev zlib1g-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libopenblas0-openmp                # without it, matmul runs on the reference BLAS: ~30x slower
  libtcmalloc-minimal4               # the binary's allocator (see third_party/BUILD)
  libgloo-dev                        # Gloo's headers, for c10d's ProcessGroupGloo (core/dist)
  gnuplot-nox                        # sampler-study and study plots
  python3-scipy                      # experiments/analyze_study.py and its test
)
if [[ "${1:-}" == "--dev" ]]; then
  packages+=(clang-14 libclang-rt-14-dev python3-numpy)
fi

[[ -r /etc/debian_version ]] || die "this script needs Debian 12 (no /etc/debian_version found)"
case "$(cut -d. -f1 /etc/debian_version)" in
  12|bookworm*) ;;
  *) say "warning: tested on Debian 12; this is Debian $(cat /etc/debian_version)" ;;
esac

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  [[ $(id -u) -eq 0 ]] || die "need root to install: ${missing[*]} (rerun with sudo)"
  say "installing ${#missing[@]} package(s): ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q || die "apt-get update failed: check the network or the apt sources"
  apt-get install -y -q --no-install-recommends "${missing[@]}" \
    || die "apt-get install failed for: ${missing[*]}"
else
  say "all ${#packages[@]} packages already installed"
fi

# LibTorch resolves libblas.so.3 through update-alternatives; pick OpenBLAS's OpenMP build
# (it follows at::set_num_threads; the pthread build ignores it).
blas_link=libblas.so.3-x86_64-linux-gnu
openblas=/usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3
[[ -e "$openblas" ]] || die "$openblas is missing although libopenblas0-openmp is installed"
current=$(update-alternatives --query "$blas_link" 2>/dev/null | sed -n 's/^Value: //p')
if [[ "$current" != "$openblas" ]]; then
  [[ $(id -u) -eq 0 ]] || die "need root to select OpenBLAS as $blas_link"
  say "selecting OpenBLAS (OpenMP) as the system BLAS"
  update-alternatives --set "$blas_link" "$openblas" || die "update-alternatives failed"
else
  say "BLAS: $openblas"
fi
say "done"
