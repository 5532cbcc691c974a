#!/usr/bin/env bash
# Runs a test binary ($1) with OPENBLAS_CORETYPE=SkylakeX where the CPU has AVX-512 (the kernels
# the trainer chooses there, core/cli/runtime_info.h); elsewhere as it is.
set -euo pipefail
if grep -qw avx512f /proc/cpuinfo && grep -qw avx512bw /proc/cpuinfo; then
  export OPENBLAS_CORETYPE=SkylakeX
fi
exec "$1"
