#ifndef HARDGNN_CORE_REGISTRY_PLUGIN_INFO_H_
#define HARDGNN_CORE_REGISTRY_PLUGIN_INFO_H_

#include <string>
#include <vector>

namespace hardgnn {

enum class ParamType { kInt, kDouble, kBool, kString };

const char* ParamTypeName(ParamType type);

// One parameter a plugin reads. The default is written as it would be on the command line.
struct ParamSpec {
  std::string name;
  ParamType type;
  std::string default_value;
  std::string help;
};

// What a registry entry says about itself: `hardgnn list` prints it.
struct PluginInfo {
  std::string description;
  std::vector<ParamSpec> params;
};

}  // namespace hardgnn

#endif  // HARDGNN_CORE_REGISTRY_PLUGIN_INFO_H_
