#!/usr/bin/env python3
"""Where a step's two threads wait for each other, from a `perf record -g` of a training run.

A thread that takes no sample for longer than GAP seconds was not running (waiting at a
barrier, or serial work on the other thread). For each of the two busiest threads this sums
those stretches over a window of the run and lists what the other thread was doing meanwhile
(leaf symbol and two callers), which names the serial sections and the imbalanced loops.

  perf record -F 999 -g -o perf.data bazel-bin/hardgnn train ... --max_steps=12
  python3 experiments/thread_idle.py perf.data --skip=5 --seconds=10

Reads `perf script -F tid,time,ip,sym` (or a saved copy of it with --script).
"""
import argparse
import bisect
import collections
import re
import subprocess
import sys


def parse(lines, source="perf script"):
    """Samples as (tid, time, [frames, leaf first]) from perf script's output; a header line that
    is not `TID TIME:` raises ValueError naming the source and line."""
    samples = []
    for number, line in enumerate(lines, 1):
        if line.startswith("\t"):
            if samples:
                samples[-1][2].append(re.sub(r"^\s*[0-9a-f]+ ", "", line.strip()))
        elif line.strip():
            fields = line.split()
            try:
                if len(fields) < 2 or not fields[1].endswith(":"):
                    raise ValueError
                samples.append((int(fields[0]), float(fields[1][:-1]), []))
            except ValueError:
                raise ValueError(f"{source}:{number}: not a sample header `TID TIME:` (perf script -F tid,time,ip,sym):"
                                 f" {line.strip()[:80]!r}") from None
    return sorted(samples, key=lambda s: s[1])


def frame_name(frame):
    return re.sub(r"[(<+].*", "", frame)[-45:]


def idle_report(samples, gap, top):
    """Per thread: its idle seconds and what the other thread ran meanwhile (sample counts)."""
    busiest = [t for t, _ in collections.Counter(s[0] for s in samples).most_common(2)]
    report = []
    for waiting in busiest:
        other = [t for t in busiest if t != waiting]
        own = [s[1] for s in samples if s[0] == waiting]
        stretches = [(a, b) for a, b in zip(own, own[1:]) if b - a > gap]
        others = [s for s in samples if other and s[0] == other[0]]
        times = [s[1] for s in others]
        meanwhile = collections.Counter()
        for begin, end in stretches:
            for s in others[bisect.bisect_right(times, begin):bisect.bisect_left(times, end)]:
                frames = s[2] or ["?"]
                meanwhile[" / ".join(frame_name(f) for f in frames[:3])] += 1
        report.append((waiting, len(own), sum(b - a for a, b in stretches), meanwhile.most_common(top)))
    return report


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", nargs="?", help="perf.data")
    ap.add_argument("--script", help="a saved `perf script -F tid,time,ip,sym` output instead of perf.data")
    ap.add_argument("--skip", type=float, default=0.0, help="seconds from the first sample to the window")
    ap.add_argument("--seconds", type=float, default=1e9, help="the window's length")
    ap.add_argument("--gap", type=float, default=0.003, help="a stretch without samples longer than this is idle")
    ap.add_argument("--top", type=int, default=12)
    args = ap.parse_args(argv)
    try:
        if args.script:
            with open(args.script) as f:
                samples = parse(f, args.script)
        else:
            out = subprocess.run(["perf", "script", "-i", args.data, "-F", "tid,time,ip,sym"], capture_output=True,
                                 text=True, check=True).stdout
            samples = parse(out.splitlines(), f"perf script of {args.data}")
    except ValueError as e:
        sys.exit(str(e))
    if not samples:
        sys.exit("no samples")
    t0 = samples[0][1] + args.skip
    samples = [s for s in samples if t0 <= s[1] <= t0 + args.seconds]
    window = samples[-1][1] - samples[0][1] if samples else 0.0
    print(f"window {window:.2f} s")
    for tid, count, idle, meanwhile in idle_report(samples, args.gap, args.top):
        print(f"thread {tid}: {count} samples, idle {idle:.3f} s ({100 * idle / max(window, 1e-9):.1f}%);"
              " the other thread meanwhile (samples):")
        for name, n in meanwhile:
            print(f"  {n:6d}  {name}")


if __name__ == "__main__":
    main(sys.argv[1:])
