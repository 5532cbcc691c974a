// The leakage checks of SPEC §1.6 (declared in selfgnn_release.h).
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/data/selfgnn_release.h"

namespace hardgnn::data {

LeakageAudit AuditRelease(const SelfGnnRelease& r) {
  LeakageAudit a;
  a.train_pairs = r.m_all.nnz();
  std::vector<std::pair<int32_t, int32_t>> pairs;
  for (int32_t u = 0; u < r.num_users; ++u) {
    const int32_t* s = r.seq_item.data() + r.seq_ptr[u];
    const int64_t n = r.seq_ptr[u + 1] - r.seq_ptr[u];
    for (int64_t p = 0; p < n; ++p) pairs.emplace_back(u, s[p]);
    const int32_t t = r.tst_int[u];
    if (t < 0) {
      if (n > 0) {
        ++a.other_users;
        a.other_last_not_in_train += !r.m_all.Contains(u, s[n - 1]);
      }
      continue;
    }
    ++a.test_users;
    a.test_is_last += n > 0 && s[n - 1] == t;
    for (int64_t p = 0; p < n; ++p) {
      if (s[p] == t) {
        ++a.test_in_sequence;
        break;
      }
    }
    a.test_in_train += r.m_all.Contains(u, t);
    if (n >= 2) {
      ++a.with_two_events;
      a.second_last_not_in_train += !r.m_all.Contains(u, s[n - 2]);
    }
  }
  const Csr seq = CsrFromPairs(r.num_users, r.num_items, std::move(pairs));
  a.sequence_pairs = seq.nnz();
  for (int64_t u = 0; u < seq.num_rows; ++u) {
    for (const int32_t* i = seq.RowBegin(u); i != seq.RowEnd(u); ++i) a.sequence_pairs_not_in_train += !r.m_all.Contains(u, *i);
  }
  return a;
}

std::string FormatAudit(const LeakageAudit& a) {
  auto line = [](absl::string_view what, int64_t k, int64_t n) {
    return absl::StrFormat("  %-62s %8d / %-8d = %6.2f%%\n", what, k, n, n > 0 ? 100.0 * k / n : 0.0);
  };
  std::string out = "Leakage audit (SPEC §1.6): the official test pass feeds the whole `sequence` as input\n";
  absl::StrAppend(&out, line("1. test users with tst_int[u] == sequence[u][-1]", a.test_is_last, a.test_users));
  absl::StrAppend(&out, line("2. test users with tst_int[u] in sequence[u]", a.test_in_sequence, a.test_users));
  absl::StrAppend(&out, line("3. test users whose sequence[u][-2] is absent from M_all[u]", a.second_last_not_in_train,
                             a.with_two_events));
  absl::StrAppend(&out, "  context:\n");
  absl::StrAppend(&out, line("   test users whose tst_int[u] is also in M_all[u] (repeats)", a.test_in_train, a.test_users));
  absl::StrAppend(&out, line("   other users whose sequence[u][-1] is absent from M_all[u]", a.other_last_not_in_train,
                             a.other_users));
  absl::StrAppend(&out, line("   distinct sequence pairs absent from M_all", a.sequence_pairs_not_in_train, a.sequence_pairs));
  absl::StrAppendFormat(&out, "  M_all pairs: %d, sequence pairs: %d\n", a.train_pairs, a.sequence_pairs);
  absl::StrAppend(&out,
                  "  Reading: a high (1) or (2) means the test target is inside the model's input in `official`\n"
                  "  eval mode; use `clean` (input = sequence before the test event). A high (3) confirms that\n"
                  "  sequence[-2] is the held-out validation event.\n");
  return out;
}

}  // namespace hardgnn::data
