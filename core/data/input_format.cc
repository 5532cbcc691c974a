#include "core/data/input_format.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/data/file_io.h"
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
};

}  // namespace

absl::StatusOr<InputFormat> ParseInputFormat(absl::string_view name) {
  for (const FormatName& f : kFormats) {
    if (name == f.name) return f.format;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown input format '", name, "' (known: selfgnn, gowalla, movielens_dat, movielens_csv, amazon, generic)"));
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
  if (absl::StrContains(base, "gowalla") || absl::StrContains(base, "checkins")) return InputFormat::kGowalla;
  if (absl::EndsWith(base, ".dat")) return InputFormat::kMovieLensDat;
  if (base == "ratings.csv") return InputFormat::kMovieLensCsv;
  if (absl::EndsWith(base, ".csv") && (absl::StrContains(base, "amazon") || absl::StartsWith(base, "ratings_"))) {
    return InputFormat::kAmazon;
  }
  if (absl::EndsWith(base, ".tsv") || absl::EndsWith(base, ".txt")) return InputFormat::kGeneric;
  return absl::InvalidArgumentError(absl::StrCat(
      path, ": cannot guess the input format from the name; pass --format=",
      "selfgnn|gowalla|movielens_dat|movielens_csv|amazon|generic"));
}

absl::StatusOr<InteractionLog> ParseInteractions(InputFormat format, absl::string_view content,
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
    case InputFormat::kSelfGnn:
      break;
  }
  return absl::InvalidArgumentError(
      absl::StrCat(file, ": format '", InputFormatName(format), "' is not a text format"));
}

absl::StatusOr<InteractionLog> ReadInteractionFile(const std::string& path, InputFormat format) {
  absl::StatusOr<std::string> content = ReadMaybeGzippedFile(path);
  if (!content.ok()) return content.status();
  return ParseInteractions(format, *content, path);
}

}  // namespace hardgnn::data
