#ifndef HARDGNN_CORE_DATA_INPUT_FORMAT_H_
#define HARDGNN_CORE_DATA_INPUT_FORMAT_H_

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
};

// "selfgnn", "gowalla", "movielens_dat", "movielens_csv", "amazon", "generic".
absl::StatusOr<InputFormat> ParseInputFormat(absl::string_view name);
const char* InputFormatName(InputFormat format);

// Guesses from the path alone: a folder holding `tst_int` is a SelfGNN release; then, on
// the file name without ".gz": "*gowalla*" or "*checkins*" -> gowalla; "*.dat" ->
// movielens_dat; "ratings.csv" -> movielens_csv; "*amazon*.csv" or "ratings_*.csv" ->
// amazon; "*.tsv" or "*.txt" -> generic. Anything else is an error asking for --format.
absl::StatusOr<InputFormat> GuessInputFormat(const std::string& path);

// Parses text content (already decompressed) in one of the text formats.
absl::StatusOr<InteractionLog> ParseInteractions(InputFormat format, absl::string_view content,
                                                 const std::string& file);

// Reads a text-format file, plain or gzip (detected by content), and parses it.
absl::StatusOr<InteractionLog> ReadInteractionFile(const std::string& path, InputFormat format);

}  // namespace hardgnn::data

#endif  // HARDGNN_CORE_DATA_INPUT_FORMAT_H_
