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

printf -- '--lr 0.1\n' > "$tmp/spaced.flags"
check "'--lr 0.1' in a file (gflags would set nothing) is rejected" 1 "spaced.flags:1: --lr needs =VALUE" -- "$bin" --flagfile="$tmp/spaced.flags" list
printf -- 'hardgnn\n--lr=0.1\n' > "$tmp/section.flags"
check "a program-name section line is rejected" 1 "section.flags:1: 'hardgnn' is not a flag" -- "$bin" --flagfile="$tmp/section.flags" list
printf -- '--flagfile=cycle_b.flags\n' > "$tmp/cycle_a.flags"
printf -- '--flagfile=cycle_a.flags\n' > "$tmp/cycle_b.flags"
check "a flagfile cycle is rejected" 1 "cycle_b.flags:1: .*cycle_a.flags: the flagfile includes itself" -- "$bin" --flagfile="$tmp/cycle_a.flags" list

# Nested flagfiles are relative to the file that names them, whatever the working directory.
mkdir -p "$tmp/presets/sub" "$tmp/elsewhere"
printf -- '--contrastive_tau=0.3\n' > "$tmp/presets/sub/inner.flags"
printf -- '# names its neighbour relative to itself\n--flagfile=sub/inner.flags\n' > "$tmp/presets/outer.flags"
printf -- '--flagfile=../sub/inner.flags\n' > "$tmp/presets/sub/up.flags"
printf -- '--flagfile=presets/sub/inner.flags\n' > "$tmp/presets/rooted.flags"
bin_abs=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
in_dir() { local dir=$1; shift; (cd "$dir" && "$@"); }
check "a nested flagfile is read relative to its parent (from another directory)" 1 \
  "--contrastive_tau=0.3 and --infonce_tau=0.5 both set" -- \
  in_dir "$tmp/elsewhere" "$bin_abs" train --flagfile="$tmp/presets/outer.flags" --contrastive_loss=infonce --sampler=random --infonce_tau=0.5
check "a relative command-line flagfile and a ../ nested one" 1 "--contrastive_tau=0.3 and --infonce_tau=0.5 both set" -- \
  in_dir "$tmp/presets" "$bin_abs" train --flagfile=sub/up.flags --contrastive_loss=infonce --sampler=random --infonce_tau=0.5
check "a nested path written from the root is refused with the reason" 1 \
  "rooted.flags:1: .*presets/presets/sub/inner.flags: cannot open the flagfile \(a nested --flagfile is relative to the file that names it, .*rooted.flags; 'presets/sub/inner.flags' exists relative to the current directory" -- \
  in_dir "$tmp" "$bin_abs" --flagfile=presets/rooted.flags list

# One knob, one value: the generic flags and the plugins' own.
check "a conflicting tau is refused naming both flags" 1 "--contrastive_tau=0.2 and --infonce_tau=0.5 both set the contrastive loss's temperature" -- \
  "$bin" train --contrastive_loss=infonce --sampler=random --contrastive_tau=0.2 --infonce_tau=0.5
printf -- '--contrastive_loss=infonce\n--sampler=hard_cosine\n--contrastive_tau=0.1\n--contrastive_k=5\n' > "$tmp/variant.flags"
check "a preset's tau against the user's plugin tau is refused" 1 "--contrastive_tau=0.1 and --infonce_tau=0.2 both set" -- \
  "$bin" train --flagfile="$tmp/variant.flags" --infonce_tau=0.2
check "a conflicting K is refused naming both flags" 1 "--contrastive_k=5 and --hard_cosine_k=7 both set the sampler's negatives per anchor" -- \
  "$bin" train --flagfile="$tmp/variant.flags" --hard_cosine_k=7
check "equal values of both tau flags are accepted" 1 "--data is required" -- \
  "$bin" train --flagfile="$tmp/variant.flags" --infonce_tau=0.1 --hard_cosine_k=5
check "a schedule in epochs and one in steps are refused together" 1 "--lr_decay_epochs=2 and --lr_decay_steps=19 both set the decay schedule" -- \
  "$bin" train --lr_decay_epochs=2 --lr_decay_steps=19
check "a schedule in epochs alone (or with --lr_decay_steps=0) is accepted" 1 "--data is required" -- \
  "$bin" train --lr_decay_steps=0 --lr_decay_epochs=2
check "list says each schedule flag's unit" 0 "--lr_decay_steps=19  unit: training steps.*" -- "$bin" list
check "list says the epoch schedule's unit" 0 "--lr_decay_epochs=0  unit: epochs" -- "$bin" list

# A data preset names its input and the dataset together: another --input alone is refused.
printf -- '--input=%s\n--name=yelp2019\n--slices=12\n' "$tmp/yelp.tsv" > "$tmp/data.flags"
check "prepare refuses a preset's name on another --input" 1 \
  "--input=.*other.tsv \(the command line\) is set after --name=yelp2019 \(.*data.flags:2\), which names another input's data: give --name as well" -- \
  "$bin" prepare --flagfile="$tmp/data.flags" --input="$tmp/other.tsv"
check "prepare accepts another --input with its own --name" 2 "other.tsv: no such file" -- \
  "$bin" prepare --flagfile="$tmp/data.flags" --input="$tmp/other.tsv" --name=other
check "prepare accepts an --input given before the preset (the preset's wins)" 2 "yelp.tsv: no such file" -- \
  "$bin" prepare --input="$tmp/other.tsv" --flagfile="$tmp/data.flags"

check "compare needs run directories" 2 "hardgnn compare RUN_DIR" -- "$bin" compare
check "compare names a folder that holds no finished run" 1 "nope/summary.json: cannot read it" -- "$bin" compare "$tmp/nope"
check "recommend needs users or an export folder" 1 "give --users=ID,ID\|FILE" -- "$bin" recommend

if [[ $failures -gt 0 ]]; then echo "$failures check(s) failed"; exit 1; fi
echo "all checks passed"
