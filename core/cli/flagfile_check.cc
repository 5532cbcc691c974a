#include "core/cli/flagfile_check.h"

#include <limits.h>
#include <stdlib.h>

#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

#include <gflags/gflags.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace hardgnn {
namespace {

bool Lookup(const std::string& name, gflags::CommandLineFlagInfo* info) {
  return gflags::GetCommandLineFlagInfo(name.c_str(), info);
}

bool IsDefined(const std::string& name) {
  gflags::CommandLineFlagInfo info;
  if (Lookup(name, &info)) return true;
  // --nofoo is --foo=false for a boolean foo.
  return absl::StartsWith(name, "no") && Lookup(name.substr(2), &info) && info.type == "bool";
}

bool IsBool(const std::string& name) {
  gflags::CommandLineFlagInfo info;
  return !Lookup(name, &info) || info.type == "bool";  // not found: --nofoo, a boolean
}

// "--name=value", "-name", "--name value" ... -> "name"; empty for a word that does not start
// with '-'.
std::string FlagName(absl::string_view word) {
  if (!absl::ConsumePrefix(&word, "--") && !absl::ConsumePrefix(&word, "-")) return "";
  return std::string(word.substr(0, word.find_first_of("= \t")));
}

// `path` as named inside `naming_file`: relative to that file's folder unless absolute.
std::string Resolve(const std::string& path, const std::string& naming_file) {
  if (absl::StartsWith(path, "/")) return path;
  const size_t slash = naming_file.find_last_of('/');
  return slash == std::string::npos ? path : naming_file.substr(0, slash + 1) + path;
}

std::string RealPath(const std::string& path) {
  char buffer[PATH_MAX];
  return ::realpath(path.c_str(), buffer) != nullptr ? std::string(buffer) : path;
}

std::string Here(const std::string& file, int line) { return absl::StrCat(file, ":", line, ": "); }

class Expander {
 public:
  // Appends the flags of `path`; `naming` is the arg that names it (file empty: the command line).
  absl::Status File(const std::string& path, const CommandLine::Arg& naming, const std::string& as_written,
                    std::vector<CommandLine::Arg>& out) {
    const std::string origin = naming.file.empty() ? "" : Here(naming.file, naming.line);
    std::ifstream in(path);
    if (!in) return Missing(path, origin, as_written, naming.file);
    const std::string real = RealPath(path);
    if (std::find(stack_.begin(), stack_.end(), real) != stack_.end()) {
      return absl::InvalidArgumentError(absl::StrCat(origin, path, ": the flagfile includes itself (",
                                                     absl::StrJoin(stack_, " -> "), " -> ", real, ")"));
    }
    stack_.push_back(real);
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
      if (absl::Status s = Line(path, number, absl::StripAsciiWhitespace(line), out); !s.ok()) return s;
    }
    stack_.pop_back();
    return absl::OkStatus();
  }

 private:
  absl::Status Line(const std::string& path, int number, absl::string_view text, std::vector<CommandLine::Arg>& out) {
    if (text.empty() || text[0] == '#') return absl::OkStatus();
    const std::string here = Here(path, number), name = FlagName(text);
    if (name.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(here, "'", text, "' is not a flag (a flagfile holds "
                                                     "--flag=value lines and # comments)"));
    }
    if (!IsDefined(name)) {
      return absl::InvalidArgumentError(
          absl::StrCat(here, "unknown flag '--", name, "' (gflags would ignore it; see --helpfull)"));
    }
    const size_t eq = text.find('=');
    // In a file gflags reads one flag per line, so "--lr 0.1" or "--flagfile FILE" sets nothing.
    if (eq == absl::string_view::npos && !IsBool(name)) {
      return absl::InvalidArgumentError(absl::StrCat(here, "--", name, " needs =", name == "flagfile" ? "FILE" : "VALUE",
                                                     " (one --flag=value per line)"));
    }
    const CommandLine::Arg arg{std::string(text), path, number};
    if (name != "flagfile") {
      out.push_back(arg);
      return absl::OkStatus();
    }
    for (absl::string_view nested : absl::StrSplit(text.substr(eq + 1), ',', absl::SkipEmpty())) {
      const std::string written(nested);
      if (absl::Status s = File(Resolve(written, path), arg, written, out); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

  static absl::Status Missing(const std::string& path, const std::string& origin, const std::string& as_written,
                              const std::string& naming_file) {
    std::string hint;
    if (!naming_file.empty() && path != as_written) {
      hint = absl::StrCat(" (a nested --flagfile is relative to the file that names it, ", naming_file,
                          std::ifstream(as_written) ? absl::StrCat("; '", as_written,
                                                                   "' exists relative to the current directory: "
                                                                   "name it relative to ", naming_file)
                                                    : "",
                          ")");
    }
    return absl::NotFoundError(absl::StrCat(origin, path, ": cannot open the flagfile", hint));
  }

  std::vector<std::string> stack_;  // the files being read, outermost first
};

}  // namespace

std::string CommandLine::Arg::Origin() const { return file.empty() ? "the command line" : absl::StrCat(file, ":", line); }

std::vector<std::string> CommandLine::Texts() const {
  std::vector<std::string> out;
  for (const Arg& a : args) out.push_back(a.text);
  return out;
}

int CommandLine::LastSetting(const std::string& name) const {
  for (int i = static_cast<int>(args.size()) - 1; i >= 0; --i) {
    const std::string flag = FlagName(args[i].text);
    if (flag == name || flag == "no" + name) return i;
  }
  return -1;
}

absl::StatusOr<CommandLine> ExpandFlagfiles(const std::vector<std::string>& args) {
  CommandLine out;
  Expander expander;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--") {  // gflags stops there too
      for (; i < args.size(); ++i) out.args.push_back({args[i], "", 0});
      break;
    }
    if (FlagName(args[i]) != "flagfile") {
      out.args.push_back({args[i], "", 0});
      continue;
    }
    const size_t eq = args[i].find('=');
    std::string value;
    if (eq != std::string::npos) {
      value = args[i].substr(eq + 1);
    } else if (i + 1 < args.size()) {
      value = args[++i];  // "--flagfile FILE"
    }
    for (absl::string_view file : absl::StrSplit(value, ',', absl::SkipEmpty())) {
      if (absl::Status s = expander.File(std::string(file), {}, std::string(file), out.args); !s.ok()) return s;
    }
  }
  return out;
}

absl::Status CheckInputNamedWithIt(const CommandLine& command_line) {
  const int input = command_line.LastSetting("input"), name = command_line.LastSetting("name");
  if (input < 0 || name < 0 || input < name) return absl::OkStatus();
  const CommandLine::Arg &i = command_line.args[input], &n = command_line.args[name];
  if (i.file == n.file) return absl::OkStatus();  // one source sets both, the input last
  return absl::InvalidArgumentError(absl::StrCat(
      i.text, " (", i.Origin(), ") is set after ", n.text, " (", n.Origin(),
      "), which names another input's data: give --name as well, after it (an empty --name= names the data "
      "after the input's folder)"));
}

}  // namespace hardgnn
