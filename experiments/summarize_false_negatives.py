#!/usr/bin/env python3
"""The false-negative table (issue 15 §5) from experiments/results/false_negatives/<dataset>-<variant>.csv
(study.csv of `hardgnn study` on full HardGNN, experiments/false_negatives.sh), as Markdown.

  python3 experiments/summarize_false_negatives.py [--report experiments/REPORT.md [--check]]
"""
import csv
import glob
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report_block  # noqa: E402

COMMAND = "python3 experiments/summarize_false_negatives.py --report experiments/REPORT.md"
K = 5


def table(results):
    out = ["| run | epochs | held-out item among the 5 mined negatives: after epoch 0 / a quarter / half / the last "
           "| among 5 random negatives, last epoch | InfoNCE hard / random, last epoch (chance ln 6 = "
           f"{math.log(K + 1):.2f}) | anchor pair cosine, last epoch |",
           "|---|---|---|---|---|---|"]
    for path in sorted(glob.glob(os.path.join(results, "*.csv"))):
        with open(path, newline="") as f:
            rows = [r for r in csv.DictReader(f) if int(r["epoch"]) >= 0]
        n = len(rows)
        share = lambda r, key="heldout_hard": f"{100 * float(r[key]):.1f}%"
        picks = [rows[0], rows[n // 4], rows[n // 2], rows[-1]]
        last = rows[-1]
        out.append(f"| {os.path.basename(path)[:-4]} | {n} | {' / '.join(share(r) for r in picks)} | "
                   f"{share(last, 'heldout_random')} | {float(last['infonce_hard']):.2f} / "
                   f"{float(last['infonce_random']):.2f} | {float(last['anchor_pair_cos']):.3f} |")
    out.append("")
    out.append("Over 1,024 probe users after each epoch of a full HardGNN training (seed 1, the dataset's tuned "
               "SelfGNN preset plus InfoNCE with λ = 0.1, τ = 0.1, K = 5 `hard_cosine` negatives): the share of "
               "probes whose validation or test item is among their negatives. Under the clean protocol only the "
               "training prefix is excluded, so these items can be drawn; a uniform draw of 5 hits one of the 2 "
               "held-out items with probability about 10 / (number of items).")
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(report_block.main("false_negatives", COMMAND, table, __doc__.splitlines()[0]))
