#!/usr/bin/env python3
"""Writes a synthetic interaction log shaped like the published SelfGNN Yelp data, for speed
measurements only (never for accuracy): `user<TAB>item<TAB>unix_seconds` per line.

Defaults: 20,000 users, 38,000 items, 700,000 interactions over one year. User activity and
item popularity are skewed (index = n * u^2 for u uniform, so density falls as 1/sqrt), times
uniform. Seeded and deterministic.

  tools/make_synthetic_log.py --out=/tmp/yelp_shape.tsv
  bazel-bin/hardgnn prepare --input=/tmp/yelp_shape.tsv --format=generic --kcore=0 --slices=12 ...
"""
import argparse
import random


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True)
    p.add_argument("--users", type=int, default=20000)
    p.add_argument("--items", type=int, default=38000)
    p.add_argument("--interactions", type=int, default=700000)
    p.add_argument("--start", type=int, default=1546300800)  # 2019-01-01
    p.add_argument("--days", type=int, default=365)
    p.add_argument("--seed", type=int, default=2024)
    a = p.parse_args()
    rng = random.Random(a.seed)
    span = a.days * 86400
    with open(a.out, "w") as f:
        for _ in range(a.interactions):
            u = int(a.users * rng.random() ** 2)
            i = int(a.items * rng.random() ** 2)
            f.write(f"{u}\t{i}\t{a.start + int(rng.random() * span)}\n")


if __name__ == "__main__":
    main()
