#!/usr/bin/env python3
"""Tables (and plots) of a study's results CSV (written by experiments/study.py).

  experiments/analyze_study.py STUDY [--reference selfgnn] [--contrast A:B ...]
                               [--report experiments/REPORT.md] [--check] [--plots]
                               [--results-dir DIR] [--runs-dir DIR]

Reads experiments/results/STUDY/runs.csv and writes experiments/results/STUDY/tables.md:
per dataset, each variant (variant@SWEEP=VALUE for sweep points) with its number of seeds,
mean and 95% confidence interval (t distribution, n-1 degrees of freedom) of the main
metrics; then each variant against the reference variant, paired by seed: the mean
difference with its 95% CI, the paired t-test and Wilcoxon signed-rank p-values, each
Holm-corrected over the rows of that table.
--contrast A:B one more table per dataset: group A against group B, paired by seed, the same
               statistics (repeatable; Holm over that table's rows), e.g. hardgnn:hardgnn-random;
               VARIANT@chosen is the variant at its setting chosen on validation on that dataset
               (as in the chosen-settings table), e.g. hardgnn@chosen:hardgnn-random@chosen.
--report FILE  also replaces the text between <!-- generated:STUDY:begin --> and
               <!-- generated:STUDY:end --> in FILE (the markers must be there).
--check        writes nothing: exits 1 with a diff if tables.md (or FILE's block) differs
               from what the CSV gives now.
--plots        gnuplot PNG + SVG under experiments/results/STUDY/plots/: per dataset the
               variants' test NDCG@10 (both protocols) with CI bars, each sweep's metric
               against the swept value, and validation paper NDCG@10 against the epoch (mean
               over seeds, from the run folders' log.jsonl, when runs/studies/STUDY exists).
"""
import argparse
import csv
import difflib
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile

from scipy import stats

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from best_points import best_of_present  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SUMMARY = [("test_paper_ndcg10", "test paper NDCG@10"), ("test_full_ndcg10", "test full NDCG@10"),
           ("test_full_hr10", "test full HR@10"), ("val_paper_ndcg10", "val paper NDCG@10"),
           ("test_full_revisit_ndcg10", "test full NDCG@10, revisits"),
           ("test_full_novel_ndcg10", "test full NDCG@10, novel")]
COMPARED = SUMMARY[:2] + [SUMMARY[3]]
NAN = float("nan")


class AnalysisError(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# Statistics (every distribution function from scipy)


def mean_ci(values, level=0.95):
    """(mean, low, high): the t interval of the mean; low = high = nan below two values."""
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, NAN, NAN
    half = stats.t.ppf((1 + level) / 2, n - 1) * stats.sem(values)
    return mean, mean - half, mean + half


def paired(values, reference):
    """The paired comparison of two equally long lists (same seeds, same order)."""
    diffs = [a - b for a, b in zip(values, reference)]
    mean, low, high = mean_ci(diffs)
    p_t = p_w = NAN
    if len(diffs) >= 2 and any(d != diffs[0] for d in diffs):
        p_t = stats.ttest_rel(values, reference).pvalue
    if any(d != 0 for d in diffs):
        p_w = stats.wilcoxon(diffs).pvalue
    return {"n": len(diffs), "mean": mean, "low": low, "high": high, "p_t": p_t, "p_w": p_w}


def holm(pvalues):
    """Holm's step-down adjustment; nan p-values stay nan and do not count as tests."""
    ranked = sorted((p, i) for i, p in enumerate(pvalues) if not math.isnan(p))
    adjusted, running = [NAN] * len(pvalues), 0.0
    for rank, (p, i) in enumerate(ranked):
        running = max(running, min(1.0, (len(ranked) - rank) * p))  # adjusted p-values never decrease
        adjusted[i] = running
    return adjusted


# ---------------------------------------------------------------------------------------------
# The CSV


# The numeric columns of runs.csv that the analyses read; every row's must be numbers.
NUMERIC_COLUMNS = ["seconds"] + [key for key, _ in SUMMARY] + [
    "test_full_revisit_users", "test_full_novel_users"]


def checked(path, rows, columns=NUMERIC_COLUMNS):
    """rows (dicts read from path, its lines 2, 3, ...) with a later row of a cell replacing an
    earlier one, once each column in `columns` and the seed are numbers; a bad one is an error
    naming the file, line and column."""
    out = {}
    for line, r in enumerate(rows, 2):  # line 1 is the header
        for column in ["seed"] + list(columns):
            try:
                float(r[column]) if column != "seed" else int(r[column])
            except (KeyError, TypeError, ValueError):
                raise AnalysisError(f"{path}:{line}: {column} is not a number: {r.get(column)!r}")
        out[(r["dataset"], r["variant"], r["point"], r["seed"])] = r
    return list(out.values())


def load_rows(path):
    if not os.path.exists(path):
        raise AnalysisError(f"{path} does not exist: run experiments/study.py first")
    with open(path, newline="") as f:
        rows = checked(path, csv.DictReader(f))
    if not rows:
        raise AnalysisError(f"{path} has no runs")
    return rows


def group_name(row):
    return row["variant"] + ("@" + row["point"] if row["point"] else "")


def point_value(point):
    """'lambda=0.05' -> ('lambda', 0.05 or the text when it is not a number)."""
    sweep, _, value = point.partition("=")
    try:
        return sweep, float(value)
    except ValueError:
        return sweep, value


def group_key(group, reference):
    """Sort key: the reference, popularity, then the rest by name, sweep points by value."""
    variant, _, point = group.partition("@")
    first = 0 if group == reference else 1 if variant == "popularity" else 2
    sweep, value = point_value(point) if point else ("", 0.0)
    numeric = not isinstance(value, str)
    return (first, variant, sweep, not numeric, value if numeric else 0.0, str(value))


def by_dataset(rows, reference):
    """{dataset: {group: {seed: row}}}, datasets in order of appearance, groups sorted."""
    out = {}
    for r in rows:
        out.setdefault(r["dataset"], {}).setdefault(group_name(r), {})[int(r["seed"])] = r
    return {d: dict(sorted(g.items(), key=lambda kv: group_key(kv[0], reference))) for d, g in out.items()}


# ---------------------------------------------------------------------------------------------
# Markdown


def fmt_ci(values):
    mean, low, high = mean_ci(values)
    return f"{mean:.4f}" if math.isnan(low) else f"{mean:.4f} ± {(high - low) / 2:.4f}"


def fmt_p(p):
    return "–" if math.isnan(p) else f"{p:.1e}" if p < 1e-4 else f"{p:.4f}"


def fmt_diff(c):
    if math.isnan(c["low"]):
        return f"{c['mean']:+.4f}"
    return f"{c['mean']:+.4f} [{c['low']:+.4f}, {c['high']:+.4f}]"


def summary_table(groups):
    lines = ["| variant | seeds | " + " | ".join(name for _, name in SUMMARY) + " | revisit / novel users |",
             "|---|---|" + "---|" * (len(SUMMARY) + 1)]
    for group, seeds in groups.items():
        runs = list(seeds.values())
        cells = [fmt_ci([float(r[key]) for r in runs]) for key, _ in SUMMARY]
        users = f"{runs[0]['test_full_revisit_users']} / {runs[0]['test_full_novel_users']}"
        lines.append(f"| {group} | {len(runs)} | " + " | ".join(cells) + f" | {users} |")
    return lines


def paired_rows(groups, pairs, label):
    """[(label(a, b), metric name, paired result of a against b)] for each pair (a, b) whose
    groups both ran on a common seed."""
    out = []
    for a, b in pairs:
        if a not in groups or b not in groups:
            continue
        common = sorted(set(groups[a]) & set(groups[b]))
        for key, name in COMPARED if common else ():
            out.append((label(a, b), name, paired([float(groups[a][s][key]) for s in common],
                                                  [float(groups[b][s][key]) for s in common])))
    return out


def comparisons(groups, reference):
    """Every group but the reference against it, labelled by the group."""
    return paired_rows(groups, [(g, reference) for g in groups if g != reference], lambda a, b: a)


def contrast_rows(groups, contrasts):
    """Each contrast (a, b) both of whose groups ran, labelled 'a − b'."""
    return paired_rows(groups, contrasts, lambda a, b: f"{a} − {b}")


CHOSEN = "@chosen"  # in a --contrast side: the variant at its setting chosen on validation


def resolve_chosen(dataset, groups, contrasts):
    """The contrasts with each VARIANT@chosen replaced by the variant's group at its chosen setting
    (tuned_choices); a contrast with an undecided side here is left out."""
    if not any(side.endswith(CHOSEN) for pair in contrasts for side in pair):
        return list(contrasts)
    choices = tuned_choices(dataset, groups)

    def group(side):
        if not side.endswith(CHOSEN):
            return side
        variant = side[:-len(CHOSEN)]
        point = choices.get(variant, (None, None))[0]
        return None if point is None else variant + ("@" + point if point else "")

    return [(group(a), group(b)) for a, b in contrasts if group(a) and group(b) and group(a) != group(b)]


SELECTION_SEEDS = (1, 2, 3)  # the seeds every sweep point runs; the choice on validation uses them


def tuned_choices(dataset, groups):
    """{variant: (chosen point, its mean) or (None, why)} for every variant with sweep points: the
    point, its own ("") or a sweep's, with the best mean validation paper NDCG@10 over
    SELECTION_SEEDS (experiments/best_points.py --overall: the same rule), test metrics unseen."""
    runs = {}
    for group, seeds in groups.items():
        variant, _, point = group.partition("@")
        runs[(dataset, variant, point)] = {s: float(r["val_paper_ndcg10"]) for s, r in seeds.items()}
    swept = {v for (_, v, p) in runs if p} & {v for (_, v, p) in runs if not p}
    return {v: best_of_present(runs, dataset, v, list(SELECTION_SEEDS)) for v in swept}


def tuned_section(dataset, groups, reference):
    """Each swept variant at its setting chosen on validation against the reference, or []."""
    choices = tuned_choices(dataset, groups)
    decided = {v: p for v, (p, _) in choices.items() if p is not None}
    if not choices or reference not in groups:
        return [], []
    pairs = [(v + ("@" + p if p else ""), reference) for v, p in sorted(decided.items())]
    rows = paired_rows(groups, pairs, lambda a, b: a if "@" in a else f"{a} (own point)")
    lines = [f"**{dataset}**, each swept variant at its setting chosen on validation (the best mean val paper "
             f"NDCG@10 over seeds {', '.join(map(str, SELECTION_SEEDS))} among its own point and its sweep points; "
             f"then every seed it ran), against {reference}: paired by seed; Holm over the rows of this table, "
             f"separately for each test. The validation rows are biased upwards by the choice; the test rows "
             f"are not.", ""]
    table, counts = paired_table(rows, f"variant at its chosen setting − {reference}") if rows else ([], [])
    lines += table
    lines += [f"- {v}: {why}" for v, (p, why) in sorted(choices.items()) if p is None]
    return lines + [""], counts


def comparison_table(groups, reference):
    return paired_table(comparisons(groups, reference), f"variant − {reference}")


def paired_table(rows, first_column):
    holm_t = holm([c["p_t"] for _, _, c in rows])
    holm_w = holm([c["p_w"] for _, _, c in rows])
    lines = [f"| {first_column} | metric | pairs | mean difference [95% CI] | paired t p | Holm | "
             f"Wilcoxon p | Holm |", "|---|---|---|---|---|---|---|---|"]
    for (group, name, c), ht, hw in zip(rows, holm_t, holm_w):
        lines.append(f"| {group} | {name} | {c['n']} | {fmt_diff(c)} | {fmt_p(c['p_t'])} | {fmt_p(ht)} | "
                     f"{fmt_p(c['p_w'])} | {fmt_p(hw)} |")
    return lines, sorted({c["n"] for _, _, c in rows})


def wilcoxon_note(pair_counts):
    small = [n for n in pair_counts if n < 6]
    if not small:
        return []
    floors = ", ".join(f"{2 ** (1 - n):.4g} with {n} pairs" for n in small)
    return [f"With fewer than 6 pairs the exact two-sided Wilcoxon p cannot go below 2/2^n ({floors}): "
            f"there it cannot reach 0.05 whatever the differences."]


def dataset_section(dataset, groups, reference, contrasts=()):
    lines = [f"**{dataset}**: mean ± half-width of the 95% CI (t distribution) over seeds.", ""]
    lines += summary_table(groups)
    lines.append("")
    pair_counts = []
    if reference not in groups:
        lines += [f"No `{reference}` runs on {dataset}: no paired comparison.", ""]
    else:
        table, pair_counts = comparison_table(groups, reference)
        lines += [f"**{dataset}**, against {reference}: differences paired by seed; Holm over the rows "
                  f"of this table, separately for each test.", ""] + table + [""]
        tuned, counts = tuned_section(dataset, groups, reference)
        lines += tuned
        pair_counts = sorted(set(pair_counts) | set(counts))
    rows = contrast_rows(groups, resolve_chosen(dataset, groups, contrasts))
    if rows:
        table, counts = paired_table(rows, "contrast")
        pair_counts = sorted(set(pair_counts) | set(counts))
        lines += [f"**{dataset}**, contrasts between variants: paired by seed; Holm over the rows of this "
                  f"table, separately for each test.", ""] + table + [""]
    note = wilcoxon_note(pair_counts)
    return lines + (note + [""] if note else [])


def compute_line(rows):
    seconds = sum(float(r["seconds"]) for r in rows)
    commits = sorted({r["commit"][:10] for r in rows})
    return (f"{len(rows)} runs, {seconds / 3600:.2f} h of training (sum of `seconds`), "
            f"binary commit{'s' if len(commits) > 1 else ''} {', '.join(commits)}")


def render(rows, reference, command, csv_name, contrasts=()):
    """The Markdown of every dataset's tables, headed by the command that made them."""
    lines = [f"Generated by `{command}` from `{csv_name}`: {compute_line(rows)}.", ""]
    for dataset, groups in by_dataset(rows, reference).items():
        lines += dataset_section(dataset, groups, reference, contrasts)
    return "\n".join(lines).rstrip("\n") + "\n"


def replace_block(text, study, content, path="REPORT"):
    begin, end = f"<!-- generated:{study}:begin -->", f"<!-- generated:{study}:end -->"
    if text.count(begin) != 1 or text.count(end) != 1 or text.index(begin) > text.index(end):
        raise AnalysisError(f"{path} needs one '{begin}' line and, after it, one '{end}' line")
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{begin}\n{content}{end}{tail}"


# ---------------------------------------------------------------------------------------------
# Plots (gnuplot)


def gnuplot(script, out_base, data_dir):
    """Runs a plot script twice: PNG then SVG, named out_base.png / .svg."""
    full = (f"cd '{data_dir}'\nset terminal pngcairo noenhanced size 900,560\nset output '{out_base}.png'\n"
            f"{script}\nset terminal svg noenhanced size 900,560\nset output '{out_base}.svg'\nreplot\n")
    subprocess.run(["gnuplot"], input=full, text=True, check=True)


def ci_columns(values):
    mean, low, high = mean_ci(values)
    return [mean, mean if math.isnan(low) else low, mean if math.isnan(high) else high]


def write_data(path, rows):
    with open(path, "w") as f:
        f.writelines(" ".join(str(v) for v in row) + "\n" for row in rows)


def plot_variants(dataset, groups, out_dir, tmp):
    rows = []
    for i, (group, seeds) in enumerate(groups.items()):
        runs = seeds.values()
        rows.append([i, f'"{group}"'] + ci_columns([float(r["test_paper_ndcg10"]) for r in runs]) +
                    ci_columns([float(r["test_full_ndcg10"]) for r in runs]))
    write_data(os.path.join(tmp, "variants.dat"), rows)
    gnuplot(f"set title '{dataset}: test NDCG@10, mean and 95% CI over seeds'\nset xtics rotate by -30\n"
            f"set xrange [-0.5:{len(rows) - 0.5}]\nset key outside\nset grid y\n"
            "plot 'variants.dat' using ($1-0.08):3:4:5:xtic(2) with yerrorbars pt 7 title 'paper (sampled)', "
            "'' using ($1+0.08):6:7:8 with yerrorbars pt 5 title 'full ranking'",
            os.path.join(out_dir, f"{dataset}_test_ndcg10"), tmp)


def plot_sweeps(dataset, groups, out_dir, tmp):
    sweeps = {}
    for group, seeds in groups.items():
        variant, _, point = group.partition("@")
        if point:
            sweep, value = point_value(point)
            if not isinstance(value, str):
                sweeps.setdefault((sweep, variant), []).append((value, list(seeds.values())))
    for (sweep, variant), points in sweeps.items():
        rows = [[v] + ci_columns([float(r["test_paper_ndcg10"]) for r in runs]) +
                ci_columns([float(r["test_full_ndcg10"]) for r in runs]) for v, runs in sorted(points)]
        write_data(os.path.join(tmp, "sweep.dat"), rows)
        values = [r[0] for r in rows]
        log = "set logscale x\n" if min(values) > 0 and max(values) >= 10 * min(values) else ""
        gnuplot(f"set title '{dataset}: {variant}, test NDCG@10 against {sweep}'\n{log}set xlabel '{sweep}'\n"
                "set key outside\nset grid\nset offsets graph 0.05, graph 0.05, 0, 0\n"
                "plot 'sweep.dat' using 1:2:3:4 with yerrorlines pt 7 lc 1 title 'paper (sampled)', "
                "'' using 1:5:6:7 with yerrorlines pt 5 lc 2 title 'full ranking'" + plain_lines(groups.get(variant), variant),
                os.path.join(out_dir, f"{dataset}_sweep_{sweep}_{variant}"), tmp)


def plain_lines(seeds, variant):
    """Dashed lines at the variant's means without sweep flags: the sweep's reference."""
    if not seeds:
        return ""
    paper, full = (sum(float(r[k]) for r in seeds.values()) / len(seeds) for k in ("test_paper_ndcg10", "test_full_ndcg10"))
    return (f", {paper} with lines dt 2 lc 1 title '{variant}, paper', "
            f"{full} with lines dt 2 lc 2 title '{variant}, full'")


def validation_curve(run_dirs):
    """[(epoch, mean validation paper NDCG@10 over the runs evaluated at that epoch)]."""
    by_epoch = {}
    for run in run_dirs:
        with open(os.path.join(run, "log.jsonl")) as f:
            for line in f:
                e = json.loads(line)
                if e.get("event") == "eval":
                    by_epoch.setdefault(e["epoch"], []).append(e["result"]["validation"]["sampled"]["ndcg@10"])
    return [(epoch, sum(v) / len(v)) for epoch, v in sorted(by_epoch.items())]


def plot_curves(dataset, groups, study_runs, out_dir, tmp):
    curves = {}
    for group in groups:
        folder = os.path.join(study_runs, dataset, group)
        runs = [os.path.join(folder, d) for d in sorted(os.listdir(folder))] if os.path.isdir(folder) else []
        runs = [r for r in runs if os.path.exists(os.path.join(r, "log.jsonl"))]
        if runs:
            curves[group] = validation_curve(runs)
    if not curves:
        return False
    last = max(epoch for curve in curves.values() for epoch, _ in curve)
    plots = []
    for i, (group, curve) in enumerate(curves.items()):
        if len(curve) == 1:  # nothing trained (popularity): a flat reference line
            curve = [(0, curve[0][1]), (last, curve[0][1])]
        write_data(os.path.join(tmp, f"curve{i}.dat"), curve)
        # gnuplot's 8 colours repeat: the next 8 curves are dashed.
        plots.append(f"'curve{i}.dat' using 1:2 with lines lw 2 lc {i % 8 + 1} dt {i // 8 + 1} title '{group}'")
    gnuplot(f"set title '{dataset}: validation paper NDCG@10, mean over seeds'\nset xlabel 'epoch'\n"
            "set key outside\nset grid\nplot " + ", ".join(plots),
            os.path.join(out_dir, f"{dataset}_validation_curve"), tmp)
    return True


def make_plots(rows, reference, out_dir, study_runs):
    if shutil.which("gnuplot") is None:
        print("gnuplot is not installed: no plots (apt-get install gnuplot-nox)")
        return
    os.makedirs(out_dir, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for dataset, groups in by_dataset(rows, reference).items():
            plot_variants(dataset, groups, out_dir, tmp)
            plot_sweeps(dataset, groups, out_dir, tmp)
            if not plot_curves(dataset, groups, study_runs, out_dir, tmp):
                print(f"{dataset}: no run folders under {study_runs}: no validation curves")
    print(f"plots in {out_dir}")


# ---------------------------------------------------------------------------------------------
# Main


def shown(path):
    """A path as the generated text names it: relative to the repository when inside it."""
    path = os.path.abspath(path)
    return os.path.relpath(path, REPO) if path.startswith(REPO + os.sep) else path


def commands(args):
    """The commands that make tables.md and the REPORT block (what their header line says)."""
    base = f"experiments/analyze_study.py {args.study}"
    if args.reference != "selfgnn":
        base += f" --reference {args.reference}"
    for contrast in args.contrast:
        base += f" --contrast {contrast}"
    if os.path.abspath(args.results_dir) != os.path.join(REPO, "experiments", "results"):
        base += f" --results-dir {shown(args.results_dir)}"
    return base, base + (f" --report {shown(args.report)}" if args.report else "")


def contrasts(args):
    """--contrast A:B (repeatable) -> [(A, B)]."""
    out = []
    for text in args.contrast:
        a, colon, b = text.partition(":")
        if not colon or not a or not b or a == b:
            raise AnalysisError(f"--contrast {text}: expected VARIANT:VARIANT (two different groups)")
        out.append((a, b))
    return out


def expected_files(args):
    """{path: text} of what this invocation writes."""
    csv_path = os.path.join(args.results_dir, args.study, "runs.csv")
    rows = load_rows(csv_path)
    tables_cmd, report_cmd = commands(args)
    out = {os.path.join(args.results_dir, args.study, "tables.md"):
           f"# Study {args.study}\n\n" + render(rows, args.reference, tables_cmd, shown(csv_path), contrasts(args))}
    if args.report:
        out[args.report] = replace_block(read_text(args.report), args.study,
                                         render(rows, args.reference, report_cmd, shown(csv_path), contrasts(args)),
                                         args.report)
    return out, rows


def read_text(path):
    with open(path) as f:
        return f.read()


def check(files):
    """Prints a diff for every file whose text differs; returns whether all match."""
    ok = True
    for path, want in files.items():
        have = read_text(path) if os.path.exists(path) else ""
        if have != want:
            ok = False
            sys.stdout.writelines(difflib.unified_diff(have.splitlines(True), want.splitlines(True),
                                                       f"{path} (now)", f"{path} (from the CSV)"))
    return ok


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("study")
    p.add_argument("--reference", default="selfgnn")
    p.add_argument("--contrast", action="append", default=[], metavar="A:B",
                   help="also compare group A with group B, paired by seed (repeatable; one more table)")
    p.add_argument("--report")
    p.add_argument("--check", action="store_true")
    p.add_argument("--plots", action="store_true")
    p.add_argument("--results-dir", default=os.path.join(REPO, "experiments", "results"))
    p.add_argument("--runs-dir", default=os.path.join(REPO, "runs", "studies"))
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        files, rows = expected_files(args)
    except (AnalysisError, OSError) as e:
        print(f"analyze_study: {e}", file=sys.stderr)
        return 2
    if args.check:
        if not check(files):
            print(f"analyze_study: out of date; rerun without --check: {commands(args)[1]}", file=sys.stderr)
            return 1
        return 0
    for path, text in files.items():
        with open(path, "w") as f:
            f.write(text)
        print(f"wrote {path}")
    if args.plots:
        make_plots(rows, args.reference, os.path.join(args.results_dir, args.study, "plots"),
                   os.path.join(args.runs_dir, args.study))
    return 0


if __name__ == "__main__":
    sys.exit(main())
