#include "core/data/interaction_log.h"

namespace hardgnn::data {

InteractionLog InteractionLog::FromTriples(const std::vector<Triple>& triples) {
  InteractionLog log;
  log.source = "triples";
  for (const Triple& t : triples) log.Add(t.user, t.item, t.time);
  return log;
}

int32_t InteractionLog::Intern(absl::string_view name,
                               absl::flat_hash_map<std::string, int32_t>* ids,
                               std::vector<std::string>* names) {
  auto [it, inserted] = ids->try_emplace(std::string(name), static_cast<int32_t>(names->size()));
  if (inserted) names->emplace_back(name);
  return it->second;
}

void InteractionLog::Add(absl::string_view user, absl::string_view item, int64_t time, int64_t line) {
  const int32_t u = Intern(user, &user_ids_, &user_names_);
  const int32_t i = Intern(item, &item_ids_, &item_names_);
  if (events_.empty() || time < extremes_.min_time) {
    extremes_.min_time = time;
    extremes_.min_line = line;
  }
  if (events_.empty() || time > extremes_.max_time) {
    extremes_.max_time = time;
    extremes_.max_line = line;
  }
  events_.push_back({u, i, time});
}

void InteractionLog::DivideTimes(int64_t divisor) {
  for (Interaction& e : events_) e.time /= divisor;
  extremes_.min_time /= divisor;
  extremes_.max_time /= divisor;
}

}  // namespace hardgnn::data
