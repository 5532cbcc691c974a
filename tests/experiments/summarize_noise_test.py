"""Tests of experiments/summarize_noise.py: the noise table's levels, its 0% rows taken from the
ablation (hardgnn-best at the ablation's best point) and its paired differences, by hand."""
import os
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(os.environ.get("ANALYZE_PY", os.path.join(HERE, "..", "..", "experiments",
                                                                               "analyze_study.py"))))
import study  # noqa: E402
from study_rows import study_row  # noqa: E402
import summarize_noise  # noqa: E402

T_975_2 = 4.302652729911275  # the t distribution's 97.5% point at 2 degrees of freedom


def row(dataset, variant, point, seed, test, val=0.3):
    return study_row(dataset, variant, point, seed, test_paper_ndcg10=test, val_paper_ndcg10=val, seconds=1800)


class SummarizeNoiseTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.noise = os.path.join(self.tmp.name, "noise")
        self.ablation = os.path.join(self.tmp.name, "ablation", "runs.csv")

    def tearDown(self):
        self.tmp.cleanup()

    def add_ablation(self, *args, **kw):
        study.append_row(self.ablation, row(*args, **kw))

    def add_noise(self, *args, **kw):
        study.append_row(os.path.join(self.noise, "runs.csv"), row(*args, **kw))

    def test_levels_zero_point_and_paired_differences(self):
        for s, (ref, own, k100, tau) in enumerate([(0.30, 0.31, 0.40, 0.33), (0.32, 0.31, 0.41, 0.33),
                                                   (0.34, 0.31, 0.42, 0.33)], 1):
            self.add_ablation("d", "selfgnn", "", s, ref)
            # hardgnn on validation: own point 0.30, k=100 0.35 (its best), tau=0.5 0.32.
            self.add_ablation("d", "hardgnn", "", s, own, val=0.30)
            self.add_ablation("d", "hardgnn", "k=100", s, k100, val=0.35)
            self.add_ablation("d", "hardgnn", "tau=0.5", s, tau, val=0.32)
            self.add_ablation("d", "hardgnn", "k=100", s + 3, 0.9, val=0.9)  # a seed the noise study lacks
        for s, (ref, best) in enumerate([(0.20, 0.25), (0.22, 0.26), (0.25, 0.30)], 1):
            self.add_noise("d-noise10", "selfgnn", "", s, ref)
            self.add_noise("d-noise10", "hardgnn-best", "", s, best)
        self.add_noise("d-noise25", "selfgnn", "", 1, 0.10)
        text = summarize_noise.table(self.noise)
        half = T_975_2 * 0.01 / 3 ** 0.5  # sd 0.01 over three values
        self.assertIn(f"| selfgnn | 0% | 3 | 0.3200 ± {T_975_2 * 0.02 / 3 ** 0.5:.4f} |", text)
        # hardgnn-best at 0% is the ablation's hardgnn@k=100, seeds 1-3: 0.40, 0.41, 0.42.
        self.assertIn(f"| hardgnn-best | 0% | 3 | 0.4100 ± {half:.4f} |", text)
        # ... 0.09 above SelfGNN (0.10, 0.09, 0.08), paired by seed.
        self.assertIn(f"| +0.0900 [{0.09 - half:+.4f}, {0.09 + half:+.4f}] |", text)
        # At 10%: 0.81 / 1.23 of its 0% (-34.1%); SelfGNN 0.67 / 0.96 (-30.2%); differences 0.05, 0.04, 0.05.
        self.assertRegex(text, r"\| hardgnn-best \| 10% \| 3 \| 0\.2700 ± [0-9.]+ \| [^|]+ \| -34\.1% \| \+0\.0467 ")
        self.assertRegex(text, r"\| selfgnn \| 10% \| 3 \| 0\.2233 ± [0-9.]+ \| [^|]+ \| -30\.2% \|")
        self.assertIn("| selfgnn | 25% | 1 | 0.1000 |", text)
        self.assertIn("7 runs of the noise study, 3.50 h of training", text)  # 7 rows of 1800 s
        self.assertNotIn("hardgnn-best | 25%", text)

    def test_zero_point_undecided_until_the_sweeps_have_every_seed(self):
        for s in (1, 2, 3):
            self.add_ablation("d", "hardgnn", "", s, 0.31)
            self.add_noise("d-noise10", "hardgnn-best", "", s, 0.2)
        self.add_ablation("d", "hardgnn", "k=100", 1, 0.5, val=0.9)  # seeds 2 and 3 missing
        text = summarize_noise.table(self.noise)
        self.assertIn("| hardgnn-best | 10% | 3 |", text)
        self.assertNotIn("| hardgnn-best | 0% |", text)

    def test_a_bad_number_names_its_file_line_and_column(self):
        for s in (1, 2):
            self.add_noise("d-noise10", "selfgnn", "", s, 0.2)
        path = os.path.join(self.noise, "runs.csv")
        with open(path) as f:
            lines = f.read().splitlines()
        lines[2] = lines[2].replace(",0.2,", ",nan?,", 1)
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        with self.assertRaises(SystemExit) as raised:
            summarize_noise.table(self.noise)
        self.assertIn(f"{path}:3: test_paper_ndcg10 is not a number: 'nan?'", str(raised.exception))

    def test_no_runs_yet(self):
        self.assertIn("No run of the noise study", summarize_noise.table(self.noise))

    def test_noise_level(self):
        self.assertEqual(summarize_noise.noise_level("yelp2019-noise25"), ("yelp2019", 25))
        self.assertIsNone(summarize_noise.noise_level("yelp2019"))


if __name__ == "__main__":
    unittest.main()
