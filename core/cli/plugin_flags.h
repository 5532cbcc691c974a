#ifndef HARDGNN_CORE_CLI_PLUGIN_FLAGS_H_
#define HARDGNN_CORE_CLI_PLUGIN_FLAGS_H_

#include <string>

#include "core/registry/plugin_args.h"
#include "core/registry/plugin_info.h"

namespace hardgnn {

// The command-line flag that sets parameter `param` of plugin `plugin`: "<plugin>_<param>".
std::string PluginFlagName(const std::string& plugin, const std::string& param);

// Defines one gflag per parameter of every registered encoder, sampler and loss, so presets,
// --helpfull and a run's saved flagfile cover every plugin parameter. Call once, before
// gflags::ParseCommandLineFlags. A name that clashes with an existing flag (libtorch and glog
// define about 90) aborts with a message naming it.
void RegisterAllPluginFlags();

// The values of `plugin`'s parameter flags that were set on the command line (or in a
// flagfile); unset parameters keep the plugin's declared defaults.
ArgMap PluginArgsFromFlags(const std::string& plugin, const PluginInfo& info);

}  // namespace hardgnn

#endif  // HARDGNN_CORE_CLI_PLUGIN_FLAGS_H_
