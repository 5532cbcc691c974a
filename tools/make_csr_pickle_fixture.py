#!/usr/bin/python3
"""Makes the small pickled scipy csr_matrix files of the `prepare --format=csr_pickle` tests.

Run with Debian's Python, which has numpy and scipy:
    /usr/bin/python3 tools/make_csr_pickle_fixture.py testdata/csr-pickle

Writes, under the given folder, one 4 x 6 matrix (users x items) of event times built from
explicit (data, indices, indptr) arrays, so the stored order is exactly this:
    row 0: column 3 at 1600000300, column 1 at 1600000100   (columns not sorted)
    row 1: no entries
    row 2: column 0 at 1600000200, column 5 at 1600000000, column 2 at 1600000400
    row 3: column 1 at 1600000500
    (column 4 has no entries)
in these forms:
  events.pkl       int64 values, protocol 4 (as SSLRec's trn_buy.pkl)
  events_p2.pkl    the same, protocol 2 (GLOBAL, BINPUT, _codecs.encode paths)
  events_float.pkl the same times as float64
  events_ms.pkl    int64 milliseconds: each time * 1000 + 999
  ones.pkl         float64 ones at the same places (an interaction matrix without times)
and broken files under bad/, the name saying what is wrong:
  csc.pkl          the same matrix as a csc_matrix
  indptr_short.pkl indptr with 4 entries for 4 rows
  fraction.pkl     float64 values, one of them 1600000400.5
  empty.pkl        a 4 x 6 matrix without entries
Deterministic: the output depends only on this script.
"""
import os
import pickle
import sys

import numpy as np
import scipy.sparse as sp

SHAPE = (4, 6)
INDPTR = [0, 2, 2, 5, 6]
INDICES = [3, 1, 0, 5, 2, 1]
TIMES = [1600000300, 1600000100, 1600000200, 1600000000, 1600000400, 1600000500]


def csr(values, dtype, indptr=INDPTR):
    return sp.csr_matrix((np.array(values, dtype=dtype), np.array(INDICES, dtype=np.int32),
                          np.array(indptr, dtype=np.int32)), shape=SHAPE)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    root = sys.argv[1]
    good = {
        "events.pkl": (csr(TIMES, np.int64), 4),
        "events_p2.pkl": (csr(TIMES, np.int64), 2),
        "events_float.pkl": (csr(TIMES, np.float64), 4),
        "events_ms.pkl": (csr([t * 1000 + 999 for t in TIMES], np.int64), 4),
        "ones.pkl": (csr([1.0] * len(TIMES), np.float64), 4),
    }
    short = csr(TIMES, np.int64)
    short.indptr = short.indptr[:-1]  # pickling does not check it
    fraction = list(map(float, TIMES))
    fraction[4] += 0.5
    bad = {
        "csc.pkl": sp.csc_matrix(csr(TIMES, np.int64)),
        "indptr_short.pkl": short,
        "fraction.pkl": csr(fraction, np.float64),
        "empty.pkl": sp.csr_matrix(SHAPE, dtype=np.int64),
    }
    os.makedirs(os.path.join(root, "bad"), exist_ok=True)
    for name, (obj, protocol) in good.items():
        with open(os.path.join(root, name), "wb") as f:
            pickle.dump(obj, f, protocol=protocol)
    for name, obj in bad.items():
        with open(os.path.join(root, "bad", name), "wb") as f:
            pickle.dump(obj, f, protocol=4)


if __name__ == "__main__":
    main()
