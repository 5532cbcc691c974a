#include "core/dist/config.h"

#include <cstdlib>
#include <map>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace hardgnn::dist {
namespace {

// An integer setting: the flag when set (>= 0, or > 0 for a port), else the variable, else
// `fallback`; `found` says whether either was given.
absl::StatusOr<int> IntSetting(int flag, const char* flag_name, const char* var, int fallback, int minimum,
                               const std::function<const char*(const char*)>& env, bool* found = nullptr) {
  if (found != nullptr) *found = true;
  if (flag >= minimum) return flag;
  const char* text = env(var);
  if (text == nullptr || *text == '\0') {
    if (found != nullptr) *found = false;
    return fallback;
  }
  int value;
  if (!absl::SimpleAtoi(text, &value) || value < minimum) {
    return absl::InvalidArgumentError(absl::StrCat(var, "='", text, "' (or --", flag_name, "): expected an integer >= ",
                                                   minimum));
  }
  return value;
}

}  // namespace

absl::StatusOr<std::optional<Config>> ConfigFrom(const ConfigFlags& flags,
                                                 const std::function<const char*(const char*)>& env_in) {
  const std::function<const char*(const char*)> env =
      env_in ? env_in : [](const char* name) -> const char* { return std::getenv(name); };
  bool sized = false;
  absl::StatusOr<int> world = IntSetting(flags.world_size, "world_size", "WORLD_SIZE", 1, 1, env, &sized);
  if (!world.ok()) return world.status();
  if (!sized || *world == 1) {
    if (flags.rank > 0) {
      return absl::InvalidArgumentError(absl::StrCat("--rank=", flags.rank, " without --world_size or WORLD_SIZE > 1"));
    }
    return std::nullopt;
  }
  Config c;
  c.world_size = *world;
  bool ranked = false;
  absl::StatusOr<int> rank = IntSetting(flags.rank, "rank", "RANK", 0, 0, env, &ranked);
  if (!rank.ok()) return rank.status();
  if (!ranked) {
    return absl::InvalidArgumentError(
        absl::StrCat("WORLD_SIZE=", c.world_size, " but no RANK (or --rank): every process needs its rank, 0 to ",
                     c.world_size - 1, " (tools/launch.sh sets them)"));
  }
  if (*rank >= c.world_size) {
    return absl::InvalidArgumentError(absl::StrCat("RANK=", *rank, " (or --rank) is not below WORLD_SIZE=", c.world_size));
  }
  c.rank = *rank;
  absl::StatusOr<int> local = IntSetting(flags.local_rank, "local_rank", "LOCAL_RANK", c.rank, 0, env);
  if (!local.ok()) return local.status();
  c.local_rank = *local;
  absl::StatusOr<int> port = IntSetting(flags.master_port, "master_port", "MASTER_PORT", 29500, 1, env);
  if (!port.ok()) return port.status();
  if (*port > 65535) return absl::InvalidArgumentError(absl::StrCat("MASTER_PORT=", *port, " is not a TCP port"));
  c.master_port = *port;
  if (!flags.master_addr.empty()) {
    c.master_addr = flags.master_addr;
  } else if (const char* addr = env("MASTER_ADDR"); addr != nullptr && *addr != '\0') {
    c.master_addr = addr;
  }
  if (flags.timeout_seconds < 1) {
    return absl::InvalidArgumentError(absl::StrCat("--dist_timeout=", flags.timeout_seconds, ": must be >= 1 second"));
  }
  c.timeout = std::chrono::seconds(flags.timeout_seconds);
  c.bind = flags.bind;
  return c;
}

std::string SettingsDiff(const std::string& a, const std::string& b, const std::string& a_name,
                         const std::string& b_name) {
  std::map<std::string, std::pair<std::string, std::string>> both;  // name -> (a's, b's)
  for (int side = 0; side < 2; ++side) {
    for (absl::string_view line : absl::StrSplit(side == 0 ? a : b, '\n', absl::SkipEmpty())) {
      std::pair<std::string, std::string> kv = absl::StrSplit(line, absl::MaxSplits('=', 1));
      std::pair<std::string, std::string>& slot = both.try_emplace(kv.first, "(unset)", "(unset)").first->second;
      (side == 0 ? slot.first : slot.second) = absl::StrCat("'", kv.second, "'");
    }
  }
  std::vector<std::string> out;
  for (const auto& [name, values] : both) {
    if (values.first != values.second) {
      out.push_back(absl::StrCat(name, ": ", a_name, " has ", values.first, ", ", b_name, " has ", values.second));
    }
  }
  return absl::StrJoin(out, "; ");
}

std::string JoinRanks(const std::vector<int>& ranks) {
  if (ranks.size() <= 1) return absl::StrJoin(ranks, "");
  return absl::StrCat(absl::StrJoin(ranks.begin(), ranks.end() - 1, ", "), " and ", ranks.back());
}

}  // namespace hardgnn::dist
