"""Tests of experiments/best_points.py: the best sweep point on validation, by hand."""
import contextlib
import io
import os
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(os.environ.get("ANALYZE_PY", os.path.join(HERE, "..", "..", "experiments",
                                                                               "analyze_study.py"))))
import best_points  # noqa: E402
import study  # noqa: E402
from study_rows import study_row  # noqa: E402


def row(dataset, variant, point, seed, val, test=0.5):
    return study_row(dataset, variant, point, seed, val_paper_ndcg10=val, test_paper_ndcg10=test)


class BestPointsTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.tmp.name, "s", "runs.csv")
        self.study_file = os.path.join(self.tmp.name, "s.study")
        with open(self.study_file, "w") as f:
            f.write("dataset d = --data=d\ndataset e = --data=e\nvariant h = --x=1\nvariant r = --x=2\nseeds = 1 2 3\n"
                    "sweep lambda = h r : 0.5 --w=0.5 | 1 --w=1\nsweep tau = h : 0.2 --t=0.2 --u=3\n")

    def tearDown(self):
        self.tmp.cleanup()

    def add(self, *args, **kw):
        study.append_row(self.path, row(*args, **kw))

    def run_main(self, *args):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = best_points.main(["s", "--results-dir", self.tmp.name, "--study-file", self.study_file, *args])
        return rc, out.getvalue(), err.getvalue()

    def test_by_hand(self):
        for s in (1, 2, 3):
            # d/h: own point mean 0.30; lambda=0.5 mean 0.32 (best); lambda=1 0.31. Test metrics are
            # the other way round, and must not matter.
            self.add("d", "h", "", s, 0.30, test=0.9)
            self.add("d", "h", "lambda=0.5", s, 0.31 + (s - 2) * 0.01 + 0.01, test=0.1)
            self.add("d", "h", "lambda=1", s, 0.31, test=0.2)
            # d/h tau: the own point wins, nothing to run.
            self.add("d", "h", "tau=0.2", s, 0.29)
            # d/r: lambda=0.5 ties the own point, lambda=1 is below: kept on the own point.
            self.add("d", "r", "", s, 0.25)
            self.add("d", "r", "lambda=0.5", s, 0.25)
            self.add("d", "r", "lambda=1", s, 0.24)
            # e/h: lambda=0.5 has only seeds 1, 2: undecided.
            self.add("e", "h", "", s, 0.2)
            if s < 3:
                self.add("e", "h", "lambda=0.5", s, 0.9)
        self.add("d", "h", "lambda=0.5", 4, 0.0)  # a seed outside --seeds is ignored
        rc, out, err = self.run_main()
        self.assertEqual(rc, 0, err)
        self.assertEqual(out, "dataset=d,variant=h,point=lambda=0.5\n")
        self.assertIn("e/h/lambda: undecided, seeds [1, 2, 3] missing for lambda=0.5, lambda=1", err)
        # A point the description defines but no row has yet leaves its sweep undecided.
        self.assertIn("e/h/tau: undecided, seeds [1, 2, 3] missing for tau=0.2", err)
        only = study.parse_only(out.strip() + ",seed=4,seed=5")
        self.assertEqual(only, {"dataset": {"d"}, "variant": {"h"}, "point": {"lambda=0.5"}, "seed": {"4", "5"}})

    def test_overall_best_writes_the_points_flags(self):
        for s in (1, 2, 3):
            # h on d: tau=0.2 (mean 0.35) beats lambda=1 (0.33), lambda=0.5 (0.32) and the own point (0.30).
            for point, val in (("", 0.30), ("lambda=0.5", 0.32), ("lambda=1", 0.33), ("tau=0.2", 0.34 + (s - 2) * 0.02 + 0.01)):
                self.add("d", "h", point, s, val, test=1.0 - val)
            # h on e: the own point wins; tau=0.2 lacks seed 3 on d's twin e2, so e is decided, e2 absent.
            for point, val in (("", 0.40), ("lambda=0.5", 0.39), ("lambda=1", 0.40), ("tau=0.2", 0.1)):
                self.add("e", "h", point, s, val)
        out_dir = os.path.join(self.tmp.name, "best")
        rc, out, err = self.run_main("--overall", "h", "--write", out_dir)
        self.assertEqual(rc, 0, err)
        self.assertIn("d tau=0.2 0.3500\n", out)
        self.assertIn("e (own point) 0.4000\n", out)  # the tie with lambda=1 keeps the own point
        with open(os.path.join(out_dir, "d-h.flags")) as f:
            text = f.read()
        self.assertEqual([line for line in text.splitlines() if not line.startswith("#")], ["--t=0.2", "--u=3"])
        self.assertIn("tau=0.2 (mean val_paper_ndcg10 0.3500 over seeds 1,2,3)", text)
        with open(os.path.join(out_dir, "e-h.flags")) as f:
            self.assertEqual([line for line in f.read().splitlines() if not line.startswith("#")], [])

    def test_overall_undecided_until_every_point_has_every_seed(self):
        for s in (1, 2, 3):
            for point in ("", "lambda=0.5", "lambda=1"):
                self.add("d", "h", point, s, 0.3)
        self.add("d", "h", "tau=0.2", 1, 0.9)
        rc, out, err = self.run_main("--overall", "h", "--write", os.path.join(self.tmp.name, "best"))
        self.assertEqual(rc, 0, err)
        self.assertNotIn("d ", out)
        self.assertIn("d/h: undecided, seeds [1, 2, 3] missing for tau=0.2", err)
        self.assertFalse(os.path.exists(os.path.join(self.tmp.name, "best", "d-h.flags")))

    def test_unknown_overall_variant(self):
        self.add("d", "h", "", 1, 0.3)
        rc, _, err = self.run_main("--overall", "nope")
        self.assertEqual(rc, 2)
        self.assertIn("--overall nope: not a variant", err)

    def test_bad_metric(self):
        self.add("d", "h", "", 1, 0.3)
        rc, _, err = self.run_main("--metric", "val_nope")
        self.assertEqual(rc, 2)
        self.assertIn("--metric val_nope: not a column", err)


if __name__ == "__main__":
    unittest.main()
