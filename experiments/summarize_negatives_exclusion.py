#!/usr/bin/env python3
"""Tabulates experiments/results/negatives_exclusion_gowalla-nyc.csv (written by
experiments/negatives_exclusion.sh) as Markdown: per model, the mean ± sample sd over seeds of
each metric with training negatives excluding the training prefix only (clean protocol) and
the whole sequence (the published code), and the paired difference prefix - sequence (same
seed) with its 95% confidence interval (Student's t over the seeds present in both).

  experiments/summarize_negatives_exclusion.py [CSV]
"""
import csv
import math
import statistics
import sys

# Two-sided 95% quantiles of Student's t by degrees of freedom.
T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262}
METRICS = [("val_paper_ndcg10", "val paper NDCG@10"), ("test_paper_hr10", "test paper HR@10"),
           ("test_paper_ndcg10", "test paper NDCG@10"), ("test_full_hr10", "test full HR@10"),
           ("test_full_ndcg10", "test full NDCG@10")]


def mean_sd(values):
    if len(values) < 2:
        return f"{values[0]:.4f}" if values else "-"
    return f"{statistics.mean(values):.4f} ± {statistics.stdev(values):.4f}"


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "experiments/results/negatives_exclusion_gowalla-nyc.csv"
    rows = list(csv.DictReader(open(path)))
    runs = {}
    for r in rows:
        runs[(r["model"], r["exclude"], r["seed"])] = r  # a rerun of a seed replaces the earlier row
    print("| model | metric | prefix (clean) | sequence (published) | prefix - sequence, paired, 95% CI | seeds |")
    print("|---|---|---|---|---|---|")
    for model in ("mf", "selfgnn", "hardgnn"):
        seeds = sorted({s for (m, _, s) in runs if m == model})
        paired = [s for s in seeds if (model, "prefix", s) in runs and (model, "sequence", s) in runs]
        if not paired:
            continue
        for key, name in METRICS:
            a = [float(runs[(model, "prefix", s)][key]) for s in seeds if (model, "prefix", s) in runs]
            b = [float(runs[(model, "sequence", s)][key]) for s in seeds if (model, "sequence", s) in runs]
            d = [float(runs[(model, "prefix", s)][key]) - float(runs[(model, "sequence", s)][key]) for s in paired]
            if len(d) >= 2:
                half = T95[len(d) - 1] * statistics.stdev(d) / math.sqrt(len(d))
                diff = f"{statistics.mean(d):+.4f} [{statistics.mean(d) - half:+.4f}, {statistics.mean(d) + half:+.4f}]"
            else:
                diff = f"{d[0]:+.4f}"
            print(f"| {model} | {name} | {mean_sd(a)} | {mean_sd(b)} | {diff} | {len(d)} |")


if __name__ == "__main__":
    main()
