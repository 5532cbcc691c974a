#!/usr/bin/env python3
"""Tabulates a CSV written by experiments/run_seeds.sh as Markdown: one row per (label, data),
mean ± sample sd over its seeds of the validation and test metrics, with test full-ranking
NDCG@10 by segment (revisit targets, novel targets; the mean count of each in brackets).

  experiments/summarize_seeds.py CSV [CSV...]
"""
import csv
import statistics
import sys

COLUMNS = [("val_paper_ndcg10", "val paper NDCG@10"), ("val_full_ndcg10", "val full NDCG@10"),
           ("test_paper_hr10", "test paper HR@10"), ("test_paper_ndcg10", "test paper NDCG@10"),
           ("test_full_hr10", "test full HR@10"), ("test_full_ndcg10", "test full NDCG@10"),
           ("test_full_revisit_ndcg10", "test full NDCG@10, revisits"),
           ("test_full_novel_ndcg10", "test full NDCG@10, novel")]


def cell(values):
    if len(values) == 1:
        return f"{values[0]:.4f}"
    return f"{statistics.mean(values):.4f} ± {statistics.stdev(values):.4f}"


def main():
    runs = {}
    for path in sys.argv[1:]:
        for r in csv.DictReader(open(path)):
            runs[(r["label"], r["data"], r["seed"])] = r  # a rerun replaces the earlier row
    groups = {}
    for (label, data, _), r in sorted(runs.items()):
        groups.setdefault((label, data), []).append(r)
    print("| model | data | seeds | " + " | ".join(name for _, name in COLUMNS) + " |")
    print("|---|---|---|" + "---|" * len(COLUMNS))
    for (label, data), rows in groups.items():
        cells = [cell([float(r[key]) for r in rows]) for key, _ in COLUMNS]
        counts = [statistics.mean(int(r[k]) for r in rows) for k in ("test_full_revisit_users", "test_full_novel_users")]
        for j, count in ((-2, counts[0]), (-1, counts[1])):
            cells[j] = f"{cells[j]} [{count:.0f}]" if count > 0 else "- [0]"  # no target of that kind
        print(f"| {label} | {data} | {len(rows)} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
