#!/usr/bin/env python3
"""REPORT §7's tables (hard_cosine against the bare dense product at B512/N50k/d64/K5, issue 18's
third target) from the runs experiments/sampler_ratio.sh writes to experiments/results/sampler_ratio/:
one table per file, runs.txt first, then the others (other machines) by name.

  python3 experiments/summarize_sampler_ratio.py [--report experiments/REPORT.md [--check]]
"""
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report_block  # noqa: E402

COMMAND = "python3 experiments/summarize_sampler_ratio.py --report experiments/REPORT.md"
# Columns of runs.txt after the run number, in milliseconds.
TIMES = ["dense", "straightforward", "hard", "float", "int16", "avx2"]


def read_runs(path):
    """The '# commit' and '# CPU:' lines and each run's times. Other comments, the column header
    and the median line pass; any other line is an error naming the file and line."""
    about, runs = [], []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            words = line.split()
            if line.startswith("# commit ") or line.startswith("# CPU: "):
                about.append(line[2:].strip())
            elif not words or line.startswith("#") or words[0] in ("run", "median"):
                continue
            elif words[0].isdigit() and len(words) == 1 + len(TIMES) + 3:
                try:
                    runs.append(dict(zip(TIMES, map(float, words[1:1 + len(TIMES)]))))
                except ValueError:
                    raise SystemExit(f"{path}:{number}: a run's times must be numbers: {line.strip()}")
            else:
                raise SystemExit(f"{path}:{number}: expected a run of {1 + len(TIMES) + 3} columns "
                                 f"(number, {len(TIMES)} times, 3 ratios): {line.strip()}")
    if not runs:
        raise SystemExit(f"{path}: no runs")
    return about, runs


def table(results):
    names = sorted(n for n in os.listdir(results) if n.endswith(".txt") and n != "runs.txt")
    if os.path.exists(os.path.join(results, "runs.txt")):
        names.insert(0, "runs.txt")
    if not names:
        raise SystemExit(f"{results}: no runs file (experiments/sampler_ratio.sh writes them)")
    return "\n\n".join(one_table(os.path.join(results, n)) for n in names)


def one_table(path):
    about, runs = read_runs(path)
    out = [f"`{os.path.basename(path)}`: " + "; ".join(about) + ".", "",
           "| run | bare dense product (512 x 50k scores written) | straightforward miner | **hard_cosine** "
           "(8-bit screen where the CPU has AVX-512 VNNI) | float screen | int16 screen, VNNI tiles | "
           "int16, AVX2 tiles | hard_cosine / bare product | int16 / bare product | straightforward / hard_cosine |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    ratio, ratio16, speedup = [], [], []
    for i, r in enumerate(runs, 1):
        ratio.append(r["hard"] / r["dense"])
        ratio16.append(r["int16"] / r["dense"])
        speedup.append(r["straightforward"] / r["hard"])
        unit = " ms" if i == 1 else ""
        times = " | ".join(f"{r[k]:.1f}{unit}" for k in TIMES)
        out.append(f"| {i} | {times} | {ratio[-1]:.2f} | {ratio16[-1]:.2f} | {speedup[-1]:.2f} |")

    def spread(values, fmt):
        return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}-{fmt.format(max(values))})"

    out.append(f"| **median** | | | | | | | **{spread(ratio, '{:.2f}')}** | {spread(ratio16, '{:.2f}')} | "
               f"**{spread(speedup, '{:.2f}')}x** |")
    out += ["", f"Ratios within each run, each time the median of 5 repetitions; {len(runs)} runs."]
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(report_block.main("sampler_ratio", COMMAND, table, __doc__.splitlines()[0]))
