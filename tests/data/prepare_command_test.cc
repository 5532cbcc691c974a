// `hardgnn prepare` end to end: flags in, dataset.bin + stats.json out.
#include <algorithm>
#include <set>
#include <string>

#include <gflags/gflags.h>

#include "core/cli/prepare_command.h"
#include "core/data/cache.h"
#include "core/data/file_io.h"
#include "core/data/stats.h"
#include "gtest/gtest.h"
#include "tests/data/test_util.h"

namespace hardgnn {
namespace {

// Runs the command with `flags` set (restoring every flag afterwards); *printed gets stdout,
// *errors stderr.
int RunPrepare(const std::vector<std::pair<std::string, std::string>>& flags, std::string* printed = nullptr,
               std::string* errors = nullptr) {
  gflags::FlagSaver saver;
  for (const auto& [name, value] : flags) {
    EXPECT_FALSE(gflags::SetCommandLineOption(name.c_str(), value.c_str()).empty()) << "bad flag --" << name;
  }
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  const int rc = RunPrepareCommand();
  const std::string err = ::testing::internal::GetCapturedStderr();
  const std::string out = ::testing::internal::GetCapturedStdout();
  if (printed != nullptr) *printed = out;
  if (errors != nullptr) *errors = err;
  return rc;
}

// 3 users with 4, 5 and 6 events over items a..f, times 100, 200, ...
std::string TinyLog() {
  const std::string dir = data::testing::TempDir("log");
  std::string text = "user,item,time\n";
  const char* items = "abcdef";
  for (int u = 0; u < 3; ++u) {
    for (int j = 0; j < 4 + u; ++j) text += "u" + std::to_string(u) + "," + items[(u + j) % 6] + "," + std::to_string(100 * (j + 1)) + "\n";
  }
  data::testing::WriteFile(dir + "/log.csv", text);
  return dir + "/log.csv";
}

TEST(PrepareCommand, WritesTheCacheAndStatsForARawLog) {
  const std::string out = data::testing::TempDir("cmd") + "/tiny";
  std::string printed;
  ASSERT_EQ(RunPrepare({{"input", TinyLog()}, {"format", "generic"}, {"kcore", "0"}, {"slices", "2"},
                 {"eval_negatives", "5"}, {"time_begin", "1970-01-01"}, {"out", out}},
                &printed),
            0)
      << printed;
  absl::StatusOr<data::PreparedDataset> ds = data::LoadPreparedDataset(out + "/dataset.bin");
  ASSERT_TRUE(ds.ok()) << ds.status();
  EXPECT_EQ(ds->num_users, 3);
  EXPECT_EQ(ds->num_items, 6);
  EXPECT_EQ(ds->seq_item.size(), 15u);
  EXPECT_EQ(ds->num_slices(), 2);
  EXPECT_EQ(ds->negatives_per_user, 5);
  EXPECT_EQ(ds->name, "WritesTheCacheAndStatsForARawLog_log");  // the input file's folder
  absl::StatusOr<std::string> json = data::ReadFileToString(out + "/stats.json");
  ASSERT_TRUE(json.ok());
  EXPECT_NE(json->find("\"interactions\": 15,"), std::string::npos) << *json;
  EXPECT_NE(json->find("\"fingerprint\": \"" + data::FingerprintHex(*ds) + "\""), std::string::npos) << *json;
  EXPECT_NE(printed.find("interactions"), std::string::npos) << printed;
}

// TinyLog's shape (3 users, 4-6 events) with times `base + 100 * j` written in `scale` units.
std::string TinyLogAt(int64_t base, int64_t scale, const std::string& name) {
  const std::string dir = data::testing::TempDir(name);
  std::string text = "user,item,time\n";
  const char* items = "abcdef";
  for (int u = 0; u < 3; ++u) {
    for (int j = 0; j < 4 + u; ++j) {
      text += "u" + std::to_string(u) + "," + items[(u + j) % 6] + "," + std::to_string((base + 100 * j) * scale) + "\n";
    }
  }
  data::testing::WriteFile(dir + "/log.csv", text);
  return dir + "/log.csv";
}

TEST(PrepareCommand, RefusesMillisecondsUnlessTimeUnitSaysSo) {
  const std::string log = TinyLogAt(1600000000, 1000, "ms");
  std::string printed, errors;
  EXPECT_EQ(RunPrepare({{"input", log}, {"format", "generic"}, {"kcore", "0"}}, &printed, &errors), 1);
  // The latest time is user u2's 6th event, on line 1 (header) + 4 + 5 + 6 = 16.
  EXPECT_EQ(errors, "hardgnn prepare: " + log + ":16: timestamp 1600000500000 is not unix seconds (year 52671); "
                    "it looks like milliseconds: pass --time_unit=ms\n");
  const std::string out = data::testing::TempDir("ms_out") + "/tiny";
  ASSERT_EQ(RunPrepare({{"input", log}, {"format", "generic"}, {"kcore", "0"}, {"eval_negatives", "5"},
                        {"time_unit", "ms"}, {"out", out}},
                       &printed, &errors),
            0)
      << errors;
  absl::StatusOr<data::PreparedDataset> ds = data::LoadPreparedDataset(out + "/dataset.bin");
  ASSERT_TRUE(ds.ok()) << ds.status();
  EXPECT_EQ(ds->seq_time.front(), 1600000000);
  EXPECT_EQ(*std::max_element(ds->seq_time.begin(), ds->seq_time.end()), 1600000500);
  EXPECT_EQ(errors, "");
}

TEST(PrepareCommand, WarnsAboutAFiftyYearSpanOnStderrAndInStatsJson) {
  const std::string dir = data::testing::TempDir("span");
  data::testing::WriteFile(dir + "/log.csv", "u,a,1600000000\nu,b,1600000100\nu,c,0\nu,d,1600000200\n");
  const std::string out = dir + "/out";
  std::string printed, errors;
  ASSERT_EQ(RunPrepare({{"input", dir + "/log.csv"}, {"format", "generic"}, {"kcore", "0"}, {"slices", "1"},
                        {"eval_negatives", "1"}, {"out", out}},
                       &printed, &errors),
            0)
      << errors;
  const std::string warning = dir + "/log.csv: the timestamps span 50.7 years, from 1970-01-01 00:00:00 UTC "
                              "(line 3) to 2020-09-13 12:30:00 UTC (line 4); check those lines for placeholder "
                              "times or mixed units";
  EXPECT_EQ(errors, "hardgnn prepare: warning: " + warning + "\n");
  absl::StatusOr<std::string> json = data::ReadFileToString(out + "/stats.json");
  ASSERT_TRUE(json.ok());
  EXPECT_NE(json->find("\"warnings\": [\"" + warning + "\"]"), std::string::npos) << *json;
}

TEST(ThinSlices, TheIssuesCaseIsWarnedWithTheSliceAndTheRemedies) {
  data::DatasetStats stats;
  stats.slice_edges = std::vector<int64_t>(12, 62000);
  stats.slice_edges[0] = 159;
  for (int k = 0; k <= 12; ++k) stats.slice_bounds.push_back(1546300800 + k * 2592000);  // 30-day slices from 2019-01-01
  const std::vector<std::string> warnings = data::ThinSliceWarnings(stats);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0],
            "1 of 12 time slices hold almost no training edges (an even share is 56847 of 682159): slice 1 "
            "(2019-01-01 .. 2019-01-31) holds 159; their short-term graphs are nearly empty: start later with "
            "--time_begin=2019-01-31T00:00:00Z (where slice 2 begins) or use fewer --slices");
  stats.slice_edges[0] = 6000;  // over a tenth of an even share: fine
  EXPECT_TRUE(data::ThinSliceWarnings(stats).empty());
  stats.slice_edges[5] = 10;  // a thin slice in the middle: --time_begin would not help
  ASSERT_EQ(data::ThinSliceWarnings(stats).size(), 1u);
  EXPECT_NE(data::ThinSliceWarnings(stats)[0].find("slice 6 (2019-05-31 .. 2019-06-30) holds 10; their short-term "
                                                   "graphs are nearly empty: use fewer --slices"),
            std::string::npos)
      << data::ThinSliceWarnings(stats)[0];
}

TEST(PrepareCommand, WarnsAboutSlicesThatHoldAlmostNoTrainingEdges) {
  const std::string dir = data::testing::TempDir("thin");
  std::string text = "straggler,a,0\n";  // one early event: slices 1 and 2 are nearly empty
  for (int u = 0; u < 20; ++u) {
    for (int j = 0; j < 10; ++j) text += "u" + std::to_string(u) + ",i" + std::to_string((u + j) % 12) + "," + std::to_string(1000 + 100 * j) + "\n";
  }
  text += "straggler,b,1000\nstraggler,c,1500\nstraggler,d,1900\n";
  data::testing::WriteFile(dir + "/log.csv", text);
  std::string printed, errors;
  ASSERT_EQ(RunPrepare({{"input", dir + "/log.csv"}, {"format", "generic"}, {"kcore", "0"}, {"slices", "4"},
                        {"eval_negatives", "1"}, {"time_begin", "0"}, {"out", dir + "/out"}},
                       &printed, &errors),
            0)
      << errors;
  EXPECT_NE(errors.find("hardgnn prepare: warning: 2 of 4 time slices hold almost no training edges"), std::string::npos)
      << errors;
  EXPECT_NE(errors.find("slice 1 (1970-01-01 .. 1970-01-01) holds 1, slice 2 (1970-01-01 .. 1970-01-01) holds 0"),
            std::string::npos) << errors;
  EXPECT_NE(errors.find("start later with --time_begin=1970-01-01T00:14:10Z (where slice 3 begins)"), std::string::npos)
      << errors;
  absl::StatusOr<std::string> json = data::ReadFileToString(dir + "/out/stats.json");
  ASSERT_TRUE(json.ok());
  EXPECT_NE(json->find("\"warnings\": [\"2 of 4 time slices hold almost no training edges"), std::string::npos) << *json;
}

TEST(PrepareCommand, AuditsAndConvertsASelfGnnRelease) {
  const std::string out = data::testing::TempDir("release") + "/mini";
  std::string printed;
  ASSERT_EQ(RunPrepare({{"input", "testdata/selfgnn-mini/p4"}, {"audit", "true"}, {"out", out}}, &printed), 0) << printed;
  EXPECT_NE(printed.find("1. test users with tst_int[u] == sequence[u][-1]"), std::string::npos) << printed;
  absl::StatusOr<data::PreparedDataset> ds = data::LoadPreparedDataset(out + "/dataset.bin");
  ASSERT_TRUE(ds.ok()) << ds.status();
  EXPECT_EQ(ds->name, "p4");
  EXPECT_EQ(ds->eval_users.size(), 12u);
  EXPECT_EQ(ds->negatives_per_user, 20);
  absl::StatusOr<std::string> audit = data::ReadFileToString(out + "/audit.txt");
  ASSERT_TRUE(audit.ok()) << audit.status();
  EXPECT_NE(audit->find("12 / 12"), std::string::npos) << *audit;
  // --audit without --out only prints.
  ASSERT_EQ(RunPrepare({{"input", "testdata/selfgnn-mini/p2"}, {"audit", "true"}}, &printed), 0);
  EXPECT_FALSE(data::FileExists("runs/prepared/p2/dataset.bin"));
}

TEST(PrepareCommand, PreparesAPickledCsrMatrixGuessedFromItsName) {
  const std::string out = data::testing::TempDir("tmall") + "/tmall";
  std::string printed, errors;
  ASSERT_EQ(RunPrepare({{"input", "testdata/tmall-buy/trn_buy.pkl"}, {"slices", "3"}, {"eval_negatives", "5"},
                        {"out", out}},
                       &printed, &errors),
            0)
      << errors;
  EXPECT_NE(printed.find("read 167862 events from testdata/tmall-buy/trn_buy.pkl (csr_pickle)"), std::string::npos)
      << printed;
  EXPECT_EQ(errors, "");
  absl::StatusOr<data::PreparedDataset> ds = data::LoadPreparedDataset(out + "/dataset.bin");
  ASSERT_TRUE(ds.ok()) << ds.status();
  EXPECT_EQ(ds->name, "tmall-buy");  // the input file's folder
  // The 5-core (the --kcore default), as experiments/configs/data/tmall-buy.flags says.
  EXPECT_EQ(ds->num_users, 1582);
  EXPECT_EQ(ds->num_items, 1155);
  EXPECT_EQ(ds->seq_item.size(), 11419u);
  // A broken pickle fails like a malformed text log.
  EXPECT_EQ(RunPrepare({{"input", "testdata/csr-pickle/bad/fraction.pkl"}, {"out", out}}, &printed, &errors), 1);
  EXPECT_NE(errors.find("hardgnn prepare: testdata/csr-pickle/bad/fraction.pkl: 1 of 6 stored values are not "
                        "integers"),
            std::string::npos)
      << errors;
}

TEST(PrepareCommand, BadFlagsAndBadInputsFailWithTheirExitCodes) {
  EXPECT_EQ(RunPrepare({{"input", "testdata/text/ratings.dat"}, {"format", "parquet"}}), 2);
  EXPECT_EQ(RunPrepare({{"input", "testdata/text/ratings.dat"}, {"audit", "true"}}), 2);
  EXPECT_EQ(RunPrepare({{"input", "testdata/no/such/file.tsv"}}), 2);
  EXPECT_EQ(RunPrepare({{"input", "testdata/text/generic_space.txt"}, {"time_end", "yesterday"}}), 2);
  EXPECT_EQ(RunPrepare({{"input", "testdata/text/generic_space.txt"}, {"filter", "7core"}}), 2);
  EXPECT_EQ(RunPrepare({{"input", "testdata/text/generic_space.txt"}, {"time_unit", "sec"}}), 2);
  EXPECT_EQ(RunPrepare({{"input", "testdata/selfgnn-mini/p4"}, {"time_unit", "ms"}}), 2);
  EXPECT_EQ(RunPrepare({{"input", "testdata/text/gowalla.tsv"}, {"format", "gowalla"}, {"time_unit", "ms"}}), 1);
  EXPECT_EQ(RunPrepare({{"input", "testdata/text/amazon_ratings.csv"}, {"format", "gowalla"}}), 1);  // malformed lines
  // Too few events: every user is dropped.
  EXPECT_EQ(RunPrepare({{"input", "testdata/text/ratings.csv"}, {"kcore", "0"}, {"out", data::testing::TempDir("x")}}), 1);
}

TEST(PrepareCommand, FlagNamesDoNotClashWithLibtorchOrGlog) {
  // Every flag libtorch 1.13 and glog define (gflags::GetAllFlags in a program linking
  // them): defining one of these again aborts the hardgnn binary at start-up.
  const std::set<std::string> taken = {
      "pthreadpool_size", "alsologtoemail", "alsologtostderr", "colorlogtostderr", "colorlogtostdout",
      "drop_log_memory", "log_backtrace_at", "log_dir", "log_link", "log_prefix", "log_utc_time",
      "log_year_in_prefix", "logbuflevel", "logbufsecs", "logcleansecs", "logemaillevel", "logfile_mode",
      "logmailer", "logtostderr", "logtostdout", "max_log_size", "minloglevel", "stderrthreshold",
      "stop_logging_if_full_disk", "timestamp_in_logfile_name", "symbolize_stacktrace", "v", "vmodule",
      "static_runtime_disable_debug_memory_overlap_check", "static_runtime_enable_fast_math",
      "enable_clip_ranges_gather_fusions", "ltc_enable_dynamic_shapes", "ltc_enable_symbolic_shapes", "threads"};
  std::vector<gflags::CommandLineFlagInfo> all;
  gflags::GetAllFlags(&all);
  int ours = 0;
  for (const auto& f : all) {
    if (f.filename.find("prepare_command.cc") == std::string::npos) continue;
    ++ours;
    EXPECT_EQ(taken.count(f.name), 0u) << "--" << f.name << " is already defined by libtorch, glog or main.cc";
    EXPECT_NE(f.name.rfind("caffe2_", 0), 0u) << f.name;
    EXPECT_NE(f.name.rfind("torch_", 0), 0u) << f.name;
  }
  EXPECT_EQ(ours, 15);
}

}  // namespace
}  // namespace hardgnn
