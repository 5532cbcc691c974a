#ifndef HARDGNN_CORE_REGISTRY_PLUGIN_ARGS_H_
#define HARDGNN_CORE_REGISTRY_PLUGIN_ARGS_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/registry/plugin_info.h"

namespace hardgnn {

// Raw parameter values by name, as given on the command line or in a test.
using ArgMap = std::map<std::string, std::string>;

// Parses "k=5,tau=0.1" into an ArgMap; an item without '=' or an empty key is an error.
absl::StatusOr<ArgMap> ParseArgList(absl::string_view text);

// A plugin's parameters, checked against its ParamSpecs: every declared parameter has a
// typed value (given or default), and an undeclared name is rejected when parsing.
class PluginArgs {
 public:
  // `plugin` names the plugin in error messages.
  static absl::StatusOr<PluginArgs> Parse(absl::string_view plugin,
                                          const std::vector<ParamSpec>& specs,
                                          const ArgMap& given);

  // Accessors abort on a name the plugin did not declare: that is a bug in the plugin,
  // which the conformance suite catches by creating every plugin with its defaults.
  int64_t Int(absl::string_view name) const;
  double Double(absl::string_view name) const;
  bool Bool(absl::string_view name) const;
  const std::string& String(absl::string_view name) const;

 private:
  struct Value {
    ParamType type;
    std::string text;
    int64_t i = 0;
    double d = 0;
    bool b = false;
  };
  const Value& Lookup(absl::string_view name, ParamType type) const;

  std::string plugin_;
  std::map<std::string, Value, std::less<>> values_;
};

}  // namespace hardgnn

#endif  // HARDGNN_CORE_REGISTRY_PLUGIN_ARGS_H_
