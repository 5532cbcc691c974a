#include "core/eval/metrics.h"

#include <cmath>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace hardgnn {
namespace {

size_t CutoffIndex(int k) {
  for (size_t c = 0; c < kCutoffs.size(); ++c) {
    if (kCutoffs[c] == k) return c;
  }
  std::abort();  // a programming error: only kCutoffs are computed
}

}  // namespace

double RankingMetrics::Hr(int k) const { return hr[CutoffIndex(k)]; }
double RankingMetrics::Ndcg(int k) const { return ndcg[CutoffIndex(k)]; }

std::string RankingMetrics::ToJson() const {
  std::string out = absl::StrCat("{\"users\":", users);
  for (size_t c = 0; c < kCutoffs.size(); ++c) {
    absl::StrAppendFormat(&out, ",\"hr@%d\":%.6f,\"ndcg@%d\":%.6f", kCutoffs[c], hr[c], kCutoffs[c],
                          ndcg[c]);
  }
  absl::StrAppendFormat(&out, ",\"mrr\":%.6f}", mrr);
  return out;
}

void MetricAccumulator::Add(int64_t rank) {
  if (rank < 0) std::abort();  // a programming error: ranks count the items ahead
  if (static_cast<size_t>(rank) >= by_rank_.size()) by_rank_.resize(rank + 1, 0);
  ++by_rank_[rank];
}

void MetricAccumulator::Merge(const MetricAccumulator& other) {
  if (other.by_rank_.size() > by_rank_.size()) by_rank_.resize(other.by_rank_.size(), 0);
  for (size_t r = 0; r < other.by_rank_.size(); ++r) by_rank_[r] += other.by_rank_[r];
}

RankingMetrics MetricAccumulator::Result() const {
  RankingMetrics m;
  std::array<double, kCutoffs.size()> hits{}, gains{};
  double reciprocal = 0;
  for (size_t r = 0; r < by_rank_.size(); ++r) {
    const int64_t n = by_rank_[r];
    if (n == 0) continue;
    m.users += n;
    for (size_t c = 0; c < kCutoffs.size(); ++c) {
      if (static_cast<int64_t>(r) < kCutoffs[c]) {
        hits[c] += n;
        gains[c] += n * (1.0 / std::log2(static_cast<double>(r) + 2.0));
      }
    }
    reciprocal += n * (1.0 / (static_cast<double>(r) + 1.0));
  }
  if (m.users == 0) return m;
  for (size_t c = 0; c < kCutoffs.size(); ++c) {
    m.hr[c] = hits[c] / m.users;
    m.ndcg[c] = gains[c] / m.users;
  }
  m.mrr = reciprocal / m.users;
  return m;
}

std::vector<int64_t> MetricAccumulator::Counts(int64_t size) const {
  if (static_cast<int64_t>(by_rank_.size()) > size) std::abort();  // a rank beyond the caller's bound
  std::vector<int64_t> out(by_rank_);
  out.resize(size, 0);
  return out;
}

MetricAccumulator MetricAccumulator::FromCounts(const int64_t* counts, int64_t size) {
  MetricAccumulator a;
  a.by_rank_.assign(counts, counts + size);
  return a;
}

int64_t RankAmongNegatives(float positive, const float* negatives, int64_t count) {
  if (std::isnan(positive)) return count;
  int64_t rank = 0;
  for (int64_t j = 0; j < count; ++j) rank += !(negatives[j] < positive);  // NaN counts as ahead
  return rank;
}

}  // namespace hardgnn
