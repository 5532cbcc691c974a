#!/usr/bin/env python3
"""The diagnosis table (issue 15 §1) from experiments/results/diagnosis/<case>.csv (study.csv
of `hardgnn study`) and <case>.grad.csv (gradient norms per step), as markdown on stdout, or
into the generated block `diagnosis` of a report.

  python3 experiments/summarize_diagnosis.py [--report experiments/REPORT.md [--check]]
"""
import csv
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report_block  # noqa: E402

COMMAND = "python3 experiments/summarize_diagnosis.py --report experiments/REPORT.md"

# (case, what changes against the published SelfGNN form), in the table's order.
CASES = [
    ("published", "SelfGNN as published, anchor `user_short`"),
    ("anchor-user_seq", "anchor `user_seq`"),
    ("anchor-user", "anchor `user` (the scoring query)"),
    ("lr-1e-2", "learning rate 1e-2 (not 1e-3)"),
    ("steps-2100", "300 epochs (2,100 steps)"),
    ("no-dropout", "no dropout (keep rate 1)"),
    ("layernorm-lastdim", "LayerNorm per slice, not over the block"),
    ("gnn-layers-1", "1 propagation layer (not 2)"),
    ("gnn-layers-0", "no propagation: `user_short` = the slice embedding"),
    ("normalized", "symmetric-normalized propagation"),
    ("mf", "MF user vector as the anchor (control)"),
]
K = 5  # negatives per probe: chance InfoNCE is ln(K + 1)


def read_rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def user_table_gradients(path):
    """The gradient norm of the user table at the first and the last step."""
    rows = [r for r in read_rows(path) if r["parameter"] in ("user_embed", "user")]
    return float(rows[0]["grad_norm"]), float(rows[-1]["grad_norm"]), int(rows[-1]["step"]) + 1


def table(results):
    out = ["| case | InfoNCE hard | InfoNCE random | cos(anchor, next item / hard / random) | anchor pair cosine, start → end "
           "| item pair cosine, start → end | user-table gradient, first → last step |",
           "|---|---|---|---|---|---|---|"]
    for case, what in CASES:
        path = os.path.join(results, case + ".csv")
        if not os.path.exists(path):
            out.append(f"| {what} | not run | | | | | |")
            continue
        rows = read_rows(path)
        first, last = rows[0], rows[-1]
        f = lambda key, row=last: float(row[key])
        grad = os.path.join(results, case + ".grad.csv")
        if os.path.exists(grad):
            g0, g1, steps = user_table_gradients(grad)
            gradient = f"{g0:.3g} → {g1:.3g} ({steps} steps)"
        else:
            gradient = "not recorded"
        out.append(f"| {what} | {f('infonce_hard'):.2f} | {f('infonce_random'):.2f} | "
                   f"{f('cos_positive'):.3f} / {f('cos_hard'):.3f} / {f('cos_random'):.3f} | "
                   f"{f('anchor_pair_cos', first):.3f} → {f('anchor_pair_cos'):.3f} | "
                   f"{f('item_pair_cos', first):.3f} → {f('item_pair_cos'):.3f} | {gradient} |")
    out.append("")
    out.append(f"After the last epoch of each case; InfoNCE over 1,024 probe users with K = {K} negatives, "
               f"chance ln {K + 1} = {math.log(K + 1):.2f}. Pair cosines: the mean cosine between two "
               "different probe anchors (two different items); 0 for directions spread evenly, 1 when all point "
               "the same way.")
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(report_block.main("diagnosis", COMMAND, table, __doc__.splitlines()[0]))
