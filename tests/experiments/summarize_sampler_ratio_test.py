"""Tests of experiments/summarize_sampler_ratio.py: its reader of sampler_ratio.sh's output and
the ratios of its table, by hand."""
import os
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(os.environ.get("ANALYZE_PY", os.path.join(HERE, "..", "..", "experiments",
                                                                               "analyze_study.py"))))
import summarize_sampler_ratio  # noqa: E402

HEADER = ("run  dense ms  straightforward ms  hard_cosine ms  float screen ms  int16 screen ms  avx2 tiles ms  "
          "hard/dense  int16/dense  straightforward/hard\n")


class SummarizeSamplerRatioTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.tmp.name, "runs.txt")

    def tearDown(self):
        self.tmp.cleanup()

    def write(self, text):
        with open(self.path, "w") as f:
            f.write(text)

    def test_table_has_each_runs_ratios_and_their_median(self):
        self.write("# commit abc1234: experiments/sampler_ratio.sh 3\n# a remark\n# CPU: Some CPU\n" + HEADER +
                   "  1  20.0  40.0  10.0  20.0  12.0  11.0  0.50  0.60  4.00\n"
                   "  2  20.0  30.0   5.0  20.0  12.0  11.0  0.25  0.60  6.00\n"
                   "  3  10.0  30.0   6.0  20.0  12.0  11.0  0.60  1.20  5.00\n"
                   "median hard_cosine / dense product 0.50 (range 0.25-0.60)\n")
        text = summarize_sampler_ratio.table(self.tmp.name)
        self.assertIn("`runs.txt`: commit abc1234: experiments/sampler_ratio.sh 3; CPU: Some CPU.", text)
        self.assertNotIn("a remark", text)
        self.assertIn("| 1 | 20.0 ms | 40.0 ms | 10.0 ms | 20.0 ms | 12.0 ms | 11.0 ms | 0.50 | 0.60 | 4.00 |", text)
        self.assertIn("| 2 | 20.0 | 30.0 | 5.0 | 20.0 | 12.0 | 11.0 | 0.25 | 0.60 | 6.00 |", text)
        # hard / dense: 0.50, 0.25, 0.60; int16 / dense: 0.60, 0.60, 1.20; straightforward / hard: 4, 6, 5.
        self.assertIn("| **median** | | | | | | | **0.50 (0.25-0.60)** | 0.60 (0.60-1.20) | **5.00 (4.00-6.00)x** |", text)
        self.assertIn("3 runs.", text)

    def test_each_file_is_a_table_runs_first(self):
        run = "  1  20.0  40.0  10.0  20.0  12.0  11.0  0.50  0.60  4.00\n"
        self.write("# commit aaa\n# CPU: First CPU\n" + HEADER + run)
        for name, cpu in (("b-machine.txt", "Second CPU"), ("a-machine.txt", "Third CPU")):
            with open(os.path.join(self.tmp.name, name), "w") as f:
                f.write(f"# commit bbb\n# CPU: {cpu}\n" + HEADER + run + run)
        text = summarize_sampler_ratio.table(self.tmp.name)
        heads = [line for line in text.splitlines() if line.startswith("`")]
        self.assertEqual(heads, ["`runs.txt`: commit aaa; CPU: First CPU.", "`a-machine.txt`: commit bbb; CPU: Third CPU.",
                                 "`b-machine.txt`: commit bbb; CPU: Second CPU."])
        self.assertEqual(text.count("| **median** |"), 3)
        self.assertEqual(text.count("2 runs."), 2)

    def test_a_malformed_run_names_its_file_and_line(self):
        self.write("# commit abc\n" + HEADER + "  1  20.0  40.0\n")
        with self.assertRaises(SystemExit) as raised:
            summarize_sampler_ratio.table(self.tmp.name)
        self.assertIn(f"{self.path}:3:", str(raised.exception))
        self.write(HEADER + "  1  20.0  40.0  x  20.0  12.0  11.0  0.50  0.60  4.00\n")
        with self.assertRaises(SystemExit) as raised:
            summarize_sampler_ratio.table(self.tmp.name)
        self.assertIn(f"{self.path}:2: a run's times must be numbers", str(raised.exception))

    def test_a_folder_without_runs_files_is_an_error(self):
        with self.assertRaises(SystemExit) as raised:
            summarize_sampler_ratio.table(self.tmp.name)
        self.assertIn("no runs file", str(raised.exception))

    def test_no_run_is_an_error(self):
        self.write("# commit abc\n" + HEADER)
        with self.assertRaises(SystemExit) as raised:
            summarize_sampler_ratio.table(self.tmp.name)
        self.assertIn("no runs", str(raised.exception))


if __name__ == "__main__":
    unittest.main()
