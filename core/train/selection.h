#ifndef HARDGNN_CORE_TRAIN_SELECTION_H_
#define HARDGNN_CORE_TRAIN_SELECTION_H_

// What model selection maximizes: one metric of one protocol, on validation (or on test for
// the published code's selection).

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/eval/evaluator.h"

namespace hardgnn {

struct Selection {
  enum class Metric { kNdcg, kHr, kMrr };
  bool full_ranking = false;     // full ranking instead of the paper's 999 sampled negatives
  Metric metric = Metric::kNdcg;
  int k = 10;                    // cutoff of NDCG and HR: 5, 10 or 20
  bool on_test = false;          // the published code's selection (on test)

  double Of(const EvalResult& result) const;
  std::string Name() const;     // e.g. "validation paper NDCG@10"
};

// "paper:ndcg@10" (the default), "full:hr@20", "full:mrr", ...; an error names what is allowed.
absl::StatusOr<Selection> ParseSelection(absl::string_view text);

}  // namespace hardgnn

#endif  // HARDGNN_CORE_TRAIN_SELECTION_H_
