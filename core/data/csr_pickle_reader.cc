#include "core/data/csr_pickle_reader.h"

#include <cmath>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/data/pickle.h"

namespace hardgnn::data {
namespace {

// Doubles hold every integer up to 2^53 exactly.
constexpr double kLargestExactDouble = 9007199254740992.0;

// How many entries fail one check, and the first of them.
struct BadEntries {
  int64_t count = 0;
  int64_t row = 0;
  int64_t col = 0;
  std::string value;

  void Add(int64_t r, int64_t c, std::string v) {
    if (count++ > 0) return;
    row = r;
    col = c;
    value = std::move(v);
  }

  absl::Status Refuse(const std::string& file, int64_t nnz, absl::string_view what, absl::string_view advice) const {
    return absl::InvalidArgumentError(absl::StrCat(file, ": ", count, " of ", nnz, " stored values ", what,
                                                   " (the first: row ", row, ", column ", col, ", value ", value,
                                                   "); ", advice));
  }
};

// The stored values as integer times: exactly for an integer or bool array; for a float
// array, the values that are whole numbers within 2^53 (the others go into *fractional).
absl::StatusOr<std::vector<int64_t>> Times(const pickle::Document& doc, const pickle::SparseMatrix& m,
                                           BadEntries* fractional) {
  if (m.data_array.obj->array_dtype->dtype.kind != 'f') {
    return pickle::ArrayToInt64(doc, m.data_array, "csr_matrix data");
  }
  std::vector<int64_t> times(m.data.size(), 0);
  for (int64_t r = 0; r < m.rows; ++r) {
    for (int64_t k = m.indptr[r]; k < m.indptr[r + 1]; ++k) {
      const double v = m.data[k];
      if (std::fabs(v) <= kLargestExactDouble && v == std::floor(v)) {
        times[k] = static_cast<int64_t>(v);
      } else {
        fractional->Add(r, m.indices[k], absl::StrFormat("%.17g", v));
      }
    }
  }
  return times;
}

}  // namespace

absl::StatusOr<InteractionLog> ParseCsrPickle(std::string bytes, const std::string& file) {
  absl::StatusOr<std::unique_ptr<pickle::Document>> doc = pickle::ParsePickle(std::move(bytes), file);
  if (!doc.ok()) return doc.status();
  const pickle::Document& d = **doc;
  absl::StatusOr<pickle::SparseMatrix> m = pickle::AsCsrMatrix(d, d.root, "top level");
  if (!m.ok()) return m.status();
  const int64_t nnz = static_cast<int64_t>(m->indices.size());
  if (nnz == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(file, ": no interactions (the ", m->rows, " x ", m->cols, " csr_matrix stores no entries)"));
  }
  BadEntries fractional, non_positive;
  absl::StatusOr<std::vector<int64_t>> times = Times(d, *m, &fractional);
  if (!times.ok()) return times.status();
  if (fractional.count > 0) {
    return fractional.Refuse(file, nnz, "are not integers",
                             "event times must be whole numbers (of --time_unit), below 2^53 in a float matrix");
  }
  for (int64_t r = 0; r < m->rows; ++r) {
    for (int64_t k = m->indptr[r]; k < m->indptr[r + 1]; ++k) {
      if ((*times)[k] <= 0) non_positive.Add(r, m->indices[k], absl::StrCat((*times)[k]));
    }
  }
  if (non_positive.count > 0) {
    return non_positive.Refuse(file, nnz, "are <= 0, not event times",
                               "a sparse matrix leaves out what did not happen (scipy's eliminate_zeros() drops "
                               "stored zeros)");
  }
  InteractionLog log;
  for (int64_t r = 0; r < m->rows; ++r) {
    const absl::AlphaNum user(r);
    for (int64_t k = m->indptr[r]; k < m->indptr[r + 1]; ++k) {
      log.Add(user.Piece(), absl::AlphaNum(m->indices[k]).Piece(), (*times)[k]);
    }
  }
  const TimeExtremes& t = log.time_extremes();
  if (log.size() > 1 && t.min_time == t.max_time) {
    log.warnings.push_back(absl::StrCat(file, ": every stored value is ", t.min_time,
                                        ": the matrix holds no event times, so each user's validation and test "
                                        "items are the last columns stored in their row"));
  }
  log.source = absl::StrCat("csr_pickle:", file);
  return log;
}

}  // namespace hardgnn::data
