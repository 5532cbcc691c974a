#!/usr/bin/env python3
"""The main job's runner (experiments/main_job.sh calls it after setup, build and prepare):
trains the main variants on one prepared dataset concurrently, prints progress a person can
follow, then one table of the selected models' test metrics with each variant's difference to
SelfGNN, and a gnuplot PNG of test NDCG@10 under both protocols.

  experiments/main_job.py --bin BIN --data DIR --out DIR [--jobs N] [--cores C] [--only V,V]

Every variant trains with `BIN train --flagfile=experiments/configs/main/VARIANT.flags` into
OUT/VARIANT (replaced); its output goes to OUT/VARIANT.log. Then `BIN eval --ranks_out` writes
each test user's ranks (OUT/VARIANT/ranks.tsv), from which the differences to SelfGNN are
computed user by user: the mean of the per-user differences of NDCG@10 and its 95% interval
(normal, paired over users). That interval covers which users were sampled, not training
randomness (seeds): the study's five-seed tables (experiments/REPORT.md) give that.
Writes OUT/results.tsv, OUT/table.txt, OUT/ndcg10.png. Exit status 1 if any variant failed.
"""
import argparse
import csv
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = os.path.join("experiments", "configs", "main")
# Longest first, so that on few cores the long trainings start first (seconds per run on one
# thread of a 2-core machine running two of them: experiments/results/ablation/runs.csv).
VARIANTS = ["hardgnn", "hardgnn-random", "selfgnn", "mf", "popularity"]
REFERENCE = "selfgnn"
EPOCH_LINE = re.compile(r"^epoch (\d+):")
Z95 = 1.959964


@dataclass
class Job:
    name: str
    run_dir: str
    log: str
    epochs: int = 0
    bounded: bool = False  # --patience may end the run early: its time left is an upper bound
    proc: object = None
    start: float = 0.0
    end: float = 0.0
    returncode: object = None
    done_epochs: int = 0
    log_pos: int = 0
    error: str = ""
    extra: list = field(default_factory=list)


def clock(seconds):
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


def flag_value(path, name):
    """--NAME's last value in a flags file (flags.txt of a run), or None."""
    value = None
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(f"--{name}="):
                    value = line.strip().split("=", 1)[1]
    except OSError:
        pass
    return value


def read_new_epochs(job):
    """Advances job.done_epochs from the epoch lines the trainer wrote since the last call."""
    try:
        with open(job.log) as f:
            f.seek(job.log_pos)
            text = f.read()
    except OSError:
        return
    complete = text.rfind("\n") + 1  # a line still being written waits for the next call
    job.log_pos += complete
    for line in text[:complete].splitlines():
        m = EPOCH_LINE.match(line)
        if m:
            job.done_epochs = int(m.group(1)) + 1
    if not job.epochs:  # flags.txt is read once it is there
        flags = os.path.join(job.run_dir, "flags.txt")
        value = flag_value(flags, "epochs")
        job.epochs = int(value) if value and value.isdigit() else 0
        job.bounded = flag_value(flags, "patience") not in (None, "0")


def job_status(job, now):
    elapsed = now - job.start
    if not job.epochs or job.done_epochs == 0:
        return f"{job.name} starting ({clock(elapsed)})"
    left = elapsed / job.done_epochs * (job.epochs - job.done_epochs)
    bound = "<=" if job.bounded else "~"
    return f"{job.name} epoch {job.done_epochs}/{job.epochs} ({clock(elapsed)}, {bound}{clock(left)} left)"


def progress_line(jobs, t0, now):
    running = [j for j in jobs if j.proc is not None and j.returncode is None]
    waiting = [j.name for j in jobs if j.proc is None and j.returncode is None]
    done = sum(j.returncode is not None for j in jobs)
    parts = [job_status(j, now) for j in running]
    tail = f" | waiting: {', '.join(waiting)}" if waiting else ""
    return f"[main {clock(now - t0)}] {done}/{len(jobs)} done | " + " | ".join(parts) + tail


def train_command(binary, job, data, threads):
    return [binary, "train", f"--flagfile={os.path.join(CONFIGS, job.name)}.flags", f"--data={data}",
            f"--run_dir={job.run_dir}", f"--threads={threads}", "--progress=never"]


def run_trainings(binary, jobs, data, slots, threads, say, interval=30.0):
    """Trains the jobs, `slots` at a time, in list order; prints a progress line every
    `interval` seconds and a line at each start and end."""
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
    poll = min(1.0, interval / 2)
    t0 = last = time.time()
    pending = list(jobs)
    try:
        while pending or any(j.proc is not None and j.returncode is None for j in jobs):
            running = [j for j in jobs if j.proc is not None and j.returncode is None]
            while pending and len(running) < slots:
                job = pending.pop(0)
                shutil.rmtree(job.run_dir, ignore_errors=True)
                job.start = time.time()
                with open(job.log, "w") as log:
                    job.proc = subprocess.Popen(train_command(binary, job, data, threads), stdout=log,
                                                stderr=subprocess.STDOUT, cwd=REPO, env=env)
                say(f"[main {clock(job.start - t0)}] training {job.name} ({threads} thread{'s' * (threads > 1)}; "
                    f"log {os.path.relpath(job.log, REPO)})")
                running.append(job)
            time.sleep(poll)
            now = time.time()
            for job in running:
                read_new_epochs(job)
                code = job.proc.poll()
                if code is None:
                    continue
                job.returncode, job.end = code, now
                read_new_epochs(job)
                if code == 0:
                    say(f"[main {clock(now - t0)}] {job.name} finished in {clock(job.end - job.start)}")
                else:
                    job.error = f"exit status {code}"
                    say(f"[main {clock(now - t0)}] {job.name} FAILED ({job.error}); the end of its log:")
                    with open(job.log, errors="replace") as f:
                        for line in f.read().splitlines()[-8:]:
                            say("    " + line)
            if now - last >= interval and any(j.proc is not None and j.returncode is None for j in jobs):
                say(progress_line(jobs, t0, now))
                last = now
    finally:
        for job in jobs:
            if job.proc is not None and job.proc.poll() is None:
                job.proc.send_signal(signal.SIGTERM)
                job.proc.wait()
    return time.time() - t0


def write_ranks(binary, job, data):
    """`eval --ranks_out` on the selected model (popularity has no checkpoint)."""
    ranks = os.path.join(job.run_dir, "ranks.tsv")
    cmd = [binary, "eval", f"--flagfile={os.path.join(job.run_dir, 'flags.txt')}", f"--data={data}",
           f"--ranks_out={ranks}", "--threads=1"]
    if os.path.exists(os.path.join(job.run_dir, "best.pt")):
        cmd.append(f"--checkpoint={os.path.join(job.run_dir, 'best.pt')}")
    out = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    if out.returncode != 0:
        job.error = f"eval --ranks_out failed: {(out.stderr or out.stdout).strip()[-300:]}"
        return None
    return ranks


# ---------------------------------------------------------------------------------------------
# The table


def ndcg10(rank):
    return 1.0 / math.log2(rank + 2) if 0 <= rank < 10 else 0.0


def read_ranks(path):
    """{user: (sampled_rank, full_rank, revisit)} of the test split."""
    out = {}
    with open(path) as f:
        for row in csv.DictReader(f, delimiter="\t"):
            if row["split"] == "test":
                out[row["user"]] = (int(row["sampled_rank"]), int(row["full_rank"]), row["revisit"] == "1")
    return out


def mean_ci(values):
    n = len(values)
    mean = sum(values) / n
    var = sum((v - mean) ** 2 for v in values) / (n - 1) if n > 1 else 0.0
    return mean, Z95 * math.sqrt(var / n)


def paired_difference(ranks, reference, protocol):
    """Mean and 95% half-width of the per-user NDCG@10 difference (ranks - reference) over the
    users both evaluated; protocol 0: the paper's sampled, 1: full ranking."""
    users = sorted(set(ranks) & set(reference))
    return mean_ci([ndcg10(ranks[u][protocol]) - ndcg10(reference[u][protocol]) for u in users])


@dataclass
class Row:
    name: str
    users: int
    paper_ndcg: float
    paper_hr: float
    full_ndcg: float
    full_hr: float
    revisit_ndcg: float
    novel_ndcg: float
    paper_ci: float
    full_ci: float
    diff_paper: object = None  # (mean, half-width) against the reference, or None
    diff_full: object = None
    seconds: float = 0.0


def make_row(name, summary, ranks, reference_ranks, seconds):
    test = summary["best"]["test"]
    paper = [ndcg10(r[0]) for r in ranks.values()]
    full = [ndcg10(r[1]) for r in ranks.values()]
    row = Row(name, test["sampled"]["users"], test["sampled"]["ndcg@10"], test["sampled"]["hr@10"],
              test["full"]["ndcg@10"], test["full"]["hr@10"], test["full_revisit"]["ndcg@10"],
              test["full_novel"]["ndcg@10"], mean_ci(paper)[1], mean_ci(full)[1], seconds=seconds)
    if reference_ranks is not None and name != REFERENCE:
        row.diff_paper = paired_difference(ranks, reference_ranks, 0)
        row.diff_full = paired_difference(ranks, reference_ranks, 1)
    return row


def signed(diff):
    if diff is None:
        return "-"
    mean, half = diff
    return f"{mean:+.4f} [{mean - half:+.4f}, {mean + half:+.4f}]"


def format_table(rows, dataset, reference_present, reference_asked=True):
    users = rows[0].users if rows else 0
    lines = [
        f"Test metrics on {dataset} ({users} users; each model selected on validation paper NDCG@10).",
        "paper: the positive among 999 fixed sampled negatives; full: among every item the user has not",
        "visited (revisits / novel: test targets the user had / had not visited before).",
        (f"vs {REFERENCE}: the per-user difference of NDCG@10 and its 95% interval over users (paired);"
         if reference_present else f"vs {REFERENCE}: {REFERENCE} "
         f"{'did not finish' if reference_asked else 'is not in this run'}, no differences."),
        "it does not cover seed-to-seed variation (experiments/REPORT.md has the five-seed study).",
        "",
        f"{'model':<15} {'paper NDCG@10':>13} {'HR@10':>7} {'full NDCG@10':>12} {'HR@10':>7} {'revisits':>8} "
        f"{'novel':>7}  {'vs ' + REFERENCE + ', paper NDCG@10':<31} {'vs ' + REFERENCE + ', full NDCG@10':<31} {'time':>6}",
    ]
    for r in rows:
        lines.append(f"{r.name:<15} {r.paper_ndcg:>13.4f} {r.paper_hr:>7.4f} {r.full_ndcg:>12.4f} {r.full_hr:>7.4f} "
                     f"{r.revisit_ndcg:>8.4f} {r.novel_ndcg:>7.4f}  {signed(r.diff_paper):<31} "
                     f"{signed(r.diff_full):<31} {clock(r.seconds):>6}")
    return "\n".join(lines) + "\n"


def write_results(rows, path):
    with open(path, "w") as f:
        f.write("model\tusers\tpaper_ndcg10\tpaper_ci95\tpaper_hr10\tfull_ndcg10\tfull_ci95\tfull_hr10\t"
                "full_revisit_ndcg10\tfull_novel_ndcg10\tdiff_paper\tdiff_paper_ci95\tdiff_full\tdiff_full_ci95\tseconds\n")
        for r in rows:
            dp, df = r.diff_paper or ("", ""), r.diff_full or ("", "")
            f.write("\t".join(str(v) for v in (
                r.name, r.users, r.paper_ndcg, r.paper_ci, r.paper_hr, r.full_ndcg, r.full_ci, r.full_hr,
                r.revisit_ndcg, r.novel_ndcg, dp[0], dp[1], df[0], df[1], round(r.seconds, 1))) + "\n")


def plot(results_tsv, png, title):
    """Grouped bars of test NDCG@10 (paper protocol, full ranking) with 95% intervals over users."""
    if shutil.which("gnuplot") is None:
        return "gnuplot is not installed (tools/setup.sh installs gnuplot-nox): no plot"
    script = f"""
set terminal pngcairo size 760,420 font ",10" noenhanced
set output '{png}'
set datafile separator tab
set title "{title}"
set ylabel "test NDCG@10 (95% interval over users)"
set style data histograms
set style histogram errorbars gap 1.5 lw 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set key top right
set yrange [0:*]
set grid ytics
plot '{results_tsv}' every ::1 using 3:4:xtic(1) title "paper protocol (1 + 999 sampled)" lc rgb "#4477aa", \\
     '' every ::1 using 6:7 title "full ranking" lc rgb "#ee7733"
"""
    out = subprocess.run(["gnuplot"], input=script, capture_output=True, text=True)
    if out.returncode != 0:
        # pngcairo is missing from some gnuplot builds; the plain png terminal is everywhere.
        out = subprocess.run(["gnuplot"], input=script.replace("pngcairo", "png"), capture_output=True, text=True)
    return None if out.returncode == 0 else f"gnuplot failed: {out.stderr.strip()[-300:]}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--dataset_name", default="gowalla-nyc")
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--jobs", type=int, default=0, help="trainings at once (default: one per core)")
    parser.add_argument("--only", default="", help="comma-separated variants (default: all)")
    parser.add_argument("--interval", type=float, default=30.0, help="seconds between progress lines")
    args = parser.parse_args(argv)

    variants = [v for v in args.only.split(",") if v] or VARIANTS
    for v in variants:
        if v not in VARIANTS:
            parser.error(f"unknown variant '{v}' (the main job's: {', '.join(VARIANTS)})")
    binary = os.path.abspath(args.bin)
    os.makedirs(args.out, exist_ok=True)
    out = os.path.abspath(args.out)
    data = os.path.abspath(args.data)
    slots = max(1, min(args.jobs or args.cores, len(variants)))
    threads = max(1, args.cores // slots)
    jobs = [Job(v, os.path.join(out, v), os.path.join(out, v + ".log")) for v in variants]
    say = lambda line: print(line, flush=True)  # noqa: E731
    t_start = time.time()
    say(f"[main] {len(jobs)} models on {args.dataset_name}, {slots} at a time with {threads} "
        f"thread{'s' * (threads > 1)} each ({args.cores} cores); a progress line every {int(args.interval)} s")
    run_trainings(binary, jobs, data, slots, threads, say, interval=args.interval)

    ranks = {}
    for job in jobs:
        if job.returncode == 0:
            path = write_ranks(binary, job, data)
            if path:
                ranks[job.name] = read_ranks(path)
            else:
                say(f"[main] {job.name}: {job.error}")
    reference = ranks.get(REFERENCE)
    rows = []
    for job in jobs:
        if job.name not in ranks:
            continue
        with open(os.path.join(job.run_dir, "summary.json")) as f:
            summary = json.load(f)
        rows.append(make_row(job.name, summary, ranks[job.name], reference, job.end - job.start))
    order = {v: i for i, v in enumerate(["popularity", "mf", "selfgnn", "hardgnn-random", "hardgnn"])}
    rows.sort(key=lambda r: order.get(r.name, len(order)))
    table = format_table(rows, args.dataset_name, reference is not None, REFERENCE in variants)
    with open(os.path.join(out, "table.txt"), "w") as f:
        f.write(table)
    results = os.path.join(out, "results.tsv")
    write_results(rows, results)
    problem = plot(results, os.path.join(out, "ndcg10.png"), f"{args.dataset_name}: selected models, test") if rows else "nothing to plot"
    say("")
    say(table)
    if problem:
        say(f"[main] {problem}")
    failed = [j.name for j in jobs if j.returncode != 0 or j.error]
    rel = os.path.relpath(out, os.getcwd())
    say(f"[main] finished in {clock(time.time() - t_start)} (training {len(jobs)} models, {slots} at a time); runs in {rel}/, "
        f"table in {rel}/table.txt, plot in {rel}/ndcg10.png" + (f"; FAILED: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
