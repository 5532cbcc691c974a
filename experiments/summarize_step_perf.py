#!/usr/bin/env python3
"""REPORT §3's profile of a step by kernel, from the perf reports experiments/step_perf.sh writes
to experiments/results/step_perf/ (each a share of the samples by DSO and symbol).

  python3 experiments/summarize_step_perf.py [--report experiments/REPORT.md [--check]]
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report_block  # noqa: E402

COMMAND = "python3 experiments/summarize_step_perf.py --report experiments/REPORT.md"
# Parts of the step, each matched against "DSO symbol"; a sample goes to the first that matches.
PARTS = [
    # ChainPanels on AVX2 CPUs; FmaChainGemm's register tiles (cpu::(anonymous)::Rows<R, C>) on AVX-512 ones.
    ("chain products (LSTM gates and dx, Linear forward and dx; on AVX-512 the weight gradients too)",
     r"ChainPanels|hardgnn::cpu::\(anonymous namespace\)::Rows<"),
    ("OpenBLAS sgemm (the weight gradients where the chain does not take them), its packing included", r"libopenblas"),
    ("GCN row kernels", r"hardgnn::graph::"),
    ("LSTM cells", r"Cell(Forward|Backward|Outputs)"),
    ("attention rows", r"FastRows|AttentionRows"),
    ("layer norm rows", r"LayerNorm"),
    ("Adam", r"anonymous namespace\)::Update(Avx2|Portable)"),
    ("dropout masks", r"MaskFloatRows"),
    ("L2 term's sum of squares", r"SquaresOf"),
    ("column sums (bias gradients)", r"ColumnSums"),
    ("memmove and memset", r"__mem(move|set|cpy)"),
    ("hard_cosine (the miner)", r"CosineTopK|IntAnchor|FloatAnchor|SearchItemBlocks|(Int16|Int8|Float)Panels|NormsOf|"
                                r"PackPanels|PackInt8|ChainDots|Int8Champions|HistoryFilter"),
    ("LibTorch's own kernels (gathers, fills, autograd engine)", r"^(libtorch|libc10)"),
    ("the operating system's kernel", r"^\[kernel"),
    ("the rest", r""),
]
ORDER = ["selfgnn", "hardgnn"]  # the columns first, if present; others after them by name
LINE = re.compile(r"^\s*([0-9.]+)%\s+(\S+)\s+\[[.k]\]\s+(.*?)\s*$")


def read_report(path):
    """(header fields, [(share %, "dso symbol")]) of one saved perf report; a line that is
    neither a '# key: value' header nor a sample line raises ValueError naming the file and line."""
    header, rows = {}, []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            if line.startswith("# ") and ": " in line:
                key, value = line[2:].rstrip("\n").split(": ", 1)
                header[key] = value
                continue
            m = LINE.match(line)
            if not m:
                raise ValueError(f"{path}:{number}: not a perf report line: {line.rstrip()!r}")
            rows.append((float(m.group(1)), f"{m.group(2)} {m.group(3)}"))
    for key in ("commit", "machine", "step seconds"):
        if key not in header:
            raise ValueError(f"{path}: no '# {key}:' line")
    return header, rows


def shares(rows):
    out = {label: 0.0 for label, _ in PARTS}
    for share, name in rows:
        for label, pattern in PARTS:
            if re.search(pattern, name):
                out[label] += share
                break
    return out


def table(results):
    runs = []
    names = [n[:-4] for n in os.listdir(results) if n.endswith(".txt")]
    for name in sorted(names, key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n)):
        header, rows = read_report(os.path.join(results, name + ".txt"))
        runs.append((name, header, shares(rows)))
    if not runs:
        return "(no perf reports yet)"
    out = ["| part of the step | " + " | ".join(f"{n}: share of samples | ms per step" for n, _, _ in runs) + " |",
           "|---|" + "---|---|" * len(runs)]
    for label, _ in PARTS:
        cells = []
        for _, header, s in runs:
            cells += [f"{s[label]:.1f}%", f"{s[label] / 100 * float(header['step seconds']) * 1e3:.0f}"]
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    out.append("| **step (the run's mean)** | " +
               " | ".join(f"100% | **{float(h['step seconds']) * 1e3:,.0f}**" for _, h, _ in runs) + " |")
    if all("busiest threads' samples" in h and "seconds" in h for _, h, _ in runs):
        cells = []
        for _, h, _ in runs:
            counts = h["busiest threads' samples"].split()
            cells += [", ".join(f"{int(c) / (999 * float(h['seconds'])):.0%}" for c in counts), ""]
        out.append("| threads busy (their samples / (999 Hz x the window)) | " + " | ".join(cells) + " |")
    out.append("")
    for n, h, _ in runs:
        out.append(f"{n}: commit {h['commit']}; {h['machine']}; {h.get('window', 'window not recorded')}; "
                   f"train flags {h.get('train flags', 'not recorded').strip()}.")
    out.append("A part's milliseconds are its share of the samples times the run's mean step, which includes "
               "the first steps' allocations.")
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(report_block.main("step_perf", COMMAND, table, __doc__.splitlines()[0]))
