#include "core/data/pickle.h"

#include <cstring>
#include <limits>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/data/file_io.h"

namespace hardgnn::data::pickle {

const char* KindName(Kind kind) {
  switch (kind) {
    case Kind::kNone: return "None";
    case Kind::kBool: return "bool";
    case Kind::kInt: return "int";
    case Kind::kFloat: return "float";
    case Kind::kStr: return "str";
    case Kind::kBytes: return "bytes";
    case Kind::kList: return "list";
    case Kind::kTuple: return "tuple";
    case Kind::kDict: return "dict";
    case Kind::kGlobal: return "global";
    case Kind::kDtype: return "numpy.dtype";
    case Kind::kNdArray: return "numpy.ndarray";
    case Kind::kCsrMatrix: return "scipy csr_matrix";
  }
  return "?";
}

namespace {

struct AllowedGlobal {
  const char* module;
  const char* name;
  Global global;
};

constexpr AllowedGlobal kAllowed[] = {
    {"numpy.core.multiarray", "_reconstruct", Global::kReconstruct},
    {"numpy._core.multiarray", "_reconstruct", Global::kReconstruct},
    {"numpy.core.multiarray", "scalar", Global::kScalar},
    {"numpy._core.multiarray", "scalar", Global::kScalar},
    {"numpy", "ndarray", Global::kNdArrayClass},
    {"numpy", "dtype", Global::kDtypeClass},
    {"scipy.sparse.csr", "csr_matrix", Global::kCsrMatrixClass},
    {"scipy.sparse._csr", "csr_matrix", Global::kCsrMatrixClass},
    {"_codecs", "encode", Global::kCodecsEncode},
};

// Opcodes (Python's pickletools names).
enum : uint8_t {
  kMark = '(', kStop = '.', kPop = '0', kPopMark = '1', kDup = '2', kBinFloat = 'G', kBinInt = 'J',
  kBinInt1 = 'K', kBinInt2 = 'M', kNone = 'N', kReduce = 'R', kBinString = 'T', kShortBinString = 'U',
  kBinUnicode = 'X', kAppend = 'a', kBuild = 'b', kGlobalOp = 'c', kDict = 'd', kEmptyDict = '}',
  kAppends = 'e', kBinGet = 'h', kLongBinGet = 'j', kList = 'l', kEmptyList = ']', kBinPut = 'q',
  kLongBinPut = 'r', kSetItem = 's', kTuple = 't', kEmptyTuple = ')', kSetItems = 'u', kBinBytes = 'B',
  kShortBinBytes = 'C', kProto = 0x80, kNewObj = 0x81, kTuple1 = 0x85, kTuple2 = 0x86, kTuple3 = 0x87,
  kNewTrue = 0x88, kNewFalse = 0x89, kLong1 = 0x8a, kLong4 = 0x8b, kShortBinUnicode = 0x8c,
  kBinUnicode8 = 0x8d, kBinBytes8 = 0x8e, kStackGlobal = 0x93, kMemoize = 0x94, kFrame = 0x95,
};

}  // namespace

class Unpickler {
 public:
  static absl::StatusOr<std::unique_ptr<Document>> Parse(std::string bytes, const std::string& name) {
    auto doc = std::make_unique<Document>();
    doc->name_ = name;
    doc->input_ = std::move(bytes);  // string_views point into doc->input_ from here on
    Unpickler u(doc.get());
    if (absl::Status s = u.Run(); !s.ok()) return s;
    return doc;
  }

 private:
  explicit Unpickler(Document* doc) : doc_(doc), in_(doc->input_) {}

  absl::Status Run() {
    if (!in_.empty() && static_cast<uint8_t>(in_[0]) != kProto) {
      return Error(0, absl::StrCat("not a pickle of protocol 2 or later: it starts with byte 0x",
                                   absl::Hex(static_cast<uint8_t>(in_[0]), absl::kZeroPad2), ", not PROTO (0x80)"));
    }
    while (true) {
      if (pos_ >= in_.size()) return Error(pos_, "truncated pickle: input ends before the STOP opcode");
      op_pos_ = pos_;
      const uint8_t op = static_cast<uint8_t>(in_[pos_++]);
      if (op == kStop) {
        absl::StatusOr<Value> v = Pop();
        if (!v.ok()) return v.status();
        doc_->root = *v;
        if (pos_ != in_.size()) return Error(pos_, absl::StrCat(in_.size() - pos_, " trailing bytes after STOP"));
        return absl::OkStatus();
      }
      if (absl::Status s = Step(op); !s.ok()) return s;
    }
  }

  absl::Status Error(size_t at, absl::string_view problem) const {
    return absl::InvalidArgumentError(absl::StrCat(doc_->name_, ": byte ", at, ": ", problem));
  }
  absl::Status Error(absl::string_view problem) const { return Error(op_pos_, problem); }

  // --- input -------------------------------------------------------------------------------
  absl::StatusOr<absl::string_view> Take(uint64_t n) {
    if (n > in_.size() - pos_) {
      return Error(absl::StrCat("truncated pickle: needs ", n, " bytes, only ", in_.size() - pos_, " left"));
    }
    absl::string_view s = in_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  // Little-endian unsigned integer of `n` bytes.
  absl::StatusOr<uint64_t> TakeUint(int n) {
    absl::StatusOr<absl::string_view> b = Take(n);
    if (!b.ok()) return b.status();
    uint64_t v = 0;
    for (int k = n - 1; k >= 0; --k) v = (v << 8) | static_cast<uint8_t>((*b)[k]);
    return v;
  }
  absl::StatusOr<absl::string_view> TakeLine() {
    const size_t end = in_.find('\n', pos_);
    if (end == absl::string_view::npos) return Error("truncated pickle: GLOBAL line without newline");
    absl::string_view s = in_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return s;
  }

  // --- stack ---------------------------------------------------------------------------------
  absl::StatusOr<Value> Pop() {
    if (stack_.size() <= Floor()) return Error("stack underflow");
    Value v = stack_.back();
    stack_.pop_back();
    return v;
  }
  size_t Floor() const { return marks_.empty() ? 0 : marks_.back(); }
  absl::StatusOr<Value*> Top() {
    if (stack_.size() <= Floor()) return Error("stack underflow");
    return &stack_.back();
  }
  // Pops everything above the last MARK, and the mark.
  absl::StatusOr<std::vector<Value>> PopMark() {
    if (marks_.empty()) return Error("no MARK on the stack");
    const size_t m = marks_.back();
    marks_.pop_back();
    std::vector<Value> items(stack_.begin() + m, stack_.end());
    stack_.resize(m);
    return items;
  }
  Object* New(Kind kind) {
    doc_->objects_.push_back(Object{});
    Object* o = &doc_->objects_.back();
    o->kind = kind;
    o->offset = static_cast<int64_t>(op_pos_);
    return o;
  }
  void PushObject(Object* o) {
    Value v;
    v.kind = o->kind;
    v.obj = o;
    stack_.push_back(v);
  }
  void PushInt(int64_t i, Kind kind = Kind::kInt) {
    Value v;
    v.kind = kind;
    v.i = i;
    stack_.push_back(v);
  }
  void PushString(Kind kind, absl::string_view s) {
    Value v;
    v.kind = kind;
    v.s = s;
    stack_.push_back(v);
  }
  absl::Status PushTuple(std::vector<Value> items) {
    Object* t = New(Kind::kTuple);
    t->items = std::move(items);
    PushObject(t);
    return absl::OkStatus();
  }
  absl::Status PopTupleOf(size_t n) {
    if (stack_.size() < Floor() + n) return Error("stack underflow");
    std::vector<Value> items(stack_.end() - n, stack_.end());
    stack_.resize(stack_.size() - n);
    return PushTuple(std::move(items));
  }

  // --- memo ----------------------------------------------------------------------------------
  absl::Status Put(uint64_t index) {
    absl::StatusOr<Value*> top = Top();
    if (!top.ok()) return top.status();
    memo_[index] = **top;
    return absl::OkStatus();
  }
  absl::Status Get(uint64_t index) {
    auto it = memo_.find(index);
    if (it == memo_.end()) return Error(absl::StrCat("memo entry ", index, " was never stored"));
    stack_.push_back(it->second);
    return absl::OkStatus();
  }

  // --- objects -------------------------------------------------------------------------------
  absl::Status Resolve(absl::string_view module, absl::string_view name) {
    for (const AllowedGlobal& g : kAllowed) {
      if (module == g.module && name == g.name) {
        Object* o = New(Kind::kGlobal);
        o->global = g.global;
        PushObject(o);
        return absl::OkStatus();
      }
    }
    return Error(absl::StrCat("global '", absl::CHexEscape(module.substr(0, 80)), ".",
                              absl::CHexEscape(name.substr(0, 80)),
                              "' is not allowed (only numpy arrays, numpy scalars and scipy csr_matrix)"));
  }
  static bool IsGlobal(const Value& v, Global g) { return v.kind == Kind::kGlobal && v.obj->global == g; }

  absl::Status MakeDtype(const std::vector<Value>& args) {
    if (args.empty() || args[0].kind != Kind::kStr) return Error("numpy.dtype() needs a type string");
    const absl::string_view code = args[0].s;
    Dtype d;
    int32_t size = 0;
    if (code.size() >= 2 && code.size() <= 3) {
      for (char c : code.substr(1)) size = c >= '0' && c <= '9' ? size * 10 + (c - '0') : -1;
    }
    const char kind = code.empty() ? 0 : code[0];
    const bool ok = (kind == 'b' && size == 1) || ((kind == 'i' || kind == 'u') && (size == 1 || size == 2 || size == 4 || size == 8)) ||
                    (kind == 'f' && (size == 4 || size == 8));
    if (!ok) {
      return Error(absl::StrCat("numpy dtype '", absl::CHexEscape(code.substr(0, 16)),
                                "' is not supported (bool, integers and floats only)"));
    }
    d.kind = kind;
    d.itemsize = size;
    Object* o = New(Kind::kDtype);
    o->dtype = d;
    PushObject(o);
    return absl::OkStatus();
  }

  absl::Status MakeScalar(const std::vector<Value>& args) {
    if (args.size() != 2 || args[0].kind != Kind::kDtype || args[1].kind != Kind::kBytes) {
      return Error("numpy scalar() needs (dtype, bytes)");
    }
    const Dtype& d = args[0].obj->dtype;
    if (static_cast<int64_t>(args[1].s.size()) != d.itemsize) {
      return Error(absl::StrCat("numpy scalar of ", args[1].s.size(), " bytes for a ", d.itemsize, "-byte dtype"));
    }
    uint64_t bits = 0;
    const absl::string_view b = args[1].s;
    for (int k = 0; k < d.itemsize; ++k) {
      const int src = d.big_endian ? k : d.itemsize - 1 - k;
      bits = (bits << 8) | static_cast<uint8_t>(b[src]);
    }
    Value v;
    if (d.kind == 'f') {
      v.kind = Kind::kFloat;
      if (d.itemsize == 8) {
        std::memcpy(&v.f, &bits, 8);
      } else {
        const uint32_t b32 = static_cast<uint32_t>(bits);
        float f;
        std::memcpy(&f, &b32, 4);
        v.f = f;
      }
    } else {
      v.kind = d.kind == 'b' ? Kind::kBool : Kind::kInt;
      if (d.kind == 'i' && d.itemsize < 8) {
        const int shift = 64 - 8 * d.itemsize;  // sign-extend
        v.i = static_cast<int64_t>(bits << shift) >> shift;
      } else if (d.kind == 'u' && d.itemsize == 8 && bits > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return Error("numpy uint64 scalar above 2^63-1");
      } else {
        v.i = static_cast<int64_t>(bits);
      }
    }
    stack_.push_back(v);
    return absl::OkStatus();
  }

  absl::Status CodecsEncode(const std::vector<Value>& args) {
    if (args.size() != 2 || args[0].kind != Kind::kStr || args[1].kind != Kind::kStr ||
        (args[1].s != "latin1" && args[1].s != "latin-1")) {
      return Error("_codecs.encode() is only supported as encode(str, 'latin1')");
    }
    std::string out;
    const absl::string_view s = args[0].s;
    for (size_t k = 0; k < s.size();) {  // UTF-8 code points below 256 -> one byte each
      const uint8_t c = static_cast<uint8_t>(s[k]);
      if (c < 0x80) {
        out.push_back(static_cast<char>(c));
        k += 1;
      } else if ((c & 0xE0) == 0xC0 && k + 1 < s.size() && c <= 0xC3 && (static_cast<uint8_t>(s[k + 1]) & 0xC0) == 0x80) {
        out.push_back(static_cast<char>(((c & 0x1F) << 6) | (static_cast<uint8_t>(s[k + 1]) & 0x3F)));
        k += 2;
      } else {
        return Error("_codecs.encode(): string is not latin-1 encodable UTF-8");
      }
    }
    doc_->strings_.push_back(std::move(out));
    PushString(Kind::kBytes, doc_->strings_.back());
    return absl::OkStatus();
  }

  absl::Status Reduce() {
    absl::StatusOr<Value> args = Pop();
    if (!args.ok()) return args.status();
    absl::StatusOr<Value> fn = Pop();
    if (!fn.ok()) return fn.status();
    if (args->kind != Kind::kTuple) return Error("REDUCE arguments are not a tuple");
    const std::vector<Value>& a = args->obj->items;
    if (IsGlobal(*fn, Global::kReconstruct)) {
      if (a.size() != 3 || !IsGlobal(a[0], Global::kNdArrayClass)) {
        return Error("numpy _reconstruct() needs (numpy.ndarray, shape, typecode)");
      }
      PushObject(New(Kind::kNdArray));
      return absl::OkStatus();
    }
    if (IsGlobal(*fn, Global::kDtypeClass)) return MakeDtype(a);
    if (IsGlobal(*fn, Global::kScalar)) return MakeScalar(a);
    if (IsGlobal(*fn, Global::kCodecsEncode)) return CodecsEncode(a);
    return Error(absl::StrCat("REDUCE on a ", KindName(fn->kind), " is not supported"));
  }

  absl::Status NewObj() {
    absl::StatusOr<Value> args = Pop();
    if (!args.ok()) return args.status();
    absl::StatusOr<Value> cls = Pop();
    if (!cls.ok()) return cls.status();
    if (!IsGlobal(*cls, Global::kCsrMatrixClass) || args->kind != Kind::kTuple || !args->obj->items.empty()) {
      return Error("NEWOBJ is only supported as csr_matrix.__new__(csr_matrix)");
    }
    PushObject(New(Kind::kCsrMatrix));
    return absl::OkStatus();
  }

  absl::Status BuildArray(Object* a, const std::vector<Value>& st) {
    // (version, shape, dtype, is_fortran, raw bytes); older numpy omits the version.
    const size_t base = st.size() == 5 ? 1 : 0;
    if (st.size() != 5 && st.size() != 4) return Error("ndarray state is not a tuple of 4 or 5 items");
    if (st[base].kind != Kind::kTuple || st[base + 1].kind != Kind::kDtype ||
        (st[base + 2].kind != Kind::kBool && st[base + 2].kind != Kind::kInt)) {
      return Error("ndarray state is not (shape, dtype, is_fortran, data)");
    }
    if (st[base + 3].kind != Kind::kBytes) {
      return Error(absl::StrCat("ndarray data is a ", KindName(st[base + 3].kind), ", not raw bytes (object arrays are not supported)"));
    }
    Object* dtype = st[base + 1].obj;
    uint64_t count = 1;
    std::vector<int64_t> shape;
    for (const Value& dim : st[base].obj->items) {
      if (dim.kind != Kind::kInt || dim.i < 0) return Error("ndarray shape has a non-integer or negative dimension");
      if (dim.i != 0 && count > std::numeric_limits<uint64_t>::max() / 16 / static_cast<uint64_t>(dim.i)) {
        return Error("ndarray shape overflows");
      }
      count *= static_cast<uint64_t>(dim.i);
      shape.push_back(dim.i);
    }
    if (count * dtype->dtype.itemsize != st[base + 3].s.size()) {
      return Error(absl::StrCat("ndarray of ", count, " x ", dtype->dtype.itemsize, "-byte items has ",
                                st[base + 3].s.size(), " bytes of data"));
    }
    a->array_dtype = dtype;
    a->shape = std::move(shape);
    a->data = st[base + 3].s;
    a->built = true;
    return absl::OkStatus();
  }

  absl::Status Build() {
    absl::StatusOr<Value> state = Pop();
    if (!state.ok()) return state.status();
    absl::StatusOr<Value*> top = Top();
    if (!top.ok()) return top.status();
    const Value target = **top;
    if (target.kind == Kind::kDtype) {
      if (state->kind != Kind::kTuple || state->obj->items.size() < 2 || state->obj->items[1].kind != Kind::kStr) {
        return Error("dtype state is not a tuple (version, byteorder, ...)");
      }
      const absl::string_view order = state->obj->items[1].s;
      Dtype& d = target.obj->dtype;
      if (order == "<" || order == "=" || order == "|") {
        d.big_endian = false;
      } else if (order == ">") {
        d.big_endian = true;
      } else {
        return Error(absl::StrCat("unknown dtype byte order '", absl::CHexEscape(order.substr(0, 8)), "'"));
      }
      if (order == "|" && d.itemsize != 1) return Error("byte order '|' on a multi-byte dtype");
      d.built = true;
      return absl::OkStatus();
    }
    if (target.kind == Kind::kNdArray) {
      if (state->kind != Kind::kTuple) return Error("ndarray state is not a tuple");
      return BuildArray(target.obj, state->obj->items);
    }
    if (target.kind == Kind::kCsrMatrix) {
      Value dict = *state;
      if (dict.kind == Kind::kTuple && dict.obj->items.size() == 2 && dict.obj->items[1].kind == Kind::kNone) {
        dict = dict.obj->items[0];  // (state, slotstate=None)
      }
      if (dict.kind != Kind::kDict) return Error("csr_matrix state is not a dict");
      target.obj->state = dict.obj;
      target.obj->built = true;
      return absl::OkStatus();
    }
    return Error(absl::StrCat("BUILD on a ", KindName(target.kind), " is not supported"));
  }

  absl::Status AppendTo(const Value& list, std::vector<Value> items) {
    if (list.kind != Kind::kList) return Error(absl::StrCat("APPEND to a ", KindName(list.kind)));
    auto& dst = list.obj->items;
    dst.insert(dst.end(), items.begin(), items.end());
    return absl::OkStatus();
  }
  absl::Status SetItems(const Value& dict, const std::vector<Value>& kv) {
    if (dict.kind != Kind::kDict) return Error(absl::StrCat("SETITEM on a ", KindName(dict.kind)));
    if (kv.size() % 2 != 0) return Error("odd number of items for SETITEMS");
    for (size_t k = 0; k < kv.size(); k += 2) dict.obj->dict.emplace_back(kv[k], kv[k + 1]);
    return absl::OkStatus();
  }

  absl::Status PushLong(uint64_t n) {
    if (n > 8) return Error(absl::StrCat("integer of ", n, " bytes does not fit 64 bits"));
    absl::StatusOr<absl::string_view> b = Take(n);
    if (!b.ok()) return b.status();
    uint64_t v = 0;
    for (int k = static_cast<int>(n) - 1; k >= 0; --k) v = (v << 8) | static_cast<uint8_t>((*b)[k]);
    if (n > 0 && n < 8 && (static_cast<uint8_t>((*b)[n - 1]) & 0x80)) v |= ~uint64_t{0} << (8 * n);  // sign
    PushInt(static_cast<int64_t>(v));
    return absl::OkStatus();
  }

  absl::Status PushSized(Kind kind, int len_bytes) {
    absl::StatusOr<uint64_t> n = TakeUint(len_bytes);
    if (!n.ok()) return n.status();
    absl::StatusOr<absl::string_view> s = Take(*n);
    if (!s.ok()) return s.status();
    PushString(kind, *s);
    return absl::OkStatus();
  }

  absl::Status Step(uint8_t op) {
    switch (op) {
      case kProto: {
        absl::StatusOr<uint64_t> v = TakeUint(1);
        if (!v.ok()) return v.status();
        if (*v < 2 || *v > 5) return Error(absl::StrCat("pickle protocol ", *v, " is not supported (2 to 5)"));
        return absl::OkStatus();
      }
      case kFrame: {
        absl::StatusOr<uint64_t> n = TakeUint(8);
        if (!n.ok()) return n.status();
        if (*n > in_.size() - pos_) return Error("truncated pickle: FRAME runs past the end of the input");
        return absl::OkStatus();
      }
      case kMark:
        marks_.push_back(stack_.size());
        return absl::OkStatus();
      case kPop:
        return Pop().status();
      case kPopMark:
        return PopMark().status();
      case kDup: {
        absl::StatusOr<Value*> top = Top();
        if (!top.ok()) return top.status();
        stack_.push_back(**top);
        return absl::OkStatus();
      }
      case kNone:
        stack_.push_back(Value{});
        return absl::OkStatus();
      case kNewTrue:
      case kNewFalse:
        PushInt(op == kNewTrue ? 1 : 0, Kind::kBool);
        return absl::OkStatus();
      case kBinInt: {
        absl::StatusOr<uint64_t> v = TakeUint(4);
        if (!v.ok()) return v.status();
        PushInt(static_cast<int32_t>(static_cast<uint32_t>(*v)));
        return absl::OkStatus();
      }
      case kBinInt1:
      case kBinInt2: {
        absl::StatusOr<uint64_t> v = TakeUint(op == kBinInt1 ? 1 : 2);
        if (!v.ok()) return v.status();
        PushInt(static_cast<int64_t>(*v));
        return absl::OkStatus();
      }
      case kLong1:
      case kLong4: {
        absl::StatusOr<uint64_t> n = TakeUint(op == kLong1 ? 1 : 4);
        if (!n.ok()) return n.status();
        return PushLong(*n);
      }
      case kBinFloat: {
        absl::StatusOr<absl::string_view> b = Take(8);
        if (!b.ok()) return b.status();
        uint64_t bits = 0;
        for (int k = 0; k < 8; ++k) bits = (bits << 8) | static_cast<uint8_t>((*b)[k]);  // big-endian
        Value v;
        v.kind = Kind::kFloat;
        std::memcpy(&v.f, &bits, 8);
        stack_.push_back(v);
        return absl::OkStatus();
      }
      case kShortBinUnicode: return PushSized(Kind::kStr, 1);
      case kBinUnicode: return PushSized(Kind::kStr, 4);
      case kBinUnicode8: return PushSized(Kind::kStr, 8);
      case kShortBinBytes: return PushSized(Kind::kBytes, 1);
      case kBinBytes: return PushSized(Kind::kBytes, 4);
      case kBinBytes8: return PushSized(Kind::kBytes, 8);
      case kShortBinString: return PushSized(Kind::kBytes, 1);
      case kBinString: {
        absl::StatusOr<uint64_t> n = TakeUint(4);
        if (!n.ok()) return n.status();
        if (*n > 0x7fffffffu) return Error("BINSTRING with a negative length");
        absl::StatusOr<absl::string_view> s = Take(*n);
        if (!s.ok()) return s.status();
        PushString(Kind::kBytes, *s);
        return absl::OkStatus();
      }
      case kEmptyList:
        PushObject(New(Kind::kList));
        return absl::OkStatus();
      case kEmptyDict:
        PushObject(New(Kind::kDict));
        return absl::OkStatus();
      case kEmptyTuple:
        return PushTuple({});
      case kTuple1:
      case kTuple2:
      case kTuple3:
        return PopTupleOf(op - kTuple1 + 1);
      case kTuple: {
        absl::StatusOr<std::vector<Value>> items = PopMark();
        if (!items.ok()) return items.status();
        return PushTuple(std::move(*items));
      }
      case kList: {
        absl::StatusOr<std::vector<Value>> items = PopMark();
        if (!items.ok()) return items.status();
        Object* l = New(Kind::kList);
        l->items = std::move(*items);
        PushObject(l);
        return absl::OkStatus();
      }
      case kDict: {
        absl::StatusOr<std::vector<Value>> items = PopMark();
        if (!items.ok()) return items.status();
        Object* d = New(Kind::kDict);
        PushObject(d);
        return SetItems(stack_.back(), *items);
      }
      case kAppend: {
        absl::StatusOr<Value> v = Pop();
        if (!v.ok()) return v.status();
        absl::StatusOr<Value*> list = Top();
        if (!list.ok()) return list.status();
        return AppendTo(**list, {*v});
      }
      case kAppends: {
        absl::StatusOr<std::vector<Value>> items = PopMark();
        if (!items.ok()) return items.status();
        absl::StatusOr<Value*> list = Top();
        if (!list.ok()) return list.status();
        return AppendTo(**list, std::move(*items));
      }
      case kSetItem: {
        absl::StatusOr<Value> v = Pop();
        if (!v.ok()) return v.status();
        absl::StatusOr<Value> k = Pop();
        if (!k.ok()) return k.status();
        absl::StatusOr<Value*> dict = Top();
        if (!dict.ok()) return dict.status();
        return SetItems(**dict, {*k, *v});
      }
      case kSetItems: {
        absl::StatusOr<std::vector<Value>> items = PopMark();
        if (!items.ok()) return items.status();
        absl::StatusOr<Value*> dict = Top();
        if (!dict.ok()) return dict.status();
        return SetItems(**dict, *items);
      }
      case kGlobalOp: {
        absl::StatusOr<absl::string_view> module = TakeLine();
        if (!module.ok()) return module.status();
        absl::StatusOr<absl::string_view> name = TakeLine();
        if (!name.ok()) return name.status();
        return Resolve(*module, *name);
      }
      case kStackGlobal: {
        absl::StatusOr<Value> name = Pop();
        if (!name.ok()) return name.status();
        absl::StatusOr<Value> module = Pop();
        if (!module.ok()) return module.status();
        if (name->kind != Kind::kStr || module->kind != Kind::kStr) return Error("STACK_GLOBAL needs two strings");
        return Resolve(module->s, name->s);
      }
      case kReduce: return Reduce();
      case kNewObj: return NewObj();
      case kBuild: return Build();
      case kBinGet:
      case kLongBinGet: {
        absl::StatusOr<uint64_t> idx = TakeUint(op == kBinGet ? 1 : 4);
        if (!idx.ok()) return idx.status();
        return Get(*idx);
      }
      case kBinPut:
      case kLongBinPut: {
        absl::StatusOr<uint64_t> idx = TakeUint(op == kBinPut ? 1 : 4);
        if (!idx.ok()) return idx.status();
        return Put(*idx);
      }
      case kMemoize:
        return Put(memo_.size());
      default:
        return Error(absl::StrFormat("unsupported pickle opcode 0x%02x", op));
    }
  }

  Document* doc_;
  absl::string_view in_;
  size_t pos_ = 0;
  size_t op_pos_ = 0;
  std::vector<Value> stack_;
  std::vector<size_t> marks_;
  absl::flat_hash_map<uint64_t, Value> memo_;
};

absl::StatusOr<std::unique_ptr<Document>> ParsePickle(std::string bytes, const std::string& name) {
  return Unpickler::Parse(std::move(bytes), name);
}

absl::StatusOr<std::unique_ptr<Document>> ReadPickleFile(const std::string& path) {
  absl::StatusOr<std::string> bytes = ReadFileToString(path);
  if (!bytes.ok()) return bytes.status();
  if (bytes->empty()) return absl::InvalidArgumentError(absl::StrCat(path, ": empty file, not a pickle"));
  return ParsePickle(std::move(*bytes), path);
}

}  // namespace hardgnn::data::pickle
