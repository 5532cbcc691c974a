#!/usr/bin/env python3
"""The main job's table (issue 21) from experiments/results/main_job/results.tsv (a copy of
runs/main/results.tsv written by experiments/main_job.sh) and run.txt (the commit, machine and
wall times of that run), as Markdown.

  python3 experiments/summarize_main_job.py [--report experiments/REPORT.md [--check]]
"""
import csv
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report_block  # noqa: E402

COMMAND = "python3 experiments/summarize_main_job.py --report experiments/REPORT.md"


def interval(mean, half):
    if mean == "":
        return "-"
    m, h = float(mean), float(half)
    return f"{m:+.4f} [{m - h:+.4f}, {m + h:+.4f}]"


def table(results):
    with open(os.path.join(results, "results.tsv"), newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    with open(os.path.join(results, "run.txt")) as f:
        about = f.read().strip()
    out = [about, "",
           f"Test, {rows[0]['users']} users; ± is the 95% interval of the mean over users; the differences to "
           "SelfGNN are paired per user (they do not cover seed-to-seed variation).", "",
           "| model | paper NDCG@10 | paper HR@10 | full NDCG@10 | full HR@10 | full NDCG@10, revisits | "
           "full NDCG@10, novel | vs SelfGNN, paper NDCG@10 | vs SelfGNN, full NDCG@10 | training time |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        seconds = float(r["seconds"])
        out.append(f"| {r['model']} | {float(r['paper_ndcg10']):.4f} ± {float(r['paper_ci95']):.4f} | "
                   f"{float(r['paper_hr10']):.4f} | {float(r['full_ndcg10']):.4f} ± {float(r['full_ci95']):.4f} | "
                   f"{float(r['full_hr10']):.4f} | {float(r['full_revisit_ndcg10']):.4f} | "
                   f"{float(r['full_novel_ndcg10']):.4f} | {interval(r['diff_paper'], r['diff_paper_ci95'])} | "
                   f"{interval(r['diff_full'], r['diff_full_ci95'])} | {int(seconds) // 60}:{int(seconds) % 60:02d} |")
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(report_block.main("main_job", COMMAND, table, __doc__))
