#!/usr/bin/env bash
# The hardgnn binary's command line: listing, plugin-parameter flags, bad names and flags.
set -uo pipefail
bin="$1"
failures=0
check() {  # check <description> <expected exit code> <regex on stdout+stderr> -- command...
  local what="$1" want_rc="$2" pattern="$3"; shift 4
  local out rc
  out=$("$@" 2>&1); rc=$?
  if [[ $rc -ne $want_rc ]]; then
    echo "FAIL: $what: exit $rc, expected $want_rc"; echo "$out" | head -20; failures=$((failures+1)); return
  fi
  if ! grep -Eq -- "$pattern" <<<"$out"; then
    echo "FAIL: $what: output lacks /$pattern/"; echo "$out" | head -20; failures=$((failures+1)); return
  fi
  echo "ok: $what"
}

check "list names every kind" 0 "^encoders \([0-9]+\):" -- "$bin" list
check "list shows losses" 0 "^losses \([0-9]+\):" -- "$bin" list
check "list shows samplers with their parameter flags" 0 "--random_k=5 +\(int\)" -- "$bin" list
check "plugin parameters are real flags (gflags exits 1 after help)" 1 "random_k" -- "$bin" --helpfull
check "a bad plugin parameter value is rejected" 1 "illegal value 'x'.*random_k" -- "$bin" --random_k=x list
check "an unknown flag is rejected" 1 "unknown command line flag 'no_such_flag'" -- "$bin" --no_such_flag=1 list
check "no command prints usage" 2 "commands:" -- "$bin"
check "unknown command" 2 "unknown command 'fly'" -- "$bin" fly
check "unknown encoder names the candidates" 1 "unknown encoder 'nope'; registered encoders: .*popularity" -- "$bin" train --encoder=nope
check "unknown sampler names the candidates" 1 "unknown sampler 'nope'; registered samplers: .*random" -- "$bin" train --encoder=popularity --losses=infonce --sampler=nope
check "unknown loss names the candidates" 1 "unknown loss 'nope'; registered losses: .*l2" -- "$bin" train --encoder=popularity --losses=l2,nope
check "a malformed loss weight is rejected" 1 "loss weight" -- "$bin" train --losses=l2:abc
check "a negative loss weight is rejected naming the entry" 1 "--losses: entry 'sal:-1' has a negative weight" -- "$bin" train --losses=hinge,sal:-1
check "an empty loss entry is rejected" 1 "--losses: entry 2 of 'hinge,,sal' is empty" -- "$bin" train --losses=hinge,,sal
check "a trailing comma in --losses is rejected" 1 "--losses: entry 2 of 'hinge,' is empty" -- "$bin" train --losses=hinge,
check "a negative contrastive weight is rejected" 1 "--contrastive_weight=-0.5: must be a finite number >= 0" -- "$bin" train --contrastive_loss=infonce --sampler=random --contrastive_weight=-0.5

# gflags itself ignores unknown flags inside a flagfile; hardgnn must not.
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
printf -- '# a preset\n--random_k=3\n  --no_such_flag=1\n' > "$tmp/bad.flags"
printf -- '--nofull_ranking\n--flagfile=%s\n' "$tmp/bad.flags" > "$tmp/outer.flags"
printf -- '--nofull_ranking\n--random_k=4\n' > "$tmp/good.flags"
check "an unknown flag in a flagfile names the file and line" 1 "bad.flags:3: unknown flag '--no_such_flag'" -- "$bin" --flagfile="$tmp/bad.flags" list
check "a nested flagfile is checked too" 1 "bad.flags:3: unknown flag '--no_such_flag'" -- "$bin" --flagfile "$tmp/outer.flags" list
check "a flagfile of known flags (and --noBOOL) passes" 0 "^encoders" -- "$bin" --flagfile="$tmp/good.flags" list
check "a missing flagfile is named" 1 "nope.flags: cannot open the flagfile" -- "$bin" --flagfile="$tmp/nope.flags" list
printf -- '--random_k=3\n--flagfile=%s\n' "$tmp/gone.flags" > "$tmp/names_gone.flags"
check "a missing nested flagfile is named with the line naming it" 1 "names_gone.flags:2: .*gone.flags: cannot open the flagfile" -- "$bin" --flagfile="$tmp/names_gone.flags" list
printf -- '--flagfile\n' > "$tmp/bare.flags"
check "a bare --flagfile line in a file is rejected" 1 "bare.flags:1: --flagfile needs =FILE" -- "$bin" --flagfile="$tmp/bare.flags" list

if [[ $failures -gt 0 ]]; then echo "$failures check(s) failed"; exit 1; fi
echo "all checks passed"
