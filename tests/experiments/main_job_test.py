"""Tests of experiments/main_job.py with a fake `hardgnn` (a script that writes what train and
eval write): concurrency within the cores, progress lines, the table's numbers against an
independent computation, a failing variant, and the plot."""
import csv
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import unittest

MAIN_JOB = os.environ.get("MAIN_JOB_PY", os.path.join(os.path.dirname(__file__), "..", "..", "experiments",
                                                       "main_job.py"))
sys.path.insert(0, os.path.dirname(os.path.abspath(MAIN_JOB)))
import main_job  # noqa: E402


def read(path):
    with open(path) as f:
        return f.read()


def tsv(path):
    return list(csv.DictReader(read(path).splitlines(), delimiter="\t"))

USERS = 40

# The fake binary. Each variant's test ranks are a fixed function of (variant, user); train
# prints epoch lines (sleeping between them) and writes flags.txt, best.pt and summary.json
# with the metrics of those ranks; eval --ranks_out writes them. FAKE_FAIL names a variant
# whose training fails. Every call appends (command, variant, start, end) to $FAKE_CALLS.
FAKE = textwrap.dedent("""\
    import json, math, os, sys, time
    USERS = %d
    def ranks(variant, user):
        h = sum(map(ord, variant)) * 7919 + user * 104729
        return h %% 17, (h // 17) %% 60, user %% 3 == 0   # sampled, full, revisit
    def ndcg(r): return 1 / math.log2(r + 2) if r < 10 else 0.0
    def hr(r): return 1.0 if r < 10 else 0.0
    def metrics(values, which, keep):
        chosen = [v for u, v in enumerate(values) if keep(u)]
        return {"users": len(chosen), "ndcg@10": sum(ndcg(r[which]) for r in chosen) / len(chosen),
                "hr@10": sum(hr(r[which]) for r in chosen) / len(chosen)}
    command = sys.argv[1]
    args = dict(a[2:].split("=", 1) for a in sys.argv[2:] if "=" in a)
    flags = args["flagfile"]
    start = time.time()
    if command == "train":
        variant = os.path.basename(flags)[:-len(".flags")]
        run = args["run_dir"]
        os.makedirs(run)
        with open(os.path.join(run, "flags.txt"), "w") as f:
            f.write("--epochs=3\\n--patience=%%d\\n--variant=%%s\\n" %% (2 if variant == "mf" else 0, variant))
        if os.environ.get("FAKE_FAIL") == variant:
            print("epoch 0: loss nan")
            print("error: the loss is not finite")
            sys.exit(2)
        for epoch in range(3):
            time.sleep(0.6)
            print(f"epoch {epoch}: loss 0.5; 0.3s", flush=True)
        if variant != "popularity":
            open(os.path.join(run, "best.pt"), "w").close()
        values = [ranks(variant, u) for u in range(USERS)]
        test = {"sampled": metrics(values, 0, lambda u: True), "full": metrics(values, 1, lambda u: True),
                "full_revisit": metrics(values, 1, lambda u: values[u][2]),
                "full_novel": metrics(values, 1, lambda u: not values[u][2])}
        json.dump({"best": {"test": test}}, open(os.path.join(run, "summary.json"), "w"))
    else:
        run = os.path.dirname(flags)
        variant = [l.split("=", 1)[1].strip() for l in open(flags) if l.startswith("--variant=")][0]
        assert ("checkpoint" in args) == (variant != "popularity"), args
        with open(args["ranks_out"], "w") as f:
            f.write("split\\tuser\\ttarget\\trevisit\\tsampled_rank\\tfull_rank\\n")
            for u in range(USERS):
                s, full, revisit = ranks(variant, u)
                f.write(f"validation\\tu{u}\\ti0\\t0\\t0\\t0\\n")
                f.write(f"test\\tu{u}\\ti{u}\\t{int(revisit)}\\t{s}\\t{full}\\n")
    with open(os.environ["FAKE_CALLS"], "a") as f:
        f.write(json.dumps([command, variant, start, time.time()]) + "\\n")
    """ % USERS)


class MainJobTest(unittest.TestCase):
    def run_job(self, *extra, fail=None):
        tmp = tempfile.mkdtemp()
        fake = os.path.join(tmp, "hardgnn")
        with open(fake, "w") as f:
            f.write("#!" + sys.executable + "\n" + FAKE)
        os.chmod(fake, 0o755)
        env = dict(os.environ, FAKE_CALLS=os.path.join(tmp, "calls"))
        if fail:
            env["FAKE_FAIL"] = fail
        out_dir = os.path.join(tmp, "out")
        proc = subprocess.run([sys.executable, MAIN_JOB, "--bin", fake, "--data", tmp, "--out", out_dir,
                               "--cores", "2", "--interval", "0.25", *extra],
                              capture_output=True, text=True, env=env, timeout=120)
        calls = [json.loads(l) for l in read(env["FAKE_CALLS"]).splitlines()] if os.path.exists(env["FAKE_CALLS"]) else []
        return proc, out_dir, calls

    def test_trains_two_at_a_time_and_reports_progress(self):
        proc, out_dir, calls = self.run_job()
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        trains = [c for c in calls if c[0] == "train"]
        self.assertEqual(sorted(c[1] for c in trains), sorted(main_job.VARIANTS))
        # At most two at once, and two did overlap.
        most = max(sum(1 for o in trains if o[2] <= t[2] < o[3]) for t in trains)
        self.assertEqual(most, 2)
        self.assertIn("2 at a time with 1 thread each (2 cores)", proc.stdout)
        self.assertRegex(proc.stdout, r"\[main \d+:\d\d\] \d/5 done \| hardgnn epoch [1-3]/3 \(0:0\d, ~0:0\d left\)")
        self.assertRegex(proc.stdout, r"mf epoch \d/3 \(0:0\d, <=0:0\d left\)")  # --patience: an upper bound
        self.assertIn("waiting: selfgnn, mf, popularity", proc.stdout)
        self.assertRegex(proc.stdout, r"\[main\] finished in \d+:\d\d \(training 5 models, 2 at a time\)")
        self.assertEqual(len([c for c in calls if c[0] == "eval"]), 5)

    def test_table_against_an_independent_computation(self):
        proc, out_dir, _ = self.run_job()
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        rows = {r["model"]: r for r in tsv(os.path.join(out_dir, "results.tsv"))}
        self.assertEqual(list(rows), ["popularity", "mf", "selfgnn", "hardgnn-random", "hardgnn"])

        def test_ranks(variant):
            return {row["user"]: (int(row["sampled_rank"]), int(row["full_rank"]))
                    for row in tsv(os.path.join(out_dir, variant, "ranks.tsv")) if row["split"] == "test"}

        def gain(r):
            return 1 / math.log2(r + 2) if r < 10 else 0.0

        ref = test_ranks("selfgnn")
        for variant in ("hardgnn", "mf", "popularity"):
            mine = test_ranks(variant)
            for protocol, column in ((0, "diff_paper"), (1, "diff_full")):
                d = [gain(mine[u][protocol]) - gain(ref[u][protocol]) for u in ref]
                self.assertAlmostEqual(float(rows[variant][column]), statistics.fmean(d), places=12)
                self.assertAlmostEqual(float(rows[variant][column + "_ci95"]),
                                       1.959964 * statistics.stdev(d) / math.sqrt(len(d)), places=12)
            paper = [gain(r[0]) for r in mine.values()]
            self.assertAlmostEqual(float(rows[variant]["paper_ndcg10"]), statistics.fmean(paper), places=12)
            self.assertAlmostEqual(float(rows[variant]["paper_ci95"]),
                                   1.959964 * statistics.stdev(paper) / math.sqrt(len(paper)), places=12)
        self.assertEqual(rows["selfgnn"]["diff_paper"], "")
        table = read(os.path.join(out_dir, "table.txt"))
        self.assertIn(table, proc.stdout)
        hard = rows["hardgnn"]
        mean, half = float(hard["diff_paper"]), float(hard["diff_paper_ci95"])
        self.assertIn("%+.4f [%+.4f, %+.4f]" % (mean, mean - half, mean + half),
                      [line for line in table.splitlines() if line.startswith("hardgnn ")][0])
        self.assertIn(f"Test metrics on gowalla-nyc ({USERS} users;", table)

    def test_a_failing_variant_is_reported_and_the_others_tabulated(self):
        proc, out_dir, _ = self.run_job(fail="hardgnn-random")
        self.assertEqual(proc.returncode, 1)
        self.assertIn("hardgnn-random FAILED (exit status 2); the end of its log:", proc.stdout)
        self.assertIn("    error: the loss is not finite", proc.stdout)
        self.assertIn("FAILED: hardgnn-random", proc.stdout)
        models = [r["model"] for r in tsv(os.path.join(out_dir, "results.tsv"))]
        self.assertEqual(models, ["popularity", "mf", "selfgnn", "hardgnn"])

    def test_without_selfgnn_there_are_no_differences(self):
        proc, out_dir, _ = self.run_job("--only", "mf,popularity")
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertIn("selfgnn is not in this run, no differences", proc.stdout)

    def test_a_failed_selfgnn_is_said(self):
        proc, out_dir, _ = self.run_job("--only", "selfgnn,popularity", fail="selfgnn")
        self.assertEqual(proc.returncode, 1)
        self.assertIn("selfgnn did not finish, no differences", proc.stdout)

    @unittest.skipUnless(main_job.shutil.which("gnuplot"), "gnuplot is not installed")
    def test_plot_is_a_png(self):
        proc, out_dir, _ = self.run_job("--only", "selfgnn,mf")
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        with open(os.path.join(out_dir, "ndcg10.png"), "rb") as f:
            self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")


if __name__ == "__main__":
    unittest.main()
