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
  ++users_;
  for (size_t c = 0; c < kCutoffs.size(); ++c) {
    if (rank < kCutoffs[c]) {
      hits_[c] += 1;
      gains_[c] += 1.0 / std::log2(static_cast<double>(rank) + 2.0);
    }
  }
  reciprocal_ += 1.0 / (static_cast<double>(rank) + 1.0);
}

void MetricAccumulator::Merge(const MetricAccumulator& other) {
  users_ += other.users_;
  for (size_t c = 0; c < kCutoffs.size(); ++c) {
    hits_[c] += other.hits_[c];
    gains_[c] += other.gains_[c];
  }
  reciprocal_ += other.reciprocal_;
}

RankingMetrics MetricAccumulator::Result() const {
  RankingMetrics m;
  m.users = users_;
  if (users_ == 0) return m;
  for (size_t c = 0; c < kCutoffs.size(); ++c) {
    m.hr[c] = hits_[c] / users_;
    m.ndcg[c] = gains_[c] / users_;
  }
  m.mrr = reciprocal_ / users_;
  return m;
}

int64_t RankAmongNegatives(float positive, const float* negatives, int64_t count) {
  if (std::isnan(positive)) return count;
  int64_t rank = 0;
  for (int64_t j = 0; j < count; ++j) rank += !(negatives[j] < positive);  // NaN counts as ahead
  return rank;
}

}  // namespace hardgnn
