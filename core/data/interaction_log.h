#ifndef HARDGNN_CORE_DATA_INTERACTION_LOG_H_
#define HARDGNN_CORE_DATA_INTERACTION_LOG_H_

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"

namespace hardgnn::data {

// One event: user `user` interacted with item `item` at unix second `time`. The ids index
// InteractionLog's name tables.
struct Interaction {
  int32_t user;
  int32_t item;
  int64_t time;
};

// A (user, item, time) triple with the original ids, for building logs by hand.
struct Triple {
  std::string user;
  std::string item;
  int64_t time;
};

// The earliest and latest event times of a log and the 1-based file lines they came from
// (the first such line on ties; 0 when the events were not read from a file).
struct TimeExtremes {
  int64_t min_time = 0;
  int64_t max_time = 0;
  int64_t min_line = 0;
  int64_t max_line = 0;
};

// What every reader produces: the raw events in file order, with the original user and
// item ids interned to 0-based ints in order of first appearance. No filtering, no sorting.
class InteractionLog {
 public:
  InteractionLog() = default;
  // Builds a log from triples, e.g. InteractionLog::FromTriples({{"u1", "a", 10}, ...}).
  static InteractionLog FromTriples(const std::vector<Triple>& triples);

  // `line`: where the event is in its file, for error messages (0: unknown).
  void Add(absl::string_view user, absl::string_view item, int64_t time, int64_t line = 0);
  // Divides every time by `divisor` >= 1, rounding down (times are >= 0), e.g. 1000 to turn
  // milliseconds into seconds.
  void DivideTimes(int64_t divisor);

  int32_t num_users() const { return static_cast<int32_t>(user_names_.size()); }
  int32_t num_items() const { return static_cast<int32_t>(item_names_.size()); }
  int64_t size() const { return static_cast<int64_t>(events_.size()); }
  const std::vector<Interaction>& events() const { return events_; }
  const std::string& user_name(int32_t u) const { return user_names_[u]; }
  const std::string& item_name(int32_t i) const { return item_names_[i]; }
  // Meaningless while size() == 0.
  const TimeExtremes& time_extremes() const { return extremes_; }

  // Free text saying where the events came from (reader and path); copied into
  // PreparedDataset::source.
  std::string source;
  // Doubts about the data that do not stop preparation (e.g. an implausible time span),
  // one sentence each; `hardgnn prepare` prints them and writes them into stats.json.
  std::vector<std::string> warnings;

 private:
  static int32_t Intern(absl::string_view name, absl::flat_hash_map<std::string, int32_t>* ids,
                        std::vector<std::string>* names);

  absl::flat_hash_map<std::string, int32_t> user_ids_;
  absl::flat_hash_map<std::string, int32_t> item_ids_;
  std::vector<std::string> user_names_;
  std::vector<std::string> item_names_;
  std::vector<Interaction> events_;
  TimeExtremes extremes_;
};

}  // namespace hardgnn::data

#endif  // HARDGNN_CORE_DATA_INTERACTION_LOG_H_
