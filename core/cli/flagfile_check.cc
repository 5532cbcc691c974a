#include "core/cli/flagfile_check.h"

#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <gflags/gflags.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace hardgnn {
namespace {

bool IsDefined(const std::string& name) {
  gflags::CommandLineFlagInfo info;
  if (gflags::GetCommandLineFlagInfo(name.c_str(), &info)) return true;
  // --nofoo is --foo=false for a boolean foo.
  return absl::StartsWith(name, "no") && gflags::GetCommandLineFlagInfo(name.substr(2).c_str(), &info) &&
         info.type == "bool";
}

// "--name=value", "-name" ... -> "name"; empty for a word that does not start with '-'.
std::string FlagName(absl::string_view word) {
  if (!absl::ConsumePrefix(&word, "--") && !absl::ConsumePrefix(&word, "-")) return "";
  return std::string(word.substr(0, word.find('=')));
}

// `origin` is "FILE:LINE: " of the line that names `path`, empty on the command line.
absl::Status CheckFile(const std::string& path, const std::string& origin, std::set<std::string>& seen) {
  if (!seen.insert(path).second) return absl::OkStatus();  // checked already (and a cycle ends)
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat(origin, path, ": cannot open the flagfile"));
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    const absl::string_view text = absl::StripAsciiWhitespace(line);
    const std::string name = FlagName(text);
    if (name.empty()) continue;  // a comment or one of gflags' program-name filter lines
    if (!IsDefined(name)) {
      return absl::InvalidArgumentError(absl::StrCat(path, ":", number, ": unknown flag '--", name,
                                                     "' (gflags would ignore it; see --helpfull)"));
    }
    if (name == "flagfile") {
      const std::string here = absl::StrCat(path, ":", number, ": ");
      const size_t eq = text.find('=');
      // In a file gflags reads one flag per line, so "--flagfile FILE" names no file.
      if (eq == absl::string_view::npos) return absl::InvalidArgumentError(absl::StrCat(here, "--flagfile needs =FILE"));
      for (absl::string_view nested : absl::StrSplit(text.substr(eq + 1), ',', absl::SkipEmpty())) {
        if (absl::Status s = CheckFile(std::string(nested), here, seen); !s.ok()) return s;
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckFlagfiles(const std::vector<std::string>& args) {
  std::set<std::string> seen;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--") break;  // gflags stops there too
    if (FlagName(args[i]) != "flagfile") continue;
    const size_t eq = args[i].find('=');
    std::string value;
    if (eq != std::string::npos) {
      value = args[i].substr(eq + 1);
    } else if (i + 1 < args.size()) {
      value = args[++i];  // "--flagfile FILE"
    }
    for (absl::string_view file : absl::StrSplit(value, ',', absl::SkipEmpty())) {
      if (absl::Status s = CheckFile(std::string(file), "", seen); !s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

}  // namespace hardgnn
