// The raw-log readers on tiny files with known answers, and every kind of bad line.
#include <string>

#include "core/data/input_format.h"
#include "core/data/text_fields.h"
#include "core/data/text_readers.h"
#include "gtest/gtest.h"
#include "tests/data/test_util.h"

namespace hardgnn::data {
namespace {

using testing::Event;
using testing::Events;

std::vector<Event> ReadOk(const std::string& path, InputFormat format) {
  absl::StatusOr<InteractionLog> log = ReadInteractionFile(path, format);
  EXPECT_TRUE(log.ok()) << log.status();
  return log.ok() ? Events(*log) : std::vector<Event>{};
}

TEST(Gowalla, ReadsPlainAndGzipWithTheSameAnswer) {
  const std::vector<Event> want = {{"0", "23261", 1286842888}, {"0", "16907", 1286828480}, {"7", "23261", 1240526220}};
  EXPECT_EQ(ReadOk("testdata/text/gowalla.tsv", InputFormat::kGowalla), want);
  EXPECT_EQ(ReadOk("testdata/text/gowalla.tsv.gz", InputFormat::kGowalla), want);
  absl::StatusOr<InteractionLog> log = ReadInteractionFile("testdata/text/gowalla.tsv", InputFormat::kGowalla);
  ASSERT_TRUE(log.ok());
  EXPECT_EQ(log->num_users(), 2);
  EXPECT_EQ(log->num_items(), 2);
  EXPECT_EQ(log->source, "gowalla:testdata/text/gowalla.tsv");
}

TEST(Gowalla, RejectsBadLinesNamingFileLineAndProblem) {
  const std::string ok = "0\t2010-10-12T00:21:28Z\t40.6\t-73.7\t23261\n";
  EXPECT_ERROR_MENTIONS(ParseGowallaCheckins(ok + "1\t2010-10-12T00:21:28Z\t40.6\n", "g.tsv").status(), "g.tsv:2:",
                        "expected 5 tab-separated fields, found 3");
  EXPECT_ERROR_MENTIONS(ParseGowallaCheckins(ok + ok + "1\tyesterday\t40.6\t-73.7\t5\n", "g.tsv").status(), "g.tsv:3:",
                        "'yesterday'", "ISO-8601");
  EXPECT_ERROR_MENTIONS(ParseGowallaCheckins("1\t2010-13-12T00:21:28Z\t40.6\t-73.7\t5\n", "g.tsv").status(), "g.tsv:1:",
                        "not a valid date");
  EXPECT_ERROR_MENTIONS(ParseGowallaCheckins("1\t1960-01-01T00:00:00Z\t40.6\t-73.7\t5\n", "g.tsv").status(), "g.tsv:1:",
                        "before 1970");
  EXPECT_ERROR_MENTIONS(ParseGowallaCheckins("1\t2010-10-12T00:21:28Z\tnorth\t-73.7\t5\n", "g.tsv").status(), "g.tsv:1:",
                        "latitude 'north' is not a number");
  EXPECT_ERROR_MENTIONS(ParseGowallaCheckins("1\t2010-10-12T00:21:28Z\t40.6\t-73.7\t\n", "g.tsv").status(), "g.tsv:1:",
                        "empty location id");
  EXPECT_ERROR_MENTIONS(ParseGowallaCheckins("", "empty.tsv").status(), "empty.tsv", "no interactions");
  EXPECT_ERROR_MENTIONS(ParseGowallaCheckins("\n\n  \n", "blank.tsv").status(), "blank.tsv", "no interactions");
}

TEST(Gowalla, TruncatedGzipIsAnError) {
  const std::string dir = testing::TempDir("gz");
  std::string lines;
  for (int i = 0; i < 500; ++i) lines += std::to_string(i) + "\t2010-10-12T00:21:28Z\t40.6\t-73.7\t" + std::to_string(i * 31) + "\n";
  const std::string gz = testing::Gzip(lines);
  testing::WriteFile(dir + "/cut.tsv.gz", gz.substr(0, gz.size() - 30));
  EXPECT_ERROR_MENTIONS(ReadInteractionFile(dir + "/cut.tsv.gz", InputFormat::kGowalla).status(), "cut.tsv.gz", "byte ",
                        "truncated gzip");
}

TEST(MovieLens, ReadsDatAndCsv) {
  EXPECT_EQ(ReadOk("testdata/text/ratings.dat", InputFormat::kMovieLensDat),
            (std::vector<Event>{{"1", "1193", 978300760}, {"1", "661", 978302109}, {"2", "1193", 978298413}}));
  EXPECT_EQ(ReadOk("testdata/text/ratings.csv", InputFormat::kMovieLensCsv),
            (std::vector<Event>{{"1", "296", 1147880044}, {"1", "306", 1147868817}, {"3", "296", 1439472215}}));
}

TEST(MovieLens, RejectsBadLines) {
  EXPECT_ERROR_MENTIONS(ParseMovieLensDat("1::2::3\n", "r.dat").status(), "r.dat:1:", "expected 4", "found 3");
  EXPECT_ERROR_MENTIONS(ParseMovieLensDat("1::2::3::4\n1::2::3::-4\n", "r.dat").status(), "r.dat:2:",
                        "timestamp '-4' is negative");
  EXPECT_ERROR_MENTIONS(ParseMovieLensDat("1::2::3::4x\n", "r.dat").status(), "r.dat:1:", "'4x'",
                        "not a non-negative integer");
  EXPECT_ERROR_MENTIONS(ParseMovieLensDat("u1::2::3::4\n", "r.dat").status(), "r.dat:1:", "user id 'u1'");
  EXPECT_ERROR_MENTIONS(ParseMovieLensDat("1::-2::3::4\n", "r.dat").status(), "r.dat:1:", "item id '-2'");
  EXPECT_ERROR_MENTIONS(ParseMovieLensDat("1::2::five::4\n", "r.dat").status(), "r.dat:1:", "rating 'five'");
  EXPECT_ERROR_MENTIONS(ParseMovieLensCsv("1,296,5.0,1147880044\n", "r.csv").status(), "r.csv:1:", "header");
  EXPECT_ERROR_MENTIONS(ParseMovieLensCsv("userId,movieId,rating,timestamp\n", "r.csv").status(), "r.csv",
                        "no interactions");
}

TEST(Amazon, ReadsStringIds) {
  EXPECT_EQ(ReadOk("testdata/text/amazon_ratings.csv", InputFormat::kAmazon),
            (std::vector<Event>{{"A1", "B0001", 1388534400}, {"A2", "B0001", 1388620800}, {"A1", "B0002", 1388707200}}));
  EXPECT_ERROR_MENTIONS(ParseAmazonRatings("A1,B1,5.0,1388534400\nA1,,5.0,1\n", "a.csv").status(), "a.csv:2:",
                        "empty item id");
  EXPECT_ERROR_MENTIONS(ParseAmazonRatings("A1,B1,5.0,13885.5\n", "a.csv").status(), "a.csv:1:", "'13885.5'");
}

TEST(Generic, ReadsTabCommaAndSpaceWithTheSameAnswer) {
  const std::vector<Event> want = {{"alice", "x", 30}, {"bob", "y", 10}, {"alice", "y", 20}};
  EXPECT_EQ(ReadOk("testdata/text/generic_tab.tsv", InputFormat::kGeneric), want);  // with a header line
  EXPECT_EQ(ReadOk("testdata/text/generic_comma.csv", InputFormat::kGeneric), want);
  EXPECT_EQ(ReadOk("testdata/text/generic_space.txt", InputFormat::kGeneric), want);
}

TEST(Generic, RejectsBadLines) {
  EXPECT_ERROR_MENTIONS(ParseGenericTriples("a\tb\t1\na\tb\n", "g.tsv").status(), "g.tsv:2:",
                        "expected 3 tab-separated fields, found 2");
  EXPECT_ERROR_MENTIONS(ParseGenericTriples("a,b,1\na,b,1,2\n", "g.csv").status(), "g.csv:2:",
                        "expected 3 comma-separated fields, found 4");
  EXPECT_ERROR_MENTIONS(ParseGenericTriples("a b 1\na b c\n", "g.txt").status(), "g.txt:2:", "timestamp 'c'");
  // A non-numeric third field is only a header on the first line.
  EXPECT_ERROR_MENTIONS(ParseGenericTriples("a b -1\n", "g.txt").status(), "g.txt:1:", "negative");
  EXPECT_ERROR_MENTIONS(ParseGenericTriples("user item time\n", "g.txt").status(), "g.txt", "no interactions");
  EXPECT_ERROR_MENTIONS(ParseGenericTriples(std::string("a\tb\t1\n\x01\x02\xff", 9), "bin").status(), "bin:2:");
}

// The message of a parse that should fail, or "ok".
std::string ErrorOf(const absl::StatusOr<InteractionLog>& log) {
  return log.ok() ? "ok" : std::string(log.status().message());
}

TEST(Timestamps, AMillisecondsLogIsRefusedNamingFileLineAndUnit) {
  const std::string log = "a x 1601234567000\nb y 1601234567890\na y 1601234567123\n";
  EXPECT_EQ(ErrorOf(ParseInteractions(InputFormat::kGeneric, log, "ms.txt")),
            "ms.txt:2: timestamp 1601234567890 is not unix seconds (year 52711); it looks like milliseconds: "
            "pass --time_unit=ms");
  // Through the file reader too, and in microseconds.
  const std::string dir = testing::TempDir("us");
  testing::WriteFile(dir + "/us.tsv", "a\tx\t1601234567000000\nb\ty\t1601234567890123\n");
  EXPECT_ERROR_MENTIONS(ReadInteractionFile(dir + "/us.tsv", InputFormat::kGeneric).status(), "/us.tsv:2: ",
                        "timestamp 1601234567890123 is not unix seconds", "pass --time_unit=us");
}

TEST(Timestamps, Int64MaxIsRefused) {
  EXPECT_EQ(ErrorOf(ParseInteractions(InputFormat::kGeneric, "a x 1600000000\nb y 9223372036854775807\n", "max.txt")),
            "max.txt:2: timestamp 9223372036854775807 is not unix seconds (year 292277026596); it would fit as "
            "nanoseconds, but the earliest timestamp 1600000000 (line 1) would not: fix the log");
  // Mixed units: one millisecond value among seconds.
  EXPECT_EQ(ErrorOf(ParseInteractions(InputFormat::kGeneric, "a x 1601234567\nb y 1601234567890\n", "mix.txt")),
            "mix.txt:2: timestamp 1601234567890 is not unix seconds (year 52711); it would fit as milliseconds, "
            "but the earliest timestamp 1601234567 (line 1) would not: fix the log");
  // Just past the year 3000.
  EXPECT_ERROR_MENTIONS(ParseInteractions(InputFormat::kGeneric, "a x 1600000000\nb y 33000000000\n", "y.txt").status(),
                        "y.txt:2: timestamp 33000000000 is not unix seconds (year 3015)");
}

TEST(Timestamps, EveryReaderIsChecked) {
  EXPECT_ERROR_MENTIONS(ParseInteractions(InputFormat::kMovieLensDat, "1::2::5::978300760\n1::3::4::978300760000\n",
                                          "r.dat").status(),
                        "r.dat:2: timestamp 978300760000 is not unix seconds");
  EXPECT_ERROR_MENTIONS(ParseInteractions(InputFormat::kMovieLensCsv,
                                          "userId,movieId,rating,timestamp\n1,296,5.0,1147880044000\n", "r.csv")
                            .status(),
                        "r.csv:2: timestamp 1147880044000 is not unix seconds", "pass --time_unit=ms");
  EXPECT_ERROR_MENTIONS(ParseInteractions(InputFormat::kAmazon, "A1,B1,5.0,1388534400000\n", "a.csv").status(),
                        "a.csv:1: timestamp 1388534400000 is not unix seconds", "pass --time_unit=ms");
  EXPECT_EQ(ErrorOf(ParseInteractions(InputFormat::kGowalla,
                                      "0\t2010-10-12T00:21:28Z\t40.6\t-73.7\t1\n0\t9999-01-01T00:00:00Z\t40.6\t-73.7\t2\n",
                                      "g.tsv")),
            "g.tsv:2: time 9999-01-01 00:00:00 UTC is in the year 3000 or later: not an event time");
  EXPECT_EQ(ErrorOf(ParseInteractions(InputFormat::kGowalla, "0\t2010-10-12T00:21:28Z\t40.6\t-73.7\t1\n", "g.tsv",
                                      TimeUnit::kMilliseconds)),
            "g.tsv: --time_unit=ms applies to numeric timestamps; this format's times are dates");
}

TEST(Timestamps, TimeUnitConvertsToSecondsRoundingDown) {
  for (const char* name : {"s", "ms", "us", "ns"}) {
    absl::StatusOr<TimeUnit> unit = ParseTimeUnit(name);
    ASSERT_TRUE(unit.ok()) << name;
    EXPECT_STREQ(TimeUnitName(*unit), name);
  }
  EXPECT_ERROR_MENTIONS(ParseTimeUnit("sec").status(), "unknown time unit 'sec' (known: s, ms, us, ns)");
  auto times = [](const std::string& content, TimeUnit unit) {
    std::vector<int64_t> out;
    absl::StatusOr<InteractionLog> log = ParseInteractions(InputFormat::kGeneric, content, "t.txt", unit);
    EXPECT_TRUE(log.ok()) << log.status();
    if (log.ok()) {
      for (const Interaction& e : log->events()) out.push_back(e.time);
      EXPECT_TRUE(log->warnings.empty());
    }
    return out;
  };
  const std::vector<int64_t> want = {1601234567, 1601234568, 1601234567};
  EXPECT_EQ(times("a x 1601234567890\nb y 1601234568000\na y 1601234567001\n", TimeUnit::kMilliseconds), want);
  EXPECT_EQ(times("a x 1601234567890123\nb y 1601234568000000\na y 1601234567000001\n", TimeUnit::kMicroseconds),
            want);
  EXPECT_EQ(times("a x 1601234567890123456\nb y 1601234568000000000\na y 1601234567999999999\n",
                  TimeUnit::kNanoseconds),
            want);
  EXPECT_EQ(times("a x 1601234567\nb y 1601234568\na y 1601234567\n", TimeUnit::kSeconds), want);
}

TEST(Timestamps, ACoarserUnitThanClaimedIsRefused) {
  // Seconds read as milliseconds land in January 1970.
  EXPECT_EQ(ErrorOf(ParseInteractions(InputFormat::kGeneric, "a x 1601234500\nb y 1601234567\n", "s.txt",
                                      TimeUnit::kMilliseconds)),
            "s.txt:2: the latest timestamp, 1601234567, is 1970-01-19 12:47:14 UTC in milliseconds "
            "(--time_unit=ms), before 1971; it looks like seconds: pass --time_unit=s");
}

TEST(Timestamps, PlausibilityBoundsAreTheDatesTheySay) {
  EXPECT_EQ(FormatUtc(kLatestPlausibleTime), "3000-01-01 00:00:00");
  EXPECT_EQ(FormatUtc(kEarliestPlausibleTime), "1971-01-01 00:00:00");
  EXPECT_EQ(kSuspiciousTimeSpan, 1577847600);  // 50 * 365.2425 * 86400
}

TEST(Timestamps, SmallSecondsAreAcceptedWithoutWarning) {
  // Ordinal positions instead of clock times (the generic test files use 10, 20, 30).
  absl::StatusOr<InteractionLog> log = ParseInteractions(InputFormat::kGeneric, "a x 0\nb y 2\na y 1\n", "o.txt");
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_TRUE(log->warnings.empty());
  // The last second before the year 3000 is accepted.
  EXPECT_EQ(ErrorOf(ParseInteractions(InputFormat::kGeneric, "a x 32503679999\nb y 32503679000\n", "l.txt")), "ok");
}

TEST(Timestamps, ASpanOfMoreThanFiftyYearsWarnsNamingBothLines) {
  absl::StatusOr<InteractionLog> log =
      ParseInteractions(InputFormat::kGeneric, "a x 1600000000\nb y 0\na y 1700000000\nb x 5\n", "p.txt");
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ(log->warnings, std::vector<std::string>{
                               "p.txt: the timestamps span 53.9 years, from 1970-01-01 00:00:00 UTC (line 2) to "
                               "2023-11-14 22:13:20 UTC (line 3); check those lines for placeholder times or mixed "
                               "units"});
  EXPECT_EQ(log->size(), 4);  // a warning, not a refusal
  // 50 years exactly is fine; one second more is not.
  log = ParseInteractions(InputFormat::kGeneric, "a x 100\nb y 1577847700\n", "p.txt");
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_TRUE(log->warnings.empty());
  log = ParseInteractions(InputFormat::kGeneric, "a x 100\nb y 1577847701\n", "p.txt");
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ(log->warnings.size(), 1u);
}

TEST(InputFormat, ParsesNamesAndGuessesFromPaths) {
  for (const char* name : {"selfgnn", "gowalla", "movielens_dat", "movielens_csv", "amazon", "generic", "csr_pickle"}) {
    absl::StatusOr<InputFormat> f = ParseInputFormat(name);
    ASSERT_TRUE(f.ok()) << name;
    EXPECT_STREQ(InputFormatName(*f), name);
  }
  EXPECT_EQ(ParseInputFormat("csv").status().message(),
            "unknown input format 'csv' (known: selfgnn, gowalla, movielens_dat, movielens_csv, amazon, generic, "
            "csr_pickle)");
  auto guess = [](const std::string& p) {
    absl::StatusOr<InputFormat> f = GuessInputFormat(p);
    return f.ok() ? std::string(InputFormatName(*f)) : std::string(f.status().message());
  };
  EXPECT_EQ(guess("data/gowalla-nyc/checkins.tsv.gz"), "gowalla");
  EXPECT_EQ(guess("/x/loc-gowalla_totalCheckins.txt.gz"), "gowalla");
  EXPECT_EQ(guess("/x/ml-1m/ratings.dat"), "movielens_dat");
  EXPECT_EQ(guess("/x/ml-25m/ratings.csv"), "movielens_csv");
  EXPECT_EQ(guess("/x/ratings_Books.csv"), "amazon");
  EXPECT_EQ(guess("/x/amazon_books.csv.gz"), "amazon");
  EXPECT_EQ(guess("/x/yelp2019/interactions.tsv"), "generic");
  EXPECT_EQ(guess("testdata/selfgnn-mini/p4"), "selfgnn");
  EXPECT_EQ(guess("testdata/tmall-buy/trn_buy.pkl"), "csr_pickle");
  EXPECT_EQ(guess("/x/gowalla_times.pkl.gz"), "csr_pickle");  // a pickle, whatever its name says
  EXPECT_EQ(guess("/x/Matrix.PICKLE"), "csr_pickle");
  EXPECT_EQ(guess("/x/events.csv"),
            "/x/events.csv: cannot guess the input format from the name; pass "
            "--format=selfgnn|gowalla|movielens_dat|movielens_csv|amazon|generic|csr_pickle");
  EXPECT_ERROR_MENTIONS(GuessInputFormat("testdata/text").status(), "testdata/text", "tst_int");
}

}  // namespace
}  // namespace hardgnn::data
