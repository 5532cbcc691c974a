#ifndef HARDGNN_CORE_REGISTRY_REGISTRY_H_
#define HARDGNN_CORE_REGISTRY_REGISTRY_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/registry/plugin_args.h"
#include "core/registry/plugin_info.h"

namespace hardgnn {

namespace registry_internal {
absl::Status DuplicateError(const char* kind, const std::string& name);
absl::Status UnknownError(const char* kind, absl::string_view name,
                          const std::vector<std::string>& known);
void DieOnError(const absl::Status& status);  // start-up errors: print and abort
}  // namespace registry_internal

// Plugins of one kind T (T::kKind names it, T::Context is what a factory gets besides its
// parameters). A plugin registers itself with a static Registration<T> in its own
// alwayslink library; linking the library in is all it takes.
template <typename T>
class Registry {
 public:
  using Context = typename T::Context;
  using Factory =
      std::function<absl::StatusOr<std::unique_ptr<T>>(const PluginArgs&, const Context&)>;
  struct Entry {
    std::string name;
    PluginInfo info;
    Factory factory;
  };

  static Registry& Global() {
    static Registry* registry = new Registry();  // never destroyed: plugins outlive main
    return *registry;
  }

  absl::Status Add(Entry entry) {
    if (entries_.count(entry.name)) return registry_internal::DuplicateError(T::kKind, entry.name);
    std::string name = entry.name;
    entries_.emplace(std::move(name), std::move(entry));
    return absl::OkStatus();
  }

  absl::StatusOr<const Entry*> Find(absl::string_view name) const {
    auto it = entries_.find(name);
    if (it != entries_.end()) return &it->second;
    return registry_internal::UnknownError(T::kKind, name, Names());
  }

  // Parameters not given take their declared defaults; undeclared ones are an error.
  absl::StatusOr<std::unique_ptr<T>> Create(absl::string_view name, const ArgMap& args,
                                            const Context& context) const {
    absl::StatusOr<const Entry*> entry = Find(name);
    if (!entry.ok()) return entry.status();
    absl::StatusOr<PluginArgs> parsed = PluginArgs::Parse(
        std::string(T::kKind) + " '" + std::string(name) + "'", (*entry)->info.params, args);
    if (!parsed.ok()) return parsed.status();
    return (*entry)->factory(*parsed, context);
  }

  std::vector<std::string> Names() const {
    std::vector<std::string> names;
    for (const auto& [name, entry] : entries_) names.push_back(name);
    return names;
  }

  std::vector<const Entry*> Entries() const {
    std::vector<const Entry*> out;
    for (const auto& [name, entry] : entries_) out.push_back(&entry);
    return out;
  }

 private:
  std::map<std::string, Entry, std::less<>> entries_;  // sorted: listings are stable
};

// A static instance of this, in an anonymous namespace, registers one plugin at start-up.
// Registering a name twice aborts with a message naming the kind and the name.
template <typename T>
struct Registration {
  Registration(std::string name, PluginInfo info, typename Registry<T>::Factory factory) {
    registry_internal::DieOnError(
        Registry<T>::Global().Add({std::move(name), std::move(info), std::move(factory)}));
  }
};

}  // namespace hardgnn

#endif  // HARDGNN_CORE_REGISTRY_REGISTRY_H_
