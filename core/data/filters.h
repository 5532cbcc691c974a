#ifndef HARDGNN_CORE_DATA_FILTERS_H_
#define HARDGNN_CORE_DATA_FILTERS_H_

// Event filters used by Prepare. Each keeps the surviving events in their original order.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/data/interaction_log.h"

namespace hardgnn::data {

// Users, items and events left after one filtering step, for the preprocessing report.
struct FilterPass {
  std::string name;
  int64_t users = 0;
  int64_t items = 0;
  int64_t events = 0;
};

FilterPass Census(const std::string& name, const std::vector<Interaction>& events);

// Keeps events with begin <= time < end (either bound optional).
std::vector<Interaction> FilterTimeWindow(const std::vector<Interaction>& events, std::optional<int64_t> begin,
                                          std::optional<int64_t> end);

// Iterated k-core on event counts: repeatedly removes every user with fewer than k events
// and every item with fewer than k events until none is left to remove, so every user and
// item of the result has >= k events (repeat interactions count). k <= 1 keeps everything.
// *rounds (optional) receives the number of removal rounds.
std::vector<Interaction> KCore(std::vector<Interaction> events, int32_t k, int32_t* rounds = nullptr);

// The published SelfGNN notebook's filter (SPEC §1.3 step 3), on counts of *distinct*
// (user, item) pairs: (0) users >= 20 and items >= 20, counted once, together; (1) users
// >= 15; (2) users >= 5; items are never re-filtered after pass 0. Appends one FilterPass
// per pass to *passes.
std::vector<Interaction> SelfGnnFilter(std::vector<Interaction> events, std::vector<FilterPass>* passes);

}  // namespace hardgnn::data

#endif  // HARDGNN_CORE_DATA_FILTERS_H_
