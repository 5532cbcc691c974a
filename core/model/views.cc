#include "core/model/views.h"

#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_join.h"

namespace hardgnn {

const at::Tensor& Views::Get(const std::string& name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) {
    std::fprintf(stderr, "hardgnn: view '%s' was not published; available: %s\n", name.c_str(),
                 absl::StrJoin(Names(), ", ").c_str());
    std::abort();
  }
  return it->second;
}

std::vector<std::string> Views::Names() const {
  std::vector<std::string> names;
  for (const auto& [name, tensor] : tensors_) names.push_back(name);
  return names;
}

}  // namespace hardgnn
