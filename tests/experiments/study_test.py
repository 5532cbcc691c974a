"""Tests of experiments/study.py: the description parser, the cells, the resume decisions, the
CSV, and the runner with a fake trainer (a script that writes what `hardgnn train` writes)."""
import contextlib
import csv
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest

sys.path.insert(0, os.path.dirname(os.environ.get("STUDY_PY", os.path.join(
    os.path.dirname(__file__), "..", "..", "experiments", "study.py"))))
import study  # noqa: E402

EXAMPLE = textwrap.dedent("""\
    # two datasets, two variants, one sweep
    dataset nyc  = --data=runs/data/gowalla-nyc --flagfile=experiments/configs/gowalla-nyc.flags
    dataset yelp = --data=runs/data/yelp2019-2slices \\
                   --flagfile=experiments/configs/yelp2019.flags
    variant selfgnn = --flagfile=experiments/configs/variants/selfgnn.flags
    variant hardgnn = --flagfile=experiments/configs/variants/hardgnn.flags   # the proposal
    seeds = 1 2
    common = --eval_every=5
    sweep lambda = hardgnn : 0.01 --contrastive_weight=0.01 | 0.05 --contrastive_weight=0.05
    """)

# The fake trainer: writes log.jsonl, last.pt and summary.json like `hardgnn train`; fails
# with --fail; sleeps with --sleep=S after its checkpoint; appends its argv and
# OMP_WAIT_POLICY to $FAKE_CALLS.
FAKE = textwrap.dedent("""\
    import json, os, sys, time
    args = dict(a[2:].split("=", 1) if "=" in a else (a[2:], "1") for a in sys.argv[2:])
    with open(os.environ["FAKE_CALLS"], "a") as f:
        f.write(json.dumps({"argv": sys.argv[1:], "omp": os.environ.get("OMP_WAIT_POLICY"),
                            "pid": os.getpid()}) + "\\n")
    if "fail" in args:
        sys.exit(3)
    run = args["run_dir"]
    os.makedirs(run, exist_ok=True)
    with open(os.path.join(run, "log.jsonl"), "a") as f:
        f.write(json.dumps({"event": "epoch", "epoch": 0}) + "\\n")
        f.write(json.dumps({"event": "epoch", "epoch": 1}) + "\\n")
    open(os.path.join(run, "last.pt"), "w").close()
    time.sleep(float(args.get("sleep", 0)))
    m = {"users": 10, "hr@10": 0.5, "ndcg@10": 0.25 + int(args["seed"]) / 1000, "hr@20": 0.6, "ndcg@20": 0.3,
         "mrr": 0.2}
    split = {k: m for k in ("sampled", "full", "full_revisit", "full_novel")}
    json.dump({"best_epoch": 1, "steps": 7, "seconds": 1.5, "best": {"validation": split, "test": split}},
              open(os.path.join(run, "summary.json"), "w"))
    """)


def parse(text, path="x.study"):
    return study.parse_study(text, path)


class ParserTest(unittest.TestCase):
    def test_example(self):
        s = parse(EXAMPLE, "studies/main.study")
        self.assertEqual(s.name, "main")
        self.assertEqual(list(s.datasets), ["nyc", "yelp"])
        self.assertEqual(s.datasets["yelp"], ["--data=runs/data/yelp2019-2slices",
                                              "--flagfile=experiments/configs/yelp2019.flags"])
        self.assertEqual(s.variants["hardgnn"], ["--flagfile=experiments/configs/variants/hardgnn.flags"])
        self.assertEqual(s.seeds, [1, 2])
        self.assertEqual(s.common, ["--eval_every=5"])
        self.assertEqual(s.sweeps["lambda"].variants, ["hardgnn"])
        self.assertEqual(s.sweeps["lambda"].points, {"0.01": ["--contrastive_weight=0.01"],
                                                     "0.05": ["--contrastive_weight=0.05"]})

    def assertError(self, text, *fragments):
        with self.assertRaises(study.StudyError) as e:
            parse(text, "s.study")
        for fragment in fragments:
            self.assertIn(fragment, str(e.exception))

    def test_errors_name_file_and_line(self):
        base = "dataset d = --data=x\nvariant v = --a=1\nseeds = 1\n"
        self.assertError(base + "colour = red\n", "s.study:4:", "unknown key 'colour'")
        self.assertError(base + "sweep w = nope : 1 --b=1\n", "s.study:4:", "sweep 'w' names unknown variant 'nope'")
        self.assertError(base + "variant v = --b=2\n", "s.study:4:", "duplicate variant 'v'")
        self.assertError("dataset d = --data=x\ndataset d = --data=y\n", "s.study:2:", "duplicate dataset 'd'")
        self.assertError(base + "sweep w = v : 1 --b=1 | 1 --b=2\n", "s.study:4:", "duplicate sweep point '1'")
        self.assertError(base + "sweep w = v : 1 --b=1\nsweep w = v : 2 --b=1\n", "s.study:5:", "duplicate sweep 'w'")
        self.assertError(base + "seeds = 2\n", "s.study:4:", "'seeds' is given twice")
        self.assertError("dataset d = --flagfile=f\n", "s.study:1:", "needs --data=")
        self.assertError(base + "common = --seed=3\n", "s.study:4:", "--seed is set by the runner")
        self.assertError(base + "common = epochs=3\n", "s.study:4:", "'epochs=3' is not a flag")
        self.assertError("dataset d = --data=x\nvariant v =\nseeds = a\n", "s.study:3:", "seeds are integers")
        self.assertError("dataset d = --data=x\nvariant v =\n", "s.study: no seeds line")
        self.assertError(base + "variant a/b = --x=1\n", "s.study:4:", "bad variant name 'a/b'")

    def test_cells_and_commands(self):
        s = parse(EXAMPLE)
        cells = study.cells(s)
        self.assertEqual(len(cells), 2 * 2 * (2 + 2))  # seeds x datasets x (variants + sweep points)
        self.assertEqual([c.label() for c in cells[:4]],
                         ["nyc/selfgnn/seed1", "nyc/hardgnn/seed1", "nyc/hardgnn@lambda=0.01/seed1",
                          "nyc/hardgnn@lambda=0.05/seed1"])
        cmd = study.command("BIN", s, cells[2], "DIR", 3)
        self.assertEqual(cmd, ["BIN", "train", "--seed=1", "--progress=never", "--run_dir=DIR", "--threads=3",
                               "--data=runs/data/gowalla-nyc", "--flagfile=experiments/configs/gowalla-nyc.flags",
                               "--eval_every=5", "--flagfile=experiments/configs/variants/hardgnn.flags",
                               "--contrastive_weight=0.01"])
        self.assertEqual(study.command("BIN", s, cells[0], "DIR", 1, resume=True)[-1], "--resume")

    def test_dataset_placeholder(self):
        s = parse(EXAMPLE + "variant sasrec = --flagfile=configs/{dataset}-sasrec.flags\n")
        by_label = {c.label(): c for c in study.cells(s)}
        self.assertEqual(study.cell_flags(s, by_label["yelp/sasrec/seed2"])[-1], "--flagfile=configs/yelp-sasrec.flags")
        self.assertEqual(study.cell_flags(s, by_label["nyc/sasrec/seed1"])[-1], "--flagfile=configs/nyc-sasrec.flags")
        with self.assertRaises(study.StudyError) as e:
            parse(EXAMPLE + "variant v = --flagfile={data}.flags\n")
        self.assertIn("unknown placeholder '{data}'", str(e.exception))

    def test_only(self):
        wanted = study.parse_only("dataset=yelp,variant=selfgnn,variant=hardgnn,seed=2")
        chosen = [c.label() for c in study.cells(parse(EXAMPLE)) if study.selected(c, wanted)]
        self.assertEqual(chosen, ["yelp/selfgnn/seed2", "yelp/hardgnn/seed2", "yelp/hardgnn@lambda=0.01/seed2",
                                  "yelp/hardgnn@lambda=0.05/seed2"])
        point = study.parse_only("point=lambda=0.05")
        self.assertEqual(len([c for c in study.cells(parse(EXAMPLE)) if study.selected(c, point)]), 4)
        with self.assertRaises(study.StudyError):
            study.parse_only("colour=red")


class DiskTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def touch(self, *parts):
        path = os.path.join(self.dir, *parts)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        open(path, "w").close()

    def stamp(self, name, commit):
        with open(os.path.join(self.dir, name + ".binary"), "w") as f:
            f.write(commit + "\n")

    def test_decide(self):
        self.touch("a", "last.pt")
        self.touch("b", "last.pt")
        self.touch("b", "summary.json")
        self.touch("c", "log.jsonl")
        for name in "abc":
            self.stamp(name, "c0ffee")
        decide = lambda name, in_csv=False, commit="c0ffee": study.decide(os.path.join(self.dir, name), in_csv, commit)
        self.assertEqual(decide("a"), "resume")
        self.assertEqual(decide("b"), "append")
        self.assertEqual(decide("c"), "fresh")
        self.assertEqual(decide("none"), "fresh")
        self.assertEqual(decide("b", in_csv=True), "done")
        # Trained by another binary, or unstamped: neither appended nor resumed.
        self.assertEqual(decide("a", commit="beef"), "fresh")
        self.assertEqual(decide("b", commit="beef"), "fresh")
        self.touch("d", "summary.json")
        self.assertEqual(decide("d"), "fresh")

    def test_torn_row_is_dropped(self):
        path = os.path.join(self.dir, "runs.csv")
        row = ["s", "d", "v", "", 1] + ["0"] * (len(study.HEADER) - 5)
        study.append_row(path, row)
        with open(path, "a") as f:
            f.write("s,d,v,,2,0,0")  # a write cut short
        said = []
        self.assertTrue(study.repair_torn_row(path, said.append))
        self.assertIn("dropped a torn last line", said[0])
        self.assertFalse(study.repair_torn_row(path, said.append))
        study.append_row(path, row[:4] + [3] + row[5:])
        self.assertEqual([r["seed"] for r in study.read_rows(path)], ["1", "3"])
        with open(path) as f:
            self.assertEqual(f.readline().strip(), ",".join(study.HEADER))

    def test_foreign_header_is_an_error(self):
        path = os.path.join(self.dir, "runs.csv")
        with open(path, "w") as f:
            f.write("label,seed\nx,1\n")
        with self.assertRaises(study.StudyError):
            study.read_rows(path)

    def test_lock(self):
        run_dir = os.path.join(self.dir, "d", "v", "seed1")
        self.assertFalse(study.is_running(run_dir))
        fd = study.try_lock(run_dir + ".lock")
        try:
            self.assertTrue(study.is_running(run_dir))
            self.assertIsNone(study.try_lock(run_dir + ".lock"))
        finally:
            os.close(fd)
        self.assertFalse(study.is_running(run_dir))


class RunnerTest(unittest.TestCase):
    """The runner against the fake trainer."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name
        self.fake = os.path.join(self.dir, "fake_train")
        with open(self.fake, "w") as f:
            f.write(f"#!{sys.executable}\n" + FAKE)
        os.chmod(self.fake, 0o755)
        self.calls = os.path.join(self.dir, "calls.jsonl")
        os.environ["FAKE_CALLS"] = self.calls
        self.study_file = os.path.join(self.dir, "t.study")
        self.write_study("")

    def tearDown(self):
        self.tmp.cleanup()

    def write_study(self, extra):
        with open(self.study_file, "w") as f:
            f.write("dataset d = --data=x\nvariant a = --a=1\nvariant b = --b=1\nseeds = 1 2\n" + extra)

    def main(self, *args):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            rc = study.main([self.study_file, "--bin", self.fake, "--runs-dir", os.path.join(self.dir, "runs"),
                             "--results-dir", os.path.join(self.dir, "results"), *args])
        return rc, out.getvalue()

    def run_dir(self, variant, seed):
        return os.path.join(self.dir, "runs", "t", "d", variant, f"seed{seed}")

    def fake_calls(self):
        if not os.path.exists(self.calls):
            return []
        with open(self.calls) as f:
            return [json.loads(line) for line in f]

    def rows(self):
        with open(os.path.join(self.dir, "results", "t", "runs.csv")) as f:
            return list(csv.DictReader(f))

    def test_runs_missing_cells_once(self):
        rc, out = self.main("--jobs", "2", "--cores", "4")
        self.assertEqual(rc, 0, out)
        calls = self.fake_calls()
        self.assertEqual(len(calls), 4)
        self.assertTrue(all("--threads=2" in c["argv"] and c["omp"] == "PASSIVE" for c in calls))
        rows = self.rows()
        self.assertEqual(sorted((r["variant"], r["seed"]) for r in rows), [("a", "1"), ("a", "2"), ("b", "1"), ("b", "2")])
        row = next(r for r in rows if r["variant"] == "a" and r["seed"] == "2")
        self.assertEqual((row["study"], row["dataset"], row["point"], row["best_epoch"], row["epochs_run"], row["steps"],
                          row["seconds"], row["test_full_ndcg10"], row["val_paper_ndcg10"], row["commit"]),
                         ("t", "d", "", "1", "2", "7", "1.5", "0.252000", "0.252000", "unknown"))
        self.assertTrue(row["flags"].startswith("--seed=2 --progress=never --run_dir="))
        self.assertTrue(row["flags"].endswith("--data=x --a=1"))
        rc, out = self.main()
        self.assertEqual((rc, len(self.fake_calls())), (0, 4), out)
        self.assertIn("all 4 cells done", out)

    def test_resume_append_and_fresh(self):
        os.makedirs(self.run_dir("a", 1))
        open(os.path.join(self.run_dir("a", 1), "last.pt"), "w").close()  # interrupted: resume
        os.makedirs(self.run_dir("a", 2))
        open(os.path.join(self.run_dir("a", 2), "junk"), "w").close()  # no checkpoint: start afresh
        subprocess.run([self.fake, "train", "--seed=1", f"--run_dir={self.run_dir('b', 1)}"], check=True)
        os.remove(self.calls)  # b/seed1 finished but has no row: append only
        for run in (self.run_dir("a", 1), self.run_dir("b", 1)):  # trained by this binary
            with open(run + ".binary", "w") as f:
                f.write("unknown\n")
        rc, out = self.main("--dry-run")
        self.assertIn("d/a/seed1 (resume)", out)
        self.assertIn("d/b/seed1 (append)", out)
        self.assertIn("d/a/seed2 (fresh)", out)
        self.assertEqual(self.fake_calls(), [])
        rc, out = self.main()
        self.assertEqual(rc, 0, out)
        calls = self.fake_calls()
        self.assertEqual(len(calls), 3)  # a/seed1 (resumed), a/seed2, b/seed2
        resumed = [c["argv"] for c in calls if "--resume" in c["argv"]]
        self.assertEqual(len(resumed), 1)
        self.assertIn(f"--run_dir={self.run_dir('a', 1)}", resumed[0])
        self.assertFalse(os.path.exists(os.path.join(self.run_dir("a", 2), "junk")))
        self.assertEqual(len(self.rows()), 4)
        with open(self.run_dir("a", 1) + ".binary") as f:
            self.assertEqual(f.read(), "unknown\n")

    def test_a_folder_trained_by_another_binary_starts_afresh(self):
        subprocess.run([self.fake, "train", "--seed=1", f"--run_dir={self.run_dir('a', 1)}"], check=True)
        os.remove(self.calls)
        with open(self.run_dir("a", 1) + ".binary", "w") as f:
            f.write("0ther\n")
        rc, out = self.main("--dry-run")
        self.assertIn("d/a/seed1 (fresh)", out)
        rc, out = self.main()
        self.assertEqual(rc, 0, out)
        self.assertIn(f"--run_dir={self.run_dir('a', 1)}", " ".join(" ".join(c["argv"]) for c in self.fake_calls()))
        self.assertEqual(len(self.fake_calls()), 4)  # every cell trained, a/seed1 included

    def test_failure_is_reported_and_others_run(self):
        self.write_study("variant bad = --fail\n")
        rc, out = self.main()
        self.assertEqual(rc, 1)
        self.assertIn(f"FAILED d/bad/seed1 (exit 3): see {self.run_dir('bad', 1)}.log", out)
        self.assertEqual(len(self.rows()), 4)
        self.assertEqual(len(self.fake_calls()), 6)  # each failing cell tried once
        rc, out = self.main("--list")
        self.assertIn("missing", out.splitlines()[0])
        self.assertRegex(out.splitlines()[-1], r"total\s+4\s+0\s+2$")

    def test_an_unreadable_summary_fails_its_cell_only(self):
        os.makedirs(self.run_dir("a", 1))
        with open(os.path.join(self.run_dir("a", 1), "summary.json"), "w") as f:
            f.write("{}")
        with open(self.run_dir("a", 1) + ".binary", "w") as f:
            f.write("unknown\n")
        rc, out = self.main()
        self.assertEqual(rc, 1, out)
        self.assertIn("FAILED d/a/seed1: no row from", out)
        self.assertEqual(len(self.rows()), 3)

    def test_a_cell_locked_by_another_runner_is_skipped(self):
        fd = study.try_lock(self.run_dir("a", 1) + ".lock")
        try:
            rc, out = self.main("--list")
            self.assertRegex(out, r"d\s+a\s+0\s+1\s+1")
            rc, out = self.main()
        finally:
            os.close(fd)
        self.assertEqual(rc, 0, out)
        self.assertIn("skip d/a/seed1: another runner is training it", out)
        self.assertIn("done but for 1 cell(s) another runner is training", out)
        self.assertEqual(len(self.fake_calls()), 3)

    def test_changed_flags_are_flagged(self):
        self.main("--only", "variant=a")
        rc, out = self.main("--list")
        self.assertNotIn("warning", out)
        with open(self.study_file, "w") as f:
            f.write("dataset d = --data=x\nvariant a = --a=2\nvariant b = --b=1\nseeds = 1 2\n")
        rc, out = self.main("--list")
        self.assertIn("warning: d/a/seed1: its CSV row has other flags", out)

    def test_sigterm_stops_children_and_leaves_it_resumable(self):
        self.write_study("common = --sleep=30\n")
        here = os.path.dirname(os.path.abspath(study.__file__))
        proc = subprocess.Popen([sys.executable, os.path.join(here, "study.py"), self.study_file, "--bin", self.fake,
                                 "--runs-dir", os.path.join(self.dir, "runs"),
                                 "--results-dir", os.path.join(self.dir, "results"), "--jobs", "2"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.time() + 20
        while len(self.fake_calls()) < 2 or not all(
                os.path.exists(os.path.join(self.run_dir(v, 1), "last.pt")) for v in "ab"):
            self.assertLess(time.time(), deadline, "the fake trainers did not start")
            time.sleep(0.1)
        self.assertTrue(study.is_running(self.run_dir("a", 1)))
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=20)
        self.assertEqual(proc.returncode, 128 + signal.SIGTERM, out)
        self.assertIn("stopped; rerun to continue", out)
        for call in self.fake_calls():
            with self.assertRaises(ProcessLookupError):
                os.kill(call["pid"], 0)
        self.assertFalse(study.is_running(self.run_dir("a", 1)))
        rc, out = self.main("--dry-run")
        self.assertIn("d/a/seed1 (resume)", out)
        self.assertIn("d/b/seed1 (resume)", out)


if __name__ == "__main__":
    unittest.main()
