// The SelfGNN release reader on the committed fixture (tools/make_selfgnn_fixture.py),
// its mapping into PreparedDataset, the leakage audit and the cross-file consistency checks.
#include <map>
#include <sstream>
#include <string>

#include "core/data/file_io.h"
#include "core/data/selfgnn_release.h"
#include "core/data/validate.h"
#include "gtest/gtest.h"
#include "tests/data/test_util.h"

namespace hardgnn::data {
namespace {

constexpr char kFixture[] = "testdata/selfgnn-mini";

// expected.txt: "key v1 v2 ..." per line.
std::map<std::string, std::vector<int64_t>> Expected() {
  std::map<std::string, std::vector<int64_t>> out;
  absl::StatusOr<std::string> text = ReadFileToString(std::string(kFixture) + "/expected.txt");
  EXPECT_TRUE(text.ok()) << text.status();
  std::istringstream lines(text.ok() ? *text : "");
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string key;
    fields >> key;
    int64_t v;
    while (fields >> v) out[key].push_back(v);
  }
  return out;
}

SelfGnnRelease ReadOk(const std::string& dir) {
  absl::StatusOr<SelfGnnRelease> r = ReadSelfGnnRelease(dir);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : SelfGnnRelease{};
}

TEST(SelfGnnRelease, ReadsTheFixtureWithTheKnownAnswers) {
  auto want = Expected();
  const SelfGnnRelease r = ReadOk(std::string(kFixture) + "/p4");
  EXPECT_EQ(r.num_users, want["num_users"][0]);
  EXPECT_EQ(r.num_items, want["num_items"][0]);
  ASSERT_EQ(static_cast<int64_t>(r.slices.size()), want["num_slices"][0]);
  for (size_t k = 0; k < r.slices.size(); ++k) EXPECT_EQ(r.slices[k].nnz(), want["slice_nnz"][k]) << "slice " << k;
  EXPECT_EQ(r.m_all.nnz(), want["m_all_nnz"][0]);
  EXPECT_EQ(static_cast<int64_t>(r.seq_item.size()), want["events"][0]);
  EXPECT_EQ(std::vector<int64_t>(r.test_users.begin(), r.test_users.end()), want["test_users"]);
  EXPECT_EQ(r.negatives_per_user, want["negatives_per_user"][0]);
  EXPECT_EQ(std::vector<int64_t>(r.test_negatives.begin(), r.test_negatives.begin() + r.negatives_per_user),
            want["first_test_user_negatives"]);
  const int32_t u0 = r.test_users[0];
  EXPECT_EQ(std::vector<int64_t>(r.seq_item.begin() + r.seq_ptr[u0], r.seq_item.begin() + r.seq_ptr[u0 + 1]),
            want["sequence_of_first_test_user"]);
  EXPECT_EQ(std::vector<int64_t>(r.tst_int.begin(), r.tst_int.end()), want["tst_int"]);
  EXPECT_EQ(std::vector<int64_t>(r.slice_bounds.begin(), r.slice_bounds.end() - 1), want["slice_min_values"]);
  EXPECT_GE(r.slice_bounds.back(), r.slice_bounds[r.slices.size() - 1]);
}

TEST(SelfGnnRelease, ProtocolTwoGivesTheSameRelease) {
  const SelfGnnRelease a = ReadOk(std::string(kFixture) + "/p4");
  const SelfGnnRelease b = ReadOk(std::string(kFixture) + "/p2");
  EXPECT_EQ(a.seq_ptr, b.seq_ptr);
  EXPECT_EQ(a.seq_item, b.seq_item);
  EXPECT_EQ(a.tst_int, b.tst_int);
  EXPECT_EQ(a.test_negatives, b.test_negatives);
  EXPECT_EQ(a.slice_bounds, b.slice_bounds);
  EXPECT_EQ(a.m_all.col, b.m_all.col);
  ASSERT_EQ(a.slices.size(), b.slices.size());
  for (size_t k = 0; k < a.slices.size(); ++k) EXPECT_EQ(a.slices[k].col, b.slices[k].col);
}

TEST(SelfGnnRelease, MapsIntoAPreparedDatasetAsDocumented) {
  const SelfGnnRelease r = ReadOk(std::string(kFixture) + "/p4");
  ReleaseReport report;
  absl::StatusOr<PreparedDataset> ds = ReleaseToPrepared(r, "mini", &report);
  ASSERT_TRUE(ds.ok()) << ds.status();
  ASSERT_TRUE(ValidatePreparedDataset(*ds).ok()) << ValidatePreparedDataset(*ds);
  EXPECT_EQ(ds->eval_users, r.test_users);
  EXPECT_EQ(ds->eval_negatives, r.test_negatives);
  EXPECT_EQ(report.test_users, 12);
  EXPECT_EQ(report.test_item_not_in_sequence, 0);
  EXPECT_EQ(report.test_item_not_last, 0);
  EXPECT_EQ(report.negatives_hitting_interacted, 0);
  for (int32_t u = 0; u < ds->num_users; ++u) {
    const int64_t n = ds->SequenceLength(u);
    const int32_t* s = ds->Sequence(u);
    ASSERT_GE(n, 3);
    if (r.tst_int[u] >= 0) {  // the fixture's test event is always last
      EXPECT_EQ(ds->test_item[u], s[n - 1]);
      EXPECT_EQ(ds->test_input_len[u], n - 1);
      EXPECT_EQ(ds->val_item[u], s[n - 2]);
      EXPECT_EQ(ds->train_len[u], n - 2);
    } else {
      EXPECT_EQ(ds->test_item[u], -1);
      EXPECT_EQ(ds->test_input_len[u], 0);
      EXPECT_EQ(ds->val_item[u], s[n - 1]);
      EXPECT_EQ(ds->train_len[u], n - 1);
    }
    // Every training pair of M_all is in the training prefix (the fixture has no noise).
    for (const int32_t* i = r.m_all.RowBegin(u); i != r.m_all.RowEnd(u); ++i) {
      EXPECT_NE(std::find(s, s + ds->train_len[u], *i), s + ds->train_len[u]) << "user " << u;
    }
  }
  for (int k = 0; k < ds->num_slices(); ++k) EXPECT_EQ(ds->slice_item_user[k].nnz(), r.slices[k].nnz());
}

TEST(SelfGnnRelease, TestEventNotLastUsesItsLastOccurrence) {
  SelfGnnRelease r = ReadOk(std::string(kFixture) + "/p4");
  const int32_t u = r.test_users[0];
  // Make the test item occur earlier too, and move a different item to the end.
  const int64_t b = r.seq_ptr[u], n = r.seq_ptr[u + 1] - b;
  const int32_t test = r.tst_int[u];
  r.seq_item[b] = test;
  std::swap(r.seq_item[b + n - 1], r.seq_item[b + n - 2]);  // ..., y, test -> ..., test, y
  absl::StatusOr<PreparedDataset> ds = ReleaseToPrepared(r, "mini");
  ASSERT_TRUE(ds.ok());
  // Now the last occurrence of `test` is at n-2: clean input = s[0, n-2), val = s[n-3].
  EXPECT_EQ(ds->test_input_len[u], n - 2);
  EXPECT_EQ(ds->val_item[u], r.seq_item[b + n - 3]);
  EXPECT_EQ(ds->train_len[u], n - 3);
  r.tst_int[u] = r.num_items - 1;
  for (int64_t p = b; p < b + n; ++p) {
    if (r.seq_item[p] == r.num_items - 1) r.seq_item[p] = 0;
  }
  ReleaseReport report;
  ds = ReleaseToPrepared(r, "mini", &report);
  ASSERT_TRUE(ds.ok());
  EXPECT_EQ(report.test_item_not_in_sequence, 1);
  EXPECT_EQ(ds->test_input_len[u], n);
  EXPECT_EQ(ds->val_item[u], r.seq_item[b + n - 1]);
}

TEST(SelfGnnRelease, AuditCountsTheLeakageChecks) {
  auto want = Expected();  // audit: test_users is_last in_sequence with_two second_last_not_in_train
  const LeakageAudit a = AuditRelease(ReadOk(std::string(kFixture) + "/p4"));
  EXPECT_EQ(a.test_users, want["audit"][0]);
  EXPECT_EQ(a.test_is_last, want["audit"][1]);
  EXPECT_EQ(a.test_in_sequence, want["audit"][2]);
  EXPECT_EQ(a.with_two_events, want["audit"][3]);
  EXPECT_EQ(a.second_last_not_in_train, want["audit"][4]);
  const std::string text = FormatAudit(a);
  EXPECT_NE(text.find("tst_int[u] == sequence[u][-1]"), std::string::npos) << text;
  EXPECT_NE(text.find("100.00%"), std::string::npos) << text;
}

// A copy of the p4 folder with one file replaced by a broken variant from bad/.
std::string WithBadFile(const std::string& file, const std::string& variant) {
  const std::string dir = testing::TempDir(variant);
  for (const char* f : {"trn_mat_time", "sequence", "test_dict", "tst_int"}) {
    const std::string src = std::string(kFixture) + (f == file ? "/bad/" + variant : std::string("/p4/") + f);
    absl::StatusOr<std::string> bytes = ReadFileToString(src);
    EXPECT_TRUE(bytes.ok()) << bytes.status();
    testing::WriteFile(dir + "/" + f, bytes.ok() ? *bytes : "");
  }
  return dir;
}

TEST(SelfGnnRelease, InconsistentFilesAreClearErrors) {
  struct Case {
    const char* file;
    const char* variant;
    std::vector<const char*> mentions;
  };
  const std::vector<Case> cases = {
      {"tst_int", "tst_int.too_long", {"tst_int", "has 41 users, trn_mat_time has 40"}},
      {"tst_int", "tst_int.item_out_of_range", {"tst_int", "tst_int[0]", "id 35 out of range [0, 30)"}},
      {"sequence", "sequence.item_out_of_range", {"sequence", "sequence[3]", "id 30 out of range [0, 30)"}},
      {"sequence", "sequence.too_short", {"sequence", "has 39 users, trn_mat_time has 40"}},
      {"sequence", "sequence.shared_lists", {"sequence", "values in", "shared"}},
      {"test_dict", "test_dict.missing_user", {"test_dict", "user 0 has a tst_int entry but no test_dict entry"}},
      {"test_dict", "test_dict.ragged", {"test_dict", "test_dict[5] has 20 negatives, user 1 has 19"}},
      {"trn_mat_time", "trn_mat_time.slice_shape", {"trn_mat_time", "slice 1 is 40 x 31, M_all is 40 x 30"}},
      {"trn_mat_time", "trn_mat_time.not_a_list", {"trn_mat_time", "expected a list, found dict"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.variant);
    const absl::Status s = ReadSelfGnnRelease(WithBadFile(c.file, c.variant)).status();
    ASSERT_FALSE(s.ok());
    for (const char* m : c.mentions) {
      EXPECT_NE(std::string(s.message()).find(m), std::string::npos) << s.message() << " lacks '" << m << "'";
    }
  }
  EXPECT_ERROR_MENTIONS(ReadSelfGnnRelease("testdata/no-such-folder").status(), "no-such-folder", "not a directory");
  const std::string dir = testing::TempDir("missing_file");
  EXPECT_ERROR_MENTIONS(ReadSelfGnnRelease(dir).status(), "trn_mat_time", "cannot open");
}

}  // namespace
}  // namespace hardgnn::data
