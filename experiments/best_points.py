#!/usr/bin/env python3
"""The best point of each sweep of a study, chosen on validation, as `study.py --only` filters.

  experiments/best_points.py STUDY [--seeds 1,2,3] [--metric val_paper_ndcg10]

For every dataset, variant and sweep of experiments/results/STUDY/runs.csv, the candidates are
the variant's own point (no sweep flags: the proposal's setting) and each of the sweep's points;
each is scored by the mean of --metric over --seeds, and only once every candidate has a row for
every one of those seeds (otherwise the sweep is reported undecided on stderr). One line per
sweep whose best point is a sweep point (the variant's own point already runs every seed):

  dataset=DATASET,variant=VARIANT,point=SWEEP=VALUE

which `experiments/study.py STUDY --only "LINE,seed=4,seed=5"` completes to five seeds
(experiments/studies/queue.sh does). The choice uses validation only, never test metrics.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from analyze_study import AnalysisError, load_rows  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def best_points(rows, seeds, metric):
    """([(dataset, variant, point)] whose point is best and a sweep point, [undecided messages])."""
    runs = {}  # (dataset, variant, point) -> {seed: value}
    for r in rows:
        runs.setdefault((r["dataset"], r["variant"], r["point"]), {})[int(r["seed"])] = float(r[metric])
    sweeps = {}  # (dataset, variant, sweep) -> [points]
    for dataset, variant, point in runs:
        if point:
            sweeps.setdefault((dataset, variant, point.split("=", 1)[0]), []).append(point)
    best, undecided = [], []
    for (dataset, variant, sweep), points in sorted(sweeps.items()):
        candidates = [""] + sorted(points)
        missing = [p or "(own point)" for p in candidates if not set(seeds) <= set(runs.get((dataset, variant, p), {}))]
        if missing:
            undecided.append(f"{dataset}/{variant}/{sweep}: undecided, seeds {seeds} missing for {', '.join(missing)}")
            continue
        score = {p: sum(runs[(dataset, variant, p)][s] for s in seeds) / len(seeds) for p in candidates}
        winner = max(candidates, key=lambda p: (score[p], p == ""))  # a tie keeps the own point
        if winner:
            best.append((dataset, variant, winner))
    return best, undecided


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("study")
    p.add_argument("--seeds", default="1,2,3")
    p.add_argument("--metric", default="val_paper_ndcg10")
    p.add_argument("--results-dir", default=os.path.join(REPO, "experiments", "results"))
    args = p.parse_args(argv)
    try:
        seeds = [int(s) for s in args.seeds.split(",")]
        rows = load_rows(os.path.join(args.results_dir, args.study, "runs.csv"))
        if rows and args.metric not in rows[0]:
            raise AnalysisError(f"--metric {args.metric}: not a column of runs.csv")
    except (AnalysisError, ValueError) as e:
        print(f"best_points: {e}", file=sys.stderr)
        return 2
    best, undecided = best_points(rows, seeds, args.metric)
    for line in undecided:
        print(line, file=sys.stderr)
    for dataset, variant, point in best:
        print(f"dataset={dataset},variant={variant},point={point}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
