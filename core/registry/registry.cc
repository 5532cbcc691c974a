#include "core/registry/registry.h"

#include <cstdio>
#include <cstdlib>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace hardgnn::registry_internal {

absl::Status DuplicateError(const char* kind, const std::string& name) {
  return absl::AlreadyExistsError(absl::StrCat(
      kind, " '", name, "' is registered twice: two linked plugins use the same name"));
}

absl::Status UnknownError(const char* kind, absl::string_view name,
                          const std::vector<std::string>& known) {
  absl::string_view k(kind);
  return absl::NotFoundError(absl::StrCat("unknown ", k, " '", name, "'; registered ", k,
                                          absl::EndsWith(k, "s") ? "es" : "s", ": ",
                                          known.empty() ? "(none)" : absl::StrJoin(known, ", ")));
}

void DieOnError(const absl::Status& status) {
  if (status.ok()) return;
  std::fprintf(stderr, "hardgnn: fatal at start-up: %s\n", std::string(status.message()).c_str());
  std::abort();
}

}  // namespace hardgnn::registry_internal
