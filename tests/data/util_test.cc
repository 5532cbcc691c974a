// Checksums, random numbers, complement sampling, gzip and atomic files, text fields.
#include <set>
#include <string>

#include "core/data/checksum.h"
#include "core/data/file_io.h"
#include "core/data/negatives.h"
#include "core/data/rng.h"
#include "core/data/text_fields.h"
#include "gtest/gtest.h"
#include "tests/data/test_util.h"

namespace hardgnn::data {
namespace {

TEST(Xxh64, MatchesTheReferenceLibrary) {
  // Values printed by libxxhash 0.8.1 (XXH64) through ctypes.
  EXPECT_EQ(Xxh64("", 0, 0), 0xef46db3751d8e999ULL);
  EXPECT_EQ(Xxh64("abc", 3, 0), 0x44bc2cf5ad770999ULL);
  const std::string long_input = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  EXPECT_EQ(Xxh64(long_input.data(), long_input.size(), 0), 0x7639d419de614eedULL);
  EXPECT_EQ(Xxh64("hardgnn", 7, 7), 0xf4f630c52a9008bbULL);
  std::string bytes(100, '\0');
  for (int i = 0; i < 100; ++i) bytes[i] = static_cast<char>(i);
  EXPECT_EQ(Xxh64(bytes.data(), bytes.size(), 123456789), 0xf96f532e91c7bcf4ULL);
}

TEST(Rng, IsDeterministicAndSeedDependent) {
  Rng a(7), b(7), c(8);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    const uint64_t x = a.Next();
    EXPECT_EQ(x, b.Next());
    differs |= x != c.Next();
  }
  EXPECT_TRUE(differs);
  EXPECT_NE(DeriveSeed(7, "noise"), DeriveSeed(7, "negatives"));
}

TEST(Rng, UniformCoversTheRangeEvenly) {
  Rng rng(1);
  int counts[6] = {0};
  for (int i = 0; i < 60000; ++i) {
    const uint64_t x = rng.Uniform(6);
    ASSERT_LT(x, 6u);
    ++counts[x];
  }
  for (int c : counts) EXPECT_NEAR(c, 10000, 400);
  for (int i = 0; i < 1000; ++i) {
    const double u = rng.UniformDouble();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
  }
}

TEST(SampleFromComplement, NeverReturnsAnExcludedItemAndReachesEveryOther) {
  const std::vector<int32_t> excluded = {0, 1, 3, 4, 5, 8, 9};  // of 10: free = 2, 6, 7
  Rng rng(3);
  std::set<int32_t> seen;
  for (int i = 0; i < 3000; ++i) {
    const int32_t x = SampleFromComplement(excluded.data(), excluded.data() + excluded.size(), 10, &rng);
    seen.insert(x);
  }
  EXPECT_EQ(seen, (std::set<int32_t>{2, 6, 7}));
}

TEST(SampleFromComplement, HandlesFullAndEmptyExclusions) {
  Rng rng(3);
  const std::vector<int32_t> all = {0, 1, 2};
  EXPECT_EQ(SampleFromComplement(all.data(), all.data() + 3, 3, &rng), -1);
  std::set<int32_t> seen;
  for (int i = 0; i < 200; ++i) seen.insert(SampleFromComplement(nullptr, nullptr, 4, &rng));
  EXPECT_EQ(seen, (std::set<int32_t>{0, 1, 2, 3}));
  // Only the last item is free, among a million: one draw, no rejection loop.
  std::vector<int32_t> most(999999);
  for (int32_t i = 0; i < 999999; ++i) most[i] = i;
  EXPECT_EQ(SampleFromComplement(most.data(), most.data() + most.size(), 1000000, &rng), 999999);
}

TEST(Gunzip, RoundTripsAndConcatenatesMembers) {
  const std::string text = "user\titem\n1\t2\n";
  absl::StatusOr<std::string> out = Gunzip(testing::Gzip(text), "t.gz");
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, text);
  out = Gunzip(testing::Gzip("ab") + testing::Gzip("cd"), "t.gz");
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, "abcd");
}

TEST(Gunzip, ReportsTruncationCorruptionAndTrailingGarbage) {
  std::string text;
  for (int i = 0; i < 2000; ++i) text += std::to_string(i * 7919 % 1000) + "\t";
  const std::string gz = testing::Gzip(text);
  EXPECT_ERROR_MENTIONS(Gunzip(gz.substr(0, gz.size() / 2), "cut.gz").status(), "cut.gz", "byte ", "truncated");
  EXPECT_ERROR_MENTIONS(Gunzip(gz.substr(0, 5), "cut.gz").status(), "cut.gz", "truncated");
  std::string corrupt = gz;
  corrupt[20] = static_cast<char>(corrupt[20] ^ 0xff);
  corrupt[21] = static_cast<char>(corrupt[21] ^ 0xff);
  EXPECT_ERROR_MENTIONS(Gunzip(corrupt, "bad.gz").status(), "bad.gz", "byte ");
  EXPECT_ERROR_MENTIONS(Gunzip(gz + "xyz", "junk.gz").status(), "junk.gz", "trailing garbage");
  EXPECT_ERROR_MENTIONS(Gunzip(gz, "big.gz", 100).status(), "big.gz", "exceeds 100 bytes");
}

TEST(Files, AtomicWriteReplacesTheFileAndLeavesNoTemporary) {
  const std::string dir = testing::TempDir("atomic");
  const std::string path = dir + "/f.bin";
  ASSERT_TRUE(WriteFileAtomically(path, "first").ok());
  ASSERT_TRUE(WriteFileAtomically(path, "second").ok());
  absl::StatusOr<std::string> back = ReadFileToString(path);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, "second");
  EXPECT_FALSE(FileExists(path + ".tmp." + std::to_string(getpid())));
  EXPECT_ERROR_MENTIONS(ReadFileToString(dir + "/missing").status(), "missing", "cannot open");
  EXPECT_ERROR_MENTIONS(WriteFileAtomically(dir + "/no/such/dir/f", "x"), "no/such/dir");
  ASSERT_TRUE(MakeDirectories(dir + "/a/b/c").ok());
  EXPECT_TRUE(IsDirectory(dir + "/a/b/c"));
}

TEST(TextFields, ParsesTimestamps) {
  int64_t t = -1;
  std::string problem;
  ASSERT_TRUE(ParseIso8601Utc("2010-10-12T00:21:28Z", &t, &problem));
  EXPECT_EQ(t, 1286842888);
  ASSERT_TRUE(ParseIso8601Utc("2000-02-29T23:59:59Z", &t, &problem));
  EXPECT_EQ(t, 951868799);
  ASSERT_TRUE(ParseIso8601Utc("1970-01-01T00:00:00Z", &t, &problem));
  EXPECT_EQ(t, 0);
  EXPECT_FALSE(ParseIso8601Utc("2001-02-29T00:00:00Z", &t, &problem));
  EXPECT_NE(problem.find("not a valid date"), std::string::npos) << problem;
  EXPECT_FALSE(ParseIso8601Utc("1969-12-31T23:59:59Z", &t, &problem));
  EXPECT_NE(problem.find("before 1970"), std::string::npos) << problem;
  EXPECT_FALSE(ParseIso8601Utc("2010-10-12 00:21:28", &t, &problem));
  EXPECT_NE(problem.find("ISO-8601"), std::string::npos) << problem;

  ASSERT_TRUE(ParseUnixSeconds("978300760", &t, &problem));
  EXPECT_EQ(t, 978300760);
  EXPECT_FALSE(ParseUnixSeconds("-5", &t, &problem));
  EXPECT_NE(problem.find("negative"), std::string::npos) << problem;
  EXPECT_FALSE(ParseUnixSeconds("12a", &t, &problem));
  EXPECT_NE(problem.find("not a non-negative integer"), std::string::npos) << problem;
  EXPECT_FALSE(ParseUnixSeconds("99999999999999999999", &t, &problem));
  EXPECT_NE(problem.find("out of range"), std::string::npos) << problem;
  EXPECT_EQ(FormatUtc(1286842888), "2010-10-12 00:21:28");
  EXPECT_EQ(FormatUtc(951868799), "2000-02-29 23:59:59");
}

TEST(TextFields, UtcYearIsExactForEveryNonNegativeTime) {
  EXPECT_EQ(UtcYear(0), 1970);
  EXPECT_EQ(UtcYear(951868799), 2000);        // 2000-02-29 23:59:59
  EXPECT_EQ(UtcYear(32503679999), 2999);      // the last second of 2999
  EXPECT_EQ(UtcYear(32503680000), 3000);
  EXPECT_EQ(UtcYear(1601234567890), 52711);   // a millisecond time read as seconds
  EXPECT_EQ(UtcYear(INT64_MAX), 292277026596);
}

TEST(TextFields, SplitsLinesAndFields) {
  std::vector<std::pair<int64_t, std::string>> lines;
  ASSERT_TRUE(ForEachLine("a\r\n\n  \nb\nc", [&](int64_t n, absl::string_view l) {
                lines.emplace_back(n, std::string(l));
                return absl::OkStatus();
              }).ok());
  EXPECT_EQ(lines, (std::vector<std::pair<int64_t, std::string>>{{1, "a"}, {4, "b"}, {5, "c"}}));
  std::vector<absl::string_view> f;
  SplitFields("a, b,,c ", ',', &f);
  EXPECT_EQ(f, (std::vector<absl::string_view>{"a", "b", "", "c"}));
  SplitOnWhitespace("  a \t b  c ", &f);
  EXPECT_EQ(f, (std::vector<absl::string_view>{"a", "b", "c"}));
}

}  // namespace
}  // namespace hardgnn::data
