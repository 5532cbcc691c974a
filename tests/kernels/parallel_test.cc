#include "core/cpu/parallel.h"

#include <ATen/Parallel.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <set>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace hardgnn::cpu {
namespace {

class ParallelTest : public ::testing::Test {
 protected:
  void TearDown() override { at::set_num_threads(1); }
};

TEST_F(ParallelTest, EveryIndexOnceOnAnyThreadCount) {
  for (int threads : {1, 2, 3}) {
    at::set_num_threads(threads);
    for (int64_t count : {0, 1, 2, 7, 1000}) {
      std::vector<std::atomic<int>> calls(count);
      ForEachIndex(count, [&](int64_t i) { calls[i].fetch_add(1); });
      for (int64_t i = 0; i < count; ++i) EXPECT_EQ(calls[i].load(), 1) << threads << " threads, index " << i;
    }
  }
}

TEST_F(ParallelTest, ChunksCoverTheRangeWithTheirOwnBounds) {
  at::set_num_threads(2);
  const int64_t n = 1003, chunk = 100;
  std::vector<std::atomic<int>> covered(n);
  std::vector<int64_t> begin(11, -1), end(11, -1);
  ForEachChunk(n, chunk, [&](int64_t b, int64_t e, int64_t c) {
    begin[c] = b;
    end[c] = e;
    for (int64_t i = b; i < e; ++i) covered[i].fetch_add(1);
  });
  for (int64_t c = 0; c < 11; ++c) {
    EXPECT_EQ(begin[c], c * chunk);
    EXPECT_EQ(end[c], c == 10 ? n : (c + 1) * chunk);
  }
  for (int64_t i = 0; i < n; ++i) EXPECT_EQ(covered[i].load(), 1) << i;
}

// Index 0 waits until every other index has run. Under a fixed half per thread (at::parallel_for's
// split) the thread holding index 0 also holds indices 1..count/2 - 1, which would never run:
// only a schedule in which the other thread takes every index left lets this finish. The wait is
// bounded so that a wrong schedule fails instead of hanging.
TEST_F(ParallelTest, AnIdleThreadTakesWhatABusyOneHasNotStarted) {
  at::set_num_threads(2);
  const int64_t count = 20;
  std::atomic<int64_t> done{0};
  std::atomic<bool> timed_out{false};
  std::mutex mu;
  std::set<std::thread::id> threads;
  ForEachIndex(count, [&](int64_t i) {
    {
      std::lock_guard<std::mutex> lock(mu);
      threads.insert(std::this_thread::get_id());
    }
    if (i == 0) {
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
      while (done.load() < count - 1) {
        if (std::chrono::steady_clock::now() > deadline) {
          timed_out = true;
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }
    done.fetch_add(1);
  });
  EXPECT_FALSE(timed_out.load());
  EXPECT_EQ(done.load(), count);
  EXPECT_EQ(threads.size(), 2u);
}

// A job for RunTogether whose tasks record their own index (calls[i]).
struct RecordingJob {
  std::vector<std::atomic<int>>* calls;
  int64_t Count() const { return static_cast<int64_t>(calls->size()); }
  void Run(int64_t i) const { (*calls)[i].fetch_add(1); }
};

TEST_F(ParallelTest, RunTogetherRunsEveryJobsTasksOnceWithTheirOwnIndices) {
  for (int threads : {1, 2, 3}) {
    at::set_num_threads(threads);
    std::vector<std::atomic<int>> a(7), none(0), b(1), c(130);
    RunTogether(RecordingJob{&a}, RecordingJob{&none}, RecordingJob{&b}, RecordingJob{&c});
    for (const auto* job : {&a, &b, &c}) {
      for (size_t i = 0; i < job->size(); ++i) EXPECT_EQ((*job)[i].load(), 1) << threads << " threads, index " << i;
    }
  }
}

// The jobs share one loop: the first job's only task waits until the second job's has run,
// which two loops one after the other would never let happen (the wait is bounded, so such a
// schedule fails instead of hanging).
struct WaitingJob {
  std::atomic<bool>* other_ran;
  std::atomic<bool>* timed_out;
  int64_t Count() const { return 1; }
  void Run(int64_t) const {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!other_ran->load()) {
      if (std::chrono::steady_clock::now() > deadline) {
        *timed_out = true;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
};
struct SignallingJob {
  std::atomic<bool>* ran;
  int64_t Count() const { return 1; }
  void Run(int64_t) const { *ran = true; }
};

TEST_F(ParallelTest, RunTogetherRunsTheJobsInOneLoop) {
  at::set_num_threads(2);
  std::atomic<bool> ran{false}, timed_out{false};
  RunTogether(WaitingJob{&ran, &timed_out}, SignallingJob{&ran});
  EXPECT_TRUE(ran.load());
  EXPECT_FALSE(timed_out.load());
}

// One state per thread, made once and reused for every index that thread runs.
TEST_F(ParallelTest, EachThreadMakesOneState) {
  at::set_num_threads(2);
  std::atomic<int> made{0};
  std::vector<int> owner(500, -1);
  ForEachIndexWith(
      500, [&] { return made.fetch_add(1); }, [&](int& state, int64_t i) { owner[i] = state; });
  EXPECT_GE(made.load(), 1);
  EXPECT_LE(made.load(), 2);
  for (int o : owner) {
    EXPECT_GE(o, 0);
    EXPECT_LT(o, made.load());
  }
}

// Inside another parallel region at::parallel_for runs inline: every index still runs once.
TEST_F(ParallelTest, NestedLoopsRunEveryIndex) {
  at::set_num_threads(2);
  std::vector<std::atomic<int>> calls(4 * 50);
  at::parallel_for(0, 4, 1, [&](int64_t b, int64_t e) {
    for (int64_t outer = b; outer < e; ++outer) {
      ForEachIndex(50, [&](int64_t i) { calls[outer * 50 + i].fetch_add(1); });
    }
  });
  for (auto& c : calls) EXPECT_EQ(c.load(), 1);
}

// Waits (bounded) until flag is set; false on timeout.
bool WaitFor(const std::atomic<bool>& flag) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!flag.load()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// Item 1 reaches its turn while item 0 still works (item 0 waits for it to arrive), yet the items
// commit in order 0, 1, 2, 3.
TEST_F(ParallelTest, TurnsCommitInOrderWhateverRunsFirst) {
  at::set_num_threads(2);
  OrderedTurns turns(1);
  std::atomic<bool> one_arrived{false}, timed_out{false};
  std::vector<int64_t> order;
  ForEachIndex(4, [&](int64_t j) {
    turns.InTurn(
        0, j,
        [&] {
          if (j == 1) one_arrived = true;
          if (j == 0 && !WaitFor(one_arrived)) timed_out = true;
        },
        [&] { order.push_back(j); });  // only the item whose turn it is gets here
  });
  EXPECT_FALSE(timed_out.load());
  EXPECT_EQ(order, (std::vector<int64_t>{0, 1, 2, 3}));
}

// Lanes are independent: lane 0's first item commits after lane 1's two (one thread; shared
// turns would wait here forever).
TEST_F(ParallelTest, TurnsOfOtherLanesDoNotWait) {
  OrderedTurns turns(2);
  std::vector<int> order;
  turns.InTurn(1, 0, [] {}, [&] { order.push_back(10); });
  turns.InTurn(1, 1, [] {}, [&] { order.push_back(11); });
  turns.InTurn(0, 0, [] {}, [&] { order.push_back(0); });
  EXPECT_EQ(order, (std::vector<int>{10, 11, 0}));
}

// An item whose work throws: the item waiting for its turn gives up without committing, and the
// loop rethrows instead of hanging.
TEST_F(ParallelTest, AFailedItemReleasesTheWaitingOnes) {
  at::set_num_threads(2);
  OrderedTurns turns(1);
  std::atomic<bool> one_waiting{false}, one_committed{false};
  EXPECT_THROW(ForEachIndex(2,
                            [&](int64_t j) {
                              turns.InTurn(
                                  0, j,
                                  [&] {
                                    if (j == 1) {
                                      one_waiting = true;
                                      return;
                                    }
                                    WaitFor(one_waiting);
                                    throw std::runtime_error("item 0 failed");
                                  },
                                  [&] { one_committed = true; });
                            }),
               std::runtime_error);
  EXPECT_FALSE(one_committed.load());
}

}  // namespace
}  // namespace hardgnn::cpu
