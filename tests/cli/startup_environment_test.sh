#!/usr/bin/env bash
# Training commands run with OpenMP threads that sleep, not spin, while they wait: libgomp
# reads its policy before main, so the binary re-executes itself with OMP_WAIT_POLICY=PASSIVE.
# libgomp itself reports the spin count it uses (OMP_DISPLAY_ENV=VERBOSE): 0 when passive.
# And with OpenBLAS's kernels for the CPU, not its generic Prescott fallback for a CPU it does
# not know (the start-up line names them). The user's own settings are kept; where they name
# kernels narrower than the CPU runs, the start-up line warns.
set -uo pipefail
bin="$1"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
# The spin count of the last OpenMP runtime started (after a re-exec, the new process's).
spin_count() { grep -o "GOMP_SPINCOUNT = '[0-9]*'" | tail -1 | grep -o "[0-9]*"; }
displays() { grep -c "OPENMP DISPLAY ENVIRONMENT BEGIN"; }

out=$(env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT OMP_DISPLAY_ENV=VERBOSE "$bin" train --threads=2 2>&1)
[[ $(spin_count <<<"$out") == 0 ]] || fail "default: libgomp spins: $(grep SPINCOUNT <<<"$out")"
grep -q "OpenMP waits: passive" <<<"$out" || fail "default: the start-up line does not say passive"
if grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo && grep -q "BLAS: OpenBLAS" <<<"$out"; then
  grep -q "kernels Prescott" <<<"$out" && fail "default: OpenBLAS's generic kernels on a CPU with AVX2: $(grep BLAS <<<"$out")"
  grep -q ", kernels [A-Za-z]" <<<"$out" || fail "default: the start-up line does not name OpenBLAS's kernels"
fi
out=$(env -u OMP_WAIT_POLICY OPENBLAS_CORETYPE=Prescott "$bin" train --threads=2 2>&1)
grep -q "kernels Prescott" <<<"$out" || ! grep -q "BLAS: OpenBLAS" <<<"$out" || fail "a user's OPENBLAS_CORETYPE is not kept"
if grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo && grep -q "BLAS: OpenBLAS" <<<"$out"; then
  grep -q "WARNING OpenBLAS runs its Prescott kernels (OPENBLAS_CORETYPE is set in the environment)" <<<"$out" || fail "no warning for generic kernels on a CPU with AVX2"
fi
# From here OPENBLAS_CORETYPE is the user's, so that only the OpenMP settings can re-execute.
export OPENBLAS_CORETYPE=$(grep -qw avx2 /proc/cpuinfo && echo Haswell || echo Prescott)
out=$(env -u OMP_WAIT_POLICY "$bin" train --threads=2 2>&1)
if grep -q "BLAS: OpenBLAS" <<<"$out"; then
  grep -q "kernels $OPENBLAS_CORETYPE$" <<<"$out" || fail "a user's OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE is not kept: $out"
  # Where the CPU runs AVX-512, the user's Haswell is kept and said to be narrower.
  if ! for f in avx512f avx512cd avx512bw avx512dq avx512vl; do grep -qw $f /proc/cpuinfo || exit 1; done; then :
  elif ! grep -q "WARNING OpenBLAS runs its Haswell kernels (OPENBLAS_CORETYPE is set in the environment) on a CPU that runs SkylakeX's" <<<"$out"; then
    fail "no warning for the user's Haswell kernels on a CPU with AVX-512: $out"
  fi
fi
out=$(env -u OMP_WAIT_POLICY GOMP_SPINCOUNT=300000 OMP_DISPLAY_ENV=VERBOSE "$bin" train --threads=2 2>&1)
[[ $(spin_count <<<"$out") == 300000 && $(displays <<<"$out") == 1 ]] || fail "a user's GOMP_SPINCOUNT is not kept"
grep -q "OpenMP waits: spin 300000" <<<"$out" || fail "the start-up line does not report the user's spin count"
out=$(env -u GOMP_SPINCOUNT OMP_WAIT_POLICY=ACTIVE OMP_DISPLAY_ENV=VERBOSE "$bin" train --threads=2 2>&1)
[[ $(displays <<<"$out") == 1 ]] && grep -q "OMP_WAIT_POLICY = 'ACTIVE'" <<<"$out" || fail "a user's OMP_WAIT_POLICY is not kept"
out=$(env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT OMP_DISPLAY_ENV=VERBOSE "$bin" list 2>&1)
[[ $(displays <<<"$out") -le 1 ]] || fail "list re-executed itself (only training commands need to)"
out=$("$bin" train --threads=-2 2>&1) && fail "--threads=-2 was accepted"
grep -q -- "--threads=-2: must be >= 0" <<<"$out" || fail "negative threads: $out"

if [[ $failures -gt 0 ]]; then echo "$failures check(s) failed"; exit 1; fi
echo "all checks passed"
