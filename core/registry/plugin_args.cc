#include "core/registry/plugin_args.h"

#include <cstdio>
#include <cstdlib>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace hardgnn {

const char* ParamTypeName(ParamType type) {
  switch (type) {
    case ParamType::kInt: return "int";
    case ParamType::kDouble: return "double";
    case ParamType::kBool: return "bool";
    case ParamType::kString: return "string";
  }
  return "?";
}

absl::StatusOr<ArgMap> ParseArgList(absl::string_view text) {
  ArgMap out;
  for (absl::string_view item : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    item = absl::StripAsciiWhitespace(item);
    std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(item, absl::MaxSplits('=', 1));
    absl::string_view key = absl::StripAsciiWhitespace(kv.first);
    if (key.empty() || item.find('=') == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("expected name=value in '", text, "', got '", item, "'"));
    }
    out[std::string(key)] = std::string(absl::StripAsciiWhitespace(kv.second));
  }
  return out;
}

namespace {

absl::Status ParseValue(absl::string_view plugin, const ParamSpec& spec,
                        absl::string_view text, int64_t* i, double* d, bool* b) {
  bool ok = true;
  switch (spec.type) {
    case ParamType::kInt: ok = absl::SimpleAtoi(text, i); break;
    case ParamType::kDouble: ok = absl::SimpleAtod(text, d); break;
    case ParamType::kBool: ok = absl::SimpleAtob(text, b); break;
    case ParamType::kString: break;
  }
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(plugin, ": parameter '", spec.name, "' expects ",
                                                 ParamTypeName(spec.type), ", got '", text, "'"));
}

}  // namespace

absl::StatusOr<PluginArgs> PluginArgs::Parse(absl::string_view plugin,
                                             const std::vector<ParamSpec>& specs,
                                             const ArgMap& given) {
  PluginArgs args;
  args.plugin_ = std::string(plugin);
  std::vector<std::string> names;
  for (const ParamSpec& spec : specs) names.push_back(spec.name);
  for (const auto& [key, text] : given) {
    bool declared = false;
    for (const ParamSpec& spec : specs) declared |= spec.name == key;
    if (!declared) {
      return absl::InvalidArgumentError(absl::StrCat(
          plugin, " has no parameter '", key, "'; its parameters: ",
          names.empty() ? "(none)" : absl::StrJoin(names, ", ")));
    }
  }
  for (const ParamSpec& spec : specs) {
    auto it = given.find(spec.name);
    Value v;
    v.type = spec.type;
    v.text = it == given.end() ? spec.default_value : it->second;
    absl::Status status = ParseValue(plugin, spec, v.text, &v.i, &v.d, &v.b);
    if (!status.ok()) return status;
    args.values_[spec.name] = std::move(v);
  }
  return args;
}

const PluginArgs::Value& PluginArgs::Lookup(absl::string_view name, ParamType type) const {
  auto it = values_.find(name);
  if (it == values_.end() || it->second.type != type) {
    std::fprintf(stderr, "hardgnn: plugin '%s' reads undeclared %s parameter '%s'\n",
                 plugin_.c_str(), ParamTypeName(type), std::string(name).c_str());
    std::abort();
  }
  return it->second;
}

int64_t PluginArgs::Int(absl::string_view name) const { return Lookup(name, ParamType::kInt).i; }
double PluginArgs::Double(absl::string_view name) const {
  return Lookup(name, ParamType::kDouble).d;
}
bool PluginArgs::Bool(absl::string_view name) const { return Lookup(name, ParamType::kBool).b; }
const std::string& PluginArgs::String(absl::string_view name) const {
  return Lookup(name, ParamType::kString).text;
}

}  // namespace hardgnn
