#include "core/train/loss_spec.h"

#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace hardgnn {

absl::StatusOr<std::vector<LossSpec>> ParseLossSpecs(absl::string_view text) {
  std::vector<LossSpec> specs;
  for (absl::string_view item : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    std::pair<absl::string_view, absl::string_view> parts = absl::StrSplit(item, absl::MaxSplits(':', 1));
    LossSpec spec;
    spec.name = std::string(absl::StripAsciiWhitespace(parts.first));
    if (spec.name.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("--losses: empty loss name in '", text, "'"));
    }
    if (item.find(':') != absl::string_view::npos) {
      absl::string_view w = absl::StripAsciiWhitespace(parts.second);
      if (!absl::SimpleAtod(w, &spec.weight) || !std::isfinite(spec.weight)) {
        return absl::InvalidArgumentError(
            absl::StrCat("--losses: loss weight of '", spec.name, "' is not a number: '", w, "'"));
      }
    }
    for (const LossSpec& other : specs) {
      if (other.name == spec.name) {
        return absl::InvalidArgumentError(absl::StrCat("--losses: '", spec.name, "' is listed twice"));
      }
    }
    specs.push_back(std::move(spec));
  }
  return specs;
}

}  // namespace hardgnn
