#ifndef HARDGNN_CORE_CPU_PARALLEL_H_
#define HARDGNN_CORE_CPU_PARALLEL_H_

// Parallel loops whose results do not depend on the number of threads: work is cut into
// fixed-size chunks (never into one piece per thread), and reductions across chunks are summed
// afterwards in chunk order.

#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

namespace hardgnn::cpu {

inline int64_t DivUp(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Calls f(state, i) for every i in [0, count), in parallel, each thread taking the next index
// no thread has taken yet, with one state per thread from make_state() (scratch buffers).
// at::parallel_for gives each thread a fixed share, and one thread then waits whenever the
// shares cost differently (uneven chunks, or a VM's vCPUs running at different speeds). Each
// f(state, i) must depend on i alone, not on which thread runs it or what it ran before.
template <typename MakeState, typename F>
void ForEachIndexWith(int64_t count, const MakeState& make_state, const F& f) {
  if (count <= 0) return;
  std::atomic<int64_t> next{0};
  const int64_t workers = std::min<int64_t>(count, at::get_num_threads());
  at::parallel_for(0, workers, 1, [&](int64_t, int64_t) {
    auto state = make_state();
    for (int64_t i = next.fetch_add(1, std::memory_order_relaxed); i < count;
         i = next.fetch_add(1, std::memory_order_relaxed)) {
      f(state, i);
    }
  });
}

// ForEachIndexWith without a state: f(i).
template <typename F>
void ForEachIndex(int64_t count, const F& f) {
  ForEachIndexWith(count, [] { return 0; }, [&](int, int64_t i) { f(i); });
}

// Calls f(begin, end, chunk_index) for the chunks [i*chunk, min(n, (i+1)*chunk)) of [0, n),
// in parallel over chunks (ForEachIndex).
template <typename F>
void ForEachChunk(int64_t n, int64_t chunk, const F& f) {
  ForEachIndex(DivUp(n, chunk), [&](int64_t c) { f(c * chunk, std::min(n, (c + 1) * chunk), c); });
}

// Runs the tasks of several jobs in one parallel loop (ForEachIndex): one wake of the threads
// and one wait at its end where the jobs do not read what the others write. A job has
// Count() tasks and Run(i) runs its i-th; with OpenMP threads that sleep while they wait,
// each loop costs a wake-up.
template <typename... Jobs>
void RunTogether(const Jobs&... jobs) {
  const int64_t counts[] = {jobs.Count()...};
  int64_t total = 0;
  for (int64_t c : counts) total += c;
  ForEachIndex(total, [&](int64_t i) {
    int64_t first = 0;  // the first task of the job tried
    int j = 0;
    const auto run_if_held = [&](const auto& job) {  // runs task i if this job holds it
      const bool held = i - first < counts[j];
      if (held) job.Run(i - first);
      first += counts[j++];
      return held;
    };
    (run_if_held(jobs) || ...);
  });
}

// Turns in order within each of `lanes` sequences, so that items run on any thread
// (ForEachIndex) commit in order, say into one partial sum: InTurn(lane, j, work, commit) runs
// work() at once and commit() once items 0..j-1 of the lane have committed. If an item throws,
// every item still waiting gives up without committing (the exception is what at::parallel_for
// rethrows), so that no thread waits forever for it.
class OrderedTurns {
 public:
  explicit OrderedTurns(int64_t lanes) : next_(new std::atomic<int64_t>[lanes]) {
    for (int64_t l = 0; l < lanes; ++l) next_[l].store(0);
  }
  template <typename Work, typename Commit>
  void InTurn(int64_t lane, int64_t j, const Work& work, const Commit& commit) {
    try {
      work();
      if (!Await(lane, j)) return;
      commit();
      next_[lane].store(j + 1, std::memory_order_release);
    } catch (...) {
      failed_.store(true);
      throw;
    }
  }

 private:
  // Whether items 0..j-1 committed; false once some item failed.
  bool Await(int64_t lane, int64_t j) const {
    while (next_[lane].load(std::memory_order_acquire) != j) {
      if (failed_.load()) return false;
      std::this_thread::yield();
    }
    return true;
  }

  std::unique_ptr<std::atomic<int64_t>[]> next_;
  std::atomic<bool> failed_{false};
};

// Per-chunk partial sums of `width` values, reduced in chunk order: deterministic.
template <typename T>
class ChunkPartials {
 public:
  ChunkPartials(int64_t num_chunks, int64_t width)
      : width_(width), data_(static_cast<size_t>(num_chunks * width), T(0)) {}
  T* Chunk(int64_t c) { return data_.data() + c * width_; }
  // out[j] (+)= sum over chunks of partial[c][j], in chunk order.
  void SumInto(T* out, bool accumulate) const {
    const int64_t num_chunks = width_ == 0 ? 0 : static_cast<int64_t>(data_.size()) / width_;
    for (int64_t j = 0; j < width_; ++j) {
      T s = accumulate ? out[j] : T(0);
      for (int64_t c = 0; c < num_chunks; ++c) s += data_[c * width_ + j];
      out[j] = s;
    }
  }

 private:
  int64_t width_;
  std::vector<T> data_;
};

}  // namespace hardgnn::cpu

#endif  // HARDGNN_CORE_CPU_PARALLEL_H_
