#!/usr/bin/env python3
"""The evaluation-speed table (REPORT §4, issue 18's fourth target) from the Google Benchmark
JSON that experiments/eval_speed.sh writes to experiments/results/eval_speed/.

  python3 experiments/summarize_eval_speed.py [--report experiments/REPORT.md [--check]]
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report_block  # noqa: E402

COMMAND = "python3 experiments/summarize_eval_speed.py --report experiments/REPORT.md"
WHAT = {
    "hardgnn_evaluator/paper_protocol": "hardgnn's evaluator, paper protocol (1 + 999)",
    "hardgnn_evaluator/paper_protocol+full_ranking": "hardgnn's evaluator, paper protocol + full ranking",
    "hardgnn_evaluator_score_matrix/paper_protocol":
        "hardgnn's evaluator with a score matrix (LibTorch's product), paper protocol (1 + 999)",
    "hardgnn_evaluator_score_matrix/paper_protocol+full_ranking":
        "hardgnn's evaluator with a score matrix (LibTorch's product), paper protocol + full ranking",
    "per_batch_forward_fused/paper_protocol+full_ranking":
        "published loop (full-graph forward per 512 users, fused kernels), paper protocol + full ranking",
}


def seconds(counters, key):
    return f"{counters[key]:.2f}" if key in counters else ""


def table(results):
    with open(os.path.join(results, "run.txt")) as f:
        about = f.read().strip().replace("\n", "; ")
    out = [about, "",
           "| evaluated users | evaluation | wall s (a fresh process) | again in that process s | "
           "long-term embeddings s | queries s | scoring s | ranking s |",
           "|---|---|---|---|---|---|---|---|"]
    walls, phases = {}, {}
    for name in ("users20000", "users10000"):
        files = sorted(f for f in os.listdir(results) if f.startswith(name + "-") and f.endswith(".json"))
        runs = []
        for file in files:
            with open(os.path.join(results, file)) as f:
                runs += json.load(f)["benchmarks"]
        for r in runs:
            key = r["run_name"].split("/iterations")[0]
            wall = r["real_time"] * {"s": 1, "ms": 1e-3}[r["time_unit"]]
            walls[(name, key)] = wall
            if "scores_s" in r:
                phases[(name, key)] = r["scores_s"] + r["ranks_s"]
            again = f"{r['again_s']:.2f} ({r['again_embeddings_s']:.2f})" if "again_s" in r else ""
            out.append(f"| {int(r['users']):,} | {WHAT[key]} | **{wall:.2f}** | {again} | "
                       f"{seconds(r, 'embeddings_s')} | {seconds(r, 'queries_s')} | {seconds(r, 'scores_s')} | "
                       f"{seconds(r, 'ranks_s')} |")
    ours = walls.get(("users10000", "hardgnn_evaluator/paper_protocol+full_ranking"))
    theirs = walls.get(("users10000", "per_batch_forward_fused/paper_protocol+full_ranking"))
    # The scoring and ranking phases: the walls, each in a fresh process, also differ by the
    # long-term embeddings' run-to-run spread.
    after = {key: r for (name, key), r in phases.items() if name == "users20000"}
    matrix = after.get("hardgnn_evaluator_score_matrix/paper_protocol+full_ranking")
    chains = after.get("hardgnn_evaluator/paper_protocol+full_ranking")
    if matrix and chains:
        out += ["", f"At 20,000 users with full ranking, scoring and ranking take **{chains:.2f} s** by chain products "
                    f"against **{matrix:.2f} s** through a score matrix (**{matrix / chains:.2f}x**), in the same run."]
    if ours and theirs:
        out += ["", f"At 10,000 users with full ranking, hardgnn's evaluator is **{theirs / ours:.1f}x** faster than "
                    "the published loop with the same kernels, in the same run."]
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(report_block.main("eval_speed", COMMAND, table, __doc__.splitlines()[0]))
