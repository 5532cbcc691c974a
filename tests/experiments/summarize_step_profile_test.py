"""Tests of experiments/summarize_step_profile.py's table of the backward by autograd node, by hand."""
import json
import os
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(os.environ.get("ANALYZE_PY", os.path.join(HERE, "..", "..", "experiments",
                                                                               "analyze_study.py"))))
import summarize_step_profile  # noqa: E402


def run(backward, nodes, steps=4):
    profile = {"steps": steps, "seconds_per_step": {"backward": backward}}
    if nodes is not None:
        profile["backward_nodes"] = nodes
    return {"profile": profile}


class BackwardNodesTest(unittest.TestCase):
    def test_largest_nodes_of_any_column_the_rest_and_the_engine(self):
        old = summarize_step_profile.TOP_NODES
        summarize_step_profile.TOP_NODES = 2
        try:
            lines = summarize_step_profile.backward_nodes([
                ("A", run(0.600, {"Lstm": 0.200, "Linear": 0.100, "Gather": 0.050, "Tiny": 0.0002})),
                ("B", run(0.700, {"Lstm": 0.210, "Sal": 0.150, "Linear": 0.090})),
                ("C", run(0.500, None)),  # no node profile: no column
            ])
        finally:
            summarize_step_profile.TOP_NODES = old
        rows = [line for line in lines if line.startswith("| ")]
        self.assertEqual(rows[0], "| autograd node | A, 4 steps | B, 4 steps |")
        # A's two largest and B's (Sal), in A's order; then the rest and the engine's share.
        self.assertEqual(rows[1:], [
            "| Lstm | 200 | 210 |",
            "| Linear | 100 | 90 |",
            "| Sal | <1 | 150 |",
            "| the other nodes | 50 | <1 |",                                        # Gather + Tiny; none
            "| the engine between nodes (backward less its nodes) | 250 | 250 |",  # 600 - 350.2; 700 - 450
        ])

    def test_a_bad_node_profile_names_its_file(self):
        with tempfile.TemporaryDirectory() as tmp:
            for name, profile, message in (
                    ("nodes.json", {"seconds_per_step": {"backward": 0.5}, "backward_nodes": {"Lstm": "fast"}},
                     "backward node 'Lstm': seconds must be a number >= 0, not 'fast'"),
                    ("phase.json", {"seconds_per_step": {}, "backward_nodes": {"Lstm": 0.1}},
                     'backward_nodes without a numeric "backward" phase in seconds_per_step')):
                path = os.path.join(tmp, name)
                with open(path, "w") as f:
                    json.dump({"profile": profile}, f)
                with self.assertRaises(SystemExit) as e:
                    summarize_step_profile.read_profile(path)
                self.assertEqual(str(e.exception), f"{path}: {message}")
            path = os.path.join(tmp, "cut.json")
            with open(path, "w") as f:
                f.write('{"profile": ')
            with self.assertRaises(SystemExit) as e:
                summarize_step_profile.read_profile(path)
            self.assertTrue(str(e.exception).startswith(f"{path}:1: not JSON"), e.exception)
            path = os.path.join(tmp, "good.json")
            with open(path, "w") as f:
                json.dump({"profile": {"seconds_per_step": {"backward": 0.5}, "backward_nodes": {"Lstm": 0.1}}}, f)
            self.assertEqual(summarize_step_profile.read_profile(path)["profile"]["backward_nodes"], {"Lstm": 0.1})

    def test_nothing_without_node_profiles(self):
        self.assertEqual(summarize_step_profile.backward_nodes([("A", run(0.5, None))]), [])


if __name__ == "__main__":
    unittest.main()
