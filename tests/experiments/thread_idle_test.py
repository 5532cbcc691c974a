"""Tests of experiments/thread_idle.py: its reader of `perf script` output and the idle
stretches and concurrent work it reports, on a hand-made trace."""
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(os.environ.get("ANALYZE_PY", os.path.join(HERE, "..", "..", "experiments",
                                                                               "analyze_study.py"))))
import thread_idle  # noqa: E402


def sample(tid, t, *frames):
    """One sample as `perf script -F tid,time,ip,sym` prints it."""
    return [f" {tid} {t:.6f}: "] + [f"\t{0x1000 + i:16x} {f}" for i, f in enumerate(frames)] + [""]


class ThreadIdleTest(unittest.TestCase):
    def trace(self):
        lines = []
        # Both threads busy every ms for 10 ms; then thread 2 stops for 10 ms (a barrier) while
        # thread 1 runs a serial GEMM; then both again.
        for i in range(10):
            lines += sample(1, 0.001 * i, "Rows", "RunRows", "GOMP_parallel")
            lines += sample(2, 0.001 * i + 0.0005, "Rows", "RunRows", "GOMP_parallel")
        for i in range(10, 20):
            lines += sample(1, 0.001 * i, "sgemm_kernel", "Gemm(bool)", "Backward<float>")
        for i in range(20, 25):
            lines += sample(1, 0.001 * i, "Rows", "RunRows", "GOMP_parallel")
            lines += sample(2, 0.001 * i + 0.0005, "Rows", "RunRows", "GOMP_parallel")
        return lines

    def test_parse_reads_threads_times_and_frames(self):
        samples = thread_idle.parse(sample(7, 1.5, "leaf+0x10", "caller(int)"))
        self.assertEqual(samples, [(7, 1.5, ["leaf+0x10", "caller(int)"])])

    def test_a_line_that_is_no_sample_header_is_named(self):
        lines = sample(7, 1.5, "leaf") + ["perf: no such file", "\tdeadbeef frame"]
        with self.assertRaisesRegex(ValueError, r"^trace\.txt:4: not a sample header.*'perf: no such file'"):
            thread_idle.parse(lines, "trace.txt")
        with self.assertRaisesRegex(ValueError, r"^trace\.txt:1: "):
            thread_idle.parse([" 12 notatime: "], "trace.txt")

    def test_idle_stretch_and_what_the_other_thread_ran(self):
        report = {tid: (count, idle, meanwhile)
                  for tid, count, idle, meanwhile in thread_idle.idle_report(thread_idle.parse(self.trace()), 0.003, 5)}
        count, idle, meanwhile = report[2]
        self.assertEqual(count, 15)
        # From its sample at 9.5 ms to the one at 20.5 ms.
        self.assertAlmostEqual(idle, 0.011, places=6)
        # Thread 1's samples in (9.5, 20.5) ms: ten in the GEMM, one at 20 ms in the rows.
        self.assertEqual(dict(meanwhile), {"sgemm_kernel / Gemm / Backward": 10, "Rows / RunRows / GOMP_parallel": 1})
        count, idle, meanwhile = report[1]
        self.assertEqual((count, idle, meanwhile), (25, 0.0, []))


if __name__ == "__main__":
    unittest.main()
