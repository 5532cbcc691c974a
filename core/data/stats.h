#ifndef HARDGNN_CORE_DATA_STATS_H_
#define HARDGNN_CORE_DATA_STATS_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/data/dataset.h"

namespace hardgnn::data {

struct DatasetStats {
  std::string name;
  int64_t users = 0;
  int64_t items = 0;
  int64_t interactions = 0;    // events, repeats included
  int64_t distinct_pairs = 0;  // nnz of `interacted`
  double density = 0;          // interactions / (users * items)
  double pair_density = 0;     // distinct_pairs / (users * items)
  int64_t time_min = 0;        // over all events (0 if none)
  int64_t time_max = 0;
  int64_t training_events = 0;
  std::vector<int64_t> slice_edges;   // distinct (user, item) pairs per slice
  std::vector<int64_t> slice_bounds;
  int64_t eval_users = 0;
  int32_t negatives_per_user = 0;
  std::string fingerprint;  // FingerprintHex
};

DatasetStats ComputeStats(const PreparedDataset& ds);

// stats.json: the statistics, then "preprocessing": {report rows} (values are JSON literals,
// as PrepareReport::ToKeyValues gives them).
std::string StatsToJson(const DatasetStats& stats,
                        const std::vector<std::pair<std::string, std::string>>& preprocessing);

// The same as an aligned two-column text table, for the terminal.
std::string StatsToTable(const DatasetStats& stats,
                         const std::vector<std::pair<std::string, std::string>>& preprocessing);

// A warning, or none, when time slices hold almost no training edges (under a tenth of an
// even share each, e.g. 159 of 683k with 12 slices): SelfGNN's short-term graphs of those
// slices are nearly empty. It names the slices, their dates and counts and suggests
// --time_begin (where the thin slices come first: the first full slice's start) or fewer
// --slices.
std::vector<std::string> ThinSliceWarnings(const DatasetStats& stats);

// A JSON string literal (quoted and escaped).
std::string JsonString(const std::string& s);

}  // namespace hardgnn::data

#endif  // HARDGNN_CORE_DATA_STATS_H_
