#ifndef HARDGNN_CORE_DATA_PICKLE_H_
#define HARDGNN_CORE_DATA_PICKLE_H_

// A small, safe reader for the Python pickles of a SelfGNN release (and similar files):
// protocols 2 to 5 (so the input starts with PROTO), and only what such files contain.
//
// It never executes code. Instead of Python's REDUCE/NEWOBJ/BUILD calling arbitrary
// callables, it recognises exactly these globals and interprets them itself:
//   numpy.core.multiarray._reconstruct (also numpy._core.multiarray)  a new ndarray
//   numpy.ndarray                                                      its class argument
//   numpy.dtype                                                        a dtype ('i8', '<', ...)
//   numpy.core.multiarray.scalar (also numpy._core.multiarray)        a numpy scalar -> int/float
//   scipy.sparse.csr.csr_matrix, scipy.sparse._csr.csr_matrix         a csr_matrix (state dict)
//   _codecs.encode                                                     str -> bytes (protocol 2)
// Any other global, an unknown opcode, a length running past the end of the input, a
// memo index never stored, a stack underflow or a type mismatch is an error
// "<name>: byte <offset>: <problem>". Supported opcodes: PROTO FRAME STOP MARK POP POP_MARK
// DUP NONE NEWTRUE NEWFALSE BININT BININT1 BININT2 LONG1 LONG4 (up to 64 bits) BINFLOAT
// SHORT_BINUNICODE BINUNICODE BINUNICODE8 SHORT_BINBYTES BINBYTES BINBYTES8 SHORT_BINSTRING
// BINSTRING EMPTY_LIST APPEND APPENDS LIST EMPTY_TUPLE TUPLE TUPLE1 TUPLE2 TUPLE3 EMPTY_DICT
// DICT SETITEM SETITEMS GLOBAL STACK_GLOBAL REDUCE NEWOBJ BUILD BINGET LONG_BINGET BINPUT
// LONG_BINPUT MEMOIZE.
//
// Numpy arrays keep their raw bytes; dtypes are checked (bool, signed/unsigned integers,
// floats; little- or big-endian) when the array is converted.

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace hardgnn::data::pickle {

enum class Kind : uint8_t {
  kNone, kBool, kInt, kFloat, kStr, kBytes,        // plain values
  kList, kTuple, kDict,                            // containers (Object)
  kGlobal, kDtype, kNdArray, kCsrMatrix,           // the allowed numpy/scipy objects (Object)
};
const char* KindName(Kind kind);

enum class Global : uint8_t { kReconstruct, kNdArrayClass, kDtypeClass, kScalar, kCsrMatrixClass, kCodecsEncode };

struct Object;

// A pickled value. Strings and bytes point into the Document (input or owned storage).
struct Value {
  Kind kind = Kind::kNone;
  int64_t i = 0;          // kBool (0/1), kInt
  double f = 0;           // kFloat
  absl::string_view s;    // kStr (UTF-8), kBytes
  Object* obj = nullptr;  // every other kind
};

struct Dtype {
  char kind = 0;        // 'b' bool, 'i' signed, 'u' unsigned, 'f' float
  int32_t itemsize = 0;
  bool big_endian = false;
  bool built = false;   // BUILD has set the byte order
};

// Containers and objects, owned by the Document. Shared like Python references.
struct Object {
  Kind kind;
  int64_t offset;  // byte offset of the opcode that created it, for error messages
  std::vector<Value> items;                   // kList, kTuple
  std::vector<std::pair<Value, Value>> dict;  // kDict, in insertion order
  Global global{};                            // kGlobal
  Dtype dtype;                                // kDtype
  Object* array_dtype = nullptr;              // kNdArray: its kDtype, once built
  std::vector<int64_t> shape;                 // kNdArray
  absl::string_view data;                     // kNdArray raw bytes, once built
  bool built = false;                         // kNdArray, kCsrMatrix
  Object* state = nullptr;                    // kCsrMatrix: the kDict given to BUILD
};

class Document {
 public:
  Value root;
  const std::string& name() const { return name_; }

 private:
  friend class Unpickler;
  std::string name_;
  std::string input_;
  std::deque<Object> objects_;
  std::deque<std::string> strings_;  // bytes made by _codecs.encode
};

// Parses a whole pickle (one object; bytes after STOP are an error).
absl::StatusOr<std::unique_ptr<Document>> ParsePickle(std::string bytes, const std::string& name);
absl::StatusOr<std::unique_ptr<Document>> ReadPickleFile(const std::string& path);

// --- Typed access with errors "<doc name>: <what>: <problem>" ---------------------------

// kInt or kBool.
absl::StatusOr<int64_t> AsInt(const Document& doc, const Value& v, absl::string_view what);
// kList or kTuple items.
absl::StatusOr<const std::vector<Value>*> AsSequence(const Document& doc, const Value& v, absl::string_view what);
// A dict entry with string key `key`, or nullptr.
const Value* DictGet(const Object& dict, absl::string_view key);

// A built 1-D ndarray as integers (bool, signed or unsigned of 1-8 bytes, either byte order;
// unsigned values above INT64_MAX are an error) or as doubles (any of those or a float).
absl::StatusOr<std::vector<int64_t>> ArrayToInt64(const Document& doc, const Value& v, absl::string_view what);
absl::StatusOr<std::vector<double>> ArrayToDouble(const Document& doc, const Value& v, absl::string_view what);

// A scipy csr_matrix, checked: shape of two non-negative ints, indptr of rows+1 monotone
// offsets from 0 to nnz, indices of nnz columns in [0, cols), data of nnz numbers.
struct SparseMatrix {
  int64_t rows = 0;
  int64_t cols = 0;
  std::vector<int64_t> indptr;
  std::vector<int64_t> indices;
  std::vector<double> data;
  // The pickled data array (a built 1-D kNdArray of nnz entries, owned by the Document): its
  // dtype, and ArrayToInt64 for exact integers (`data` rounds those above 2^53).
  Value data_array;
};
absl::StatusOr<SparseMatrix> AsCsrMatrix(const Document& doc, const Value& v, absl::string_view what);

}  // namespace hardgnn::data::pickle

#endif  // HARDGNN_CORE_DATA_PICKLE_H_
