#include "core/data/text_fields.h"

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace hardgnn::data {
namespace {

absl::string_view Trim(absl::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int64_t y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

bool Digits(absl::string_view s, size_t pos, size_t len, int64_t* out) {
  int64_t v = 0;
  for (size_t i = pos; i < pos + len; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

}  // namespace

absl::Status LineError(const std::string& file, int64_t line, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(file, ":", line, ": ", problem));
}

std::string Quote(absl::string_view field) {
  constexpr size_t kMax = 40;
  std::string q = absl::CHexEscape(field.substr(0, kMax));
  return absl::StrCat("'", q, field.size() > kMax ? "...'" : "'");
}

void SplitFields(absl::string_view line, char delim, std::vector<absl::string_view>* fields) {
  fields->clear();
  size_t pos = 0;
  while (true) {
    const size_t end = line.find(delim, pos);
    if (end == absl::string_view::npos) {
      fields->push_back(Trim(line.substr(pos)));
      return;
    }
    fields->push_back(Trim(line.substr(pos, end - pos)));
    pos = end + 1;
  }
}

void SplitOnWhitespace(absl::string_view line, std::vector<absl::string_view>* fields) {
  fields->clear();
  size_t pos = 0;
  while (pos < line.size()) {
    while (pos < line.size() && (line[pos] == ' ' || line[pos] == '\t')) ++pos;
    if (pos == line.size()) break;
    size_t end = pos;
    while (end < line.size() && line[end] != ' ' && line[end] != '\t') ++end;
    fields->push_back(line.substr(pos, end - pos));
    pos = end;
  }
}

bool IsDigits(absl::string_view field) {
  if (field.empty()) return false;
  for (char c : field) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

bool IsNumber(absl::string_view field) {
  double unused;
  if (field.empty() || field.size() > 64) return false;
  // SimpleAtod also accepts "inf" and "nan": ratings and coordinates must be finite.
  for (char c : field) {
    if (!((c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E')) return false;
  }
  return absl::SimpleAtod(field, &unused);
}

bool ParseUnixSeconds(absl::string_view field, int64_t* out, std::string* problem) {
  if (!field.empty() && field[0] == '-' && IsDigits(field.substr(1))) {
    *problem = absl::StrCat("timestamp ", Quote(field), " is negative");
    return false;
  }
  if (!IsDigits(field)) {
    *problem = absl::StrCat("timestamp ", Quote(field), " is not a non-negative integer (unix seconds)");
    return false;
  }
  if (!absl::SimpleAtoi(field, out)) {
    *problem = absl::StrCat("timestamp ", Quote(field), " is out of range");
    return false;
  }
  return true;
}

bool ParseIso8601Utc(absl::string_view f, int64_t* out, std::string* problem) {
  int64_t y, mo, d, h, mi, s;
  const bool shape = f.size() == 20 && f[4] == '-' && f[7] == '-' && f[10] == 'T' && f[13] == ':' &&
                     f[16] == ':' && f[19] == 'Z' && Digits(f, 0, 4, &y) && Digits(f, 5, 2, &mo) &&
                     Digits(f, 8, 2, &d) && Digits(f, 11, 2, &h) && Digits(f, 14, 2, &mi) &&
                     Digits(f, 17, 2, &s);
  if (!shape) {
    *problem = absl::StrCat("time ", Quote(f), " is not ISO-8601 UTC (YYYY-MM-DDTHH:MM:SSZ)");
    return false;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > DaysInMonth(y, static_cast<int>(mo)) || h > 23 || mi > 59 ||
      s > 60) {
    *problem = absl::StrCat("time ", Quote(f), " is not a valid date and time");
    return false;
  }
  const int64_t t = DaysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
  if (t < 0) {
    *problem = absl::StrCat("time ", Quote(f), " is before 1970 (negative unix time)");
    return false;
  }
  *out = t;
  return true;
}

static void CivilFromUnixSeconds(int64_t t, int64_t* year, int64_t* month, int64_t* day) {
  // Inverse of DaysFromCivil; exact for every t >= 0, INT64_MAX included.
  const int64_t days = t / 86400 + 719468;
  const int64_t era = days / 146097;
  const int64_t doe = days - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  *day = doy - (153 * mp + 2) / 5 + 1;
  *month = mp < 10 ? mp + 3 : mp - 9;
  *year = yoe + era * 400 + (*month <= 2);
}

int64_t UtcYear(int64_t t) {
  int64_t y, m, d;
  CivilFromUnixSeconds(t, &y, &m, &d);
  return y;
}

std::string FormatUtc(int64_t t) {
  if (t < 0 || t > 253402300799) return absl::StrCat(t);  // outside years 1970..9999
  int64_t y, m, d;
  CivilFromUnixSeconds(t, &y, &m, &d);
  const int64_t secs = t % 86400;
  return absl::StrFormat("%04d-%02d-%02d %02d:%02d:%02d", y, m, d, secs / 3600, secs / 60 % 60, secs % 60);
}

}  // namespace hardgnn::data
