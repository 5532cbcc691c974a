#ifndef HARDGNN_CORE_DATA_TEXT_READERS_H_
#define HARDGNN_CORE_DATA_TEXT_READERS_H_

// Readers of the raw timestamped interaction logs. Each parses text already in memory
// (`content`, decompressed) and names `file` in its errors: "<file>:<line>: <problem>".
// Blank lines are skipped; any other malformed line, a timestamp that is not a
// non-negative integer (or, for Gowalla, not ISO-8601 UTC), or a file without a single
// interaction is an error. Nothing is filtered here, and numeric timestamps are returned as
// written: ParseInteractions (input_format.h) converts their unit and checks plausibility.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/data/interaction_log.h"

namespace hardgnn::data {

// SNAP loc-Gowalla check-ins: "user \t YYYY-MM-DDTHH:MM:SSZ \t latitude \t longitude \t
// location_id", no header. Items are location ids.
absl::StatusOr<InteractionLog> ParseGowallaCheckins(absl::string_view content, const std::string& file);

// MovieLens ratings.dat: "user::item::rating::unix_seconds", integer ids, no header.
absl::StatusOr<InteractionLog> ParseMovieLensDat(absl::string_view content, const std::string& file);

// MovieLens ratings.csv: a header line (userId,movieId,rating,timestamp), then
// "user,item,rating,unix_seconds" with integer ids.
absl::StatusOr<InteractionLog> ParseMovieLensCsv(absl::string_view content, const std::string& file);

// Amazon ratings CSV: "user,item,rating,unix_seconds", string ids, no header.
absl::StatusOr<InteractionLog> ParseAmazonRatings(absl::string_view content, const std::string& file);

// Generic "user item unix_seconds" with string or integer ids. The delimiter is taken from
// the first non-blank line: tab if it has one, else comma if it has one, else runs of
// spaces. That first line is skipped as a header if its third field has no digit at all
// (e.g. "user,item,timestamp").
absl::StatusOr<InteractionLog> ParseGenericTriples(absl::string_view content, const std::string& file);

}  // namespace hardgnn::data

#endif  // HARDGNN_CORE_DATA_TEXT_READERS_H_
