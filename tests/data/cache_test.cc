// The prepared-dataset cache: round trip, fingerprint, and every kind of damage.
#include <cstring>

#include "core/data/cache.h"
#include "core/data/file_io.h"
#include "core/data/prepare.h"
#include "core/data/stats.h"
#include "core/data/validate.h"
#include "gtest/gtest.h"
#include "tests/data/test_util.h"

namespace hardgnn::data {
namespace {

PreparedDataset Small() {
  std::vector<Triple> t;
  for (int u = 0; u < 30; ++u) {
    for (int j = 0; j < 3 + u % 5; ++j) t.push_back({"u" + std::to_string(u), "i" + std::to_string((u * 7 + j * 3) % 17), 100 * j + u});
  }
  absl::StatusOr<PreparedDataset> ds = PrepareTriples(t, 3, 7);
  EXPECT_TRUE(ds.ok()) << ds.status();
  return *ds;
}

void ExpectSame(const PreparedDataset& a, const PreparedDataset& b) {
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.source, b.source);
  EXPECT_EQ(a.num_users, b.num_users);
  EXPECT_EQ(a.num_items, b.num_items);
  EXPECT_EQ(a.user_names, b.user_names);
  EXPECT_EQ(a.item_names, b.item_names);
  EXPECT_EQ(a.seq_ptr, b.seq_ptr);
  EXPECT_EQ(a.seq_item, b.seq_item);
  EXPECT_EQ(a.seq_time, b.seq_time);
  EXPECT_EQ(a.train_len, b.train_len);
  EXPECT_EQ(a.val_item, b.val_item);
  EXPECT_EQ(a.test_item, b.test_item);
  EXPECT_EQ(a.test_input_len, b.test_input_len);
  EXPECT_EQ(a.slice_bounds, b.slice_bounds);
  ASSERT_EQ(a.num_slices(), b.num_slices());
  for (int k = 0; k < a.num_slices(); ++k) {
    EXPECT_EQ(a.slice_user_item[k].row_ptr, b.slice_user_item[k].row_ptr);
    EXPECT_EQ(a.slice_user_item[k].col, b.slice_user_item[k].col);
    EXPECT_EQ(a.slice_item_user[k].col, b.slice_item_user[k].col);
  }
  EXPECT_EQ(a.interacted.col, b.interacted.col);
  EXPECT_EQ(a.eval_users, b.eval_users);
  EXPECT_EQ(a.negatives_per_user, b.negatives_per_user);
  EXPECT_EQ(a.eval_negatives, b.eval_negatives);
}

TEST(Cache, RoundTripsEveryField) {
  const PreparedDataset ds = Small();
  const std::string path = testing::TempDir("cache") + "/dataset.bin";
  ASSERT_TRUE(SavePreparedDataset(ds, path).ok());
  absl::StatusOr<PreparedDataset> back = LoadPreparedDataset(path);
  ASSERT_TRUE(back.ok()) << back.status();
  ExpectSame(ds, *back);
  EXPECT_EQ(Fingerprint(*back), Fingerprint(ds));
  // The unaligned-copy path gives the same answer.
  const std::string bytes = SerializePreparedDataset(ds);
  std::string shifted = " " + bytes;
  absl::StatusOr<PreparedDataset> parsed = ParsePreparedDataset(absl::string_view(shifted).substr(1), "shifted");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ExpectSame(ds, *parsed);
}

TEST(Cache, FingerprintIgnoresNamesButNotContent) {
  const PreparedDataset ds = Small();
  PreparedDataset renamed = ds;
  renamed.name = "other";
  renamed.source = "elsewhere";
  renamed.user_names.clear();
  EXPECT_EQ(Fingerprint(renamed), Fingerprint(ds));
  PreparedDataset changed = ds;
  changed.eval_negatives[0] = (changed.eval_negatives[0] + 1) % changed.num_items;
  EXPECT_NE(Fingerprint(changed), Fingerprint(ds));
  EXPECT_EQ(FingerprintHex(ds).size(), 16u);
}

TEST(Cache, EveryFlippedByteIsDetected) {
  const std::string bytes = SerializePreparedDataset(Small());
  // Flip one bit at a spread of offsets, header included: never accepted, never a crash.
  for (size_t at = 0; at < bytes.size(); at += 1 + bytes.size() / 300) {
    std::string bad = bytes;
    bad[at] = static_cast<char>(bad[at] ^ 0x10);
    EXPECT_FALSE(ParsePreparedDataset(bad, "flip").ok()) << "flip at byte " << at << " was accepted";
  }
  std::string bad = bytes;
  bad[bytes.size() - 3] ^= 0x01;
  EXPECT_ERROR_MENTIONS(ParsePreparedDataset(bad, "flip.bin").status(), "flip.bin", "checksum mismatch");
}

TEST(Cache, TruncationWrongVersionAndForeignFilesAreClearErrors) {
  const std::string bytes = SerializePreparedDataset(Small());
  for (const size_t keep : {size_t{0}, size_t{10}, size_t{39}, size_t{40}, bytes.size() / 2, bytes.size() - 1}) {
    EXPECT_ERROR_MENTIONS(ParsePreparedDataset(bytes.substr(0, keep), "cut.bin").status(), "cut.bin", "truncated");
  }
  EXPECT_ERROR_MENTIONS(ParsePreparedDataset(bytes + "x", "long.bin").status(), "long.bin", "trailing bytes");
  std::string old = bytes;
  const uint32_t version = PreparedDataset::kFormatVersion + 1;
  std::memcpy(&old[8], &version, 4);
  EXPECT_ERROR_MENTIONS(ParsePreparedDataset(old, "old.bin").status(), "old.bin", "version", "prepare");
  EXPECT_ERROR_MENTIONS(ParsePreparedDataset(std::string(100, 'x'), "junk.bin").status(), "junk.bin", "bad magic");
  const std::string dir = testing::TempDir("cache_files");
  EXPECT_ERROR_MENTIONS(LoadPreparedDataset(dir + "/none.bin").status(), "none.bin", "cannot open");
  testing::WriteFile(dir + "/empty.bin", "");
  EXPECT_ERROR_MENTIONS(LoadPreparedDataset(dir + "/empty.bin").status(), "empty.bin", "truncated");
  testing::WriteFile(dir + "/cut.bin", bytes.substr(0, bytes.size() - 100));
  EXPECT_ERROR_MENTIONS(LoadPreparedDataset(dir + "/cut.bin").status(), "cut.bin", "truncated");
}

TEST(Cache, InvalidContentIsRejectedEvenWithAGoodChecksum) {
  PreparedDataset ds = Small();
  ds.seq_item[0] = ds.num_items;  // out of range
  const std::string path = testing::TempDir("invalid") + "/dataset.bin";
  EXPECT_ERROR_MENTIONS(SavePreparedDataset(ds, path), "refusing", "seq_item");
  EXPECT_ERROR_MENTIONS(ParsePreparedDataset(SerializePreparedDataset(ds), "bad.bin").status(), "bad.bin",
                        "invalid content", "seq_item", "outside");
}

TEST(Validate, CatchesEachStructuralProblem) {
  const PreparedDataset good = Small();
  ASSERT_TRUE(ValidatePreparedDataset(good).ok());
  PreparedDataset ds = good;
  ds.slice_item_user[1] = ds.slice_item_user[0];
  EXPECT_ERROR_MENTIONS(ValidatePreparedDataset(ds), "slice_item_user[1]");
  ds = good;
  ds.eval_users = {1, 0};
  ds.eval_negatives.resize(2 * ds.negatives_per_user, 0);
  EXPECT_ERROR_MENTIONS(ValidatePreparedDataset(ds), "eval_users", "ascending");
  ds = good;
  ds.train_len[2] = 1000;
  EXPECT_ERROR_MENTIONS(ValidatePreparedDataset(ds), "user 2", "train_len");
  ds = good;
  ds.interacted.col[0] = -1;
  EXPECT_ERROR_MENTIONS(ValidatePreparedDataset(ds), "interacted", "column -1");
  ds = good;
  ds.seq_ptr[1] = ds.seq_ptr[2] + 1;
  EXPECT_ERROR_MENTIONS(ValidatePreparedDataset(ds), "seq_ptr", "decreases");
  ds = good;
  ds.eval_negatives.pop_back();
  EXPECT_ERROR_MENTIONS(ValidatePreparedDataset(ds), "eval_negatives", "entries");
}

TEST(Stats, JsonAndTableCarryTheFigures) {
  const PreparedDataset ds = Small();
  const DatasetStats s = ComputeStats(ds);
  EXPECT_EQ(s.users, 30);
  EXPECT_EQ(s.interactions, static_cast<int64_t>(ds.seq_item.size()));
  EXPECT_EQ(s.distinct_pairs, ds.interacted.nnz());
  EXPECT_DOUBLE_EQ(s.density, static_cast<double>(s.interactions) / (30.0 * ds.num_items));
  int64_t edges = 0;
  for (int64_t e : s.slice_edges) edges += e;
  EXPECT_EQ(s.slice_edges.size(), 3u);
  EXPECT_GT(edges, 0);
  EXPECT_EQ(s.fingerprint, FingerprintHex(ds));
  PrepareReport report;
  report.users_dropped_short = 4;
  const std::string json = StatsToJson(s, report.ToKeyValues());
  EXPECT_NE(json.find("\"users\": 30,"), std::string::npos) << json;
  EXPECT_NE(json.find("\"users_dropped_fewer_than_3_events\": 4"), std::string::npos) << json;
  EXPECT_NE(json.find("\"fingerprint\": \"" + s.fingerprint + "\""), std::string::npos) << json;
  const std::string table = StatsToTable(s, report.ToKeyValues());
  const size_t row = table.find("users_dropped_fewer_than_3_events ");
  ASSERT_NE(row, std::string::npos) << table;
  const std::string line = table.substr(row, table.find('\n', row) - row);
  EXPECT_EQ(line.substr(line.find_last_of(' ') + 1), "4") << line;
  EXPECT_EQ(JsonString("a\"b\\c\n\x01"), "\"a\\\"b\\\\c\\n\\u0001\"");
}

}  // namespace
}  // namespace hardgnn::data
