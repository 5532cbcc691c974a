"""Tests of experiments/summarize_step_ab.py: its reader of step_profile.sh's output and the
medians, paired differences and intervals of its table, computed by hand."""
import os
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(os.environ.get("ANALYZE_PY", os.path.join(HERE, "..", "..", "experiments",
                                                                               "analyze_study.py"))))
import summarize_step_ab  # noqa: E402


def profile(step, gcn, rss_kb):
    """step_profile.sh's output for one run."""
    return ("== fused\nper-step wall time by phase (mean over this run's steps):\n"
            f"  backward: residual GCN                 {gcn} ms\n"
            f"  step (total)                          {step} ms\n"
            f"peak resident memory: {rss_kb} KB\n")


class SummarizeStepAbTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def write(self, name, text):
        with open(os.path.join(self.dir, name), "w") as f:
            f.write(text)

    def test_medians_paired_differences_and_their_interval(self):
        self.write("header.txt", "# old: a; new: b\n")
        # Steps: old 1000, 1100, 1300; new 990, 1080, 1270: differences -10, -20, -30.
        # Mean -20, sd 10, n = 3: half-width t(0.975, 2) * 10 / sqrt(3) = 4.302653 * 5.773503 = 24.84.
        # GCN: old 100, 110, 120; new 100, 110, 120: differences 0, sd 0, half-width 0.
        for r, (old, new) in enumerate([(1000, 990), (1100, 1080), (1300, 1270)], 1):
            gcn = 90 + 10 * r
            self.write(f"round{r}-old.txt", profile(old, gcn, 1_000_000))
            self.write(f"round{r}-new.txt", profile(new, gcn, 1_000_000 + 1000 * r))
        text = summarize_step_ab.summary(self.dir)
        self.assertTrue(text.startswith("# old: a; new: b\n3 rounds;"))
        self.assertIn("| step (total) | 1100.0 ms | 1080.0 ms | -20.0 ms [-44.8, 4.8] | 0.982 |", text)
        self.assertIn("| backward: residual GCN | 110.0 ms | 110.0 ms | 0.0 ms [0.0, 0.0] | 1.000 |", text)
        # Peak: old 1,024,000,000 B = 1024.00 MB each; new adds 1,024,000 B a round: mean +2.048 MB, sd 1.024.
        # Half-width 4.302653 * 1.024 / sqrt(3) = 2.544.
        self.assertIn("| peak resident memory (MB) | 1024.00 | 1026.05 | 2.05 [-0.50, 4.59] | 1.002 |", text)
        # Phases keep the order of the first old run.
        self.assertLess(text.index("residual GCN"), text.index("step (total)"))

    def test_even_rounds_median_and_one_round_without_interval(self):
        for r, (old, new) in enumerate([(100, 110), (300, 290)], 1):
            self.write(f"round{r}-old.txt", profile(old, 10, 1000))
            self.write(f"round{r}-new.txt", profile(new, 10, 1000))
        # Medians of two: (100 + 300) / 2 and (110 + 290) / 2; differences +10, -10.
        self.assertIn("| step (total) | 200.0 ms | 200.0 ms | 0.0 ms [", summarize_step_ab.summary(self.dir))
        os.remove(os.path.join(self.dir, "round2-old.txt"))
        os.remove(os.path.join(self.dir, "round2-new.txt"))
        self.assertIn("| step (total) | 100.0 ms | 110.0 ms | 10.0 ms | 1.100 |", summarize_step_ab.summary(self.dir))

    def test_a_phase_missing_from_one_run_is_left_out(self):
        self.write("round1-old.txt", profile(100, 10, 1000) + "  sampler   5.0 ms\n")
        self.write("round1-new.txt", profile(100, 10, 1000))
        self.assertNotIn("sampler", summarize_step_ab.summary(self.dir))

    def test_bad_input_is_an_error_naming_what(self):
        with self.assertRaises(SystemExit) as raised:
            summarize_step_ab.summary(self.dir)
        self.assertIn("no round<r>-old.txt", str(raised.exception))
        self.write("round1-old.txt", profile(100, 10, 1000))
        with self.assertRaises(SystemExit) as raised:
            summarize_step_ab.summary(self.dir)
        self.assertIn("round 1 lacks its new run", str(raised.exception))
        self.write("round1-new.txt", "== fused\nTraceback: the trainer failed\n")
        with self.assertRaises(SystemExit) as raised:
            summarize_step_ab.summary(self.dir)
        self.assertIn("round1-new.txt: no phase times", str(raised.exception))
        self.write("round1-new.txt", profile(100, 10, 1000).replace("100 ms", "1.0.0 ms"))
        with self.assertRaises(SystemExit) as raised:
            summarize_step_ab.summary(self.dir)
        self.assertIn("round1-new.txt:4: a phase's time must be a number", str(raised.exception))


if __name__ == "__main__":
    unittest.main()
