#!/usr/bin/env bash
# Installs every Debian package hardgnn needs to build, test and run its experiments, and
# selects OpenBLAS (OpenMP build) as the system BLAS. Idempotent: a second run changes
# nothing. Run as root on Debian 12 (bookworm).
#   tools/setup.sh          build, test and experiment dependencies
#   tools/setup.sh --dev    also clang-14 + libFuzzer runtime and numpy (fuzzers, fixtures)
#   tools/setup.sh --cuda   also PyPI's CUDA LibTorch for `bazel build --config=cuda`: the wheels
#                           pinned with their hashes in tools/cuda-requirements.txt (about 550 MB,
#                           downloaded once into .cuda/wheels), unpacked into .cuda/libtorch
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
mode="${1:-}"
case "$mode" in
  "") ;;
  --dev) packages+=(clang-14 libclang-rt-14-dev python3-numpy) ;;
  --cuda) packages+=(python3-pip unzip) ;;
  *) die "unknown option '$mode' (--dev or --cuda)" ;;
esac

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

# --cuda: LibTorch from PyPI's torch wheel, for --config=cuda. pip only downloads (nothing is
# installed into Python); the wheel's include/ and lib/ and the CUDA runtime's libraries go to
# .cuda/libtorch, and .cuda/bazelrc (imported by .bazelrc) points the linker and the rpath there.
if [[ "$mode" == "--cuda" ]]; then
  root=$(cd "$(dirname "$0")/.." && pwd)
  cuda="$root/.cuda"
  stamp="$cuda/libtorch/.installed"
  if [[ -f "$stamp" ]] && cmp -s "$stamp" "$root/tools/cuda-requirements.txt"; then
    say "CUDA LibTorch: $cuda/libtorch (as pinned)"
  else
    say "downloading the pinned CUDA LibTorch wheels into $cuda/wheels (about 550 MB, once)"
    platforms=()
    for n in 17 25 28; do platforms+=(--platform "manylinux_2_${n}_x86_64"); done
    python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.11 --implementation cp \
      "${platforms[@]}" --platform manylinux2014_x86_64 --require-hashes \
      -r "$root/tools/cuda-requirements.txt" -d "$cuda/wheels" || die "pip download of the CUDA wheels failed"
    rm -rf "$cuda/libtorch" "$cuda/unpack"
    mkdir -p "$cuda/libtorch" "$cuda/unpack"
    unzip -q "$cuda"/wheels/torch-"$(sed -n "s/^torch==\([^ ]*\) .*/\1/p" "$root/tools/cuda-requirements.txt")"-*.whl 'torch/include/*' 'torch/lib/*' -d "$cuda/unpack" \
      || die "unzip of the torch wheel failed"
    mv "$cuda/unpack/torch/include" "$cuda/unpack/torch/lib" "$cuda/libtorch/"
    for wheel in "$cuda"/wheels/nvidia_cuda_runtime-*.whl "$cuda"/wheels/nvidia_cuda_cupti-*.whl; do
      unzip -q -o "$wheel" 'nvidia/*/lib/*' -d "$cuda/unpack" || die "unzip of $wheel failed"
    done
    cp -a "$cuda"/unpack/nvidia/*/lib/* "$cuda/libtorch/lib/"
    rm -rf "$cuda/unpack"
    cp "$root/tools/cuda-requirements.txt" "$stamp"
    say "CUDA LibTorch unpacked into $cuda/libtorch"
  fi
  printf 'build:cuda --linkopt=-L%s\nbuild:cuda --linkopt=-Wl,-rpath,%s\n' "$cuda/libtorch/lib" "$cuda/libtorch/lib" \
    > "$cuda/bazelrc"
fi
say "done"
