#!/usr/bin/env python3
"""Tabulates run directories written by `hardgnn train` (their summary.json) as Markdown:
one row per group of runs (the parent folder of seed*/ run folders, or the run itself),
mean and sample standard deviation over the seeds of test HR/NDCG at 10 and 20 on the paper
protocol (1 positive + 999 sampled negatives) and on full ranking.

  experiments/summarize_runs.py runs/results/gowalla-nyc/*
"""
import json
import math
import os
import sys


def load(run):
    with open(os.path.join(run, "summary.json")) as f:
        return json.load(f)


def groups(paths):
    for path in paths:
        seeds = sorted(os.path.join(path, d) for d in os.listdir(path) if d.startswith("seed"))
        runs = [r for r in seeds if os.path.exists(os.path.join(r, "summary.json"))]
        if not runs and os.path.exists(os.path.join(path, "summary.json")):
            runs = [path]
        if runs:
            yield os.path.basename(path.rstrip("/")), [load(r) for r in runs]


def cell(values):
    mean = sum(values) / len(values)
    if len(values) == 1:
        return f"{mean:.4f}"
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
    return f"{mean:.4f} ± {sd:.4f}"


def main():
    metrics = [("sampled", "hr@10"), ("sampled", "ndcg@10"), ("sampled", "hr@20"), ("sampled", "ndcg@20"),
               ("full", "hr@10"), ("full", "ndcg@10"), ("full", "hr@20"), ("full", "ndcg@20")]
    head = ["model", "runs"] + [f"{'paper' if k == 'sampled' else 'full'} {m.upper()}" for k, m in metrics]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for name, runs in groups(sys.argv[1:]):
        row = [name, str(len(runs))]
        for kind, metric in metrics:
            row.append(cell([r["best"]["test"][kind][metric] for r in runs]))
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
