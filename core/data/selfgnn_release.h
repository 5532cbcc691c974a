#ifndef HARDGNN_CORE_DATA_SELFGNN_RELEASE_H_
#define HARDGNN_CORE_DATA_SELFGNN_RELEASE_H_

// The SelfGNN release folder (SPEC §1.1): four pickles read with the safe pickle reader.
//   trn_mat_time  [M_all (csr U x I), [S_0 .. S_{G-1}] (csr U x I, values = timestamps), T (csr)]
//   sequence      list of U lists of item ids (numpy int64), all events in time order
//   test_dict     {1-based user id: list of 1-based negative item ids} for the test users
//   tst_int       list of U entries: the test item id, or None
// U and I come from M_all's shape; every other file must agree (lengths, shapes, id ranges,
// test_dict keys = users with a tst_int entry), or reading fails naming the file and the
// inconsistency.
//
// Mapping into PreparedDataset (ReleaseToPrepared), following SPEC §1.2, §1.4 and §1.6:
//   - seq_item = sequence (repeats kept), seq_time = 0 (the release has no per-event times);
//   - slice_user_item[k] = the sparsity pattern of S_k (values ignored, as the model does);
//     slice_bounds[k] = the smallest stored value of S_k (a real event time: duplicates
//     are stored as sums of times, which are larger), slice_bounds[G] = the largest value of
//     S_{G-1} below 2 * slice_bounds[0] (any sum of two times is larger); 0 where a slice is
//     empty or its values are not positive;
//   - interacted = the items of `sequence` (what the official code excludes from negatives);
//   - eval_users = users with tst_int != None, ascending; test_item = tst_int[u];
//     eval_negatives = test_dict[u+1] - 1 (every list must have the same length, which
//     becomes negatives_per_user; the official code uses the first 999);
//   - test users: the test event is the LAST occurrence of tst_int[u] in sequence[u]
//     (normally its last element, §1.6); test_input_len = its position (the "clean" input:
//     the prefix before the test event; the "official" input is the whole sequence);
//     validation = the event just before it (sequence[-2] normally), train_len = position-1.
//     If tst_int[u] does not occur in sequence[u], test_input_len = n, val = the last event;
//   - other users: no test item (test_input_len = 0), validation = the last event
//     (sequence[-1], §1.4), train_len = n - 1;
//   - a user with an empty sequence has no validation item (-1) and train_len = 0.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "core/data/csr.h"
#include "core/data/dataset.h"

namespace hardgnn::data {

struct SelfGnnRelease {
  std::string dir;
  int32_t num_users = 0;  // rows of M_all
  int32_t num_items = 0;  // columns of M_all
  Csr m_all;              // sparsity pattern of M_all (the training pairs)
  std::vector<Csr> slices;
  std::vector<int64_t> slice_bounds;  // as described above
  std::vector<int64_t> seq_ptr = {0};
  std::vector<int32_t> seq_item;
  std::vector<int32_t> tst_int;          // per user, -1 for None
  std::vector<int32_t> test_users;       // test_dict keys - 1, ascending
  std::vector<int32_t> test_negatives;   // test_dict values - 1, row-major per test_users
  int32_t negatives_per_user = 0;
};

// Reads and cross-checks the four files of a release folder.
absl::StatusOr<SelfGnnRelease> ReadSelfGnnRelease(const std::string& dir);

// The same from the files' bytes (errors name dir/<file>); what the fuzzer calls.
struct ReleaseFiles {
  std::string trn_mat_time;
  std::string sequence;
  std::string test_dict;
  std::string tst_int;
};
absl::StatusOr<SelfGnnRelease> ParseSelfGnnRelease(ReleaseFiles files, const std::string& dir);

// A tst_int file alone: U entries, -1 for None. With num_items >= 0, ids must be below it.
absl::StatusOr<std::vector<int32_t>> ReadTstInt(const std::string& path, int64_t num_items = -1);

// What the mapping found, for stats.json.
struct ReleaseReport {
  int64_t test_users = 0;
  int64_t test_item_not_in_sequence = 0;   // clean input = whole sequence for these
  int64_t test_item_not_last = 0;          // last occurrence of the test item is not the last event
  int64_t empty_sequences = 0;
  int64_t negatives_hitting_interacted = 0;  // should be 0 in a genuine release
  std::vector<std::pair<std::string, std::string>> ToKeyValues() const;
};

absl::StatusOr<PreparedDataset> ReleaseToPrepared(const SelfGnnRelease& release, const std::string& name,
                                                  ReleaseReport* report = nullptr);

// The leakage checks of SPEC §1.6 on the raw release.
struct LeakageAudit {
  int64_t test_users = 0;
  int64_t test_is_last = 0;              // tst_int[u] == sequence[u][-1]
  int64_t test_in_sequence = 0;          // tst_int[u] occurs in sequence[u]
  int64_t with_two_events = 0;           // test users with |sequence[u]| >= 2 ...
  int64_t second_last_not_in_train = 0;  // ... whose sequence[u][-2] is absent from M_all[u]
  int64_t test_in_train = 0;             // tst_int[u] is in M_all[u] (repeat consumption)
  int64_t other_users = 0;               // users without a test item with a non-empty sequence ...
  int64_t other_last_not_in_train = 0;   // ... whose sequence[u][-1] is absent from M_all[u]
  int64_t sequence_pairs = 0;            // distinct (u, i) of sequence
  int64_t train_pairs = 0;               // nnz of M_all
  int64_t sequence_pairs_not_in_train = 0;
};
LeakageAudit AuditRelease(const SelfGnnRelease& release);
std::string FormatAudit(const LeakageAudit& audit);

}  // namespace hardgnn::data

#endif  // HARDGNN_CORE_DATA_SELFGNN_RELEASE_H_
