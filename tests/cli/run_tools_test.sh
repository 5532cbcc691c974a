#!/usr/bin/env bash
# What a researcher does with runs, on short real runs of a small generated dataset:
#  - flags.txt reruns a run bit for bit (summary, log and best.pt), the generic and plugin
#    aliases and a schedule in epochs included;
#  - summary.txt / summary.json name the variant; popularity says it has nothing to train;
#  - loss lines give each term's weighted contribution; log.jsonl keeps its fields;
#  - --keep_last=false drops last.pt, leaves best.pt usable and refuses --resume;
#  - eval labels the validation row by how the checkpoint was trained;
#  - eval --ranks_out writes the per-user ranks behind its metrics;
#  - compare tabulates runs with their variants and differing flags;
#  - recommend's top-K are the unseen items the exported embeddings score highest;
#  - --aten_kernels (the formulation --device=cuda runs) trains to the kernels' losses.
set -uo pipefail
bin="$1"
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }

awk 'BEGIN { for (u = 0; u < 60; ++u) for (k = 0; k < 15; ++k)
               printf "u%d\ti%d\t%d\n", u, (u * 7 + k * 11) % 80, 1600000000 + (u + k * 60) * 86400 }' \
  > "$tmp/log.tsv"
"$bin" prepare --input="$tmp/log.tsv" --format=generic --name=tiny --filter=kcore --kcore=2 --slices=3 \
  --eval_negatives=20 --out="$tmp/data" > "$tmp/prepare.log" 2>&1 || { echo "FAIL: prepare"; cat "$tmp/prepare.log"; exit 1; }

train() {  # train RUN_DIR [flags...]
  local run=$1; shift
  "$bin" train --data="$tmp/data" --threads=1 --progress=never --run_dir="$run" "$@" > "$run.out" 2>&1 \
    || { fail "train $run: $(tail -3 "$run.out")"; return 1; }
}
without_seconds() { sed -E 's/"seconds":[0-9.e+-]+//g' "$@"; }
hardgnn=(--encoder=selfgnn --selfgnn_dim=8 --selfgnn_heads=2 --losses=bpr,sal:1e-6,l2:1e-3 --contrastive_loss=dcl
         --sampler=debiased --epochs=3 --eval_every=1 --batch_size=16 --users_per_epoch=0 --lr=0.01
         --lr_decay=0.5 --lr_decay_epochs=1 --lr_decay_steps=0)
mf=(--encoder=mf --losses=bpr,l2:1e-4 --mf_dim=8 --epochs=3 --eval_every=1 --batch_size=16 --users_per_epoch=0)

# --aten_kernels: LibTorch's formulation of every kernel (what --device=cuda runs) trains HardGNN
# with mined negatives to the kernels' losses, epoch by epoch, within float rounding.
mined=(--encoder=selfgnn --selfgnn_dim=8 --selfgnn_heads=2 --losses=bpr,sal:1e-6,l2:1e-3 --contrastive_loss=infonce
       --sampler=hard_cosine --epochs=2 --eval_every=1 --batch_size=16 --users_per_epoch=0 --lr=0.01)
if train "$tmp/kernels" "${mined[@]}" && train "$tmp/aten" "${mined[@]}" --aten_kernels; then
  epoch_losses() { grep -o '"event":"epoch","epoch":[0-9]*,"step":[0-9]*,"loss":[^,]*' "$1" | sed 's/.*"loss"://'; }
  if paste <(epoch_losses "$tmp/kernels/log.jsonl") <(epoch_losses "$tmp/aten/log.jsonl") \
       | awk 'NF != 2 || ($1 - $2) > 1e-3 * ($1 < 0 ? -$1 : $1) || ($2 - $1) > 1e-3 * ($1 < 0 ? -$1 : $1) { bad = 1 }
              END { exit bad || NR != 2 }'; then
    ok "--aten_kernels trains to the kernels' epoch losses"
  else
    fail "--aten_kernels losses: $(epoch_losses "$tmp/kernels/log.jsonl" | tr '\n' ' ') vs $(epoch_losses "$tmp/aten/log.jsonl" | tr '\n' ' ')"
  fi
fi

# flags.txt round trip: the same run again, from its flags.txt alone.
train "$tmp/hard" "${hardgnn[@]}" && train "$tmp/hard_again" --flagfile="$tmp/hard/flags.txt"
if [[ -s $tmp/hard_again/summary.json ]]; then
  if diff <(without_seconds "$tmp/hard/summary.json" "$tmp/hard/log.jsonl"; md5sum < "$tmp/hard/best.pt"; cat "$tmp/hard/summary.txt") \
          <(without_seconds "$tmp/hard_again/summary.json" "$tmp/hard_again/log.jsonl"; md5sum < "$tmp/hard_again/best.pt"; cat "$tmp/hard_again/summary.txt") > "$tmp/diff"; then
    ok "a rerun from flags.txt reproduces summary, log and best.pt bit for bit"
  else
    fail "the rerun from flags.txt differs: $(head -4 "$tmp/diff")"
  fi
fi
# The debiased sampler's k defaults to 16, the generic --contrastive_k to 5: flags.txt holds the
# value in force under both names (before, a rerun from it trained with K=5).
grep -qx -- "--contrastive_k=16" "$tmp/hard/flags.txt" && grep -qx -- "--debiased_k=16" "$tmp/hard/flags.txt" \
  && ok "flags.txt holds K once, under both names" || fail "flags.txt K: $(grep -E '_k=' "$tmp/hard/flags.txt")"
grep -qx -- "--lr_decay_steps=0" "$tmp/hard/flags.txt" && grep -qx -- "--lr_decay_epochs=1" "$tmp/hard/flags.txt" \
  && ok "flags.txt holds the schedule in one unit" || fail "flags.txt schedule: $(grep lr_decay "$tmp/hard/flags.txt")"
grep -q '"epoch":1,.*"lr":0.0025,' "$tmp/hard/log.jsonl" && ok "the learning rate halves every epoch" \
  || fail "lr per epoch: $(grep -o '"lr":[^,]*' "$tmp/hard/log.jsonl")"

# The variant, in summary.txt, summary.json and the epoch lines with weighted terms.
variant="selfgnn | losses bpr,sal:1e-6,l2:1e-3,dcl:0.1 | sampler debiased | anchor user_short"
[[ $(head -1 "$tmp/hard/summary.txt") == "variant: $variant" ]] && ok "summary.txt names the variant" \
  || fail "summary.txt: $(head -2 "$tmp/hard/summary.txt")"
grep -q "\"variant\":\"$variant\",\"sampler\":\"debiased\",\"contrastive_loss\":\"dcl\",\"anchor\":\"user_short\"" \
  "$tmp/hard/summary.json" && ok "summary.json names the variant" || fail "summary.json: $(head -c 300 "$tmp/hard/summary.json")"
grep -Eq '^selected: epoch [0-9] on validation paper NDCG@10 \(12 steps\)$' "$tmp/hard/summary.txt" \
  && ok "summary.txt says what was selected" || fail "summary.txt: $(sed -n 2p "$tmp/hard/summary.txt")"
grep -Eq '^epoch 0: loss [0-9.]+ = bpr [0-9.e+-]+ \+ sal [0-9.e+-]+ \(1e-06 x [0-9.e+-]+\) \+ l2 [0-9.e+-]+ \(0.001 x [0-9.e+-]+\) \+ dcl [0-9.e+-]+ \(0.1 x [0-9.e+-]+\);' \
  "$tmp/hard.out" && ok "the epoch line spells the loss out as weighted terms" || fail "epoch line: $(grep -m1 '^epoch 0' "$tmp/hard.out")"
grep -q '"event":"epoch","epoch":0,"step":4,"loss":[^,]*,"terms":{"bpr":[^,]*,"sal":[^,]*,"l2":[^,]*,"dcl":[^}]*},"weighted":{"bpr":' \
  "$tmp/hard/log.jsonl" && grep -q '"weights":{"bpr":1,"sal":1e-06,"l2":0.001,"dcl":0.1}' "$tmp/hard/log.jsonl" \
  && ok "log.jsonl keeps \"terms\" and adds \"weighted\" and \"weights\"" || fail "log.jsonl: $(head -1 "$tmp/hard/log.jsonl")"

train "$tmp/pop" --encoder=popularity --losses= --contrastive_loss=
grep -qx "selected: nothing to train (popularity is evaluated as it is)" "$tmp/pop/summary.txt" \
  && grep -q '"trained":false' "$tmp/pop/summary.json" && ok "popularity says it has nothing to train" \
  || fail "popularity summary: $(sed -n 2p "$tmp/pop/summary.txt")"

# --keep_last=false, under the official protocol.
train "$tmp/official" "${mf[@]}" --eval_protocol=official --keep_last=false
if [[ -e $tmp/official/last.pt || ! -s $tmp/official/best.pt ]]; then fail "keep_last=false: $(ls "$tmp/official")"
else ok "--keep_last=false keeps best.pt only"; fi
out=$("$bin" train --flagfile="$tmp/official/flags.txt" --run_dir="$tmp/official" --resume --threads=1 2>&1) \
  && fail "a resume without last.pt was accepted"
grep -q "holds a finished run whose last.pt was removed (--keep_last=false): nothing to resume" <<<"$out" \
  && ok "--resume of a run without last.pt is refused" || fail "resume message: $out"
# eval: the label follows the checkpoint's training, not this command line.
out=$("$bin" eval --flagfile="$tmp/official/flags.txt" --checkpoint="$tmp/official/best.pt" --eval_protocol=clean --threads=1 2>&1)
grep -Eq '^mf +val \(trained on!\) ' <<<"$out" && grep -Eq '^mf +test +60 ' <<<"$out" \
  && ok "eval of an official-protocol checkpoint labels validation as trained on" || fail "eval labels: $out"
train "$tmp/clean" "${mf[@]}" --lr=0.01
out=$("$bin" eval --flagfile="$tmp/clean/flags.txt" --checkpoint="$tmp/clean/best.pt" --eval_protocol=official --threads=1 2>&1)
grep -Eq '^mf +validation +60 ' <<<"$out" && grep -Eq '^mf +test \(official input\) +60 ' <<<"$out" \
  && ok "eval of a clean checkpoint under official input labels validation plainly" || fail "eval labels: $out"

# eval --ranks_out: each user's ranks, from which the printed metrics follow.
out=$("$bin" eval --flagfile="$tmp/clean/flags.txt" --checkpoint="$tmp/clean/best.pt" --ranks_out="$tmp/ranks.tsv" \
      --threads=1 2>&1) || fail "eval --ranks_out: $out"
if grep '^{"validation"' <<<"$out" | python3 -c '
import csv, json, math, sys
result = json.loads(sys.stdin.read())
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
assert len(rows) == 120 and {r["split"] for r in rows} == {"validation", "test"}, len(rows)
for split in ("validation", "test"):
    mine = [r for r in rows if r["split"] == split]
    assert sorted(r["user"] for r in mine) == sorted(f"u{u}" for u in range(60))
    for protocol, column in (("sampled", "sampled_rank"), ("full", "full_rank")):
        ndcg = sum(1 / math.log2(int(r[column]) + 2) for r in mine if int(r[column]) < 10) / len(mine)
        want = result[split][protocol]["ndcg@10"]
        assert abs(ndcg - want) < 5e-7, (split, protocol, ndcg, want)
    revisits = sum(r["revisit"] == "1" for r in mine)
    assert revisits == result[split]["full_revisit"]["users"], (revisits, result[split]["full_revisit"])
' "$tmp/ranks.tsv" > "$tmp/ranks.check" 2>&1; then
  ok "eval --ranks_out writes every user's ranks, and they give the printed NDCG@10 and segments"
else
  fail "eval --ranks_out: $(tail -3 "$tmp/ranks.check")"
fi

# compare: one row per run, the variants, the flags that differ (and not those that do not).
train "$tmp/clean2" "${mf[@]}" --lr=0.02
out=$("$bin" compare "$tmp/clean" "$tmp/clean2" "$tmp/hard" 2>&1) || fail "compare: $out"
val=$(grep -o '"validation":{"sampled":{"users":60,"hr@5":[0-9.]*,"ndcg@5":[0-9.]*,"hr@10":[0-9.]*,"ndcg@10":[0-9.]*' "$tmp/clean2/summary.json" \
      | sed -E 's/.*"ndcg@10":([0-9.]+)/\1/')
grep -Eq "^$tmp/clean2 +[0-9]+ \| +${val:0:6}" <<<"$out" && ok "compare shows each run's selected validation NDCG@10" \
  || fail "compare row (validation NDCG@10 $val): $out"
grep -q "^  $tmp/hard: $variant; selected on validation paper NDCG@10$" <<<"$out" && ok "compare names the variants" \
  || fail "compare variants: $out"
grep -Eq "^  --lr +0.01 +0.02 +0.01$" <<<"$out" && ok "compare lists a flag that differs" || fail "compare flags: $out"
grep -Eq "^  --seed " <<<"$out" && fail "compare lists --seed, which is the same everywhere" || ok "compare omits equal flags"
grep -Eq "^  --mf_dim " <<<"$out" && fail "compare lists --mf_dim, equal where it exists" || ok "compare omits a plugin's equal flags"

# recommend: the top-K unseen items by the exported embeddings' scores.
out=$("$bin" recommend --flagfile="$tmp/clean/flags.txt" --checkpoint="$tmp/clean/best.pt" --users=u3,u17 --k=5 \
      --export_embeddings="$tmp/emb" --threads=1 2> "$tmp/recommend.err") || fail "recommend: $(cat "$tmp/recommend.err")"
printf '%s\n' "$out" > "$tmp/recommend.tsv"
if python3 - "$tmp/emb" "$tmp/recommend.tsv" "$tmp/log.tsv" > "$tmp/check.out" 2>&1 <<'PY'
import ast, struct, sys
emb, tsv, log = sys.argv[1:]

def load_npy(path):  # the .npy v1.0 format, read without numpy
    data = open(path, "rb").read()
    assert data[:8] == b"\x93NUMPY\x01\x00", data[:8]
    n = struct.unpack("<H", data[8:10])[0]
    assert (10 + n) % 64 == 0 and data[10 + n - 1:10 + n] == b"\n"
    header = ast.literal_eval(data[10:10 + n].decode("latin1"))
    assert header["descr"] == "<f4" and header["fortran_order"] is False, header
    rows, cols = header["shape"]
    values = struct.unpack("<%df" % (rows * cols), data[10 + n:])
    return [values[r * cols:(r + 1) * cols] for r in range(rows)]

users, items = load_npy(emb + "/user_embeddings.npy"), load_npy(emb + "/item_embeddings.npy")
user_ids = open(emb + "/users.txt").read().split("\n")[:-1]
item_ids = open(emb + "/items.txt").read().split("\n")[:-1]
assert len(users) == len(user_ids) == 60 and len(items) == len(item_ids), (len(users), len(items))
seen = {}
for line in open(log):
    u, i, _ = line.split("\t")
    seen.setdefault(u, set()).add(i)
lines = open(tsv).read().split("\n")
assert lines[0] == "user\trank\titem\tscore", lines[0]
got = {}
for line in filter(None, lines[1:]):
    u, rank, i, score = line.split("\t")
    got.setdefault(u, []).append((int(rank), i, float(score)))
assert sorted(got) == ["u17", "u3"], sorted(got)
for u, recs in got.items():
    q = users[user_ids.index(u)]
    scores = {i: sum(a * b for a, b in zip(q, items[j])) for j, i in enumerate(item_ids)}
    unseen = [i for i in item_ids if i not in seen[u]]
    assert [r for r, _, _ in recs] == [1, 2, 3, 4, 5], recs
    for _, i, score in recs:
        assert i not in seen[u], (u, i, "seen")
        assert abs(score - scores[i]) <= 1e-5 * max(1.0, abs(score)), (u, i, score, scores[i])
    best = sorted(unseen, key=lambda i: -scores[i])[:5]
    assert [i for _, i, _ in recs] == best, (u, [i for _, i, _ in recs], best)
print("checked", sum(len(r) for r in got.values()), "recommendations")
PY
then ok "recommend's top-5 are the unseen items the exported .npy vectors score highest ($(cat "$tmp/check.out"))"
else fail "recommend against the embeddings: $(tail -3 "$tmp/check.out")"; fi
out=$("$bin" recommend --flagfile="$tmp/clean/flags.txt" --checkpoint="$tmp/clean/best.pt" --users=u3,nobody --threads=1 2>&1) \
  && fail "an unknown user was accepted"
grep -q "no user 'nobody' in tiny" <<<"$out" && ok "recommend names an unknown user" || fail "unknown user: $out"

if [[ $failures -gt 0 ]]; then echo "$failures check(s) failed"; exit 1; fi
echo "all checks passed"
