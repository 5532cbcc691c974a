// The raw-log readers on tiny files with known answers, and every kind of bad line.
#include <string>

#include "core/data/input_format.h"
#include "core/data/text_readers.h"
#include "gtest/gtest.h"
#include "tests/data/test_util.h"

namespace hardgnn::data {
namespace {

struct Event {
  std::string user, item;
  int64_t time;
  bool operator==(const Event& o) const { return user == o.user && item == o.item && time == o.time; }
};

std::ostream& operator<<(std::ostream& os, const Event& e) {
  return os << "(" << e.user << ", " << e.item << ", " << e.time << ")";
}

std::vector<Event> Events(const InteractionLog& log) {
  std::vector<Event> out;
  for (const Interaction& e : log.events()) out.push_back({log.user_name(e.user), log.item_name(e.item), e.time});
  return out;
}

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

TEST(InputFormat, ParsesNamesAndGuessesFromPaths) {
  for (const char* name : {"selfgnn", "gowalla", "movielens_dat", "movielens_csv", "amazon", "generic"}) {
    absl::StatusOr<InputFormat> f = ParseInputFormat(name);
    ASSERT_TRUE(f.ok()) << name;
    EXPECT_STREQ(InputFormatName(*f), name);
  }
  EXPECT_ERROR_MENTIONS(ParseInputFormat("csv").status(), "unknown input format 'csv'");
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
  EXPECT_ERROR_MENTIONS(GuessInputFormat("/x/events.csv").status(), "/x/events.csv", "cannot guess", "--format");
  EXPECT_ERROR_MENTIONS(GuessInputFormat("testdata/text").status(), "testdata/text", "tst_int");
}

}  // namespace
}  // namespace hardgnn::data
