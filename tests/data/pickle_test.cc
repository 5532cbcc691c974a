// The safe pickle reader: hand-made and numpy-made pickles, every kind of bad input, and
// the real SelfGNN tst_int files and the Tmall csr_matrix.
#include <set>
#include <string>

#include "core/data/file_io.h"
#include "core/data/pickle.h"
#include "core/data/selfgnn_release.h"
#include "gtest/gtest.h"
#include "tests/data/test_util.h"

namespace hardgnn::data {
namespace {

using pickle::Document;
using pickle::Kind;
using pickle::Value;

#include "tests/data/pickle_consts.inc"

template <size_t N>
std::string Bytes(const char (&s)[N]) {
  return std::string(s, N - 1);
}

std::unique_ptr<Document> ParseOk(const std::string& bytes) {
  absl::StatusOr<std::unique_ptr<Document>> doc = pickle::ParsePickle(bytes, "mem.pkl");
  EXPECT_TRUE(doc.ok()) << doc.status();
  return doc.ok() ? std::move(*doc) : nullptr;
}

absl::Status ParseError(const std::string& bytes) { return pickle::ParsePickle(bytes, "bad.pkl").status(); }

TEST(Pickle, ReadsPlainValues) {
  std::unique_ptr<Document> doc = ParseOk(Bytes(kDict));
  ASSERT_NE(doc, nullptr);
  ASSERT_EQ(doc->root.kind, Kind::kDict);
  ASSERT_EQ(doc->root.obj->dict.size(), 2u);
  const Value* a = pickle::DictGet(*doc->root.obj, "a");
  ASSERT_NE(a, nullptr);
  ASSERT_EQ(a->kind, Kind::kList);
  const std::vector<Value>& l = a->obj->items;
  ASSERT_EQ(l.size(), 7u);
  EXPECT_EQ(l[0].i, 1);
  EXPECT_EQ(l[1].i, -300);
  EXPECT_EQ(l[2].i, int64_t{1} << 40);
  EXPECT_EQ(l[3].kind, Kind::kNone);
  EXPECT_EQ(l[4].kind, Kind::kBool);
  EXPECT_EQ(l[4].i, 1);
  EXPECT_EQ(l[5].kind, Kind::kFloat);
  EXPECT_DOUBLE_EQ(l[5].f, 1.25);
  EXPECT_EQ(l[6].s, "\xc3\xa9");
  const auto& [key, tuple] = doc->root.obj->dict[1];
  EXPECT_EQ(key.kind, Kind::kBytes);
  EXPECT_EQ(key.s, "x");
  ASSERT_EQ(tuple.kind, Kind::kTuple);
  EXPECT_EQ(tuple.obj->items.size(), 4u);
  EXPECT_EQ(tuple.obj->items[3].i, 4);
}

TEST(Pickle, MemoSharesObjectsLikePython) {
  std::unique_ptr<Document> doc = ParseOk(Bytes(kSharedList));
  ASSERT_NE(doc, nullptr);
  ASSERT_EQ(doc->root.obj->items.size(), 2u);
  EXPECT_EQ(doc->root.obj->items[0].obj, doc->root.obj->items[1].obj);
  EXPECT_EQ(doc->root.obj->items[0].obj->items[0].i, 7);
}

TEST(Pickle, ReadsNumpyArraysAndScalars) {
  std::unique_ptr<Document> doc = ParseOk(Bytes(kBigEndianInt32));
  ASSERT_NE(doc, nullptr);
  absl::StatusOr<std::vector<int64_t>> ints = pickle::ArrayToInt64(*doc, doc->root, "a");
  ASSERT_TRUE(ints.ok()) << ints.status();
  EXPECT_EQ(*ints, (std::vector<int64_t>{1, -2, 3}));
  doc = ParseOk(Bytes(kFloat32));
  absl::StatusOr<std::vector<double>> floats = pickle::ArrayToDouble(*doc, doc->root, "f");
  ASSERT_TRUE(floats.ok()) << floats.status();
  EXPECT_EQ(*floats, (std::vector<double>{1.5, 2.5}));
  EXPECT_ERROR_MENTIONS(pickle::ArrayToInt64(*doc, doc->root, "f").status(), "mem.pkl", "expected integers");
  doc = ParseOk(Bytes(kProtocol2Int64));  // bytes via _codecs.encode(str, 'latin1')
  ints = pickle::ArrayToInt64(*doc, doc->root, "p2");
  ASSERT_TRUE(ints.ok()) << ints.status();
  EXPECT_EQ(*ints, (std::vector<int64_t>{5, 6}));
  doc = ParseOk(Bytes(kInt32Scalar));
  EXPECT_EQ(doc->root.kind, Kind::kInt);
  EXPECT_EQ(doc->root.i, -7);
  doc = ParseOk(Bytes(kMatrix2d));
  EXPECT_ERROR_MENTIONS(pickle::ArrayToInt64(*doc, doc->root, "m").status(), "mem.pkl", "m:", "1-D", "2 dimensions");
}

TEST(Pickle, RejectsWhatItCannotReadSafely) {
  EXPECT_ERROR_MENTIONS(ParseError(Bytes(kOsSystem)), "bad.pkl", "byte ", "global 'posix.system' is not allowed");
  EXPECT_ERROR_MENTIONS(ParseError(Bytes(kOsSystemP2)), "bad.pkl", "byte 2:", "'posix.system'");
  EXPECT_ERROR_MENTIONS(ParseError(Bytes(kSet)), "bad.pkl", "byte 11:", "unsupported pickle opcode 0x8f");
  EXPECT_ERROR_MENTIONS(ParseError(Bytes(kObjectArray)), "bad.pkl", "numpy dtype 'O8' is not supported");
  EXPECT_ERROR_MENTIONS(ParseError(Bytes(kUint64Scalar)), "bad.pkl", "above 2^63-1");
  EXPECT_ERROR_MENTIONS(ParseError("\x80\x02I1\n."), "bad.pkl", "byte 2:", "opcode 0x49");      // text INT
  EXPECT_ERROR_MENTIONS(ParseError("\x80\x06N."), "bad.pkl", "byte 0:", "protocol 6");
  EXPECT_ERROR_MENTIONS(ParseError("N."), "bad.pkl", "byte 0: not a pickle of protocol 2 or later",  // protocol 0
                        "starts with byte 0x4e, not PROTO (0x80)");
  EXPECT_ERROR_MENTIONS(ParseError(""), "bad.pkl", "byte 0:", "truncated");
  EXPECT_ERROR_MENTIONS(ParseError("\x80\x04N"), "bad.pkl", "byte 3:", "before the STOP");
  EXPECT_ERROR_MENTIONS(ParseError("\x80\x04N.junk"), "bad.pkl", "4 trailing bytes");
  EXPECT_ERROR_MENTIONS(ParseError(Bytes("\x80\x04X\x10\x00\x00\x00" "abc.")), "bad.pkl", "byte 2:",
                        "needs 16 bytes, only 4 left");
  EXPECT_ERROR_MENTIONS(ParseError("\x80\x04h\x05."), "bad.pkl", "memo entry 5 was never stored");
  EXPECT_ERROR_MENTIONS(ParseError("\x80\x04."), "bad.pkl", "stack underflow");
  EXPECT_ERROR_MENTIONS(ParseError("\x80\x04K\x01K\x02""a."), "bad.pkl", "APPEND to a int");
  EXPECT_ERROR_MENTIONS(ParseError("\x80\x04K\x01t."), "bad.pkl", "no MARK");
  EXPECT_ERROR_MENTIONS(ParseError("\x80\x04(K\x01K\x02)R."), "bad.pkl", "REDUCE on a int");
  EXPECT_ERROR_MENTIONS(ParseError("\x80\x04\x8a\x09\x01\x02\x03\x04\x05\x06\x07\x08\x09."), "bad.pkl",
                        "9 bytes does not fit 64 bits");
  EXPECT_ERROR_MENTIONS(ParseError(Bytes("\x80\x04\x95\xff\x00\x00\x00\x00\x00\x00\x00N.")), "bad.pkl", "FRAME runs past");
  // A MARK hides what is below it.
  EXPECT_ERROR_MENTIONS(ParseError("\x80\x04]K\x01(a."), "bad.pkl", "stack underflow");
  // An ndarray whose data disagrees with its shape.
  std::string short_data = Bytes(kBigEndianInt32);
  const size_t at = short_data.find("C\x0c");
  ASSERT_NE(at, std::string::npos);
  short_data[at + 1] = '\x08';
  short_data.erase(at + 2, 4);
  short_data[3] = static_cast<char>(short_data[3] - 4);  // the FRAME length
  EXPECT_ERROR_MENTIONS(ParseError(short_data), "bad.pkl", "3 x 4-byte items has 8 bytes");
}

TEST(Pickle, EveryTruncationOfARealFileIsAnErrorNotACrash) {
  absl::StatusOr<std::string> bytes = ReadFileToString("testdata/selfgnn-mini/p4/trn_mat_time");
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  for (size_t n = 0; n < bytes->size(); ++n) {
    EXPECT_FALSE(pickle::ParsePickle(bytes->substr(0, n), "cut").ok()) << "prefix of " << n << " bytes accepted";
  }
  EXPECT_TRUE(pickle::ParsePickle(*bytes, "whole").ok());
}

TEST(RealPickles, TmallCsrMatrix) {
  absl::StatusOr<std::unique_ptr<Document>> doc = pickle::ReadPickleFile("testdata/tmall-buy/trn_buy.pkl");
  ASSERT_TRUE(doc.ok()) << doc.status();
  absl::StatusOr<pickle::SparseMatrix> m = pickle::AsCsrMatrix(**doc, (*doc)->root, "trn_buy");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->rows, 31882);
  EXPECT_EQ(m->cols, 31232);
  EXPECT_EQ(m->indices.size(), 167862u);
  EXPECT_EQ(m->data.size(), 167862u);
  // Values printed by scipy for the same file.
  EXPECT_EQ(std::vector<int64_t>(m->indptr.begin(), m->indptr.begin() + 4), (std::vector<int64_t>{0, 5, 12, 19}));
  EXPECT_EQ(std::vector<int64_t>(m->indices.begin(), m->indices.begin() + 3), (std::vector<int64_t>{0, 1, 3}));
  EXPECT_EQ(m->data[0], 1512131552);
  double sum = 0, lo = 1e300, hi = 0;
  for (double v : m->data) sum += v, lo = std::min(lo, v), hi = std::max(hi, v);
  EXPECT_EQ(static_cast<int64_t>(sum), 253796106494003);
  EXPECT_EQ(lo, 1511539202);
  EXPECT_EQ(hi, 1512316799);
}

struct TstIntCase {
  const char* name;
  size_t users;
  size_t distinct_items;
  int32_t max_item;
  int64_t sum_items;
};

TEST(RealPickles, SelfGnnTstIntFiles) {
  // U and the distinct/max test items from SPEC §1.1; the sums printed by Python.
  for (const TstIntCase& c : {TstIntCase{"amazon", 11199, 5671, 30772, 140314155},
                              TstIntCase{"gowalla", 48653, 7755, 52618, 241859761},
                              TstIntCase{"movielens", 24312, 3659, 8680, 23154052},
                              TstIntCase{"yelp", 19751, 7474, 38385, 151198675}}) {
    absl::StatusOr<std::vector<int32_t>> tst = ReadTstInt(std::string("testdata/selfgnn-tst-int/tst_int.") + c.name);
    ASSERT_TRUE(tst.ok()) << tst.status();
    EXPECT_EQ(tst->size(), c.users) << c.name;
    std::set<int32_t> items;
    int64_t non_none = 0, sum = 0;
    for (int32_t t : *tst) {
      if (t < 0) continue;
      ++non_none;
      sum += t;
      items.insert(t);
    }
    EXPECT_EQ(non_none, 10000) << c.name;
    EXPECT_EQ(items.size(), c.distinct_items) << c.name;
    EXPECT_EQ(*items.rbegin(), c.max_item) << c.name;
    EXPECT_EQ(sum, c.sum_items) << c.name;
  }
  EXPECT_ERROR_MENTIONS(ReadTstInt("testdata/selfgnn-tst-int/tst_int.movielens", 8000).status(), "tst_int.movielens",
                        "out of range [0, 8000)");
}

}  // namespace
}  // namespace hardgnn::data
