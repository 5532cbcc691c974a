#ifndef HARDGNN_CORE_DATA_TEXT_FIELDS_H_
#define HARDGNN_CORE_DATA_TEXT_FIELDS_H_

// Small parsing helpers shared by the text readers: line iteration, field splitting,
// timestamps, and error messages of the form "<file>:<line>: <problem>".

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace hardgnn::data {

// "<file>:<line>: <problem>" as an InvalidArgument status.
absl::Status LineError(const std::string& file, int64_t line, absl::string_view problem);

// A field quoted for an error message: escaped, at most 40 characters.
std::string Quote(absl::string_view field);

// Calls fn(line_number, line) for every non-blank line of `content` (1-based numbers; the
// '\n' and a trailing '\r' removed); stops at, and returns, the first error fn returns.
template <typename Fn>
absl::Status ForEachLine(absl::string_view content, Fn fn) {
  int64_t number = 0;
  size_t pos = 0;
  while (pos < content.size()) {
    size_t end = content.find('\n', pos);
    if (end == absl::string_view::npos) end = content.size();
    absl::string_view line = content.substr(pos, end - pos);
    pos = end + 1;
    ++number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == absl::string_view::npos) continue;
    absl::Status s = fn(number, line);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

// Splits on `delim`, keeping empty fields; ASCII spaces around each field are trimmed.
void SplitFields(absl::string_view line, char delim, std::vector<absl::string_view>* fields);
// Splits on runs of spaces and tabs.
void SplitOnWhitespace(absl::string_view line, std::vector<absl::string_view>* fields);

// Parses a non-negative integer number of unix seconds. On failure returns false and sets
// *problem (e.g. "timestamp '-5' is negative").
bool ParseUnixSeconds(absl::string_view field, int64_t* out, std::string* problem);
// Parses "YYYY-MM-DDTHH:MM:SSZ" (UTC) into unix seconds, with the same contract.
bool ParseIso8601Utc(absl::string_view field, int64_t* out, std::string* problem);
// True if `field` is a number (integer or decimal, optional sign and exponent).
bool IsNumber(absl::string_view field);
// True if `field` is a non-empty string of decimal digits.
bool IsDigits(absl::string_view field);

// "YYYY-MM-DD HH:MM:SS" UTC, for reports.
std::string FormatUtc(int64_t unix_seconds);
// The (proleptic Gregorian, UTC) year of unix second `unix_seconds` >= 0, e.g. 52710 for
// 1601234567890 (a time in milliseconds read as seconds).
int64_t UtcYear(int64_t unix_seconds);

}  // namespace hardgnn::data

#endif  // HARDGNN_CORE_DATA_TEXT_FIELDS_H_
