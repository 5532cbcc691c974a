#!/usr/bin/env python3
"""Counts the OpenMP parallel loops of experiments/openmp_loops.sh's call stacks (perf script -F
ip,sym,dso of a GOMP_parallel uprobe) by the part of the step they ran in (the first frame up the
stack naming one) and the function that opened them (the first named frame above GOMP_parallel),
and the steps the window held (two FusedAdam::step loops a step; the window cuts steps, so the
loops a step are approximate).

  python3 experiments/classify_openmp_loops.py STACKS
"""
import collections
import re
import sys

# The parts of a step, by a frame up the stack; the first that matches (innermost first) names it.
PARTS = ["FusedAdam", "Engine::", "SampleNegatives", "AddItemRows", "ComputeTerms", "SelfGnn::Forward",
         "BatchBuilder"]
ADAM_LOOPS_A_STEP = 2


def frames_of(block):
    out = []
    for line in block.strip().split("\n"):
        line = line.strip()
        if not line:
            continue
        f = re.sub(r"^[0-9a-f]+ ", "", line)
        out.append(re.sub(r" \(.*$", "", f))
    return out


def classify(text):
    counts = collections.Counter()
    for block in text.split("\n\n"):
        frames = frames_of(block)
        if not frames:
            continue
        opener = next((f for f in frames[1:] if not f.startswith("[unknown]") and not re.match(r"^[0-9a-fx]+$", f)),
                      "(unnamed)")
        part = next((p for f in frames for p in PARTS if p in f), "other")
        counts[(part, opener[:110])] += 1
    return counts


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        counts = classify(f.read())
    total = sum(counts.values())
    steps = sum(n for (part, _), n in counts.items() if part == "FusedAdam") / ADAM_LOOPS_A_STEP
    print(f"# loops: {total}; steps: {steps:g}; loops a step: {total / steps:.0f}" if steps else f"# loops: {total}")
    by_part = collections.Counter()
    for (part, _), n in counts.items():
        by_part[part] += n
    print("## by part of the step (share of the window's loops, loops a step)")
    for part, n in by_part.most_common():
        print(f"{100 * n / total:5.1f}% {n / steps if steps else n:7.1f}  {part}")
    print("## by part and opening function (loops in the window)")
    for (part, opener), n in counts.most_common():
        print(f"{n:6d}  {part:18s} {opener}")


if __name__ == "__main__":
    main()
