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


def blocks_of(text):
    """[(first line number, [frame, ...])] of perf script's blank-line-separated samples."""
    blocks, frames, first = [], [], 0
    for number, line in enumerate(text.split("\n"), 1):
        line = line.strip()
        if not line:
            if frames:
                blocks.append((first, frames))
            frames = []
            continue
        if not frames:
            first = number
        frames.append(re.sub(r" \(.*$", "", re.sub(r"^[0-9a-f]+ ", "", line)))
    if frames:
        blocks.append((first, frames))
    return blocks


def classify(text, path="<text>"):
    """Counter of (part, opener) over the samples; ValueError naming the file and line where a
    sample is not a GOMP_parallel call stack, or where there is none."""
    counts = collections.Counter()
    blocks = blocks_of(text)
    if not blocks:
        raise ValueError(f"{path}: no call stacks (perf script of a GOMP_parallel uprobe expected)")
    for number, frames in blocks:
        if not frames[0].startswith("GOMP_parallel"):
            raise ValueError(f"{path}:{number}: not a GOMP_parallel call stack: {frames[0]!r}")
        opener = next((f for f in frames[1:] if not f.startswith("[unknown]") and not re.match(r"^[0-9a-fx]+$", f)),
                      "(unnamed)")
        part = next((p for f in frames for p in PARTS if p in f), "other")
        counts[(part, opener[:110])] += 1
    return counts


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        text = f.read()
    try:
        counts = classify(text, sys.argv[1])
    except ValueError as e:
        sys.exit(str(e))
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
