#include "core/data/text_readers.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "core/data/text_fields.h"

namespace hardgnn::data {
namespace {

// Shared tail of every reader: a file without interactions is an error.
absl::StatusOr<InteractionLog> Finish(InteractionLog log, const std::string& file, absl::string_view format) {
  if (log.size() == 0) {
    return absl::InvalidArgumentError(absl::StrCat(file, ": no interactions (empty file?)"));
  }
  log.source = absl::StrCat(format, ":", file);
  return log;
}

absl::Status FieldCountError(const std::string& file, int64_t line, size_t want, size_t got,
                             absl::string_view separator) {
  return LineError(file, line,
                   absl::StrCat("expected ", want, " ", separator, "-separated fields, found ", got));
}

absl::Status CheckId(const std::string& file, int64_t line, absl::string_view id, absl::string_view what,
                     bool integer) {
  if (id.empty()) return LineError(file, line, absl::StrCat("empty ", what, " id"));
  if (integer && !IsDigits(id)) {
    return LineError(file, line, absl::StrCat(what, " id ", Quote(id), " is not a non-negative integer"));
  }
  return absl::OkStatus();
}

// Checks the ids and the unix-seconds field of one line and adds the event.
absl::Status AddEvent(const std::string& file, int64_t line, absl::string_view user, absl::string_view item,
                      absl::string_view time, bool integer_ids, InteractionLog* log) {
  if (absl::Status c = CheckId(file, line, user, "user", integer_ids); !c.ok()) return c;
  if (absl::Status c = CheckId(file, line, item, "item", integer_ids); !c.ok()) return c;
  int64_t t;
  std::string problem;
  if (!ParseUnixSeconds(time, &t, &problem)) return LineError(file, line, problem);
  log->Add(user, item, t, line);
  return absl::OkStatus();
}

// The four-field rating formats: user <sep> item <sep> rating <sep> unix_seconds.
absl::StatusOr<InteractionLog> ParseRatings(absl::string_view content, const std::string& file,
                                            absl::string_view sep, bool integer_ids, bool header,
                                            absl::string_view format) {
  InteractionLog log;
  std::vector<absl::string_view> f;
  bool first = true;
  absl::Status s = ForEachLine(content, [&](int64_t n, absl::string_view line) -> absl::Status {
    if (sep.size() == 1) {
      SplitFields(line, sep[0], &f);
    } else {
      f.clear();
      for (size_t pos = 0;;) {
        const size_t end = line.find(sep, pos);
        f.push_back(line.substr(pos, end == absl::string_view::npos ? absl::string_view::npos : end - pos));
        if (end == absl::string_view::npos) break;
        pos = end + sep.size();
      }
    }
    if (f.size() != 4) return FieldCountError(file, n, 4, f.size(), absl::StrCat("'", sep, "'"));
    if (header && first) {
      first = false;
      if (IsDigits(f[3])) {
        return LineError(file, n, "expected a header line (userId,movieId,rating,timestamp), found data");
      }
      return absl::OkStatus();
    }
    first = false;
    if (!IsNumber(f[2])) return LineError(file, n, absl::StrCat("rating ", Quote(f[2]), " is not a number"));
    return AddEvent(file, n, f[0], f[1], f[3], integer_ids, &log);
  });
  if (!s.ok()) return s;
  return Finish(std::move(log), file, format);
}

}  // namespace

absl::StatusOr<InteractionLog> ParseGowallaCheckins(absl::string_view content, const std::string& file) {
  InteractionLog log;
  std::vector<absl::string_view> f;
  absl::Status s = ForEachLine(content, [&](int64_t n, absl::string_view line) -> absl::Status {
    SplitFields(line, '\t', &f);
    if (f.size() != 5) return FieldCountError(file, n, 5, f.size(), "tab");
    if (absl::Status c = CheckId(file, n, f[0], "user", false); !c.ok()) return c;
    if (absl::Status c = CheckId(file, n, f[4], "location", false); !c.ok()) return c;
    int64_t t;
    std::string problem;
    if (!ParseIso8601Utc(f[1], &t, &problem)) return LineError(file, n, problem);
    if (!IsNumber(f[2])) return LineError(file, n, absl::StrCat("latitude ", Quote(f[2]), " is not a number"));
    if (!IsNumber(f[3])) return LineError(file, n, absl::StrCat("longitude ", Quote(f[3]), " is not a number"));
    log.Add(f[0], f[4], t, n);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return Finish(std::move(log), file, "gowalla");
}

absl::StatusOr<InteractionLog> ParseMovieLensDat(absl::string_view content, const std::string& file) {
  return ParseRatings(content, file, "::", /*integer_ids=*/true, /*header=*/false, "movielens_dat");
}

absl::StatusOr<InteractionLog> ParseMovieLensCsv(absl::string_view content, const std::string& file) {
  return ParseRatings(content, file, ",", /*integer_ids=*/true, /*header=*/true, "movielens_csv");
}

absl::StatusOr<InteractionLog> ParseAmazonRatings(absl::string_view content, const std::string& file) {
  return ParseRatings(content, file, ",", /*integer_ids=*/false, /*header=*/false, "amazon");
}

absl::StatusOr<InteractionLog> ParseGenericTriples(absl::string_view content, const std::string& file) {
  InteractionLog log;
  std::vector<absl::string_view> f;
  char delim = 0;  // 0 until the first line; ' ' means runs of whitespace
  absl::string_view delim_name;
  absl::Status s = ForEachLine(content, [&](int64_t n, absl::string_view line) -> absl::Status {
    bool first = false;
    if (delim == 0) {
      first = true;
      delim = line.find('\t') != absl::string_view::npos ? '\t' : line.find(',') != absl::string_view::npos ? ',' : ' ';
      delim_name = delim == '\t' ? "tab" : delim == ',' ? "comma" : "space";
    }
    if (delim == ' ') {
      SplitOnWhitespace(line, &f);
    } else {
      SplitFields(line, delim, &f);
    }
    if (f.size() != 3) return FieldCountError(file, n, 3, f.size(), delim_name);
    if (first && f[2].find_first_of("0123456789") == absl::string_view::npos) return absl::OkStatus();
    return AddEvent(file, n, f[0], f[1], f[2], /*integer_ids=*/false, &log);
  });
  if (!s.ok()) return s;
  return Finish(std::move(log), file, "generic");
}

}  // namespace hardgnn::data
