#include "core/data/filters.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_set.h"

namespace hardgnn::data {
namespace {

int32_t MaxId(const std::vector<Interaction>& events, bool users) {
  int32_t m = -1;
  for (const Interaction& e : events) m = std::max(m, users ? e.user : e.item);
  return m;
}

// Per-user and per-item counts: of events, or of distinct (user, item) pairs.
void Count(const std::vector<Interaction>& events, bool distinct, std::vector<int64_t>* user_count,
           std::vector<int64_t>* item_count) {
  user_count->assign(MaxId(events, true) + 1, 0);
  item_count->assign(MaxId(events, false) + 1, 0);
  if (!distinct) {
    for (const Interaction& e : events) {
      ++(*user_count)[e.user];
      ++(*item_count)[e.item];
    }
    return;
  }
  std::vector<std::pair<int32_t, int32_t>> pairs;
  pairs.reserve(events.size());
  for (const Interaction& e : events) pairs.emplace_back(e.user, e.item);
  std::sort(pairs.begin(), pairs.end());
  pairs.erase(std::unique(pairs.begin(), pairs.end()), pairs.end());
  for (const auto& [u, i] : pairs) {
    ++(*user_count)[u];
    ++(*item_count)[i];
  }
}

std::vector<Interaction> KeepIf(const std::vector<Interaction>& events, const std::vector<int64_t>& user_count,
                                int64_t min_user, const std::vector<int64_t>& item_count, int64_t min_item) {
  std::vector<Interaction> kept;
  kept.reserve(events.size());
  for (const Interaction& e : events) {
    if (user_count[e.user] >= min_user && item_count[e.item] >= min_item) kept.push_back(e);
  }
  return kept;
}

}  // namespace

FilterPass Census(const std::string& name, const std::vector<Interaction>& events) {
  absl::flat_hash_set<int32_t> users, items;
  for (const Interaction& e : events) {
    users.insert(e.user);
    items.insert(e.item);
  }
  return {name, static_cast<int64_t>(users.size()), static_cast<int64_t>(items.size()),
          static_cast<int64_t>(events.size())};
}

std::vector<Interaction> FilterTimeWindow(const std::vector<Interaction>& events, std::optional<int64_t> begin,
                                          std::optional<int64_t> end) {
  std::vector<Interaction> kept;
  kept.reserve(events.size());
  for (const Interaction& e : events) {
    if ((!begin || e.time >= *begin) && (!end || e.time < *end)) kept.push_back(e);
  }
  return kept;
}

std::vector<Interaction> KCore(std::vector<Interaction> events, int32_t k, int32_t* rounds) {
  int32_t r = 0;
  if (k > 1) {
    std::vector<int64_t> user_count, item_count;
    while (true) {
      Count(events, /*distinct=*/false, &user_count, &item_count);
      std::vector<Interaction> kept = KeepIf(events, user_count, k, item_count, k);
      if (kept.size() == events.size()) break;
      events = std::move(kept);
      ++r;
    }
  }
  if (rounds != nullptr) *rounds = r;
  return events;
}

std::vector<Interaction> SelfGnnFilter(std::vector<Interaction> events, std::vector<FilterPass>* passes) {
  std::vector<int64_t> user_count, item_count;
  Count(events, /*distinct=*/true, &user_count, &item_count);
  events = KeepIf(events, user_count, 20, item_count, 20);
  passes->push_back(Census("selfgnn pass 0: users >= 20 and items >= 20 distinct pairs", events));
  for (const int64_t min_user : {15, 5}) {
    Count(events, /*distinct=*/true, &user_count, &item_count);
    events = KeepIf(events, user_count, min_user, item_count, 0);
    passes->push_back(Census(min_user == 15 ? "selfgnn pass 1: users >= 15 distinct items"
                                            : "selfgnn pass 2: users >= 5 distinct items",
                             events));
  }
  return events;
}

}  // namespace hardgnn::data
