#!/usr/bin/env python3
"""REPORT §5's noise table and curves (issue 15 §5, the SelfGNN paper's experiment: 10% and 25% of
the training interactions replaced by random items) from experiments/results/noise/runs.csv, with
the 0% point taken from the ablation's runs.csv (the same presets and seeds).

  python3 experiments/summarize_noise.py [--report experiments/REPORT.md [--check]] [--plots]

A noise dataset is named BASE-noiseN (N percent); at 0% each variant is the ablation's BASE row of
the same name, except hardgnn-best: the ablation's hardgnn at its best point over all its sweeps on
validation (experiments/best_points.py --overall, the setting the noise runs were given).
Differences to SelfGNN are paired by seed at each level; Holm over each dataset's rows.
--plots writes BASE_noise_ndcg10.{png,svg} beside the CSV (gnuplot).
"""
import math
import os
import re
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from analyze_study import AnalysisError, checked, ci_columns, fmt_ci, fmt_diff, fmt_p, gnuplot, holm, paired, write_data  # noqa: E402
import report_block  # noqa: E402
from best_points import best_of_present, seed_values  # noqa: E402
from study import StudyError, read_rows  # noqa: E402

COMMAND = "python3 experiments/summarize_noise.py --report experiments/REPORT.md"
REFERENCE = "selfgnn"
METRICS = [("test_paper_ndcg10", "test paper NDCG@10"), ("test_full_ndcg10", "test full NDCG@10")]
BEST = {"hardgnn-best": "hardgnn"}  # a noise variant at its ablation variant's best point
SELECTION = "val_paper_ndcg10"


def noise_level(dataset):
    """'gowalla-nyc-noise10' -> ('gowalla-nyc', 10); None for a name without the suffix."""
    m = re.fullmatch(r"(.+)-noise(\d+)", dataset)
    return (m.group(1), int(m.group(2))) if m else None


def zero_point(ablation, base, variant, seeds):
    """The ablation point a noise variant stands for at 0%: '' or the best SWEEP=VALUE; None if undecided."""
    if variant not in BEST:
        return ""
    winner, _ = best_of_present(seed_values(ablation, SELECTION), base, BEST[variant], seeds)
    return winner


def collect(noise, ablation):
    """{base: {variant: {level: {seed: row}}}} with the 0% rows from the ablation."""
    out = {}
    for r in noise:
        parsed = noise_level(r["dataset"])
        if parsed:
            out.setdefault(parsed[0], {}).setdefault(r["variant"], {}).setdefault(parsed[1], {})[int(r["seed"])] = r
    for base, variants in out.items():
        for variant, levels in variants.items():
            seeds = sorted({s for by_seed in levels.values() for s in by_seed})
            point = zero_point(ablation, base, variant, seeds)
            if point is None:
                continue
            source = BEST.get(variant, variant)
            zero = {int(r["seed"]): r for r in ablation
                    if r["dataset"] == base and r["variant"] == source and r["point"] == point and int(r["seed"]) in seeds}
            if zero:
                levels[0] = zero
    return out


def values(by_seed, metric, seeds=None):
    return [float(by_seed[s][metric]) for s in sorted(seeds if seeds is not None else by_seed)]


def dataset_table(base, variants):
    head = ("| variant | noise | seeds | " + " | ".join(label for _, label in METRICS) + " | paper NDCG@10 against its 0% | " +
            " | ".join(f"{label} − {REFERENCE} [95% CI]" for _, label in METRICS) + " | pairs | paired t p | Holm |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    rows, pvalues = [], []
    reference = variants.get(REFERENCE, {})
    for variant in sorted(variants, key=lambda v: (v != REFERENCE, v)):
        levels = variants[variant]
        for level in sorted(levels):
            by_seed = levels[level]
            cells = [fmt_ci(values(by_seed, m)) for m, _ in METRICS]
            zero = levels.get(0)
            common0 = sorted(set(by_seed) & set(zero or {}))
            if level == 0 or not common0:
                cells.append("")
            else:
                now, then = values(by_seed, METRICS[0][0], common0), values(zero, METRICS[0][0], common0)
                cells.append(f"{100 * (sum(now) / sum(then) - 1):+.1f}%")
            ref = reference.get(level, {})
            common = sorted(set(by_seed) & set(ref))
            if variant == REFERENCE or len(common) < 2:
                cells += [""] * len(METRICS) + [str(len(common)) if variant != REFERENCE else "", ""]
                pvalues.append(math.nan)
            else:
                comps = [paired(values(by_seed, m, common), values(ref, m, common)) for m, _ in METRICS]
                cells += [fmt_diff(c) for c in comps] + [str(len(common)), fmt_p(comps[0]["p_t"])]
                pvalues.append(comps[0]["p_t"])
            rows.append((variant, level, len(by_seed), cells))
    adjusted = holm(pvalues)
    for (variant, level, n, cells), p in zip(rows, adjusted):
        lines.append(f"| {variant} | {level}% | {n} | " + " | ".join(cells) + f" | {'' if math.isnan(p) else fmt_p(p)} |")
    return f"**{base}**: mean ± half-width of the 95% CI over seeds; the paired test is on test paper NDCG@10.\n\n" + "\n".join(lines)


NUMBERS = ["seconds", SELECTION] + [m for m, _ in METRICS]


def read_runs(path):
    """A study's runs.csv (missing: no rows), one row per cell (a later row replaces an earlier
    one), each number checked; a bad one is an error naming the file, line and column."""
    try:
        return checked(path, read_rows(path), NUMBERS)
    except (StudyError, AnalysisError) as e:
        raise SystemExit(f"summarize_noise: {e}")


def read(results):
    """(noise rows, ablation rows): results/runs.csv and, beside it, ../ablation/runs.csv."""
    return (read_runs(os.path.join(results, "runs.csv")),
            read_runs(os.path.join(os.path.dirname(os.path.abspath(results)), "ablation", "runs.csv")))


def table(results):
    noise, ablation = read(results)
    data = collect(noise, ablation)
    if not data:
        return "No run of the noise study (`experiments/studies/noise.study`) has finished yet."
    hours = sum(float(r["seconds"]) for r in noise) / 3600
    head = (f"{len(noise)} runs of the noise study, {hours:.2f} h of training (sum of `seconds`); the 0% rows are "
            "the ablation's, counted there.")
    return "\n\n".join([head] + [dataset_table(base, data[base]) for base in sorted(data)])


def plot(results):
    data = collect(*read(results))
    with tempfile.TemporaryDirectory() as tmp:
        for base, variants in sorted(data.items()):
            plots = []
            for i, (variant, levels) in enumerate(sorted(variants.items())):
                name = f"v{i}.dat"
                write_data(os.path.join(tmp, name),
                           [[level] + ci_columns(values(levels[level], METRICS[0][0])) for level in sorted(levels)])
                plots.append(f"'{name}' using 1:2:3:4 with yerrorlines pt 7 title '{variant}'")
            gnuplot(f"set title '{base}: test paper NDCG@10 against noise, mean and 95% CI over seeds'\n"
                    "set xlabel 'training interactions replaced by random items (%)'\nset key outside\nset grid\n"
                    "set xrange [-2:27]\nplot " + ", ".join(plots), os.path.join(results, f"{base}_noise_ndcg10"), tmp)


if __name__ == "__main__":
    sys.exit(report_block.main("noise", COMMAND, table, __doc__.splitlines()[0], make_plots=plot))
