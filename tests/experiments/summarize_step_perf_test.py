"""Tests of experiments/summarize_step_perf.py: perf report lines grouped into the step's parts, by hand."""
import os
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(os.environ.get("ANALYZE_PY", os.path.join(HERE, "..", "..", "experiments",
                                                                               "analyze_study.py"))))
import summarize_step_perf  # noqa: E402

HEADER = ("# commit: abc1234\n# machine: Some CPU, 2 cores\n# step seconds: 0.800\n# window: 9 s from 5 s after the start\n"
          "# seconds: 9\n# busiest threads' samples: 8991 4496\n")
LINES = """\
    30.00%  hardgnn                       [.] hardgnn::cpu::ChainPanelsGemm
    12.00%  libopenblasp-r0.3.21.so       [.] sgemm_kernel_ZEN
     3.00%  libopenblasp-r0.3.21.so       [.] sgemm_itcopy_ZEN
    20.00%  hardgnn                       [.] hardgnn::graph::internal::Rows<float, false, true, hardgnn::graph::(anonymous namespace)::AddTwoEpilogue<float> >
     5.00%  hardgnn                       [.] hardgnn::selfgnn::(anonymous namespace)::FastRowsAvx2<true>
     2.50%  hardgnn                       [.] hardgnn::(anonymous namespace)::UpdateAvx2
     1.00%  hardgnn                       [.] hardgnn::cpu::(anonymous namespace)::SquaresOf<float>
     4.00%  libtorch_cpu.so.1.13.0        [.] 0x0000000004d844e3
     0.50%  [kernel.kallsyms]             [k] finish_task_switch.isra.0
     0.25%  hardgnn                       [.] hardgnn::BatchBuilder::BuildRows
     0.75%  hardgnn                       [.] hardgnn::(anonymous namespace)::Int16PanelsAvx2
"""
# An AVX-512 CPU's names: FmaChainGemm's register tiles, the 16-lane cells and attention rows.
WIDE_LINES = """\
    12.77%  hardgnn                       [.] hardgnn::cpu::(anonymous namespace)::Rows<8, 2>
    10.48%  hardgnn                       [.] hardgnn::cpu::(anonymous namespace)::Rows<4, 4>
     3.47%  hardgnn                       [.] hardgnn::selfgnn::(anonymous namespace)::CellForwardWide
     3.54%  hardgnn                       [.] hardgnn::selfgnn::(anonymous namespace)::FastRowsWide<true>
    14.08%  hardgnn                       [.] hardgnn::graph::internal::Rows<float, false, false, hardgnn::graph::(anonymous namespace)::ResidualLeakyEpilogue<float> >
"""
CHAIN = "chain products (LSTM gates and dx, Linear forward and dx; on AVX-512 the weight gradients too)"
SGEMM = "OpenBLAS sgemm (the weight gradients where the chain does not take them), its packing included"


def write(folder, name, text):
    path = os.path.join(folder, name)
    with open(path, "w") as f:
        f.write(text)
    return path


class StepPerfTest(unittest.TestCase):
    def test_each_sample_line_goes_to_its_part(self):
        with tempfile.TemporaryDirectory() as d:
            header, rows = summarize_step_perf.read_report(write(d, "a.txt", HEADER + LINES))
        self.assertEqual(header["step seconds"], "0.800")
        s = summarize_step_perf.shares(rows)
        self.assertAlmostEqual(s[CHAIN], 30.0)
        self.assertAlmostEqual(s[SGEMM], 15.0)
        self.assertAlmostEqual(s["GCN row kernels"], 20.0)
        self.assertAlmostEqual(s["attention rows"], 5.0)
        self.assertAlmostEqual(s["Adam"], 2.5)
        self.assertAlmostEqual(s["L2 term's sum of squares"], 1.0)
        self.assertAlmostEqual(s["LibTorch's own kernels (gathers, fills, autograd engine)"], 4.0)
        self.assertAlmostEqual(s["the operating system's kernel"], 0.5)
        self.assertAlmostEqual(s["hard_cosine (the miner)"], 0.75)
        self.assertAlmostEqual(s["the rest"], 0.25)
        self.assertAlmostEqual(sum(s.values()), 79.0)  # every line counted once

    def test_an_avx512_cpus_kernels_go_to_their_parts(self):
        with tempfile.TemporaryDirectory() as d:
            _, rows = summarize_step_perf.read_report(write(d, "wide.txt", HEADER + WIDE_LINES))
        s = summarize_step_perf.shares(rows)
        self.assertAlmostEqual(s[CHAIN], 23.25)  # not the GCN's graph::internal::Rows
        self.assertAlmostEqual(s["LSTM cells"], 3.47)
        self.assertAlmostEqual(s["attention rows"], 3.54)
        self.assertAlmostEqual(s["GCN row kernels"], 14.08)
        self.assertAlmostEqual(s["the rest"], 0.0)

    def test_table_gives_milliseconds_as_share_times_step(self):
        with tempfile.TemporaryDirectory() as d:
            write(d, "selfgnn.txt", HEADER + LINES)
            write(d, "hardgnn.txt", HEADER.replace("0.800", "1.000") + LINES)
            write(d, "another.txt", HEADER + LINES)
            text = summarize_step_perf.table(d)
        rows = text.splitlines()
        self.assertEqual(rows[0], "| part of the step | selfgnn: share of samples | ms per step | hardgnn: share of samples "
                                  "| ms per step | another: share of samples | ms per step |")
        self.assertIn("| GCN row kernels | 20.0% | 160 | 20.0% | 200 | 20.0% | 160 |", rows)  # 20% of 800 and 1,000 ms
        self.assertIn(f"| {SGEMM} | 15.0% | 120 | 15.0% | 150 | 15.0% | 120 |", rows)
        self.assertIn("| **step (the run's mean)** | 100% | **800** | 100% | **1,000** | 100% | **800** |", rows)
        # 8,991 samples in 9 s at 999 Hz: the thread ran all the time; 4,496: half of it.
        self.assertIn("| threads busy (their samples / (999 Hz x the window)) | 100%, 50% |  | 100%, 50% |  | 100%, 50% |  |",
                      rows)
        self.assertTrue(any(r.startswith("selfgnn: commit abc1234; Some CPU, 2 cores;") for r in rows))

    def test_a_line_that_is_not_perfs_names_the_file_and_line(self):
        with tempfile.TemporaryDirectory() as d:
            path = write(d, "bad.txt", HEADER + LINES + "Samples: 17K of event 'cpu-clock'\n")
            with self.assertRaisesRegex(ValueError, r"bad\.txt:18: not a perf report line"):
                summarize_step_perf.read_report(path)

    def test_a_report_without_its_step_time_is_refused(self):
        with tempfile.TemporaryDirectory() as d:
            path = write(d, "nostep.txt", "# commit: abc\n# machine: x\n" + LINES)
            with self.assertRaisesRegex(ValueError, r"no '# step seconds:' line"):
                summarize_step_perf.read_report(path)


if __name__ == "__main__":
    unittest.main()
