#ifndef HARDGNN_CORE_EVAL_METRICS_H_
#define HARDGNN_CORE_EVAL_METRICS_H_

#include <array>
#include <cstdint>
#include <string>

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

// Sums per-user contributions; ranks are 0-based positions of the positive.
class MetricAccumulator {
 public:
  void Add(int64_t rank);
  void Merge(const MetricAccumulator& other);
  RankingMetrics Result() const;

 private:
  int64_t users_ = 0;
  std::array<double, kCutoffs.size()> hits_{}, gains_{};
  double reciprocal_ = 0;
};

// The paper protocol's rank (SPEC §4): the positive is appended after its negatives and the
// list is sorted stably by descending score, so every negative scoring >= the positive goes
// before it. A NaN positive ranks last.
int64_t RankAmongNegatives(float positive, const float* negatives, int64_t count);

}  // namespace hardgnn

#endif  // HARDGNN_CORE_EVAL_METRICS_H_
