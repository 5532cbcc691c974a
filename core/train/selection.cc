#include "core/train/selection.h"

#include <algorithm>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace hardgnn {

double Selection::Of(const EvalResult& result) const {
  const SplitMetrics& split = on_test ? result.test : result.validation;
  const RankingMetrics& m = full_ranking ? split.full : split.sampled;
  switch (metric) {
    case Metric::kNdcg: return m.Ndcg(k);
    case Metric::kHr: return m.Hr(k);
    case Metric::kMrr: return m.mrr;
  }
  return 0.0;
}

std::string Selection::Name() const {
  return absl::StrCat(on_test ? "test " : "validation ", full_ranking ? "full-ranking " : "paper ",
                      metric == Metric::kMrr ? "MRR" : absl::StrCat(metric == Metric::kHr ? "HR@" : "NDCG@", k));
}

absl::StatusOr<Selection> ParseSelection(absl::string_view text) {
  const auto error = [&] {
    return absl::InvalidArgumentError(absl::StrCat(
        "selection metric '", text, "': expected PROTOCOL:METRIC with PROTOCOL paper or full and METRIC "
        "ndcg@K or hr@K (K = 5, 10 or 20) or mrr, e.g. paper:ndcg@10 or full:hr@20"));
  };
  const std::vector<absl::string_view> parts = absl::StrSplit(text, ':');
  if (parts.size() != 2 || (parts[0] != "paper" && parts[0] != "full")) return error();
  Selection s;
  s.full_ranking = parts[0] == "full";
  if (parts[1] == "mrr") {
    s.metric = Selection::Metric::kMrr;
    return s;
  }
  const std::vector<absl::string_view> metric = absl::StrSplit(parts[1], '@');
  if (metric.size() != 2 || (metric[0] != "ndcg" && metric[0] != "hr") || !absl::SimpleAtoi(metric[1], &s.k) ||
      std::find(kCutoffs.begin(), kCutoffs.end(), s.k) == kCutoffs.end()) {
    return error();
  }
  s.metric = metric[0] == "hr" ? Selection::Metric::kHr : Selection::Metric::kNdcg;
  return s;
}

}  // namespace hardgnn
