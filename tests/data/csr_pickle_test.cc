// `prepare --format=csr_pickle`: a pickled scipy csr_matrix of event times as an interaction
// log. The small files come from tools/make_csr_pickle_fixture.py (their docstring lists the
// matrix); the real one is SSLRec's Tmall trn_buy.pkl.
#include <string>
#include <vector>

#include "core/data/cache.h"
#include "core/data/csr_pickle_reader.h"
#include "core/data/file_io.h"
#include "core/data/input_format.h"
#include "core/data/prepare.h"
#include "core/data/text_fields.h"
#include "gtest/gtest.h"
#include "tests/data/test_util.h"

namespace hardgnn::data {
namespace {

constexpr char kDir[] = "testdata/csr-pickle/";
constexpr char kTmall[] = "testdata/tmall-buy/trn_buy.pkl";

using testing::Event;
using testing::Events;

absl::StatusOr<InteractionLog> Read(const std::string& path, TimeUnit unit = TimeUnit::kSeconds) {
  return ReadInteractionFile(path, InputFormat::kCsrPickle, unit);
}

std::vector<Event> ReadOk(const std::string& path, TimeUnit unit = TimeUnit::kSeconds) {
  absl::StatusOr<InteractionLog> log = Read(path, unit);
  EXPECT_TRUE(log.ok()) << log.status();
  return log.ok() ? Events(*log) : std::vector<Event>{};
}

std::string Bytes(const std::string& path) {
  absl::StatusOr<std::string> bytes = ReadFileToString(path);
  EXPECT_TRUE(bytes.ok()) << bytes.status();
  return bytes.ok() ? *bytes : "";
}

// Row by row, each row's entries in stored order (row 0 stores column 3 before column 1).
const std::vector<Event> kEvents = {{"0", "3", 1600000300}, {"0", "1", 1600000100}, {"2", "0", 1600000200},
                                    {"2", "5", 1600000000}, {"2", "2", 1600000400}, {"3", "1", 1600000500}};

TEST(CsrPickle, EveryStoredEntryIsAnEventInStoredOrder) {
  EXPECT_EQ(ReadOk(std::string(kDir) + "events.pkl"), kEvents);
  EXPECT_EQ(ReadOk(std::string(kDir) + "events_p2.pkl"), kEvents);     // protocol 2
  EXPECT_EQ(ReadOk(std::string(kDir) + "events_float.pkl"), kEvents);  // float64 whole numbers
  const std::string gz = testing::TempDir("gz") + "/events.pkl.gz";
  testing::WriteFile(gz, testing::Gzip(Bytes(std::string(kDir) + "events.pkl")));
  EXPECT_EQ(ReadOk(gz), kEvents);
  absl::StatusOr<InteractionLog> log = Read(std::string(kDir) + "events.pkl");
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ(log->num_users(), 3);  // row 1 is empty
  EXPECT_EQ(log->num_items(), 5);  // column 4 is empty
  EXPECT_EQ(log->source, "csr_pickle:testdata/csr-pickle/events.pkl");
  EXPECT_TRUE(log->warnings.empty());
}

// Replaces the one int64 `from` stored in `bytes` by `to`.
void Patch(std::string* bytes, int64_t from, int64_t to) {
  const std::string a(reinterpret_cast<const char*>(&from), 8), b(reinterpret_cast<const char*>(&to), 8);
  const size_t at = bytes->find(a);
  ASSERT_NE(at, std::string::npos) << from;
  ASSERT_EQ(bytes->find(a, at + 1), std::string::npos) << from;
  bytes->replace(at, 8, b);
}

TEST(CsrPickle, TimeUnitConvertsToSeconds) {
  const std::string ms = std::string(kDir) + "events_ms.pkl";  // time * 1000 + 999
  EXPECT_EQ(ReadOk(ms, TimeUnit::kMilliseconds), kEvents);
  // Nanoseconds need all 64 bits: as doubles, time * 10^9 + 999999999 would round up a second.
  std::string bytes = Bytes(std::string(kDir) + "events.pkl");
  for (const Event& e : kEvents) Patch(&bytes, e.time, e.time * 1000000000 + 999999999);
  const std::string ns = testing::TempDir("ns") + "/events_ns.pkl";
  testing::WriteFile(ns, bytes);
  EXPECT_EQ(ReadOk(ns, TimeUnit::kNanoseconds), kEvents);
  EXPECT_EQ(Read(ms).status().message(),
            "testdata/csr-pickle/events_ms.pkl: timestamp 1600000500999 is not unix seconds (year 52671); it looks "
            "like milliseconds: pass --time_unit=ms");
  EXPECT_ERROR_MENTIONS(Read(std::string(kDir) + "events.pkl", TimeUnit::kMilliseconds).status(),
                        "events.pkl: the latest timestamp, 1600000500, is 1970-01-19",
                        "it looks like seconds: pass --time_unit=s");
}

TEST(CsrPickle, AMatrixWithoutTimesIsReadWithAWarning) {
  absl::StatusOr<InteractionLog> log = Read(std::string(kDir) + "ones.pkl");
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ(log->size(), 6);
  EXPECT_EQ(log->warnings, std::vector<std::string>{
                               "testdata/csr-pickle/ones.pkl: every stored value is 1: the matrix holds no event "
                               "times, so each user's validation and test items are the last columns stored in "
                               "their row"});
}

TEST(CsrPickle, BadMatricesAreRefusedNamingTheFileAndTheProblem) {
  const std::string bad = std::string(kDir) + "bad/";
  EXPECT_ERROR_MENTIONS(Read(bad + "csc.pkl").status(), "bad/csc.pkl: byte ",
                        "global 'scipy.sparse._csc.csc_matrix' is not allowed", "scipy csr_matrix");
  EXPECT_ERROR_MENTIONS(Read(bad + "indptr_short.pkl").status(), "bad/indptr_short.pkl: top level: ",
                        "indptr has 4 entries for 4 rows");
  EXPECT_EQ(Read(bad + "fraction.pkl").status().message(),
            "testdata/csr-pickle/bad/fraction.pkl: 1 of 6 stored values are not integers (the first: row 2, "
            "column 2, value 1600000400.5); event times must be whole numbers (of --time_unit), below 2^53 in a "
            "float matrix");
  EXPECT_EQ(Read(bad + "empty.pkl").status().message(),
            "testdata/csr-pickle/bad/empty.pkl: no interactions (the 4 x 6 csr_matrix stores no entries)");
  // Not a csr_matrix: a list (a SelfGNN tst_int), and a text file.
  EXPECT_ERROR_MENTIONS(Read("testdata/selfgnn-mini/p4/tst_int").status(), "p4/tst_int: top level: ",
                        "expected a scipy csr_matrix, found list");
  EXPECT_EQ(Read("testdata/text/ratings.dat").status().message(),
            "testdata/text/ratings.dat: byte 0: not a pickle of protocol 2 or later: it starts with byte 0x31, not "
            "PROTO (0x80)");
}

TEST(CsrPickle, NonPositiveTimesAreRefusedCountingThem) {
  const std::string dir = testing::TempDir("patched");
  std::string bytes = Bytes(std::string(kDir) + "events.pkl");
  Patch(&bytes, 1600000000, -7);  // row 2, column 5
  testing::WriteFile(dir + "/negative.pkl", bytes);
  EXPECT_ERROR_MENTIONS(Read(dir + "/negative.pkl").status(), "/negative.pkl: 1 of 6 stored values are <= 0",
                        "(the first: row 2, column 5, value -7)");
  Patch(&bytes, 1600000300, 0);  // row 0, column 3: an explicit zero
  testing::WriteFile(dir + "/zero.pkl", bytes);
  EXPECT_EQ(Read(dir + "/zero.pkl").status().message(),
            dir + "/zero.pkl: 2 of 6 stored values are <= 0, not event times (the first: row 0, column 3, value 0); "
                  "a sparse matrix leaves out what did not happen (scipy's eliminate_zeros() drops stored zeros)");
}

TEST(CsrPickle, EveryTruncationIsAnErrorNamingTheFile) {
  const std::string bytes = Bytes(std::string(kDir) + "events.pkl");
  ASSERT_FALSE(bytes.empty());
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_ERROR_MENTIONS(ParseCsrPickle(bytes.substr(0, n), "cut.pkl").status(), "cut.pkl: ");
  }
  const std::string dir = testing::TempDir("cut");
  testing::WriteFile(dir + "/cut.pkl", bytes.substr(0, bytes.size() / 2));
  EXPECT_ERROR_MENTIONS(Read(dir + "/cut.pkl").status(), "/cut.pkl: byte ", "truncated pickle");
  testing::WriteFile(dir + "/empty.pkl", "");
  EXPECT_ERROR_MENTIONS(Read(dir + "/empty.pkl").status(), "/empty.pkl: byte 0: ", "truncated");
}

TEST(CsrPickle, RealTmallPurchases) {
  absl::StatusOr<InteractionLog> log = Read(kTmall);
  ASSERT_TRUE(log.ok()) << log.status();
  // Counts printed by scipy for the same file: every row has entries, 30,069 columns do.
  EXPECT_EQ(log->size(), 167862);
  EXPECT_EQ(log->num_users(), 31882);
  EXPECT_EQ(log->num_items(), 30069);
  EXPECT_EQ(FormatUtc(log->time_extremes().min_time), "2017-11-24 16:00:02");  // 2017-11-25 00:00:02 in China
  EXPECT_EQ(FormatUtc(log->time_extremes().max_time), "2017-12-03 15:59:59");
  const std::vector<Event> events = Events(*log);
  EXPECT_EQ(std::vector<Event>(events.begin(), events.begin() + 2),
            (std::vector<Event>{{"0", "0", 1512131552}, {"0", "1", 1511931666}}));
  EXPECT_EQ(events.back(), (Event{"31881", "18620", 1511791079}));
  EXPECT_TRUE(log->warnings.empty());
}

TEST(CsrPickle, PreparesExactlyLikeTheSameEventsAsText) {
  absl::StatusOr<InteractionLog> pickled = Read(kTmall);
  ASSERT_TRUE(pickled.ok()) << pickled.status();
  std::string text;
  for (const Event& e : Events(*pickled)) text += e.user + "\t" + e.item + "\t" + std::to_string(e.time) + "\n";
  absl::StatusOr<InteractionLog> written = ParseInteractions(InputFormat::kGeneric, text, "tmall.tsv");
  ASSERT_TRUE(written.ok()) << written.status();
  PrepareOptions o;  // as experiments/configs/data/tmall-buy.flags, with fewer negatives
  o.kcore = 3;
  o.num_slices = 3;
  o.eval_negatives = 20;
  absl::StatusOr<PreparedDataset> a = Prepare(*pickled, o);
  absl::StatusOr<PreparedDataset> b = Prepare(*written, o);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(FingerprintHex(*a), FingerprintHex(*b));
  EXPECT_EQ(a->user_names, b->user_names);
  EXPECT_EQ(a->item_names, b->item_names);
  // The figures the preset's comment quotes.
  EXPECT_EQ(a->num_users, 29561);
  EXPECT_EQ(a->num_items, 19631);
  EXPECT_EQ(a->seq_item.size(), 146643u);
  std::vector<size_t> edges;
  for (const Csr& m : a->slice_user_item) edges.push_back(m.col.size());
  EXPECT_EQ(edges, (std::vector<size_t>{41013, 31903, 14605}));
}

}  // namespace
}  // namespace hardgnn::data
