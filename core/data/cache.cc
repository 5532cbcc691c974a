#include "core/data/cache.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/data/checksum.h"
#include "core/data/file_io.h"
#include "core/data/validate.h"

namespace hardgnn::data {
namespace {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the cache format is little-endian");

constexpr char kMagic[8] = {'H', 'G', 'N', 'N', 'D', 'S', 'E', 'T'};
constexpr uint32_t kByteOrderMark = 0x01020304;
constexpr size_t kHeaderSize = 40;

// Arrays start at multiples of 8 bytes from the start of the file (zero padding), so a
// reader can copy them straight from an aligned buffer.
class Writer {
 public:
  Writer(std::string* out, size_t base) : out_(out), base_(base) {}
  template <typename T>
  void Put(T v) {
    static_assert(std::is_arithmetic_v<T>);
    out_->append(reinterpret_cast<const char*>(&v), sizeof(T));
  }
  void PutString(const std::string& s) {
    Put<uint64_t>(s.size());
    out_->append(s);
  }
  template <typename T>
  void PutVector(const std::vector<T>& v) {
    Put<uint64_t>(v.size());
    out_->append((8 - (base_ + out_->size()) % 8) % 8, '\0');
    out_->append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
  }
  void PutStrings(const std::vector<std::string>& v) {
    Put<uint64_t>(v.size());
    for (const std::string& s : v) PutString(s);
  }
  void PutCsr(const Csr& m) {
    Put<int64_t>(m.num_rows);
    Put<int64_t>(m.num_cols);
    PutVector(m.row_ptr);
    PutVector(m.col);
  }

 private:
  std::string* out_;
  size_t base_;  // file offset of out_[0]
};

// Bounds-checked cursor: every failed read records the byte offset and the field.
class Reader {
 public:
  Reader(absl::string_view bytes, size_t base) : bytes_(bytes), base_(base) {}
  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }

  template <typename T>
  T Get(const char* field) {
    T v{};
    if (Need(sizeof(T), field)) {
      std::memcpy(&v, bytes_.data() + pos_, sizeof(T));
      pos_ += sizeof(T);
    }
    return v;
  }
  std::string GetString(const char* field) {
    const uint64_t n = Get<uint64_t>(field);
    if (!ok() || !Need(n, field)) return {};
    std::string s(bytes_.data() + pos_, n);
    pos_ += n;
    return s;
  }
  template <typename T>
  std::vector<T> GetVector(const char* field) {
    const uint64_t n = Get<uint64_t>(field);
    const size_t pad = (8 - (base_ + pos_) % 8) % 8;
    if (!Need(pad, field)) return {};
    for (size_t k = 0; k < pad; ++k) {
      if (bytes_[pos_ + k] != '\0') {
        Fail(field, "has non-zero alignment padding");
        return {};
      }
    }
    pos_ += pad;
    if (n > (bytes_.size() - pos_) / sizeof(T)) {
      Fail(field, absl::StrCat("claims ", n, " entries, more than the ", bytes_.size() - pos_, " bytes left"));
      return {};
    }
    const char* p = bytes_.data() + pos_;
    pos_ += n * sizeof(T);
    if (reinterpret_cast<uintptr_t>(p) % alignof(T) == 0) {  // the usual case: one copy, no zero fill
      const T* first = reinterpret_cast<const T*>(p);
      return std::vector<T>(first, first + n);
    }
    std::vector<T> v(n);
    std::memcpy(v.data(), p, n * sizeof(T));
    return v;
  }
  std::vector<std::string> GetStrings(const char* field) {
    const uint64_t n = Get<uint64_t>(field);
    if (!ok()) return {};
    if (n > (bytes_.size() - pos_) / sizeof(uint64_t)) {
      Fail(field, absl::StrCat("claims ", n, " strings, more than the bytes left"));
      return {};
    }
    std::vector<std::string> v;
    v.reserve(n);
    for (uint64_t j = 0; j < n && ok(); ++j) v.push_back(GetString(field));
    return v;
  }
  Csr GetCsr(const char* field) {
    Csr m;
    m.num_rows = Get<int64_t>(field);
    m.num_cols = Get<int64_t>(field);
    m.row_ptr = GetVector<int64_t>(field);
    m.col = GetVector<int32_t>(field);
    return m;
  }
  bool AtEnd() const { return pos_ == bytes_.size(); }
  // Only zeros (at most 7: alignment padding) are left.
  bool AtZeroPadding() const {
    if (bytes_.size() - pos_ > 7) return false;
    for (size_t k = pos_; k < bytes_.size(); ++k) {
      if (bytes_[k] != '\0') return false;
    }
    return true;
  }
  size_t offset() const { return base_ + pos_; }

 private:
  bool Need(uint64_t n, const char* field) {
    if (!ok()) return false;
    if (n > bytes_.size() - pos_) {
      Fail(field, absl::StrCat("needs ", n, " bytes, only ", bytes_.size() - pos_, " left"));
      return false;
    }
    return true;
  }
  void Fail(const char* field, const std::string& problem) {
    if (ok()) error_ = absl::StrCat("byte ", base_ + pos_, ": field '", field, "' ", problem);
  }

  absl::string_view bytes_;
  size_t base_;
  size_t pos_ = 0;
  std::string error_;
};

std::string SerializeMetadata(const PreparedDataset& ds) {
  std::string out;
  Writer w(&out, kHeaderSize);
  w.PutString(ds.name);
  w.PutString(ds.source);
  w.PutStrings(ds.user_names);
  w.PutStrings(ds.item_names);
  return out;
}

// `base` is the file offset where the content starts (a multiple of 8).
std::string SerializeContent(const PreparedDataset& ds, size_t base) {
  std::string out;
  out.reserve(ds.seq_item.size() * 12 + ds.interacted.col.size() * 12 + ds.eval_negatives.size() * 4 + 1024);
  Writer w(&out, base);
  w.Put<int32_t>(ds.num_users);
  w.Put<int32_t>(ds.num_items);
  w.PutVector(ds.seq_ptr);
  w.PutVector(ds.seq_item);
  w.PutVector(ds.seq_time);
  w.PutVector(ds.train_len);
  w.PutVector(ds.val_item);
  w.PutVector(ds.test_item);
  w.PutVector(ds.test_input_len);
  w.PutVector(ds.slice_bounds);
  w.Put<uint64_t>(ds.slice_user_item.size());
  for (const Csr& m : ds.slice_user_item) w.PutCsr(m);
  w.Put<uint64_t>(ds.slice_item_user.size());
  for (const Csr& m : ds.slice_item_user) w.PutCsr(m);
  w.PutCsr(ds.interacted);
  w.PutVector(ds.eval_users);
  w.Put<int32_t>(ds.negatives_per_user);
  w.PutVector(ds.eval_negatives);
  return out;
}

void ParseContent(Reader* r, PreparedDataset* ds) {
  ds->num_users = r->Get<int32_t>("num_users");
  ds->num_items = r->Get<int32_t>("num_items");
  ds->seq_ptr = r->GetVector<int64_t>("seq_ptr");
  ds->seq_item = r->GetVector<int32_t>("seq_item");
  ds->seq_time = r->GetVector<int64_t>("seq_time");
  ds->train_len = r->GetVector<int32_t>("train_len");
  ds->val_item = r->GetVector<int32_t>("val_item");
  ds->test_item = r->GetVector<int32_t>("test_item");
  ds->test_input_len = r->GetVector<int32_t>("test_input_len");
  ds->slice_bounds = r->GetVector<int64_t>("slice_bounds");
  for (auto* slices : {&ds->slice_user_item, &ds->slice_item_user}) {
    const uint64_t g = r->Get<uint64_t>("num_slices");
    // A Csr takes at least 32 bytes: a count beyond that is corruption, not an allocation.
    for (uint64_t k = 0; k < g && r->ok(); ++k) slices->push_back(r->GetCsr("slice"));
  }
  ds->interacted = r->GetCsr("interacted");
  ds->eval_users = r->GetVector<int32_t>("eval_users");
  ds->negatives_per_user = r->Get<int32_t>("negatives_per_user");
  ds->eval_negatives = r->GetVector<int32_t>("eval_negatives");
}

}  // namespace

std::string SerializePreparedDataset(const PreparedDataset& ds) {
  std::string meta = SerializeMetadata(ds);
  meta.append((8 - (kHeaderSize + meta.size()) % 8) % 8, '\0');  // content starts 8-aligned
  const std::string content = SerializeContent(ds, kHeaderSize + meta.size());
  std::string out;
  out.reserve(kHeaderSize + meta.size() + content.size());
  out.append(kMagic, sizeof(kMagic));
  Writer w(&out, 0);
  w.Put<uint32_t>(PreparedDataset::kFormatVersion);
  w.Put<uint32_t>(kByteOrderMark);
  w.Put<uint64_t>(meta.size());
  w.Put<uint64_t>(content.size());
  w.Put<uint64_t>(0);  // checksum, patched below
  out.append(meta);
  out.append(content);
  const uint64_t sum = Xxh64(out.data() + kHeaderSize, out.size() - kHeaderSize);
  std::memcpy(&out[32], &sum, sizeof(sum));
  return out;
}

absl::StatusOr<PreparedDataset> ParsePreparedDataset(absl::string_view bytes, const std::string& name,
                                                     bool verify_checksum) {
  auto error = [&name](const std::string& problem) {
    return absl::DataLossError(absl::StrCat(name, ": ", problem));
  };
  if (bytes.size() < kHeaderSize) {
    return error(absl::StrCat("truncated: ", bytes.size(), " bytes, shorter than the ", kHeaderSize,
                              "-byte header of a dataset cache"));
  }
  if (std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) {
    return error("not a hardgnn dataset cache (bad magic number)");
  }
  Reader header(bytes.substr(8, kHeaderSize - 8), 8);
  const uint32_t version = header.Get<uint32_t>("version");
  const uint32_t bom = header.Get<uint32_t>("byte_order");
  const uint64_t meta_size = header.Get<uint64_t>("metadata_size");
  const uint64_t content_size = header.Get<uint64_t>("content_size");
  const uint64_t checksum = header.Get<uint64_t>("checksum");
  if (bom != kByteOrderMark) return error("byte-order mark mismatch (written on a big-endian machine?)");
  if (version != PreparedDataset::kFormatVersion) {
    return error(absl::StrCat("cache format version ", version, ", this build reads version ",
                              PreparedDataset::kFormatVersion, ": run `hardgnn prepare` again"));
  }
  const uint64_t body = bytes.size() - kHeaderSize;
  if (meta_size > body || content_size > body - meta_size || meta_size + content_size != body) {
    return error(absl::StrCat(meta_size + content_size > body || meta_size > body ? "truncated" : "trailing bytes",
                              ": header announces ", meta_size, " + ", content_size, " bytes after the header, file has ",
                              body));
  }
  if (verify_checksum) {
    const uint64_t actual = Xxh64(bytes.data() + kHeaderSize, body);
    if (actual != checksum) {
      return error(absl::StrFormat("checksum mismatch (stored %016x, computed %016x): the file is corrupted",
                                   checksum, actual));
    }
  }
  PreparedDataset ds;
  Reader meta(bytes.substr(kHeaderSize, meta_size), kHeaderSize);
  ds.name = meta.GetString("name");
  ds.source = meta.GetString("source");
  ds.user_names = meta.GetStrings("user_names");
  ds.item_names = meta.GetStrings("item_names");
  if (!meta.ok()) return error(meta.error());
  if (!meta.AtZeroPadding()) return error(absl::StrCat("byte ", meta.offset(), ": unexpected bytes after the metadata"));
  Reader content(bytes.substr(kHeaderSize + meta_size), kHeaderSize + meta_size);
  ParseContent(&content, &ds);
  if (!content.ok()) return error(content.error());
  if (!content.AtEnd()) return error(absl::StrCat("byte ", content.offset(), ": unexpected bytes after the content"));
  if (absl::Status s = ValidatePreparedDataset(ds); !s.ok()) return error(absl::StrCat("invalid content: ", s.message()));
  return ds;
}

absl::Status SavePreparedDataset(const PreparedDataset& ds, const std::string& path) {
  if (absl::Status s = ValidatePreparedDataset(ds); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("refusing to save an invalid dataset to ", path, ": ", s.message()));
  }
  return WriteFileAtomically(path, SerializePreparedDataset(ds));
}

absl::StatusOr<PreparedDataset> LoadPreparedDataset(const std::string& path) {
  // Map the file (one copy, into the vectors) rather than reading it into a buffer first.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd >= 0 && ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
    void* map = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    ::close(fd);
    if (map != MAP_FAILED) {
      absl::StatusOr<PreparedDataset> ds =
          ParsePreparedDataset(absl::string_view(static_cast<const char*>(map), static_cast<size_t>(st.st_size)), path);
      ::munmap(map, static_cast<size_t>(st.st_size));
      return ds;
    }
  } else if (fd >= 0) {
    ::close(fd);
  }
  absl::StatusOr<std::string> bytes = ReadFileToString(path);  // errors, empty files, no mmap
  if (!bytes.ok()) return bytes.status();
  return ParsePreparedDataset(*bytes, path);
}

uint64_t Fingerprint(const PreparedDataset& ds) {
  const std::string content = SerializeContent(ds, 0);
  return Xxh64(content.data(), content.size());
}

std::string FingerprintHex(const PreparedDataset& ds) { return absl::StrFormat("%016x", Fingerprint(ds)); }

}  // namespace hardgnn::data
