#include "core/data/selfgnn_release.h"

#include <algorithm>
#include <limits>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "core/data/file_io.h"
#include "core/data/pickle.h"

namespace hardgnn::data {
namespace {

using pickle::Document;
using pickle::Kind;
using pickle::Value;

constexpr size_t kMaxSlices = 1024;

absl::Status Inconsistent(const std::string& file, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(file, ": ", problem));
}

// Binary pattern of a pickled csr_matrix, with rows sorted and de-duplicated.
absl::StatusOr<Csr> PatternOf(const pickle::SparseMatrix& m, const std::string& file, absl::string_view what) {
  if (m.rows > std::numeric_limits<int32_t>::max() || m.cols > std::numeric_limits<int32_t>::max()) {
    return Inconsistent(file, absl::StrCat(what, ": shape ", m.rows, " x ", m.cols, " exceeds 2^31-1"));
  }
  Csr c;
  c.num_rows = m.rows;
  c.num_cols = m.cols;
  c.row_ptr.assign(m.rows + 1, 0);
  c.col.reserve(m.indices.size());
  for (int64_t r = 0; r < m.rows; ++r) {
    const size_t begin = c.col.size();
    for (int64_t k = m.indptr[r]; k < m.indptr[r + 1]; ++k) c.col.push_back(static_cast<int32_t>(m.indices[k]));
    std::sort(c.col.begin() + begin, c.col.end());
    c.col.erase(std::unique(c.col.begin() + begin, c.col.end()), c.col.end());
    c.row_ptr[r + 1] = static_cast<int64_t>(c.col.size());
  }
  return c;
}

// SPEC §1.3 step 7 stores timestamps as values; duplicates within a slice are summed.
std::vector<int64_t> BoundsFromValues(const std::vector<pickle::SparseMatrix>& slices) {
  const int32_t g = static_cast<int32_t>(slices.size());
  std::vector<int64_t> bounds(g + 1, 0);
  for (int32_t k = 0; k < g; ++k) {
    double lo = std::numeric_limits<double>::infinity();
    for (const double v : slices[k].data) lo = std::min(lo, v);
    if (lo > 0 && lo < 9.2e18) bounds[k] = static_cast<int64_t>(lo);
  }
  if (g > 0 && bounds[0] > 0) {
    double hi = 0;
    for (const double v : slices[g - 1].data) {
      if (v < 2.0 * bounds[0]) hi = std::max(hi, v);
    }
    bounds[g] = static_cast<int64_t>(hi);
  }
  for (int32_t k = 1; k <= g; ++k) bounds[k] = std::max(bounds[k], bounds[k - 1]);  // keep them monotone
  return bounds;
}

// An int id in [lo, hi) from a list entry.
absl::StatusOr<int32_t> IdIn(const Document& doc, const Value& v, int64_t lo, int64_t hi, const std::string& what) {
  absl::StatusOr<int64_t> id = pickle::AsInt(doc, v, what);
  if (!id.ok()) return id.status();
  if (*id < lo || *id >= hi) {
    return absl::InvalidArgumentError(
        absl::StrCat(doc.name(), ": ", what, ": id ", *id, " out of range [", lo, ", ", hi, ")"));
  }
  return static_cast<int32_t>(*id);
}

// A pickle can reference one list or array many times (2 bytes per reference); a release
// never does, so every value read must take at least one byte of its file. Refusing more
// keeps a small malicious file from expanding into gigabytes.
absl::Status CheckExpansion(const std::string& path, uint64_t values, uint64_t file_size) {
  if (values <= file_size) return absl::OkStatus();
  return Inconsistent(path, absl::StrCat("holds ", values, " values in ", file_size,
                                         " bytes: lists or arrays are shared, which a SelfGNN release never does"));
}

absl::Status ReadTrnMatTime(std::string bytes, const std::string& path, SelfGnnRelease* r) {
  const uint64_t file_size = bytes.size();
  absl::StatusOr<std::unique_ptr<Document>> doc = pickle::ParsePickle(std::move(bytes), path);
  if (!doc.ok()) return doc.status();
  const Document& d = **doc;
  absl::StatusOr<const std::vector<Value>*> top = pickle::AsSequence(d, d.root, "top level");
  if (!top.ok()) return top.status();
  if ((*top)->size() != 3) {
    return Inconsistent(path, absl::StrCat("expected [M_all, [slices], T], found a list of ", (*top)->size()));
  }
  absl::StatusOr<pickle::SparseMatrix> m_all = pickle::AsCsrMatrix(d, (**top)[0], "M_all");
  if (!m_all.ok()) return m_all.status();
  absl::StatusOr<Csr> pattern = PatternOf(*m_all, path, "M_all");
  if (!pattern.ok()) return pattern.status();
  r->m_all = std::move(*pattern);
  r->num_users = static_cast<int32_t>(r->m_all.num_rows);
  r->num_items = static_cast<int32_t>(r->m_all.num_cols);
  absl::StatusOr<const std::vector<Value>*> slices = pickle::AsSequence(d, (**top)[1], "slice list");
  if (!slices.ok()) return slices.status();
  if ((*slices)->empty()) return Inconsistent(path, "no time slices");
  if ((*slices)->size() > kMaxSlices) {
    return Inconsistent(path, absl::StrCat((*slices)->size(), " time slices, more than the ", kMaxSlices, " supported"));
  }
  std::vector<pickle::SparseMatrix> raw;
  uint64_t values = r->m_all.row_ptr.size() + r->m_all.col.size();
  for (size_t k = 0; k < (*slices)->size(); ++k) {
    const std::string what = absl::StrCat("slice ", k);
    absl::StatusOr<pickle::SparseMatrix> s = pickle::AsCsrMatrix(d, (**slices)[k], what);
    if (!s.ok()) return s.status();
    values += s->indptr.size() + s->indices.size();
    if (absl::Status e = CheckExpansion(path, values, file_size); !e.ok()) return e;
    if (s->rows != r->num_users || s->cols != r->num_items) {
      return Inconsistent(path, absl::StrCat(what, " is ", s->rows, " x ", s->cols, ", M_all is ", r->num_users,
                                             " x ", r->num_items));
    }
    absl::StatusOr<Csr> p = PatternOf(*s, path, what);
    if (!p.ok()) return p.status();
    r->slices.push_back(std::move(*p));
    raw.push_back(std::move(*s));
  }
  r->slice_bounds = BoundsFromValues(raw);
  absl::StatusOr<pickle::SparseMatrix> t = pickle::AsCsrMatrix(d, (**top)[2], "T");
  if (!t.ok()) return t.status();
  if (t->rows != r->num_users || t->cols != r->num_items) {
    return Inconsistent(path, absl::StrCat("T is ", t->rows, " x ", t->cols, ", M_all is ", r->num_users, " x ",
                                           r->num_items));
  }
  return absl::OkStatus();
}

absl::Status ReadSequence(std::string bytes, const std::string& path, SelfGnnRelease* r) {
  const uint64_t file_size = bytes.size();
  absl::StatusOr<std::unique_ptr<Document>> doc = pickle::ParsePickle(std::move(bytes), path);
  if (!doc.ok()) return doc.status();
  const Document& d = **doc;
  absl::StatusOr<const std::vector<Value>*> users = pickle::AsSequence(d, d.root, "top level");
  if (!users.ok()) return users.status();
  if (static_cast<int64_t>((*users)->size()) != r->num_users) {
    return Inconsistent(path, absl::StrCat("has ", (*users)->size(), " users, trn_mat_time has ", r->num_users));
  }
  r->seq_ptr.assign(1, 0);
  r->seq_item.clear();
  for (int32_t u = 0; u < r->num_users; ++u) {
    const std::string what = absl::StrCat("sequence[", u, "]");
    absl::StatusOr<const std::vector<Value>*> items = pickle::AsSequence(d, (**users)[u], what);
    if (!items.ok()) return items.status();
    if (absl::Status e = CheckExpansion(path, r->seq_item.size() + (*items)->size(), file_size); !e.ok()) return e;
    for (const Value& v : **items) {
      absl::StatusOr<int32_t> i = IdIn(d, v, 0, r->num_items, what);
      if (!i.ok()) return i.status();
      r->seq_item.push_back(*i);
    }
    r->seq_ptr.push_back(static_cast<int64_t>(r->seq_item.size()));
  }
  return absl::OkStatus();
}

absl::Status ReadTestDict(std::string bytes, const std::string& path, SelfGnnRelease* r) {
  const uint64_t file_size = bytes.size();
  absl::StatusOr<std::unique_ptr<Document>> doc = pickle::ParsePickle(std::move(bytes), path);
  if (!doc.ok()) return doc.status();
  const Document& d = **doc;
  if (d.root.kind != Kind::kDict) {
    return Inconsistent(path, absl::StrCat("expected a dict, found ", pickle::KindName(d.root.kind)));
  }
  std::vector<std::pair<int32_t, const Value*>> entries;
  for (const auto& [key, value] : d.root.obj->dict) {
    absl::StatusOr<int32_t> u = IdIn(d, key, 1, int64_t{r->num_users} + 1, "key (1-based user id)");
    if (!u.ok()) return u.status();
    entries.emplace_back(*u - 1, &value);
  }
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  r->test_users.clear();
  r->test_negatives.clear();
  for (size_t j = 0; j < entries.size(); ++j) {
    const int32_t u = entries[j].first;
    if (j > 0 && entries[j - 1].first == u) return Inconsistent(path, absl::StrCat("user ", u + 1, " appears twice"));
    const std::string what = absl::StrCat("test_dict[", u + 1, "]");
    absl::StatusOr<const std::vector<Value>*> negs = pickle::AsSequence(d, *entries[j].second, what);
    if (!negs.ok()) return negs.status();
    if (absl::Status e = CheckExpansion(path, r->test_negatives.size() + (*negs)->size(), file_size); !e.ok()) {
      return e;
    }
    if (j == 0) r->negatives_per_user = static_cast<int32_t>((*negs)->size());
    if (static_cast<int64_t>((*negs)->size()) != r->negatives_per_user) {
      return Inconsistent(path, absl::StrCat(what, " has ", (*negs)->size(), " negatives, user ", entries[0].first + 1,
                                             " has ", r->negatives_per_user));
    }
    for (const Value& v : **negs) {
      absl::StatusOr<int32_t> i = IdIn(d, v, 1, int64_t{r->num_items} + 1, what + " (1-based item id)");
      if (!i.ok()) return i.status();
      r->test_negatives.push_back(*i - 1);
    }
    r->test_users.push_back(u);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<int32_t>> TstIntFrom(const Document& d, int64_t num_items) {
  absl::StatusOr<const std::vector<Value>*> users = pickle::AsSequence(d, d.root, "top level");
  if (!users.ok()) return users.status();
  const int64_t hi = num_items >= 0 ? num_items : std::numeric_limits<int32_t>::max();
  std::vector<int32_t> out;
  out.reserve((*users)->size());
  for (size_t u = 0; u < (*users)->size(); ++u) {
    const Value& v = (**users)[u];
    if (v.kind == Kind::kNone) {
      out.push_back(-1);
      continue;
    }
    absl::StatusOr<int32_t> i = IdIn(d, v, 0, hi, absl::StrCat("tst_int[", u, "]"));
    if (!i.ok()) return i.status();
    out.push_back(*i);
  }
  return out;
}

}  // namespace

absl::StatusOr<std::vector<int32_t>> ReadTstInt(const std::string& path, int64_t num_items) {
  absl::StatusOr<std::unique_ptr<Document>> doc = pickle::ReadPickleFile(path);
  if (!doc.ok()) return doc.status();
  return TstIntFrom(**doc, num_items);
}

absl::StatusOr<SelfGnnRelease> ReadSelfGnnRelease(const std::string& dir) {
  if (!IsDirectory(dir)) return absl::NotFoundError(absl::StrCat(dir, ": not a directory (a SelfGNN release folder)"));
  const std::string base = dir.empty() || dir.back() == '/' ? dir : dir + "/";
  ReleaseFiles files;
  for (auto [name, bytes] : {std::make_pair("trn_mat_time", &files.trn_mat_time),
                             std::make_pair("sequence", &files.sequence), std::make_pair("test_dict", &files.test_dict),
                             std::make_pair("tst_int", &files.tst_int)}) {
    absl::StatusOr<std::string> content = ReadFileToString(base + name);
    if (!content.ok()) return content.status();
    *bytes = std::move(*content);
  }
  return ParseSelfGnnRelease(std::move(files), dir);
}

absl::StatusOr<SelfGnnRelease> ParseSelfGnnRelease(ReleaseFiles files, const std::string& dir) {
  SelfGnnRelease r;
  r.dir = dir;
  const std::string base = dir.empty() || dir.back() == '/' ? dir : dir + "/";
  if (absl::Status s = ReadTrnMatTime(std::move(files.trn_mat_time), base + "trn_mat_time", &r); !s.ok()) return s;
  if (absl::Status s = ReadSequence(std::move(files.sequence), base + "sequence", &r); !s.ok()) return s;
  absl::StatusOr<std::unique_ptr<Document>> tst_doc = pickle::ParsePickle(std::move(files.tst_int), base + "tst_int");
  if (!tst_doc.ok()) return tst_doc.status();
  absl::StatusOr<std::vector<int32_t>> tst = TstIntFrom(**tst_doc, r.num_items);
  if (!tst.ok()) return tst.status();
  r.tst_int = std::move(*tst);
  if (static_cast<int64_t>(r.tst_int.size()) != r.num_users) {
    return Inconsistent(base + "tst_int", absl::StrCat("has ", r.tst_int.size(), " users, trn_mat_time has ", r.num_users));
  }
  if (absl::Status s = ReadTestDict(std::move(files.test_dict), base + "test_dict", &r); !s.ok()) return s;
  std::vector<int32_t> with_test;
  for (int32_t u = 0; u < r.num_users; ++u) {
    if (r.tst_int[u] >= 0) with_test.push_back(u);
  }
  if (with_test != r.test_users) {
    size_t j = 0;
    while (j < with_test.size() && j < r.test_users.size() && with_test[j] == r.test_users[j]) ++j;
    const std::string which =
        j < with_test.size() && (j >= r.test_users.size() || with_test[j] < r.test_users[j])
            ? absl::StrCat("user ", with_test[j], " has a tst_int entry but no test_dict entry (key ", with_test[j] + 1, ")")
            : absl::StrCat("test_dict has key ", r.test_users[j] + 1, " but tst_int[", r.test_users[j], "] is None");
    return Inconsistent(base + "test_dict", which);
  }
  return r;
}

absl::StatusOr<PreparedDataset> ReleaseToPrepared(const SelfGnnRelease& r, const std::string& name,
                                                  ReleaseReport* report_out) {
  ReleaseReport report;
  PreparedDataset ds;
  ds.name = name;
  ds.source = absl::StrCat("selfgnn:", r.dir);
  ds.num_users = r.num_users;
  ds.num_items = r.num_items;
  ds.seq_ptr = r.seq_ptr;
  ds.seq_item = r.seq_item;
  ds.seq_time.assign(r.seq_item.size(), 0);
  ds.train_len.assign(r.num_users, 0);
  ds.val_item.assign(r.num_users, -1);
  ds.test_item.assign(r.num_users, -1);
  ds.test_input_len.assign(r.num_users, 0);
  for (int32_t u = 0; u < r.num_users; ++u) {
    const int32_t* s = ds.Sequence(u);
    const int64_t n = ds.SequenceLength(u);
    if (n == 0) ++report.empty_sequences;
    int64_t end = n;  // events [0, end) precede the test event
    if (r.tst_int[u] >= 0) {
      ++report.test_users;
      ds.test_item[u] = r.tst_int[u];
      int64_t p = n - 1;
      while (p >= 0 && s[p] != r.tst_int[u]) --p;
      if (p < 0) {
        ++report.test_item_not_in_sequence;
        p = n;
      } else if (p != n - 1) {
        ++report.test_item_not_last;
      }
      end = p;
      ds.test_input_len[u] = static_cast<int32_t>(p);
    }
    if (end > 0) {
      ds.val_item[u] = s[end - 1];
      ds.train_len[u] = static_cast<int32_t>(end - 1);
    }
  }
  ds.slice_bounds = r.slice_bounds;
  for (const Csr& m : r.slices) {
    ds.slice_user_item.push_back(m);
    ds.slice_item_user.push_back(m.Transposed());
  }
  std::vector<std::pair<int32_t, int32_t>> pairs;
  pairs.reserve(ds.seq_item.size());
  for (int32_t u = 0; u < ds.num_users; ++u) {
    for (int64_t p = ds.seq_ptr[u]; p < ds.seq_ptr[u + 1]; ++p) pairs.emplace_back(u, ds.seq_item[p]);
  }
  ds.interacted = CsrFromPairs(ds.num_users, ds.num_items, std::move(pairs));
  ds.eval_users = r.test_users;
  ds.negatives_per_user = r.negatives_per_user;
  ds.eval_negatives = r.test_negatives;
  for (size_t row = 0; row < ds.eval_users.size(); ++row) {
    const int32_t* negs = ds.EvalNegatives(static_cast<int64_t>(row));
    for (int32_t j = 0; j < ds.negatives_per_user; ++j) {
      report.negatives_hitting_interacted += ds.interacted.Contains(ds.eval_users[row], negs[j]);
    }
  }
  if (report_out != nullptr) *report_out = report;
  return ds;
}

std::vector<std::pair<std::string, std::string>> ReleaseReport::ToKeyValues() const {
  return {
      {"release_test_users", absl::StrCat(test_users)},
      {"release_test_item_not_in_sequence", absl::StrCat(test_item_not_in_sequence)},
      {"release_test_item_not_last_event", absl::StrCat(test_item_not_last)},
      {"release_empty_sequences", absl::StrCat(empty_sequences)},
      {"release_negatives_hitting_interacted", absl::StrCat(negatives_hitting_interacted)},
  };
}

}  // namespace hardgnn::data
