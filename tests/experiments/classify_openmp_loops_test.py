"""Tests of experiments/classify_openmp_loops.py: hand-made perf call stacks of GOMP_parallel
grouped by part of the step and opening function, and the steps the window held."""
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
EXPERIMENTS = os.path.dirname(os.environ.get("ANALYZE_PY", os.path.join(HERE, "..", "..", "experiments",
                                                                        "analyze_study.py")))
sys.path.insert(0, EXPERIMENTS)
import classify_openmp_loops  # noqa: E402


def stack(*frames):
    """One sample as `perf script -F ip,sym,dso` prints it: GOMP_parallel, then its callers."""
    lines = ["\t           14070 GOMP_parallel (/usr/lib/x86_64-linux-gnu/libgomp.so.1.0.0)"]
    lines += [f"\t          18b118 {f} (/bin/hardgnn)" for f in frames]
    return "\n".join(lines) + "\n\tffffffffffffffff [unknown] ([unknown])\n"


ADAM = stack("hardgnn::FusedAdam::step", "hardgnn::(anonymous namespace)::TrainingRun::Step")
GCN_BACKWARD = stack("hardgnn::graph::(anonymous namespace)::Backward<float>", "torch::autograd::Engine::thread_main",
                     "hardgnn::(anonymous namespace)::TrainingRun::Step")
LOSS_OP = stack("0x7f4c4ab49104", "at::TensorIteratorBase::for_each", "at::native::add_kernel",
                "hardgnn::(anonymous namespace)::ComputeTerms", "hardgnn::(anonymous namespace)::TrainingRun::Step")
UNNAMED = stack("0x7f4c4ab49104", "[unknown]")


class ClassifyTest(unittest.TestCase):
    def test_parts_and_openers(self):
        counts = classify_openmp_loops.classify("\n".join([ADAM, ADAM, GCN_BACKWARD, GCN_BACKWARD, GCN_BACKWARD,
                                                             LOSS_OP, UNNAMED]))
        self.assertEqual(counts[("FusedAdam", "hardgnn::FusedAdam::step")], 2)
        self.assertEqual(counts[("Engine::", "hardgnn::graph::(anonymous namespace)::Backward<float>")], 3)
        # The first named frame opens the loop (an address is skipped); the innermost part names it.
        self.assertEqual(counts[("ComputeTerms", "at::TensorIteratorBase::for_each")], 1)
        self.assertEqual(counts[("other", "(unnamed)")], 1)
        self.assertEqual(sum(counts.values()), 7)

    def test_report_counts_steps_by_adams_loops(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "stacks.txt")
            with open(path, "w") as f:
                f.write("\n".join([ADAM] * 4 + [GCN_BACKWARD] * 6 + [LOSS_OP] * 2))
            out = subprocess.run([sys.executable, os.path.join(EXPERIMENTS, "classify_openmp_loops.py"), path],
                                 check=True, capture_output=True, text=True).stdout
        self.assertIn("# loops: 12; steps: 2; loops a step: 6", out)
        self.assertIn(" 50.0%     3.0  Engine::", out)  # 6 of 12 loops, over 2 steps
        self.assertIn(" 16.7%     1.0  ComputeTerms", out)

    def test_rejects_what_is_not_a_stack_of_the_probe(self):
        with self.assertRaisesRegex(ValueError, r"^f.txt:6: not a GOMP_parallel call stack: 'hardgnn::Elsewhere'"):
            classify_openmp_loops.classify(ADAM + "\n" + stack("x").replace("GOMP_parallel", "hardgnn::Elsewhere"),
                                           "f.txt")
        with self.assertRaisesRegex(ValueError, r"^f.txt: no call stacks"):
            classify_openmp_loops.classify("\n\n", "f.txt")
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "stacks.txt")
            with open(path, "w") as f:
                f.write("cpu-clock samples\n")
            run = subprocess.run([sys.executable, os.path.join(EXPERIMENTS, "classify_openmp_loops.py"), path],
                                 capture_output=True, text=True)
        self.assertNotEqual(run.returncode, 0)
        self.assertIn(f"{path}:1: not a GOMP_parallel call stack", run.stderr)


if __name__ == "__main__":
    unittest.main()
