// Crash-safe writes: appends that never leave a torn record, truncation, and the clean-up of
// temporary files a killed writer left. (Crashes and full disks at every write point of a
// real run: tests/cli/run_dir_faults_test.sh.)
#include "core/data/durable_io.h"

#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace hardgnn::data {
namespace {

std::string Contents(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(AppendOnlyFileTest, AppendsCountBytesAndContinueAfterReopening) {
  const std::string path = ::testing::TempDir() + "/append.log";
  std::remove(path.c_str());
  {
    absl::StatusOr<AppendOnlyFile> f = AppendOnlyFile::Open(path);
    ASSERT_TRUE(f.ok()) << f.status();
    ASSERT_TRUE(f->Append("one\n").ok());
    ASSERT_TRUE(f->Append("two\n").ok());
    EXPECT_EQ(f->size(), 8);
    ASSERT_TRUE(f->Sync().ok());
  }
  absl::StatusOr<AppendOnlyFile> again = AppendOnlyFile::Open(path);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->size(), 8);
  ASSERT_TRUE(again->Append("three\n").ok());
  EXPECT_EQ(Contents(path), "one\ntwo\nthree\n");
  ASSERT_TRUE(TruncateFile(path, 4).ok());
  EXPECT_EQ(Contents(path), "one\n");
}

TEST(AppendOnlyFileTest, ErrorsNameThePathAndTheReason) {
  absl::StatusOr<AppendOnlyFile> f = AppendOnlyFile::Open(::testing::TempDir() + "/no/such/dir/log");
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("no/such/dir/log: cannot open for appending: No such file or directory"),
            absl::string_view::npos) << f.status();
  absl::Status s = WriteFileAtomically("/proc/version", "x");  // a folder nobody may write
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("/proc/version.tmp."), absl::string_view::npos) << s;
}

TEST(RemoveStaleTemporariesTest, RemovesOnlyFilesOfDeadProcesses) {
  const std::string dir = ::testing::TempDir() + "/stale";
  ::mkdir(dir.c_str(), 0755);
  const pid_t child = fork();
  if (child == 0) _exit(0);
  ASSERT_GT(child, 0);
  ASSERT_EQ(waitpid(child, nullptr, 0), child);  // its pid now names no process
  const std::string dead = absl::StrCat("last.pt.tmp.", child), mine = absl::StrCat("best.pt.tmp.", getpid());
  for (const std::string& name : {dead, mine, std::string("log.jsonl"), std::string("notes.tmp.txt")}) {
    std::ofstream(dir + "/" + name) << "x";
  }
  EXPECT_EQ(RemoveStaleTemporaries(dir), std::vector<std::string>{dead});
  EXPECT_FALSE(std::ifstream(dir + "/" + dead).good());
  EXPECT_TRUE(std::ifstream(dir + "/" + mine).good()) << "a live writer's file stays";
  EXPECT_TRUE(std::ifstream(dir + "/notes.tmp.txt").good());
}

}  // namespace
}  // namespace hardgnn::data
