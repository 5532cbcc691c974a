#ifndef HARDGNN_CORE_CLI_JSON_H_
#define HARDGNN_CORE_CLI_JSON_H_

#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace hardgnn {

// A parsed JSON value: enough to read back what hardgnn writes (summary.json, log.jsonl).
struct Json {
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject };
  Kind kind = Kind::kNull;
  bool boolean = false;
  double number = 0;
  std::string string;
  std::vector<Json> array;
  std::vector<std::pair<std::string, Json>> object;  // in file order

  // The value at a path of object keys, or null when a key is missing or a value on the way
  // is not an object.
  const Json* At(std::initializer_list<absl::string_view> path) const;
};

// Parses one JSON document (RFC 8259); an error says what was expected and at which byte.
absl::StatusOr<Json> ParseJson(absl::string_view text);

}  // namespace hardgnn

#endif  // HARDGNN_CORE_CLI_JSON_H_
