// Typed access to parsed pickles (declared in pickle.h).
#include <cstring>
#include <limits>

#include "absl/strings/str_cat.h"
#include "core/data/pickle.h"

namespace hardgnn::data::pickle {
namespace {

absl::Status Bad(const Document& doc, absl::string_view what, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(doc.name(), ": ", what, ": ", problem));
}

// "(pickled at byte N)" for objects, to find them with pickletools.
std::string At(const Value& v) {
  return v.obj != nullptr ? absl::StrCat(" (pickled at byte ", v.obj->offset, ")") : "";
}

absl::StatusOr<const Object*> BuiltArray(const Document& doc, const Value& v, absl::string_view what) {
  if (v.kind != Kind::kNdArray) return Bad(doc, what, absl::StrCat("expected a numpy array, found ", KindName(v.kind)));
  const Object* a = v.obj;
  if (!a->built) return Bad(doc, what, absl::StrCat("numpy array was never given its data", At(v)));
  if (a->shape.size() != 1) {
    return Bad(doc, what, absl::StrCat("expected a 1-D numpy array, found ", a->shape.size(), " dimensions", At(v)));
  }
  return a;
}

// Element j of a built array as raw bits, honouring the byte order.
uint64_t Bits(const Object& a, int64_t j) {
  const Dtype& d = a.array_dtype->dtype;
  const char* p = a.data.data() + j * d.itemsize;
  uint64_t bits = 0;
  for (int k = 0; k < d.itemsize; ++k) {
    bits = (bits << 8) | static_cast<uint8_t>(p[d.big_endian ? k : d.itemsize - 1 - k]);
  }
  return bits;
}

int64_t SignExtend(uint64_t bits, int itemsize) {
  const int shift = 64 - 8 * itemsize;
  return shift == 0 ? static_cast<int64_t>(bits) : static_cast<int64_t>(bits << shift) >> shift;
}

double FloatOf(uint64_t bits, int itemsize) {
  if (itemsize == 8) {
    double d;
    std::memcpy(&d, &bits, 8);
    return d;
  }
  const uint32_t b = static_cast<uint32_t>(bits);
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}

}  // namespace

absl::StatusOr<int64_t> AsInt(const Document& doc, const Value& v, absl::string_view what) {
  if (v.kind != Kind::kInt && v.kind != Kind::kBool) {
    return Bad(doc, what, absl::StrCat("expected an integer, found ", KindName(v.kind), At(v)));
  }
  return v.i;
}

absl::StatusOr<const std::vector<Value>*> AsSequence(const Document& doc, const Value& v, absl::string_view what) {
  if (v.kind != Kind::kList && v.kind != Kind::kTuple) {
    return Bad(doc, what, absl::StrCat("expected a list, found ", KindName(v.kind), At(v)));
  }
  return &v.obj->items;
}

const Value* DictGet(const Object& dict, absl::string_view key) {
  for (const auto& [k, v] : dict.dict) {
    if (k.kind == Kind::kStr && k.s == key) return &v;
  }
  return nullptr;
}

absl::StatusOr<std::vector<int64_t>> ArrayToInt64(const Document& doc, const Value& v, absl::string_view what) {
  absl::StatusOr<const Object*> a = BuiltArray(doc, v, what);
  if (!a.ok()) return a.status();
  const Dtype& d = (*a)->array_dtype->dtype;
  if (d.kind == 'f') return Bad(doc, what, absl::StrCat("expected integers, found a float", d.itemsize * 8, " array", At(v)));
  const int64_t n = (*a)->shape[0];
  std::vector<int64_t> out(n);
  for (int64_t j = 0; j < n; ++j) {
    const uint64_t bits = Bits(**a, j);
    if (d.kind == 'i') {
      out[j] = SignExtend(bits, d.itemsize);
    } else if (bits > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return Bad(doc, what, absl::StrCat("entry ", j, " is above 2^63-1", At(v)));
    } else {
      out[j] = static_cast<int64_t>(bits);
    }
  }
  return out;
}

absl::StatusOr<std::vector<double>> ArrayToDouble(const Document& doc, const Value& v, absl::string_view what) {
  absl::StatusOr<const Object*> a = BuiltArray(doc, v, what);
  if (!a.ok()) return a.status();
  const Dtype& d = (*a)->array_dtype->dtype;
  const int64_t n = (*a)->shape[0];
  std::vector<double> out(n);
  for (int64_t j = 0; j < n; ++j) {
    const uint64_t bits = Bits(**a, j);
    if (d.kind == 'f') {
      out[j] = FloatOf(bits, d.itemsize);
    } else if (d.kind == 'i') {
      out[j] = static_cast<double>(SignExtend(bits, d.itemsize));
    } else {
      out[j] = static_cast<double>(bits);
    }
  }
  return out;
}

absl::StatusOr<SparseMatrix> AsCsrMatrix(const Document& doc, const Value& v, absl::string_view what) {
  if (v.kind != Kind::kCsrMatrix || v.obj->state == nullptr) {
    return Bad(doc, what, absl::StrCat("expected a scipy csr_matrix, found ", KindName(v.kind), At(v)));
  }
  const Object& state = *v.obj->state;
  const Value* shape = DictGet(state, "_shape");
  if (shape == nullptr) shape = DictGet(state, "shape");
  const Value* indptr = DictGet(state, "indptr");
  const Value* indices = DictGet(state, "indices");
  const Value* data = DictGet(state, "data");
  if (shape == nullptr || indptr == nullptr || indices == nullptr || data == nullptr) {
    return Bad(doc, what, absl::StrCat("csr_matrix state lacks _shape, indptr, indices or data", At(v)));
  }
  if (shape->kind != Kind::kTuple || shape->obj->items.size() != 2 || shape->obj->items[0].kind != Kind::kInt ||
      shape->obj->items[1].kind != Kind::kInt || shape->obj->items[0].i < 0 || shape->obj->items[1].i < 0) {
    return Bad(doc, what, absl::StrCat("csr_matrix shape is not two non-negative integers", At(v)));
  }
  SparseMatrix m;
  m.rows = shape->obj->items[0].i;
  m.cols = shape->obj->items[1].i;
  const std::string w(what);
  absl::StatusOr<std::vector<int64_t>> p = ArrayToInt64(doc, *indptr, w + ".indptr");
  if (!p.ok()) return p.status();
  absl::StatusOr<std::vector<int64_t>> ix = ArrayToInt64(doc, *indices, w + ".indices");
  if (!ix.ok()) return ix.status();
  absl::StatusOr<std::vector<double>> d = ArrayToDouble(doc, *data, w + ".data");
  if (!d.ok()) return d.status();
  m.indptr = std::move(*p);
  m.indices = std::move(*ix);
  m.data = std::move(*d);
  m.data_array = *data;
  const int64_t nnz = static_cast<int64_t>(m.indices.size());
  if (static_cast<int64_t>(m.indptr.size()) != m.rows + 1) {
    return Bad(doc, what, absl::StrCat("indptr has ", m.indptr.size(), " entries for ", m.rows, " rows", At(v)));
  }
  if (static_cast<int64_t>(m.data.size()) != nnz) {
    return Bad(doc, what, absl::StrCat("data has ", m.data.size(), " entries, indices ", nnz, At(v)));
  }
  if (m.indptr[0] != 0 || m.indptr[m.rows] != nnz) {
    return Bad(doc, what, absl::StrCat("indptr runs from ", m.indptr[0], " to ", m.indptr[m.rows], ", expected 0 to ", nnz, At(v)));
  }
  for (int64_t r = 0; r < m.rows; ++r) {
    if (m.indptr[r + 1] < m.indptr[r]) return Bad(doc, what, absl::StrCat("indptr decreases at row ", r, At(v)));
  }
  for (int64_t k = 0; k < nnz; ++k) {
    if (m.indices[k] < 0 || m.indices[k] >= m.cols) {
      return Bad(doc, what, absl::StrCat("column index ", m.indices[k], " (entry ", k, ") outside [0, ", m.cols, ")", At(v)));
    }
  }
  return m;
}

}  // namespace hardgnn::data::pickle
