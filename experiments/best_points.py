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
The candidates are the points the study description (experiments/studies/STUDY.study) defines,
so a point with no rows yet leaves its sweep undecided.

  experiments/best_points.py STUDY --overall VARIANT --write DIR

The variant's best setting on each dataset, over its own point and every point of every sweep
that lists it (the noise study's "best HardGNN setting"): writes DIR/DATASET-VARIANT.flags, the
point's flags with a comment saying how it was chosen, for each dataset where every candidate
has every seed.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from study import StudyError, done_rows, load_study  # noqa: E402  (no scipy: queue.sh runs this)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def seed_values(rows, metric):
    """{(dataset, variant, point): {seed: value of metric}}."""
    runs = {}
    for r in rows:
        runs.setdefault((r["dataset"], r["variant"], r["point"]), {})[int(r["seed"])] = float(r[metric])
    return runs


def choose(runs, dataset, variant, candidates, seeds):
    """(best candidate, its mean) or (None, message naming the candidates that lack a seed);
    a tie keeps the own point ("")."""
    missing = [p or "(own point)" for p in candidates if not set(seeds) <= set(runs.get((dataset, variant, p), {}))]
    if missing:
        return None, f"seeds {seeds} missing for {', '.join(missing)}"
    score = {p: sum(runs[(dataset, variant, p)][s] for s in seeds) / len(seeds) for p in candidates}
    winner = max(candidates, key=lambda p: (score[p], p == ""))
    return winner, score[winner]


def best_of_present(runs, dataset, variant, seeds):
    """choose() over the variant's own point and every point it has a row for on the dataset:
    for readers of runs.csv without the study description (the candidates the description
    defines have rows by the time every one of them has every seed)."""
    points = sorted({p for (d, v, p) in runs if d == dataset and v == variant and p})
    return choose(runs, dataset, variant, [""] + points, seeds)


def sweeps_of(study, variant):
    """{sweep name: [its points as SWEEP=VALUE]} of the sweeps that list the variant."""
    return {name: [f"{name}={v}" for v in sweep.points] for name, sweep in study.sweeps.items() if variant in sweep.variants}


def best_points(rows, study, seeds, metric):
    """([(dataset, variant, point)] whose point is best and a sweep point, [undecided messages])."""
    runs = seed_values(rows, metric)
    best, undecided = [], []
    for dataset in study.datasets:
        for variant in study.variants:
            for sweep, points in sweeps_of(study, variant).items():
                winner, why = choose(runs, dataset, variant, [""] + points, seeds)
                if winner is None:
                    undecided.append(f"{dataset}/{variant}/{sweep}: undecided, {why}")
                elif winner:
                    best.append((dataset, variant, winner))
    return best, undecided


def overall_best(rows, study, variant, seeds, metric):
    """({dataset: (point, mean)}, [undecided messages]): the variant's best over all its points."""
    runs = seed_values(rows, metric)
    candidates = [""] + [p for points in sweeps_of(study, variant).values() for p in points]
    best, undecided = {}, []
    for dataset in study.datasets:
        winner, value = choose(runs, dataset, variant, candidates, seeds)
        if winner is None:
            undecided.append(f"{dataset}/{variant}: undecided, {value}")
        else:
            best[dataset] = (winner, value)
    return best, undecided


def point_flags(study, point):
    if not point:
        return []
    sweep, value = point.split("=", 1)
    return study.sweeps[sweep].points[value]


def write_flagfiles(study, variant, best, seeds, metric, directory):
    os.makedirs(directory, exist_ok=True)
    paths = []
    for dataset, (point, value) in sorted(best.items()):
        path = os.path.join(directory, f"{dataset}-{variant}.flags")
        with open(path + ".tmp", "w") as f:
            f.write(f"# The best setting of {variant} on {dataset}: {point or 'its own point'} (mean {metric} "
                    f"{value:.4f} over seeds {','.join(map(str, seeds))}),\n"
                    f"# chosen by experiments/best_points.py {study.name} --overall {variant} from runs.csv.\n")
            f.writelines(flag + "\n" for flag in point_flags(study, point))
        os.replace(path + ".tmp", path)
        paths.append(path)
    return paths


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("study")
    p.add_argument("--seeds", default="1,2,3")
    p.add_argument("--metric", default="val_paper_ndcg10")
    p.add_argument("--results-dir", default=os.path.join(REPO, "experiments", "results"))
    p.add_argument("--study-file", help="default experiments/studies/STUDY.study")
    p.add_argument("--overall", metavar="VARIANT", help="the variant's best setting over all its points")
    p.add_argument("--write", metavar="DIR", help="with --overall: write DIR/DATASET-VARIANT.flags")
    args = p.parse_args(argv)
    try:
        seeds = [int(s) for s in args.seeds.split(",")]
        study = load_study(args.study_file or os.path.join(REPO, "experiments", "studies", args.study + ".study"))
        rows = list(done_rows(os.path.join(args.results_dir, args.study, "runs.csv")).values())
        if rows and args.metric not in rows[0]:
            raise StudyError(f"--metric {args.metric}: not a column of runs.csv")
        if args.overall is not None and args.overall not in study.variants:
            raise StudyError(f"--overall {args.overall}: not a variant of {study.path}")
    except (StudyError, OSError, ValueError) as e:
        print(f"best_points: {e}", file=sys.stderr)
        return 2
    if args.overall is None:
        best, undecided = best_points(rows, study, seeds, args.metric)
        lines = [f"dataset={dataset},variant={variant},point={point}" for dataset, variant, point in best]
    else:
        chosen, undecided = overall_best(rows, study, args.overall, seeds, args.metric)
        lines = [f"{dataset} {point or '(own point)'} {value:.4f}" for dataset, (point, value) in chosen.items()]
        if args.write:
            lines += [f"wrote {path}" for path in write_flagfiles(study, args.overall, chosen, seeds, args.metric, args.write)]
    for line in undecided:
        print(line, file=sys.stderr)
    for line in lines:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
