#!/usr/bin/python3
"""Writes the seed corpora of the libFuzzer targets under tests/data/fuzz/seeds/.

Run from the repository root with Debian's Python (numpy, scipy):
    /usr/bin/python3 tools/make_fuzz_seeds.py
The cache seed needs a built //tools:prepare (bazel build //tools:prepare).
"""
import os
import pickle
import shutil
import struct
import subprocess
import tempfile

import numpy as np
import scipy.sparse as sp

ROOT = "tests/data/fuzz/seeds"
MINI = "testdata/selfgnn-mini"


def write(target, name, data):
    os.makedirs(os.path.join(ROOT, target), exist_ok=True)
    with open(os.path.join(ROOT, target, name), "wb") as f:
        f.write(data)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def main():
    shutil.rmtree(ROOT, ignore_errors=True)
    # pickle: small real-shaped pickles of every kind the reader knows.
    for sub in ("p4", "p2"):
        for name in ("tst_int", "test_dict", "trn_mat_time"):
            write("pickle", f"{sub}_{name}", read(os.path.join(MINI, sub, name)))
    for name in sorted(os.listdir(os.path.join(MINI, "bad"))):
        if name.startswith(("tst_int", "test_dict")):
            write("pickle", "bad_" + name, read(os.path.join(MINI, "bad", name)))
    values = {
        "be_int32": np.array([1, -2, 3], dtype=">i4"),
        "f32": np.array([1.5, 2.5], dtype="<f4"),
        "scalar_i8": np.int64(-7),
        "csr": sp.csr_matrix(np.array([[0, 1, 0], [2, 0, 3]], dtype=np.int64)),
        "plain": {"a": [1, -300, 2**40, None, True, 1.25, "x"], b"k": (1, 2)},
    }
    for name, v in values.items():
        for proto in (2, 4):
            write("pickle", f"{name}_p{proto}", pickle.dumps(v, protocol=proto))

    # text: 8 control bytes (format, gzip flag, options), then the file.
    texts = [
        (0, "gowalla.tsv"), (1, "ratings.dat"), (2, "ratings.csv"), (3, "amazon_ratings.csv"),
        (4, "generic_tab.tsv"), (4, "generic_comma.csv"), (4, "generic_space.txt"),
    ]
    for fmt, name in texts:
        body = read(os.path.join("testdata/text", name))
        write("text", name, bytes([fmt, 0, 0, 1, 3, 0, 1, 7]) + body)
    write("text", "gowalla.tsv.gz", bytes([0, 1, 4, 2, 2, 1, 0, 9]) + read("testdata/text/gowalla.tsv.gz"))
    many = "".join(f"u{u},i{(u * 7 + j * 3) % 11},{100 * j + u}\n" for u in range(12) for j in range(3 + u % 4))
    write("text", "generic_many.csv", bytes([4, 0, 1, 2, 4, 1, 2, 3]) + many.encode())

    # release: three uint16 lengths, then trn_mat_time, sequence, test_dict, tst_int.
    for sub in ("p4", "p2"):
        parts = [read(os.path.join(MINI, sub, n)) for n in ("trn_mat_time", "sequence", "test_dict", "tst_int")]
        head = struct.pack("<HHH", len(parts[0]), len(parts[1]), len(parts[2]))
        write("release", sub, head + b"".join(parts))

    # cache: a tiny prepared dataset written by //tools:prepare.
    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "log.csv")
        with open(log, "w") as f:
            f.write(many)
        subprocess.run(["bazel-bin/tools/prepare", f"--input={log}", "--format=generic", "--kcore=0",
                        "--slices=2", "--eval_negatives=3", f"--out={tmp}/out"],
                       check=True, stdout=subprocess.DEVNULL)
        write("cache", "tiny.bin", read(os.path.join(tmp, "out", "dataset.bin")))


if __name__ == "__main__":
    main()
