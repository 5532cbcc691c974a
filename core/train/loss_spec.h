#ifndef HARDGNN_CORE_TRAIN_LOSS_SPEC_H_
#define HARDGNN_CORE_TRAIN_LOSS_SPEC_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace hardgnn {

// One weighted term of the objective, as written in --losses=hinge,sal:1e-6,l2:1e-2.
struct LossSpec {
  std::string name;
  double weight = 1.0;
};

// Parses a comma-separated list of name[:weight]; a missing weight is 1; an all-blank text is
// the empty list. A name given twice, an empty entry ("hinge,,sal", a leading or trailing
// comma), an empty name, or a weight that is not a finite number >= 0 is an error (a weight
// of 0 is allowed: it disables the term).
absl::StatusOr<std::vector<LossSpec>> ParseLossSpecs(absl::string_view text);

}  // namespace hardgnn

#endif  // HARDGNN_CORE_TRAIN_LOSS_SPEC_H_
