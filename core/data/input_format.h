#ifndef HARDGNN_CORE_DATA_INPUT_FORMAT_H_
#define HARDGNN_CORE_DATA_INPUT_FORMAT_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/data/interaction_log.h"

namespace hardgnn::data {

enum class InputFormat {
  kSelfGnn,        // "selfgnn": a SelfGNN release folder (see selfgnn_release.h)
  kGowalla,        // "gowalla"
  kMovieLensDat,   // "movielens_dat"
  kMovieLensCsv,   // "movielens_csv"
  kAmazon,         // "amazon"
  kGeneric,        // "generic"
  kCsrPickle,      // "csr_pickle": a pickled scipy csr_matrix of event times (csr_pickle_reader.h)
};

// "selfgnn", "gowalla", "movielens_dat", "movielens_csv", "amazon", "generic", "csr_pickle".
absl::StatusOr<InputFormat> ParseInputFormat(absl::string_view name);
const char* InputFormatName(InputFormat format);

// Guesses from the path alone: a folder holding `tst_int` is a SelfGNN release; then, on
// the file name without ".gz": "*.pkl" or "*.pickle" -> csr_pickle; "*gowalla*" or
// "*checkins*" -> gowalla; "*.dat" -> movielens_dat; "ratings.csv" -> movielens_csv;
// "*amazon*.csv" or "ratings_*.csv" -> amazon; "*.tsv" or "*.txt" -> generic. Anything else
// is an error asking for --format.
absl::StatusOr<InputFormat> GuessInputFormat(const std::string& path);

// The unit of a log's numeric timestamps (prepare --time_unit=s|ms|us|ns).
enum class TimeUnit { kSeconds, kMilliseconds, kMicroseconds, kNanoseconds };

absl::StatusOr<TimeUnit> ParseTimeUnit(absl::string_view name);  // "s", "ms", "us", "ns"
const char* TimeUnitName(TimeUnit unit);

// Times beyond which (or, for a unit other than seconds, before which) a converted timestamp
// cannot be an event time: 3000-01-01 and 1971-01-01 UTC.
constexpr int64_t kLatestPlausibleTime = 32503680000;
constexpr int64_t kEarliestPlausibleTime = 31536000;
// A log spanning more than 50 years (of 365.2425 days) gets a warning.
constexpr int64_t kSuspiciousTimeSpan = 50 * 31556952;

// Converts the log's times from `unit` to unix seconds (rounding down: events of one user
// within one second then keep their file order) and checks them; `file` names the log in
// messages. An error "<file>:<line>: ..." when the latest time is in the year 3000 or later
// or, for a unit other than seconds, before 1971 (small "seconds" are allowed: some logs
// hold ordinal positions); the message suggests the unit that would fit. A span of more
// than 50 years adds a warning to log->warnings naming the lines of both extremes.
absl::Status NormalizeTimes(TimeUnit unit, bool numeric_times, const std::string& file, InteractionLog* log);

// Parses a file's content (already decompressed) in one of the file formats (every format
// but selfgnn), then NormalizeTimes. Gowalla's times are dates: any unit but seconds is an
// error there.
absl::StatusOr<InteractionLog> ParseInteractions(InputFormat format, absl::string_view content,
                                                 const std::string& file, TimeUnit unit = TimeUnit::kSeconds);

// Reads a file in one of the file formats, plain or gzip (detected by content), and parses it.
absl::StatusOr<InteractionLog> ReadInteractionFile(const std::string& path, InputFormat format,
                                                   TimeUnit unit = TimeUnit::kSeconds);

}  // namespace hardgnn::data

#endif  // HARDGNN_CORE_DATA_INPUT_FORMAT_H_
