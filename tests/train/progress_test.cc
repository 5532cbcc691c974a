// Progress reporting under an injected clock: the plain lines of a log file come at most
// every interval within an epoch, the log's own lines reset the wait, and never means never.
#include "core/train/progress.h"

#include <chrono>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace hardgnn {
namespace {

using std::chrono::seconds;

struct Fake {
  std::chrono::steady_clock::time_point now{};
  std::string written;
  Progress Make(Progress::Mode mode, int64_t total) {
    return Progress(total, 0, mode, [this] { return now; }, [this](const std::string& s) { written += s; });
  }
};

int Count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(ProgressTest, LinesComeAtMostEveryThirtySecondsWithStepEpochLossRateAndEta) {
  Fake fake;
  Progress progress = fake.Make(Progress::Mode::kLines, 200);
  for (int64_t step = 0; step < 100; ++step) {  // one step a second
    fake.now += seconds(1);
    progress.Step(step, 0, step < 30 ? 2.0 : 1.0);
  }
  EXPECT_EQ(Count(fake.written, "\n"), 3) << fake.written;  // at 30 s, 60 s and 90 s
  EXPECT_EQ(fake.written.find('\r'), std::string::npos) << "no terminal control in a log";
  const std::string first = fake.written.substr(0, fake.written.find('\n'));
  EXPECT_EQ(first, "progress: epoch 0 step 30/200 loss 2.0000 (mean of the last 30 steps) 1.00 steps/s ETA 2m50s");
  EXPECT_NE(fake.written.find("step 60/200 loss 1.0000 (mean of the last 30 steps) 1.00 steps/s ETA 2m20s"),
            std::string::npos) << fake.written;
}

TEST(ProgressTest, TheLogsOwnLinesResetTheWait) {
  Fake fake;
  Progress progress = fake.Make(Progress::Mode::kLines, 100);
  fake.now += seconds(25);
  progress.Step(0, 0, 1.0);
  progress.Message("epoch 0: loss 1.0");  // e.g. the epoch line
  fake.now += seconds(25);
  progress.Step(1, 1, 1.0);
  EXPECT_EQ(fake.written, "epoch 0: loss 1.0\n") << "50 s since start, 25 s since the log spoke";
  fake.now += seconds(5);
  progress.Step(2, 1, 3.0);
  EXPECT_NE(fake.written.find("progress: epoch 1 step 3/100 loss 2.0000 (mean of the last 2 steps)"),
            std::string::npos) << fake.written;
}

TEST(ProgressTest, NeverWritesOnlyTheLogsLinesAndTheBarRedrawsInPlace) {
  Fake quiet;
  Progress none = quiet.Make(Progress::Mode::kNone, 10);
  for (int64_t step = 0; step < 10; ++step) {
    quiet.now += seconds(60);
    none.Step(step, 0, 1.0);
  }
  none.Message("done");
  EXPECT_EQ(quiet.written, "done\n");
  Fake terminal;
  Progress bar = terminal.Make(Progress::Mode::kBar, 10);
  terminal.now += seconds(1);
  bar.Step(0, 0, 0.5);
  EXPECT_EQ(terminal.written.rfind("\r[##", 0), 0u) << terminal.written;
  EXPECT_NE(terminal.written.find("epoch 0 step 1/10 loss 0.5000"), std::string::npos) << terminal.written;
}

}  // namespace
}  // namespace hardgnn
