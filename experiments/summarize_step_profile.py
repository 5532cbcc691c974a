#!/usr/bin/env python3
"""REPORT §3's table (one training step at the published Yelp shape, by phase) from the
profiles experiments/step_profile.sh writes to experiments/results/step_profile/.

  python3 experiments/summarize_step_profile.py [--report experiments/REPORT.md [--check]]
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report_block  # noqa: E402

COMMAND = "python3 experiments/summarize_step_profile.py --report experiments/REPORT.md"
COLUMNS = [  # file, heading
    ("fused", "SelfGNN (fused kernels, fusion only for the rows the step reads)"),
    ("straightforward", "straightforward (stock LibTorch LSTM and attention, every user and item fused every step)"),
    ("fused-selfgnn", "SelfGNN"),
    ("fused-hardgnn", "HardGNN (hard_cosine, K = 5)"),
]


UNTOUCHED = "forward: interval fusion, of it untouched items"


def label(phase):
    if phase.startswith("backward: "):
        return "of it: " + phase[len("backward: "):]
    if phase == UNTOUCHED:
        return "of it: items the step does not touch (for the miner)"
    if phase.startswith(UNTOUCHED + ": "):
        return "of those: " + phase[len(UNTOUCHED) + 2:]
    return phase


def rss(kib):  # GNU time's %M is in KiB
    return f"{kib * 1024 / 1e9:.2f} GB ({kib / 2**20:.2f} GiB)"


def read_profile(path):
    """A profile file of step_profile.sh; its backward nodes, if any, must be numbers beside a
    "backward" phase (the engine's share is that phase less them): else an error naming the file."""
    with open(path) as f:
        try:
            run = json.load(f)
        except json.JSONDecodeError as e:
            raise SystemExit(f"{path}:{e.lineno}: not JSON: {e.msg}")
    nodes = run.get("profile", {}).get("backward_nodes")
    if nodes is not None:
        phases = run["profile"].get("seconds_per_step", {})
        if not isinstance(phases.get("backward"), (int, float)):
            raise SystemExit(f"{path}: backward_nodes without a numeric \"backward\" phase in seconds_per_step")
        for name, value in nodes.items():
            if not isinstance(value, (int, float)) or value < 0:
                raise SystemExit(f"{path}: backward node {name!r}: seconds must be a number >= 0, not {value!r}")
    return run


TOP_NODES = 12


def backward_nodes(runs):
    """The backward by autograd node (--profile's backward_nodes), for the runs that have it: the
    largest nodes of any column, the rest summed, and the engine's share (the backward phase less
    its nodes)."""
    runs = [(h, r) for h, r in runs if r["profile"].get("backward_nodes")]
    if not runs:
        return []
    names = []
    for _, r in runs:
        nodes = sorted(r["profile"]["backward_nodes"].items(), key=lambda kv: -kv[1])
        names += [n for n, _ in nodes[:TOP_NODES] if n not in names]
    first = runs[0][1]["profile"]["backward_nodes"]
    names.sort(key=lambda n: -first.get(n, 0))
    ms = lambda v: f"{1e3 * v:,.0f}" if v >= 0.0005 else "<1"  # noqa: E731
    out = ["", "The backward by autograd node (`--profile`; ms per step; a node's time includes the ATen ops it calls):", "",
           "| autograd node | " + " | ".join(f"{h}, {r['profile']['steps']} steps" for h, r in runs) + " |",
           "|---|" + "---|" * len(runs)]
    for n in names:
        out.append(f"| {n} | " + " | ".join(ms(r["profile"]["backward_nodes"].get(n, 0)) for _, r in runs) + " |")
    rest, engine = [], []
    for _, r in runs:
        nodes = r["profile"]["backward_nodes"]
        rest.append(sum(v for n, v in nodes.items() if n not in names))
        engine.append(r["profile"]["seconds_per_step"]["backward"] - sum(nodes.values()))
    out.append("| the other nodes | " + " | ".join(ms(v) for v in rest) + " |")
    out.append("| the engine between nodes (backward less its nodes) | " + " | ".join(ms(v) for v in engine) + " |")
    return out


def table(results):
    runs, step = [], {}  # (heading, profile file) per column; each file's step seconds
    for name, heading in COLUMNS:
        path = os.path.join(results, name + ".json")
        if os.path.exists(path):
            runs.append((heading, read_profile(path)))
            step[name] = runs[-1][1]["profile"]["seconds_per_step"]["step (total)"]
    phases = []
    for _, r in runs:
        phases += [p for p in r["profile"]["seconds_per_step"] if p not in phases]
    # The backward's parts under it; "backward" is the whole (its parts are nested in it). The
    # untouched items' fusion under the fusion, and its parts under it.
    parts = [p for p in phases if p.startswith(UNTOUCHED + ": ")]
    order = []
    for p in phases:
        if p.startswith("backward") or p in ("optimizer", "step (total)", UNTOUCHED) or p in parts:
            continue
        order.append(p)
        if p == "forward: interval fusion" and UNTOUCHED in phases:
            order += [UNTOUCHED] + parts
    order += ["backward"] + [p for p in phases if p.startswith("backward: ")] + ["optimizer", "step (total)"]
    out = ["| phase (ms per step) | " + " | ".join(f"{h}, {r['profile']['steps']} steps" for h, r in runs) + " |",
           "|---|" + "---|" * len(runs)]
    for p in order:
        cells = []
        for _, r in runs:
            v = r["profile"]["seconds_per_step"].get(p)
            cells.append("" if v is None else (f"**{1e3 * v:,.0f}**" if p == "step (total)" else f"{1e3 * v:,.0f}"))
        name = "**step**" if p == "step (total)" else label(p)
        out.append(f"| {name} | " + " | ".join(cells) + " |")
    out.append("| peak resident memory (evaluation included) | " +
               " | ".join(rss(r["peak_rss_kb"]) for _, r in runs) + " |")
    if any("live_tensor_peak_mb" in r["profile"] for _, r in runs):
        out.append("| of it, peak of live LibTorch CPU tensors (training thread) | " +
                   " | ".join(f"{r['profile']['live_tensor_peak_mb'] / 1e3:.2f} GB" if "live_tensor_peak_mb" in r["profile"]
                              else "" for _, r in runs) + " |")
    out += backward_nodes(runs)
    out += ["", "Commits: " + ", ".join(f"{h.split(' (')[0]} {r['commit']}" for h, r in runs) + "."]
    machines = sorted({r.get("machine", "not recorded") for _, r in runs})
    out.append("Machine: " + "; ".join(machines) + ", 2 threads.")
    if "fused" in step and "straightforward" in step:
        out.append(f"The fused step is **{step['straightforward'] / step['fused']:.1f}x** faster than the "
                   "straightforward one in the same run.")
    if "fused-selfgnn" in step and "fused-hardgnn" in step:
        out.append(f"HardGNN's step is **{step['fused-hardgnn'] / step['fused-selfgnn']:.2f}x** SelfGNN's (run one after "
                   "the other).")
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(report_block.main("step_profile", COMMAND, table, __doc__.splitlines()[0]))
