#!/usr/bin/env python3
"""Summary of experiments/step_ab.sh's runs: per phase of the step's profile, each binary's
median over the rounds, and the paired difference new - old (round by round) with the 95%
confidence interval of its mean (t distribution), and new / old of the medians.

  python3 experiments/summarize_step_ab.py OUT_DIR

OUT_DIR holds header.txt and round<r>-old.txt / round<r>-new.txt, each experiments/step_profile.sh's
output: '  <phase>  <ms> ms' lines and 'peak resident memory: <KiB> KB'."""
import math
import os
import re
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from analyze_study import mean_ci  # noqa: E402

PHASE = re.compile(r"^  (\S.*?)\s+(-?[0-9.]+) ms$")
RSS = re.compile(r"^peak resident memory: ([0-9]+) KB$")
RUN = re.compile(r"^round([0-9]+)-(old|new)\.txt$")
PEAK = "peak resident memory (MB)"


def read_run(path):
    """{phase: ms} and the peak resident memory (as PEAK, in MB) of one run."""
    values = {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            m = PHASE.match(line)
            if m:
                try:
                    values[m.group(1)] = float(m.group(2))
                except ValueError:
                    sys.exit(f"{path}:{n}: a phase's time must be a number: {line!r}")
                continue
            m = RSS.match(line)
            if m:
                values[PEAK] = int(m.group(1)) * 1024 / 1e6
    if not values:
        sys.exit(f"{path}: no phase times (did the run fail?)")
    return values


def read_rounds(out_dir):
    """[(old, new)] per round, in round order; every round needs both runs."""
    runs = {}
    for name in os.listdir(out_dir):
        m = RUN.match(name)
        if m:
            runs.setdefault(int(m.group(1)), {})[m.group(2)] = read_run(os.path.join(out_dir, name))
    if not runs:
        sys.exit(f"{out_dir}: no round<r>-old.txt / round<r>-new.txt runs")
    for r, pair in sorted(runs.items()):
        if len(pair) != 2:
            sys.exit(f"{out_dir}: round {r} lacks its {'new' if 'old' in pair else 'old'} run")
    return [(runs[r]["old"], runs[r]["new"]) for r in sorted(runs)]


def summary(out_dir):
    rounds = read_rounds(out_dir)
    header = ""
    path = os.path.join(out_dir, "header.txt")
    if os.path.exists(path):
        with open(path) as f:
            header = f.read()
    # Phases in the order the first old run printed them; those some run lacks are left out.
    phases = [p for p in rounds[0][0] if all(p in old and p in new for old, new in rounds)]
    lines = [header.rstrip("\n"),
             f"{len(rounds)} rounds; medians over the rounds; new - old paired by round: mean [95% CI]",
             "| phase | old | new | new - old | new / old |", "|---|---|---|---|---|"]
    for p in phases:
        olds = [old[p] for old, _ in rounds]
        news = [new[p] for _, new in rounds]
        mean, low, high = mean_ci([n - o for o, n in zip(olds, news)])
        unit = "" if p == PEAK else " ms"
        fmt = "{:.2f}" if p == PEAK else "{:.1f}"
        diff = (fmt + unit).format(mean)
        if not math.isnan(low):  # one round: no interval
            diff += (" [" + fmt + ", " + fmt + "]").format(low, high)
        m_old, m_new = statistics.median(olds), statistics.median(news)
        ratio = f"{m_new / m_old:.3f}" if m_old else "-"
        lines.append(f"| {p} | {fmt.format(m_old)}{unit} | {fmt.format(m_new)}{unit} | {diff} | {ratio} |")
    return "\n".join(line for line in lines if line) + "\n"


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.stdout.write(summary(sys.argv[1]))
