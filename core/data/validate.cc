#include "core/data/validate.h"

#include <limits>
#include <vector>

#include "absl/strings/str_cat.h"

namespace hardgnn::data {
namespace {

absl::Status Bad(absl::string_view what, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(what, ": ", problem));
}

// Every value of `v` in [lo, hi).
template <typename T>
absl::Status CheckRange(const std::vector<T>& v, int64_t lo, int64_t hi, absl::string_view what) {
  // Fast path (vectorisable min/max), then a search for the culprit only on failure.
  T mn = std::numeric_limits<T>::max(), mx = std::numeric_limits<T>::lowest();
  for (const T x : v) {
    mn = x < mn ? x : mn;
    mx = x > mx ? x : mx;
  }
  if (v.empty() || (mn >= lo && mx < hi)) return absl::OkStatus();
  for (size_t j = 0; j < v.size(); ++j) {
    if (v[j] < lo || v[j] >= hi) {
      return Bad(what, absl::StrCat("entry ", j, " = ", v[j], " is outside [", lo, ", ", hi, ")"));
    }
  }
  return absl::OkStatus();
}

template <typename T>
absl::Status CheckSize(const std::vector<T>& v, int64_t want, absl::string_view what) {
  if (static_cast<int64_t>(v.size()) != want) {
    return Bad(what, absl::StrCat("has ", v.size(), " entries, expected ", want));
  }
  return absl::OkStatus();
}

absl::Status CheckOffsets(const std::vector<int64_t>& ptr, int64_t rows, int64_t total, absl::string_view what) {
  if (absl::Status s = CheckSize(ptr, rows + 1, what); !s.ok()) return s;
  if (ptr[0] != 0) return Bad(what, "does not start at 0");
  for (int64_t r = 0; r < rows; ++r) {
    if (ptr[r + 1] < ptr[r]) return Bad(what, absl::StrCat("decreases at row ", r));
  }
  if (ptr[rows] != total) return Bad(what, absl::StrCat("ends at ", ptr[rows], ", expected ", total));
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateCsr(const Csr& m, int64_t num_rows, int64_t num_cols, absl::string_view what) {
  if (m.num_rows != num_rows || m.num_cols != num_cols) {
    return Bad(what, absl::StrCat("is ", m.num_rows, " x ", m.num_cols, ", expected ", num_rows, " x ", num_cols));
  }
  if (absl::Status s = CheckOffsets(m.row_ptr, num_rows, m.nnz(), absl::StrCat(what, " row_ptr")); !s.ok()) return s;
  for (int64_t r = 0; r < num_rows; ++r) {
    for (int64_t k = m.row_ptr[r]; k < m.row_ptr[r + 1]; ++k) {
      if (m.col[k] < 0 || m.col[k] >= num_cols) {
        return Bad(what, absl::StrCat("row ", r, " has column ", m.col[k], " outside [0, ", num_cols, ")"));
      }
      if (k > m.row_ptr[r] && m.col[k] <= m.col[k - 1]) {
        return Bad(what, absl::StrCat("row ", r, " is not strictly ascending"));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status ValidatePreparedDataset(const PreparedDataset& ds) {
  const int64_t U = ds.num_users, I = ds.num_items;
  if (U < 0 || I < 0) return Bad("dataset", absl::StrCat("negative size ", U, " x ", I));
  if (!ds.user_names.empty()) {
    if (absl::Status s = CheckSize(ds.user_names, U, "user_names"); !s.ok()) return s;
  }
  if (!ds.item_names.empty()) {
    if (absl::Status s = CheckSize(ds.item_names, I, "item_names"); !s.ok()) return s;
  }
  const int64_t E = static_cast<int64_t>(ds.seq_item.size());
  if (absl::Status s = CheckOffsets(ds.seq_ptr, U, E, "seq_ptr"); !s.ok()) return s;
  if (absl::Status s = CheckRange(ds.seq_item, 0, I, "seq_item"); !s.ok()) return s;
  if (absl::Status s = CheckSize(ds.seq_time, E, "seq_time"); !s.ok()) return s;
  for (const auto* v : {&ds.train_len, &ds.val_item, &ds.test_item, &ds.test_input_len}) {
    if (absl::Status s = CheckSize(*v, U, "per-user split arrays"); !s.ok()) return s;
  }
  if (absl::Status s = CheckRange(ds.val_item, -1, I, "val_item"); !s.ok()) return s;
  if (absl::Status s = CheckRange(ds.test_item, -1, I, "test_item"); !s.ok()) return s;
  for (int64_t u = 0; u < U; ++u) {
    const int64_t n = ds.seq_ptr[u + 1] - ds.seq_ptr[u];
    if (ds.train_len[u] < 0 || ds.train_len[u] > n || ds.test_input_len[u] < 0 || ds.test_input_len[u] > n) {
      return Bad("split", absl::StrCat("user ", u, ": train_len ", ds.train_len[u], " or test_input_len ",
                                       ds.test_input_len[u], " outside [0, ", n, "]"));
    }
  }
  const int64_t G = static_cast<int64_t>(ds.slice_user_item.size());
  if (absl::Status s = CheckSize(ds.slice_item_user, G, "slice_item_user"); !s.ok()) return s;
  if (absl::Status s = CheckSize(ds.slice_bounds, G + 1, "slice_bounds"); !s.ok()) return s;
  for (int64_t k = 0; k < G; ++k) {
    if (ds.slice_bounds[k + 1] < ds.slice_bounds[k]) return Bad("slice_bounds", "decreasing");
    const std::string ui = absl::StrCat("slice_user_item[", k, "]"), iu = absl::StrCat("slice_item_user[", k, "]");
    if (absl::Status s = ValidateCsr(ds.slice_user_item[k], U, I, ui); !s.ok()) return s;
    if (absl::Status s = ValidateCsr(ds.slice_item_user[k], I, U, iu); !s.ok()) return s;
    const Csr t = ds.slice_user_item[k].Transposed();
    if (t.row_ptr != ds.slice_item_user[k].row_ptr || t.col != ds.slice_item_user[k].col) {
      return Bad(iu, absl::StrCat("is not the transpose of ", ui));
    }
  }
  if (absl::Status s = ValidateCsr(ds.interacted, U, I, "interacted"); !s.ok()) return s;
  if (absl::Status s = CheckRange(ds.eval_users, 0, U, "eval_users"); !s.ok()) return s;
  for (size_t j = 1; j < ds.eval_users.size(); ++j) {
    if (ds.eval_users[j] <= ds.eval_users[j - 1]) return Bad("eval_users", "not strictly ascending");
  }
  if (ds.negatives_per_user < 0) return Bad("negatives_per_user", "negative");
  if (absl::Status s = CheckSize(ds.eval_negatives,
                                 static_cast<int64_t>(ds.eval_users.size()) * ds.negatives_per_user, "eval_negatives");
      !s.ok()) {
    return s;
  }
  return CheckRange(ds.eval_negatives, 0, I, "eval_negatives");
}

}  // namespace hardgnn::data
