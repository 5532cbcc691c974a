#include "core/data/input_format.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/data/csr_pickle_reader.h"
#include "core/data/file_io.h"
#include "core/data/text_fields.h"
#include "core/data/text_readers.h"

namespace hardgnn::data {
namespace {

struct FormatName {
  InputFormat format;
  const char* name;
};

constexpr FormatName kFormats[] = {
    {InputFormat::kSelfGnn, "selfgnn"},         {InputFormat::kGowalla, "gowalla"},
    {InputFormat::kMovieLensDat, "movielens_dat"}, {InputFormat::kMovieLensCsv, "movielens_csv"},
    {InputFormat::kAmazon, "amazon"},           {InputFormat::kGeneric, "generic"},
    {InputFormat::kCsrPickle, "csr_pickle"},
};

// "selfgnn, gowalla, ..." (with ", ") or "selfgnn|gowalla|..." (with "|").
std::string FormatNames(absl::string_view separator) {
  std::string names;
  for (const FormatName& f : kFormats) absl::StrAppend(&names, names.empty() ? "" : separator, f.name);
  return names;
}

struct UnitInfo {
  TimeUnit unit;
  const char* name;
  const char* word;
  int64_t per_second;
};

constexpr UnitInfo kUnits[] = {
    {TimeUnit::kSeconds, "s", "seconds", 1},
    {TimeUnit::kMilliseconds, "ms", "milliseconds", 1000},
    {TimeUnit::kMicroseconds, "us", "microseconds", 1000000},
    {TimeUnit::kNanoseconds, "ns", "nanoseconds", 1000000000},
};

const UnitInfo& Info(TimeUnit unit) {
  for (const UnitInfo& u : kUnits) {
    if (u.unit == unit) return u;
  }
  return kUnits[0];
}

bool Plausible(int64_t unix_seconds) {
  return unix_seconds >= kEarliestPlausibleTime && unix_seconds < kLatestPlausibleTime;
}

// "<file>:<line>", or "<file>" when the line is unknown.
std::string Where(const std::string& file, int64_t line) {
  return line > 0 ? absl::StrCat(file, ":", line) : file;
}

// " (line N)", or "" when the line is unknown.
std::string OnLine(int64_t line) { return line > 0 ? absl::StrCat(" (line ", line, ")") : ""; }

// Advice on a latest raw time that is implausible in the unit given: the smallest unit that
// makes it plausible, provided the earliest raw time is plausible in that unit too.
std::string UnitHint(const TimeExtremes& raw) {
  for (const UnitInfo& u : kUnits) {
    if (!Plausible(raw.max_time / u.per_second)) continue;
    if (Plausible(raw.min_time / u.per_second)) {
      return absl::StrCat("it looks like ", u.word, ": pass --time_unit=", u.name);
    }
    return absl::StrCat("it would fit as ", u.word, ", but the earliest timestamp ", raw.min_time,
                        OnLine(raw.min_line), " would not: fix the log");
  }
  return "no unit (s, ms, us, ns) makes it a plausible time: fix or remove that line";
}

// The error for a latest time at or after kLatestPlausibleTime once converted.
absl::Status TooLate(const UnitInfo& u, bool numeric_times, const std::string& file, const TimeExtremes& raw) {
  const std::string where = Where(file, raw.max_line);
  if (!numeric_times) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": time ", FormatUtc(raw.max_time),
                                                   " UTC is in the year 3000 or later: not an event time"));
  }
  return absl::InvalidArgumentError(absl::StrCat(where, ": timestamp ", raw.max_time, " is not unix ", u.word,
                                                 " (year ", UtcYear(raw.max_time / u.per_second), "); ",
                                                 UnitHint(raw)));
}

// The error for a latest time before kEarliestPlausibleTime once converted from a unit
// other than seconds (the value was probably in a coarser unit).
absl::Status TooEarly(const UnitInfo& u, const std::string& file, const TimeExtremes& raw) {
  return absl::InvalidArgumentError(absl::StrCat(
      Where(file, raw.max_line), ": the latest timestamp, ", raw.max_time, ", is ",
      FormatUtc(raw.max_time / u.per_second), " UTC in ", u.word, " (--time_unit=", u.name,
      "), before 1971; ", UnitHint(raw)));
}

// "<file>: the timestamps span N years ..." when the span exceeds kSuspiciousTimeSpan.
void WarnAboutSpan(const std::string& file, InteractionLog* log) {
  const TimeExtremes& t = log->time_extremes();
  if (t.max_time - t.min_time <= kSuspiciousTimeSpan) return;
  log->warnings.push_back(absl::StrFormat(
      "%s: the timestamps span %.1f years, from %s UTC%s to %s UTC%s; check %s for placeholder times or mixed "
      "units",
      file, static_cast<double>(t.max_time - t.min_time) / (365.2425 * 86400), FormatUtc(t.min_time),
      OnLine(t.min_line), FormatUtc(t.max_time), OnLine(t.max_line), t.max_line > 0 ? "those lines" : "those values"));
}

absl::StatusOr<InteractionLog> ParseRawInteractions(InputFormat format, absl::string_view content,
                                                    const std::string& file) {
  switch (format) {
    case InputFormat::kGowalla:
      return ParseGowallaCheckins(content, file);
    case InputFormat::kMovieLensDat:
      return ParseMovieLensDat(content, file);
    case InputFormat::kMovieLensCsv:
      return ParseMovieLensCsv(content, file);
    case InputFormat::kAmazon:
      return ParseAmazonRatings(content, file);
    case InputFormat::kGeneric:
      return ParseGenericTriples(content, file);
    case InputFormat::kCsrPickle:
      return ParseCsrPickle(std::string(content), file);
    case InputFormat::kSelfGnn:
      break;
  }
  return absl::InvalidArgumentError(
      absl::StrCat(file, ": format '", InputFormatName(format), "' is a folder, not a file format"));
}

}  // namespace

absl::StatusOr<InputFormat> ParseInputFormat(absl::string_view name) {
  for (const FormatName& f : kFormats) {
    if (name == f.name) return f.format;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown input format '", name, "' (known: ", FormatNames(", "), ")"));
}

const char* InputFormatName(InputFormat format) {
  for (const FormatName& f : kFormats) {
    if (format == f.format) return f.name;
  }
  return "?";
}

absl::StatusOr<InputFormat> GuessInputFormat(const std::string& path) {
  if (IsDirectory(path)) {
    if (FileExists(path + "/tst_int")) return InputFormat::kSelfGnn;
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": a folder without a tst_int file is not a SelfGNN release; pass a file or --format"));
  }
  std::string base = absl::AsciiStrToLower(path.substr(path.find_last_of('/') + 1));
  if (absl::EndsWith(base, ".gz")) base.resize(base.size() - 3);
  if (absl::EndsWith(base, ".pkl") || absl::EndsWith(base, ".pickle")) return InputFormat::kCsrPickle;
  if (absl::StrContains(base, "gowalla") || absl::StrContains(base, "checkins")) return InputFormat::kGowalla;
  if (absl::EndsWith(base, ".dat")) return InputFormat::kMovieLensDat;
  if (base == "ratings.csv") return InputFormat::kMovieLensCsv;
  if (absl::EndsWith(base, ".csv") && (absl::StrContains(base, "amazon") || absl::StartsWith(base, "ratings_"))) {
    return InputFormat::kAmazon;
  }
  if (absl::EndsWith(base, ".tsv") || absl::EndsWith(base, ".txt")) return InputFormat::kGeneric;
  return absl::InvalidArgumentError(
      absl::StrCat(path, ": cannot guess the input format from the name; pass --format=", FormatNames("|")));
}

absl::StatusOr<TimeUnit> ParseTimeUnit(absl::string_view name) {
  for (const UnitInfo& u : kUnits) {
    if (name == u.name) return u.unit;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown time unit '", name, "' (known: s, ms, us, ns)"));
}

const char* TimeUnitName(TimeUnit unit) { return Info(unit).name; }

absl::Status NormalizeTimes(TimeUnit unit, bool numeric_times, const std::string& file, InteractionLog* log) {
  const UnitInfo& u = Info(unit);
  if (!numeric_times && unit != TimeUnit::kSeconds) {
    return absl::InvalidArgumentError(absl::StrCat(file, ": --time_unit=", u.name,
                                                   " applies to numeric timestamps; this format's times are dates"));
  }
  if (log->size() == 0) return absl::OkStatus();
  const TimeExtremes raw = log->time_extremes();
  if (raw.max_time / u.per_second >= kLatestPlausibleTime) return TooLate(u, numeric_times, file, raw);
  if (unit != TimeUnit::kSeconds && raw.max_time / u.per_second < kEarliestPlausibleTime) {
    return TooEarly(u, file, raw);
  }
  if (u.per_second > 1) log->DivideTimes(u.per_second);
  WarnAboutSpan(file, log);
  return absl::OkStatus();
}

absl::StatusOr<InteractionLog> ParseInteractions(InputFormat format, absl::string_view content,
                                                 const std::string& file, TimeUnit unit) {
  absl::StatusOr<InteractionLog> log = ParseRawInteractions(format, content, file);
  if (!log.ok()) return log;
  if (absl::Status s = NormalizeTimes(unit, format != InputFormat::kGowalla, file, &*log); !s.ok()) return s;
  return log;
}

absl::StatusOr<InteractionLog> ReadInteractionFile(const std::string& path, InputFormat format, TimeUnit unit) {
  absl::StatusOr<std::string> content = ReadMaybeGzippedFile(path);
  if (!content.ok()) return content.status();
  return ParseInteractions(format, *content, path, unit);
}

}  // namespace hardgnn::data
