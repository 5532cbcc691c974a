#ifndef HARDGNN_CORE_EVAL_METRICS_H_
#define HARDGNN_CORE_EVAL_METRICS_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace hardgnn {

// Leave-one-out ranking metrics: one relevant item per user, so IDCG = 1.
inline constexpr std::array<int, 3> kCutoffs = {5, 10, 20};

struct RankingMetrics {
  int64_t users = 0;
  std::array<double, kCutoffs.size()> hr{}, ndcg{};  // at kCutoffs
  double mrr = 0;

  double Hr(int k) const;    // k must be one of kCutoffs
  double Ndcg(int k) const;
  std::string ToJson() const;
};

// Sums per-user contributions; ranks are 0-based positions of the positive. It counts users
// by rank and sums the contributions in rank order, so the result does not depend on the
// order users come in nor on how they are split between accumulators (or ranks: data-parallel
// evaluation sums the counts, core/dist): it is the same bits.
class MetricAccumulator {
 public:
  void Add(int64_t rank);
  void Merge(const MetricAccumulator& other);
  RankingMetrics Result() const;

  // Users by rank for ranks 0 .. size - 1 (every rank added must be below size), and back.
  std::vector<int64_t> Counts(int64_t size) const;
  static MetricAccumulator FromCounts(const int64_t* counts, int64_t size);

 private:
  std::vector<int64_t> by_rank_;
};

// The paper protocol's rank (SPEC §4): the positive is appended after its negatives and the
// list is sorted stably by descending score, so every negative scoring >= the positive goes
// before it. A NaN positive ranks last.
int64_t RankAmongNegatives(float positive, const float* negatives, int64_t count);

}  // namespace hardgnn

#endif  // HARDGNN_CORE_EVAL_METRICS_H_
