#include "core/cli/plugin_flags.h"

#include <cstdio>
#include <cstdlib>
#include <deque>

#include <gflags/gflags.h>

#include "core/model/encoder.h"
#include "core/model/loss.h"
#include "core/model/sampler.h"
#include "core/registry/plugin_args.h"

namespace hardgnn {
namespace {

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "hardgnn: fatal at start-up: %s\n", message.c_str());
  std::abort();
}

// Flag storage must outlive every use of gflags, so it is never freed.
template <typename V>
V* Keep(V value) {
  static auto* storage = new std::deque<V>();
  storage->push_back(std::move(value));
  return &storage->back();
}

template <typename V>
void Define(const std::string& name, const std::string& help, const std::string& group, V value) {
  const char* name_c = Keep(name)->c_str();
  gflags::FlagRegisterer(name_c, Keep(help)->c_str(), Keep(group)->c_str(), Keep(value),
                         Keep(value));
}

void DefinePluginFlags(const char* kind, const std::string& plugin, const PluginInfo& info) {
  const std::string group = std::string("plugins/") + kind + "s/" + plugin;
  // Parse every default first, so a bad declaration fails here with its name.
  absl::StatusOr<PluginArgs> defaults = PluginArgs::Parse(plugin, info.params, {});
  if (!defaults.ok()) Die(std::string(defaults.status().message()));
  for (const ParamSpec& spec : info.params) {
    const std::string name = PluginFlagName(plugin, spec.name);
    gflags::CommandLineFlagInfo existing;
    if (gflags::GetCommandLineFlagInfo(name.c_str(), &existing)) {
      Die("flag --" + name + " of " + kind + " '" + plugin + "' is already defined in " +
          existing.filename);
    }
    const std::string help = spec.help + " [" + kind + " " + plugin + "]";
    switch (spec.type) {
      case ParamType::kInt: Define<gflags::int64>(name, help, group, defaults->Int(spec.name)); break;
      case ParamType::kDouble: Define<double>(name, help, group, defaults->Double(spec.name)); break;
      case ParamType::kBool: Define<bool>(name, help, group, defaults->Bool(spec.name)); break;
      case ParamType::kString: Define<std::string>(name, help, group, spec.default_value); break;
    }
  }
}

template <typename T>
void DefineKind() {
  for (const auto* entry : Registry<T>::Global().Entries()) {
    DefinePluginFlags(T::kKind, entry->name, entry->info);
  }
}

}  // namespace

std::string PluginFlagName(const std::string& plugin, const std::string& param) {
  return plugin + "_" + param;
}

void RegisterAllPluginFlags() {
  DefineKind<Encoder>();
  DefineKind<Sampler>();
  DefineKind<Loss>();
}

ArgMap PluginArgsFromFlags(const std::string& plugin, const PluginInfo& info) {
  ArgMap args;
  for (const ParamSpec& spec : info.params) {
    gflags::CommandLineFlagInfo flag;
    if (gflags::GetCommandLineFlagInfo(PluginFlagName(plugin, spec.name).c_str(), &flag) &&
        !flag.is_default) {
      args[spec.name] = flag.current_value;
    }
  }
  return args;
}

}  // namespace hardgnn
