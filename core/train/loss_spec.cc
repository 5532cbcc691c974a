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
  // An all-blank list is no loss at all; inside a list every entry must be there.
  if (absl::StripAsciiWhitespace(text).empty()) return specs;
  int position = 0;
  for (absl::string_view raw : absl::StrSplit(text, ',')) {
    ++position;
    const absl::string_view item = absl::StripAsciiWhitespace(raw);
    if (item.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--losses: entry ", position, " of '", text, "' is empty (a stray comma?)"));
    }
    std::pair<absl::string_view, absl::string_view> parts = absl::StrSplit(item, absl::MaxSplits(':', 1));
    LossSpec spec;
    spec.name = std::string(absl::StripAsciiWhitespace(parts.first));
    if (spec.name.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("--losses: empty loss name in entry '", item, "'"));
    }
    if (item.find(':') != absl::string_view::npos) {
      absl::string_view w = absl::StripAsciiWhitespace(parts.second);
      if (!absl::SimpleAtod(w, &spec.weight) || !std::isfinite(spec.weight)) {
        return absl::InvalidArgumentError(
            absl::StrCat("--losses: loss weight of '", spec.name, "' is not a number: '", w, "'"));
      }
      if (spec.weight < 0) {
        return absl::InvalidArgumentError(absl::StrCat("--losses: entry '", item, "' has a negative weight; ",
                                                       "weights must be >= 0 (0 disables a term)"));
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
