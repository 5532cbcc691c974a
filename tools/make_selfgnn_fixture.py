#!/usr/bin/python3
"""Makes small SelfGNN-format release folders for the C++ tests.

Run with Debian's Python, which has numpy and scipy:
    /usr/bin/python3 tools/make_selfgnn_fixture.py testdata/selfgnn-mini

Writes, under the given folder:
  p4/    trn_mat_time, sequence, test_dict, tst_int pickled with protocol 4 (as the release)
  p2/    the same objects pickled with protocol 2 (GLOBAL, BINPUT, _codecs.encode paths)
  bad/   single broken files, each to be swapped into a copy of p4/ by a test
  expected.txt   known answers, "key value..." per line

The objects follow the published pipeline (SPEC.md section 1.3): events with distinct times
per user; test users from a seeded permutation; test item = the user's latest event;
`sequence` = every event in time order (test and validation included); the validation
event = the latest event left after removing the test event; the rest are the training
events, counted in M_all and split into G equal-width time slices whose values are the
timestamps (consecutive duplicates skipped, others summed by scipy); T = slice index.
Deterministic: the output depends only on this script.
"""
import os
import pickle
import sys

import numpy as np
import scipy.sparse as sp

NUM_USERS = 40
NUM_ITEMS = 30
NUM_TEST = 12
NUM_SLICES = 3
NUM_NEG = 20
T0 = 1262304000  # 2010-01-01


def make_events(rng):
    events = {}  # user -> list of (time, item), in "file" order
    for u in range(NUM_USERS):
        n = int(rng.integers(3, 12))
        times = rng.choice(np.arange(T0, T0 + 86400 * 300, 3600), size=n, replace=False)
        # Repeats are common: draw items from a small per-user pool.
        pool = rng.choice(NUM_ITEMS, size=max(2, n - 2), replace=False)
        items = rng.choice(pool, size=n)
        events[u] = [(int(t), int(i)) for t, i in zip(times, items)]
    # Make sure every item id appears somewhere, so I = NUM_ITEMS is meaningful.
    for i in range(NUM_ITEMS):
        events[i % NUM_USERS].append((T0 - 86400 + i, i))
    return events


def build(rng):
    events = make_events(rng)
    perm = rng.permutation(NUM_USERS)
    test_users = sorted(int(u) for u in perm[:NUM_TEST])
    sequence, tst_int, train = [], [None] * NUM_USERS, {}
    for u in range(NUM_USERS):
        ev = sorted(events[u])
        sequence.append([np.int64(i) for _, i in ev])
        rest = list(ev)
        if u in test_users:
            tst_int[u] = rest[-1][1]
            rest = rest[:-1]
        rest = rest[:-1]  # the validation event
        train[u] = rest
    rows, cols, vals = [], [], []
    for u in range(NUM_USERS):
        for _, i in train[u]:
            rows.append(u)
            cols.append(i)
            vals.append(1.0)
    m_all = sp.csr_matrix((vals, (rows, cols)), shape=(NUM_USERS, NUM_ITEMS))
    times = [t for u in train for t, _ in train[u]]
    t_min, t_max = min(times), max(times)
    width = (t_max - t_min) / NUM_SLICES
    slice_entries = [([], [], []) for _ in range(NUM_SLICES)]
    for u in range(NUM_USERS):
        last = [None] * NUM_SLICES
        for t, i in train[u]:
            k = min(int((t - t_min) / width), NUM_SLICES - 1)
            if last[k] == (u, i):
                continue
            last[k] = (u, i)
            r, c, v = slice_entries[k]
            r.append(u)
            c.append(i)
            v.append(t)
    slices = [sp.csr_matrix((np.array(v, dtype=np.int64), (r, c)), shape=(NUM_USERS, NUM_ITEMS))
              for r, c, v in slice_entries]
    t_mat = sp.csr_matrix((NUM_USERS, NUM_ITEMS), dtype=np.int32)
    for k, s in enumerate(slices):
        t_mat = t_mat + (s != 0).astype(np.int32) * k
    t_mat = sp.csr_matrix(t_mat)
    interacted = [set(int(i) for i in seq) for seq in sequence]
    test_dict = {}
    for u in test_users:
        free = [i for i in range(NUM_ITEMS) if i not in interacted[u]]
        negs = rng.choice(free, size=NUM_NEG, replace=True)
        test_dict[np.int64(u + 1)] = [int(i) + 1 for i in negs]
    files = {
        "trn_mat_time": [m_all, slices, t_mat],
        "sequence": sequence,
        "test_dict": test_dict,
        "tst_int": tst_int,
    }
    return files, slices, m_all, test_users


def expected(files, slices, m_all, test_users):
    seq = files["sequence"]
    tst = files["tst_int"]
    lines = []
    lines.append(f"num_users {NUM_USERS}")
    lines.append(f"num_items {NUM_ITEMS}")
    lines.append(f"num_slices {NUM_SLICES}")
    lines.append("slice_nnz " + " ".join(str(s.nnz) for s in slices))
    lines.append(f"m_all_nnz {m_all.nnz}")
    lines.append(f"events {sum(len(s) for s in seq)}")
    lines.append("test_users " + " ".join(str(u) for u in test_users))
    lines.append(f"negatives_per_user {NUM_NEG}")
    u0 = test_users[0]
    lines.append(f"first_test_user_negatives " + " ".join(str(i - 1) for i in files["test_dict"][np.int64(u0 + 1)]))
    lines.append("sequence_of_first_test_user " + " ".join(str(int(i)) for i in seq[u0]))
    lines.append("tst_int " + " ".join(str(-1 if t is None else t) for t in tst))
    # Audit (SPEC 1.6).
    mall = m_all.tolil()
    is_last = sum(1 for u in test_users if int(seq[u][-1]) == tst[u])
    in_seq = sum(1 for u in test_users if tst[u] in [int(i) for i in seq[u]])
    two = [u for u in test_users if len(seq[u]) >= 2]
    second = sum(1 for u in two if mall[u, int(seq[u][-2])] == 0)
    lines.append(f"audit {len(test_users)} {is_last} {in_seq} {len(two)} {second}")
    lines.append("slice_min_values " + " ".join(str(int(s.data.min())) for s in slices))
    return "\n".join(lines) + "\n"


def bad_files(files):
    """One broken variant per file; the name says what is wrong."""
    good_tst = files["tst_int"]
    seq = files["sequence"]
    m_all, slices, t_mat = files["trn_mat_time"]
    out = {}
    out["tst_int.too_long"] = good_tst + [None]
    out["tst_int.item_out_of_range"] = [NUM_ITEMS + 5 if t is not None and k == 0 else t
                                        for k, t in enumerate(good_tst)]
    first_test = next(u for u, t in enumerate(good_tst) if t is not None)
    bad_seq = [list(s) for s in seq]
    bad_seq[3] = bad_seq[3] + [np.int64(NUM_ITEMS)]
    out["sequence.item_out_of_range"] = bad_seq
    out["sequence.too_short"] = seq[:-1]
    shared = [np.int64(i % NUM_ITEMS) for i in range(30)]
    out["sequence.shared_lists"] = [shared] * NUM_USERS  # one list pickled once, referenced 40 times
    td = dict(files["test_dict"])
    del td[np.int64(first_test + 1)]
    out["test_dict.missing_user"] = td
    td = dict(files["test_dict"])
    td[np.int64(first_test + 1)] = td[np.int64(first_test + 1)][:-1]
    out["test_dict.ragged"] = td
    wrong = sp.csr_matrix((NUM_USERS, NUM_ITEMS + 1), dtype=np.int64)
    out["trn_mat_time.slice_shape"] = [m_all, [slices[0], wrong] + slices[2:], t_mat]
    out["trn_mat_time.not_a_list"] = {"M_all": m_all}
    return out


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    root = sys.argv[1]
    rng = np.random.default_rng(20240611)
    files, slices, m_all, test_users = build(rng)
    for proto, sub in ((4, "p4"), (2, "p2")):
        os.makedirs(os.path.join(root, sub), exist_ok=True)
        for name, obj in files.items():
            with open(os.path.join(root, sub, name), "wb") as f:
                pickle.dump(obj, f, protocol=proto)
    os.makedirs(os.path.join(root, "bad"), exist_ok=True)
    for name, obj in bad_files(files).items():
        with open(os.path.join(root, "bad", name), "wb") as f:
            pickle.dump(obj, f, protocol=4)
    with open(os.path.join(root, "expected.txt"), "w") as f:
        f.write(expected(files, slices, m_all, test_users))


if __name__ == "__main__":
    main()
