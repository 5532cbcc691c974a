#!/usr/bin/env python3
"""Runs a study: every (dataset, variant, sweep point, seed) cell of a study description that
the study's results CSV lacks, resumably, one `hardgnn train` per cell, one CSV row per run.

  experiments/study.py [options] STUDY        STUDY: a name (experiments/studies/STUDY.study)
                                              or the path of a .study file
  options: --jobs N (cells at once; each gets --threads=max(1, cores // N)), --cores C,
           --threads T (overrides that split), --only KEY=VALUE[,KEY=VALUE...] (keys dataset,
           variant, point, seed; a repeated key means any of its values), --dry-run (the
           missing cells and their command lines), --list (done/running/missing counts),
           --bin PATH (or env BIN; default: a copy of bazel-bin/hardgnn), --commit (git-commit
           the CSV after each row), --runs-dir (runs/studies), --results-dir (experiments/results)
Run it from anywhere; flags in the description are relative to the repository root, where
the trainings run.

Study description (one statement a line; '#' starts a comment; a line ending in '\\' goes on
on the next line):
  dataset NAME = FLAGS...        a dataset: its flags must include --data=
  variant NAME = FLAGS...        a model configuration; every variant runs on every dataset
  seeds = 1 2 3                  the seeds every cell runs with
  common = FLAGS...              flags for every run (optional)
  {dataset} in any flag          the cell's dataset name (for per-dataset presets, e.g.
                                 --flagfile=experiments/configs/baselines/{dataset}-sasrec.flags)
  sweep NAME = VARIANT... : VALUE FLAGS... | VALUE FLAGS...
                                 extra cells: each listed variant at each point VALUE, with
                                 the point's flags appended; the point is labelled NAME=VALUE
The command of a cell is
  BIN train --seed=S --progress=never --run_dir=DIR --threads=T
            <dataset flags> <common> <variant flags> <point flags> [--resume]
(gflags: a later flag overrides an earlier one), DIR being
runs/studies/STUDY/DATASET/VARIANT[@SWEEP=VALUE]/seedS and DIR.log its output.

A cell whose row is in experiments/results/STUDY/runs.csv is done. Otherwise its run folder
decides: summary.json -> only the row is appended; last.pt -> the run continues (--resume);
anything else -> the folder is removed and the run starts afresh. DIR.binary names the commit
of the binary that trained DIR: a folder trained by another binary (or of unknown origin) is
neither appended nor resumed but started afresh, so one study never mixes two binaries. A cell being trained holds
an flock on DIR.lock (the trainer inherits it), so a second runner skips it and --list counts
it as running. SIGINT/SIGTERM stop the trainings; everything stays resumable.
"""
import argparse
import csv
import fcntl
import io
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")
PLACEHOLDER = re.compile(r"\{[^{}]*\}")
RUNNER_FLAGS = ("seed", "run_dir", "threads", "progress", "resume")  # the runner sets these per cell
METRICS = [("hr10", "hr@10"), ("ndcg10", "ndcg@10"), ("hr20", "hr@20"), ("ndcg20", "ndcg@20"), ("mrr", "mrr")]
SPLITS = [("val", "validation"), ("test", "test")]
PROTOCOLS = [("paper", "sampled"), ("full", "full")]
HEADER = (["study", "dataset", "variant", "point", "seed", "best_epoch", "epochs_run", "steps", "seconds"] +
          [f"{s}_{p}_{m}" for s, _ in SPLITS for p, _ in PROTOCOLS for m, _ in METRICS] +
          ["test_full_revisit_ndcg10", "test_full_revisit_users", "test_full_novel_ndcg10",
           "test_full_novel_users", "commit", "flags"])


class StudyError(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# The description


@dataclass
class Sweep:
    variants: list
    points: dict  # value -> flags
    line: int


@dataclass
class Study:
    name: str
    path: str
    datasets: dict = field(default_factory=dict)  # name -> flags
    variants: dict = field(default_factory=dict)
    sweeps: dict = field(default_factory=dict)  # name -> Sweep
    seeds: list = field(default_factory=list)
    common: list = field(default_factory=list)


@dataclass(frozen=True)
class Cell:
    dataset: str
    variant: str
    point: str  # "" or SWEEP=VALUE
    seed: int

    def label(self):
        return f"{self.dataset}/{self.variant}{'@' + self.point if self.point else ''}/seed{self.seed}"

    def key(self):
        return (self.dataset, self.variant, self.point, str(self.seed))


def logical_lines(text):
    """(first line number, text) of each statement: continuations joined, blank lines and
    whole-line comments dropped."""
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        if not pending:
            start = number
        line = raw.rstrip()
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = (pending + line).strip()
        pending = ""
        if line and not line.startswith("#"):
            yield start, line
    if pending.strip():
        yield start, pending.strip()


def parse_flags(text, where):
    try:
        flags = shlex.split(text, comments=True)
    except ValueError as e:
        raise StudyError(f"{where}: {e}")
    for flag in flags:
        if not flag.startswith("-"):
            raise StudyError(f"{where}: '{flag}' is not a flag (flags start with --)")
        name = flag.lstrip("-").split("=", 1)[0]
        for placeholder in PLACEHOLDER.findall(flag):
            if placeholder != "{dataset}":
                raise StudyError(f"{where}: unknown placeholder '{placeholder}' in '{flag}' (only {{dataset}})")
        if name in RUNNER_FLAGS:
            raise StudyError(f"{where}: --{name} is set by the runner for each cell")
    return flags


def check_name(name, what, where):
    if not NAME.match(name):
        raise StudyError(f"{where}: bad {what} name '{name}' (letters, digits, _ . + -)")


def parse_sweep(value, where):
    variants_text, colon, points_text = value.partition(":")
    variants = variants_text.replace(",", " ").split()
    if not colon or not variants:
        raise StudyError(f"{where}: a sweep reads 'sweep NAME = VARIANT... : VALUE FLAGS... | VALUE FLAGS...'")
    if len(set(variants)) != len(variants):
        raise StudyError(f"{where}: a variant is listed twice")
    points = {}
    for point_text in points_text.split("|"):
        words = point_text.split(None, 1)
        if not words:
            raise StudyError(f"{where}: an empty sweep point")
        check_name(words[0], "sweep point", where)
        if words[0] in points:
            raise StudyError(f"{where}: duplicate sweep point '{words[0]}'")
        points[words[0]] = parse_flags(words[1] if len(words) > 1 else "", where)
    return variants, points


def add_statement(study, number, line):
    where = f"{study.path}:{number}"
    key_text, eq, value = line.partition("=")
    words = key_text.split()
    if not eq or not words:
        raise StudyError(f"{where}: expected 'KEY [NAME] = VALUE'")
    key = words[0]
    if key in ("seeds", "common"):
        if len(words) != 1:
            raise StudyError(f"{where}: '{key}' takes no name")
        if getattr(study, key):
            raise StudyError(f"{where}: '{key}' is given twice")
        if key == "common":
            study.common = parse_flags(value, where)
        else:
            study.seeds = parse_seeds(value, where)
        return
    if key not in ("dataset", "variant", "sweep"):
        raise StudyError(f"{where}: unknown key '{key}' (dataset, variant, sweep, seeds, common)")
    if len(words) != 2:
        raise StudyError(f"{where}: expected '{key} NAME = ...'")
    name = words[1]
    check_name(name, key, where)
    table = {"dataset": study.datasets, "variant": study.variants, "sweep": study.sweeps}[key]
    if name in table:
        raise StudyError(f"{where}: duplicate {key} '{name}'")
    if key == "sweep":
        table[name] = Sweep(*parse_sweep(value, where), line=number)
        return
    flags = parse_flags(value, where)
    if key == "dataset" and not any(f.startswith("--data=") for f in flags):
        raise StudyError(f"{where}: dataset '{name}' needs --data=")
    table[name] = flags


def parse_seeds(value, where):
    try:
        seeds = [int(s) for s in value.split()]
    except ValueError:
        raise StudyError(f"{where}: seeds are integers: '{value.strip()}'")
    if not seeds or len(set(seeds)) != len(seeds):
        raise StudyError(f"{where}: seeds must be distinct and at least one")
    return seeds


def parse_study(text, path, name=None):
    study = Study(name=name or os.path.splitext(os.path.basename(path))[0], path=path)
    check_name(study.name, "study", path)
    for number, line in logical_lines(text):
        add_statement(study, number, line)
    for sweep_name, sweep in study.sweeps.items():
        for v in sweep.variants:
            if v not in study.variants:
                raise StudyError(f"{path}:{sweep.line}: sweep '{sweep_name}' names unknown variant '{v}'")
    for key, what in (("datasets", "dataset"), ("variants", "variant"), ("seeds", "seeds")):
        if not getattr(study, key):
            raise StudyError(f"{path}: no {what} line")
    return study


def load_study(path):
    with open(path) as f:
        return parse_study(f.read(), path)


def cells(study):
    """Every cell, seed first so that early results cover every variant."""
    out = []
    for seed in study.seeds:
        for dataset in study.datasets:
            for variant in study.variants:
                out.append(Cell(dataset, variant, "", seed))
                for sweep_name, sweep in study.sweeps.items():
                    if variant in sweep.variants:
                        out += [Cell(dataset, variant, f"{sweep_name}={p}", seed) for p in sweep.points]
    return out


def cell_flags(study, cell):
    point = []
    if cell.point:
        sweep_name, value = cell.point.split("=", 1)
        point = study.sweeps[sweep_name].points[value]
    flags = study.datasets[cell.dataset] + study.common + study.variants[cell.variant] + point
    return [f.replace("{dataset}", cell.dataset) for f in flags]


def command(binary, study, cell, run_dir, threads, resume=False):
    return ([binary, "train", f"--seed={cell.seed}", "--progress=never", f"--run_dir={run_dir}",
             f"--threads={threads}"] + cell_flags(study, cell) + (["--resume"] if resume else []))


def parse_only(text):
    """'dataset=a,variant=b,variant=c' -> {'dataset': {'a'}, 'variant': {'b', 'c'}}"""
    wanted = {}
    for term in filter(None, (text or "").split(",")):
        key, eq, value = term.partition("=")
        if not eq or key not in ("dataset", "variant", "point", "seed"):
            raise StudyError(f"--only: '{term}' is not dataset=, variant=, point= or seed=")
        wanted.setdefault(key, set()).add(value)
    return wanted


def selected(cell, wanted):
    return all(str(getattr(cell, key)) in values for key, values in wanted.items())


# ---------------------------------------------------------------------------------------------
# The results CSV


def repair_torn_row(path, say=print):
    """Drops a last line without its newline (a write cut short); returns whether it did."""
    if not os.path.exists(path):
        return False
    with open(path, "rb+") as f:
        data = f.read()
        if not data or data.endswith(b"\n"):
            return False
        keep = data.rfind(b"\n") + 1
        f.truncate(keep)
        f.flush()
        os.fsync(f.fileno())
    say(f"{path}: dropped a torn last line: {data[keep:].decode(errors='replace')!r}")
    return True


def read_rows(path):
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        return []
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames != HEADER:
            raise StudyError(f"{path}: its header is not the runner's ({len(reader.fieldnames or [])} columns, "
                             f"expected {len(HEADER)}); move it away")
        return list(reader)


def done_rows(path):
    return {(r["dataset"], r["variant"], r["point"], r["seed"]): r for r in read_rows(path)}


def csv_line(values):
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(values)
    return out.getvalue()


def append_row(path, values):
    """Appends one row (the header first into an empty file) in one write, then fsyncs, so a
    kill leaves either the whole row or a torn last line that repair_torn_row drops."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # runners sharing the CSV write the header once
        text = csv_line(values)
        if os.fstat(fd).st_size == 0:
            text = csv_line(HEADER) + text
        os.write(fd, text.encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def epochs_run(run_dir):
    epochs = set()
    with open(os.path.join(run_dir, "log.jsonl")) as f:
        for line in f:
            event = json.loads(line)
            if event.get("event") == "epoch":
                epochs.add(event["epoch"])
    return len(epochs)


def result_row(study_name, cell, run_dir, commit, flags):
    with open(os.path.join(run_dir, "summary.json")) as f:
        s = json.load(f)
    best = s["best"]
    values = [study_name, cell.dataset, cell.variant, cell.point, cell.seed, s["best_epoch"],
              epochs_run(run_dir), s["steps"], f"{s['seconds']:.1f}"]
    values += [f"{best[split][protocol][m]:.6f}" for _, split in SPLITS for _, protocol in PROTOCOLS
               for _, m in METRICS]
    test = best["test"]
    values += [f"{test['full_revisit']['ndcg@10']:.6f}", test["full_revisit"]["users"],
               f"{test['full_novel']['ndcg@10']:.6f}", test["full_novel"]["users"], commit, flags]
    return values


def flag_string(cmd):
    """The command's flags (after BIN train), without --resume."""
    return " ".join(shlex.quote(a) for a in cmd[2:] if a != "--resume")


def comparable(flags):
    """A row's flags without those that may differ between runs of the same cell."""
    return [f for f in shlex.split(flags) if not f.startswith(("--threads=", "--run_dir="))]


# ---------------------------------------------------------------------------------------------
# Cells on disk


def trained_by(run_dir):
    """The binary commit stamped beside a run folder (DIR.binary), or None."""
    try:
        with open(run_dir + ".binary") as f:
            return f.read().strip()
    except OSError:
        return None


def decide(run_dir, in_csv, commit):
    """What a missing cell needs: done (row in the CSV), append (finished run, no row), resume
    (a checkpoint) or fresh; a folder not stamped as trained by `commit`'s binary is fresh."""
    if in_csv:
        return "done"
    if trained_by(run_dir) != commit:
        return "fresh"
    if os.path.exists(os.path.join(run_dir, "summary.json")):
        return "append"
    if os.path.exists(os.path.join(run_dir, "last.pt")):
        return "resume"
    return "fresh"


def try_lock(path):
    """An fd holding an exclusive flock on path, or None if another process holds it."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return fd
    except BlockingIOError:
        os.close(fd)
        return None


def is_running(run_dir):
    if not os.path.exists(run_dir + ".lock"):
        return False
    fd = try_lock(run_dir + ".lock")
    if fd is None:
        return True
    os.close(fd)
    return False


def repo_relative(path):
    """path relative to the repository (where trainings run) when inside it: CSV rows name
    run folders that way."""
    path = os.path.abspath(path)
    return os.path.relpath(path, REPO) if path.startswith(REPO + os.sep) else path


def git(*args):
    return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True)


def prepare_binary(study_runs):
    """Copies bazel-bin/hardgnn into the study's folder (a rename, so running trainers keep
    the old file) and returns (path, the tree's HEAD commit)."""
    source = os.path.join(REPO, "bazel-bin", "hardgnn")
    if not os.path.exists(source):
        raise StudyError(f"{source} is missing: build it (bazel build //:hardgnn) or pass --bin")
    head = git("rev-parse", "HEAD").stdout.strip() or "unknown"
    target = os.path.join(study_runs, "bin", "hardgnn")
    os.makedirs(os.path.dirname(target), exist_ok=True)
    shutil.copy2(source, target + ".tmp")
    os.replace(target + ".tmp", target)
    with open(os.path.join(study_runs, "bin", "commit"), "w") as f:
        f.write(head + "\n")
    return target, head


def git_commit(path, message, say=print, tries=5):
    """Commits only path (git commit -- path), retrying while another git holds the index."""
    for attempt in range(tries):
        if git("ls-files", "--error-unmatch", "--", path).returncode != 0:
            git("add", "--", path)  # a new CSV: git commit -- PATH only takes tracked paths
        done = git("commit", "-q", "-m", message, "--", path)
        if done.returncode == 0:
            return True
        if "index.lock" not in done.stderr or attempt == tries - 1:
            say(f"warning: git commit of {path} failed: {done.stderr.strip()}")
            return False
        time.sleep(1 + attempt)
    return False


# ---------------------------------------------------------------------------------------------
# The runner


@dataclass
class Job:
    cell: Cell
    run_dir: str
    proc: subprocess.Popen
    lock_fd: int
    cmd: list


class Runner:
    def __init__(self, study, runs_dir, csv_path, binary, commit, threads, jobs, git_commit_rows=False,
                 say=print):
        self.study, self.csv_path, self.binary, self.commit = study, csv_path, binary, commit
        self.study_runs = repo_relative(os.path.join(runs_dir, study.name))
        self.threads, self.jobs, self.git_commit_rows, self.say = threads, jobs, git_commit_rows, say
        self.running, self.failed, self.skipped, self.stopping = [], [], [], 0
        self.env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")  # idle OpenMP threads sleep, not spin

    def run_dir(self, cell):
        variant = cell.variant + ("@" + cell.point if cell.point else "")
        return os.path.join(self.study_runs, cell.dataset, variant, f"seed{cell.seed}")

    def command(self, cell, resume=False):
        return command(self.binary, self.study, cell, self.run_dir(cell), self.threads, resume)

    def stop(self, signum, _frame=None):
        self.stopping = signum
        for job in self.running:
            if job.proc.poll() is None:
                job.proc.terminate()

    def run(self, todo):
        """Trains the cells in todo (those missing from the CSV); returns the failed ones."""
        pending = list(todo)
        while (pending or self.running) and not self.stopping:
            while pending and len(self.running) < self.jobs and not self.stopping:
                self.start(pending.pop(0))
            self.reap()
            time.sleep(0.2)
        if self.stopping:
            self.stop(self.stopping)  # again: a trainer may have started after the signal
        for job in self.running:
            job.proc.wait()
        self.reap()
        return self.failed

    def start(self, cell):
        run_dir = self.run_dir(cell)
        lock_fd = try_lock(run_dir + ".lock")
        if lock_fd is None:
            self.say(f"skip {cell.label()}: another runner is training it")
            self.skipped.append(cell)
            return
        # Reread the CSV: another runner may have added the row.
        state = decide(run_dir, cell.key() in done_rows(self.csv_path), self.commit)
        if state in ("done", "append"):
            if state == "append":
                self.record(cell, run_dir, self.command(cell))
            os.close(lock_fd)
            return
        if state == "fresh":
            shutil.rmtree(run_dir, ignore_errors=True)
        os.makedirs(os.path.dirname(run_dir), exist_ok=True)
        with open(run_dir + ".binary", "w") as f:
            f.write(self.commit + "\n")
        cmd = self.command(cell, resume=state == "resume")
        with open(run_dir + ".log", "a") as log:
            log.write(f"# {time.strftime('%Y-%m-%d %H:%M:%S')} {state}: {shlex.join(cmd)}\n")
            log.flush()
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                    env=self.env, cwd=REPO, start_new_session=True, pass_fds=(lock_fd,))
        self.say(f"start {cell.label()} ({state}, --threads={self.threads})")
        self.running.append(Job(cell, run_dir, proc, lock_fd, cmd))

    def reap(self):
        for job in [j for j in self.running if j.proc.poll() is not None]:
            self.running.remove(job)
            self.finish(job)
            os.close(job.lock_fd)

    def finish(self, job):
        rc = job.proc.returncode
        if rc == 0 and os.path.exists(os.path.join(job.run_dir, "summary.json")):
            self.record(job.cell, job.run_dir, job.cmd)
        elif self.stopping:
            self.say(f"stopped {job.cell.label()} (resumable)")
        else:
            self.failed.append(job.cell)
            self.say(f"FAILED {job.cell.label()} (exit {rc}): see {job.run_dir}.log")

    def record(self, cell, run_dir, cmd):
        try:
            row = result_row(self.study.name, cell, run_dir, self.commit, flag_string(cmd))
        except (OSError, KeyError, ValueError) as e:  # an unreadable summary must not stop the others
            self.failed.append(cell)
            self.say(f"FAILED {cell.label()}: no row from {run_dir}: {e!r}")
            return
        append_row(self.csv_path, row)
        self.say(f"done {cell.label()}")
        if self.git_commit_rows:
            git_commit(self.csv_path, f"study {self.study.name}: {cell.label()}", self.say)


def status_table(runner, todo, rows):
    """Lines of done/running/missing counts per dataset and variant(@point), then totals."""
    groups, totals = {}, {"done": 0, "running": 0, "missing": 0}
    for cell in todo:
        state = ("done" if cell.key() in rows else
                 "running" if is_running(runner.run_dir(cell)) else "missing")
        name = (cell.dataset, cell.variant + ("@" + cell.point if cell.point else ""))
        groups.setdefault(name, dict.fromkeys(totals, 0))[state] += 1
        totals[state] += 1
    lines = [f"{'dataset':<20} {'variant':<32} {'done':>5} {'running':>8} {'missing':>8}"]
    lines += [f"{d:<20} {v:<32} {c['done']:>5} {c['running']:>8} {c['missing']:>8}" for (d, v), c in groups.items()]
    lines.append(f"{'total':<53} {totals['done']:>5} {totals['running']:>8} {totals['missing']:>8}")
    return lines


def stale_cells(runner, todo, rows):
    """Done cells whose recorded flags differ from the description's now."""
    return [c for c in todo if c.key() in rows and
            comparable(rows[c.key()]["flags"]) != comparable(flag_string(runner.command(c)))]


def study_path(arg):
    if os.sep in arg or arg.endswith(".study"):
        return os.path.abspath(arg)
    return os.path.join(REPO, "experiments", "studies", arg + ".study")


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("study")
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("--cores", type=int, default=len(os.sched_getaffinity(0)) or os.cpu_count())
    p.add_argument("--threads", type=int, help="per training (default max(1, cores // jobs))")
    p.add_argument("--only", default="")
    p.add_argument("--dry-run", action="store_true")
    p.add_argument("--list", action="store_true")
    p.add_argument("--bin", default=os.environ.get("BIN"))
    p.add_argument("--bin-commit", default="unknown", help="the commit recorded for --bin")
    p.add_argument("--commit", action="store_true", help="git-commit the CSV after each row")
    p.add_argument("--runs-dir", default=os.path.join(REPO, "runs", "studies"))
    p.add_argument("--results-dir", default=os.path.join(REPO, "experiments", "results"))
    args = p.parse_args(argv)
    if args.jobs < 1:
        p.error("--jobs must be at least 1")
    return args


def setup(args):
    """The runner for args, from the repository root (where trainings run), and its cells."""
    study = load_study(study_path(args.study))
    wanted = parse_only(args.only)
    csv_path = os.path.join(os.path.abspath(args.results_dir), study.name, "runs.csv")
    runs_dir = os.path.abspath(args.runs_dir)
    binary = os.path.abspath(args.bin) if args.bin else None
    os.chdir(REPO)
    threads = args.threads or max(1, args.cores // args.jobs)
    runner = Runner(study, runs_dir, csv_path, binary, args.bin_commit, threads, args.jobs, args.commit)
    runner.binary = binary or os.path.join(runner.study_runs, "bin", "hardgnn")
    return runner, [c for c in cells(study) if selected(c, wanted)]


def run_missing(runner, missing, total, fresh_binary):
    name = runner.study.name
    if fresh_binary:
        runner.binary, runner.commit = prepare_binary(runner.study_runs)
    print(f"study {name}: {len(missing)} of {total} cells to run, {runner.jobs} at a time, "
          f"--threads={runner.threads}, binary {runner.binary} ({runner.commit})")
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, runner.stop)
    failed = runner.run(missing)
    if runner.stopping:
        print(f"study {name}: stopped; rerun to continue")
        return 128 + runner.stopping
    if failed:
        print(f"study {name}: {len(failed)} run(s) failed: " + ", ".join(c.label() for c in failed))
        return 1
    if runner.skipped:
        print(f"study {name}: done but for {len(runner.skipped)} cell(s) another runner is training")
        return 0
    print(f"study {name}: done ({runner.csv_path})")
    return 0


def main(argv=None):
    args = parse_args(argv)
    try:
        runner, todo = setup(args)
        repair_torn_row(runner.csv_path)
        rows = done_rows(runner.csv_path)
        for cell in stale_cells(runner, todo, rows):
            print(f"warning: {cell.label()}: its CSV row has other flags than the description now "
                  f"(delete the row to rerun it)")
        if args.list:
            print("\n".join(status_table(runner, todo, rows)))
            return 0
        missing = [c for c in todo if c.key() not in rows]
        if args.dry_run:
            for cell in missing:
                state = decide(runner.run_dir(cell), False, runner.commit)
                what = "its row only" if state == "append" else shlex.join(runner.command(cell, state == "resume"))
                print(f"{cell.label()} ({state}): {what}")
            return 0
        if not missing:
            print(f"study {runner.study.name}: all {len(todo)} cells done ({runner.csv_path})")
            return 0
        return run_missing(runner, missing, len(todo), fresh_binary=not args.bin)
    except (StudyError, OSError) as e:
        print(f"study: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.stdout.reconfigure(line_buffering=True)  # progress lines reach a log file as they happen
    sys.exit(main())
