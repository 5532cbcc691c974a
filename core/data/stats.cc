#include "core/data/stats.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/data/cache.h"
#include "core/data/text_fields.h"

namespace hardgnn::data {
namespace {

using Rows = std::vector<std::pair<std::string, std::string>>;

std::string Date(int64_t t) { return FormatUtc(t).substr(0, 10); }

// As --time_begin reads it: YYYY-MM-DDTHH:MM:SSZ.
std::string FlagTime(int64_t t) {
  std::string s = FormatUtc(t);
  if (s.size() == 19) s = s.substr(0, 10) + "T" + s.substr(11) + "Z";
  return s;
}

// (key, JSON literal) rows of the statistics, in print order.
Rows StatRows(const DatasetStats& s) {
  // In double: a damaged cache may hold times whose difference overflows int64.
  const double days = (static_cast<double>(s.time_max) - static_cast<double>(s.time_min)) / 86400.0;
  Rows rows = {
      {"name", JsonString(s.name)},
      {"users", absl::StrCat(s.users)},
      {"items", absl::StrCat(s.items)},
      {"interactions", absl::StrCat(s.interactions)},
      {"distinct_pairs", absl::StrCat(s.distinct_pairs)},
      {"density", absl::StrFormat("%.6g", s.density)},
      {"pair_density", absl::StrFormat("%.6g", s.pair_density)},
      {"time_min", absl::StrCat(s.time_min)},
      {"time_max", absl::StrCat(s.time_max)},
      {"time_span", JsonString(absl::StrCat(FormatUtc(s.time_min), " .. ", FormatUtc(s.time_max), " UTC (",
                                            absl::StrFormat("%.1f", days), " days)"))},
      {"training_events", absl::StrCat(s.training_events)},
      {"slice_edges", absl::StrCat("[", absl::StrJoin(s.slice_edges, ", "), "]")},
      {"slice_bounds", absl::StrCat("[", absl::StrJoin(s.slice_bounds, ", "), "]")},
      {"eval_users", absl::StrCat(s.eval_users)},
      {"negatives_per_user", absl::StrCat(s.negatives_per_user)},
      {"fingerprint", JsonString(s.fingerprint)},
  };
  return rows;
}

}  // namespace

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          absl::StrAppendFormat(&out, "\\u%04x", static_cast<int>(c));
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::vector<std::string> ThinSliceWarnings(const DatasetStats& stats) {
  const size_t g = stats.slice_edges.size();
  int64_t total = 0;
  for (int64_t n : stats.slice_edges) total += n;
  if (g < 2 || total == 0 || stats.slice_bounds.size() != g + 1) return {};
  const double even = static_cast<double>(total) / g;
  std::vector<std::string> thin;
  size_t leading = 0;  // thin slices before the first full one
  for (size_t k = 0; k < g; ++k) {
    if (stats.slice_edges[k] >= 0.1 * even) continue;
    if (leading == k) ++leading;
    thin.push_back(absl::StrFormat("slice %d (%s .. %s) holds %d", k + 1, Date(stats.slice_bounds[k]),
                                   Date(stats.slice_bounds[k + 1]), stats.slice_edges[k]));
  }
  if (thin.empty()) return {};
  const std::string advice =
      leading > 0 && leading < g
          ? absl::StrCat("start later with --time_begin=", FlagTime(stats.slice_bounds[leading]), " (where slice ",
                         leading + 1, " begins) or use fewer --slices")
          : "use fewer --slices";
  return {absl::StrFormat("%d of %d time slices hold almost no training edges (an even share is %.0f of %d): %s; "
                          "their short-term graphs are nearly empty: %s",
                          thin.size(), g, even, total, absl::StrJoin(thin, ", "), advice)};
}

DatasetStats ComputeStats(const PreparedDataset& ds) {
  DatasetStats s;
  s.name = ds.name;
  s.users = ds.num_users;
  s.items = ds.num_items;
  s.interactions = static_cast<int64_t>(ds.seq_item.size());
  s.distinct_pairs = ds.interacted.nnz();
  const double cells = static_cast<double>(s.users) * static_cast<double>(s.items);
  s.density = cells > 0 ? s.interactions / cells : 0;
  s.pair_density = cells > 0 ? s.distinct_pairs / cells : 0;
  if (!ds.seq_time.empty()) {
    const auto [lo, hi] = std::minmax_element(ds.seq_time.begin(), ds.seq_time.end());
    s.time_min = *lo;
    s.time_max = *hi;
  }
  for (const int32_t n : ds.train_len) s.training_events += n;
  for (const Csr& m : ds.slice_user_item) s.slice_edges.push_back(m.nnz());
  s.slice_bounds = ds.slice_bounds;
  s.eval_users = static_cast<int64_t>(ds.eval_users.size());
  s.negatives_per_user = ds.negatives_per_user;
  s.fingerprint = FingerprintHex(ds);
  return s;
}

std::string StatsToJson(const DatasetStats& stats, const Rows& preprocessing) {
  std::string out = "{\n";
  for (const auto& [key, value] : StatRows(stats)) absl::StrAppend(&out, "  ", JsonString(key), ": ", value, ",\n");
  absl::StrAppend(&out, "  \"preprocessing\": {");
  for (size_t j = 0; j < preprocessing.size(); ++j) {
    absl::StrAppend(&out, j == 0 ? "\n" : ",\n", "    ", JsonString(preprocessing[j].first), ": ",
                    preprocessing[j].second);
  }
  absl::StrAppend(&out, preprocessing.empty() ? "}\n" : "\n  }\n", "}\n");
  return out;
}

std::string StatsToTable(const DatasetStats& stats, const Rows& preprocessing) {
  Rows rows = StatRows(stats);
  rows.insert(rows.end(), preprocessing.begin(), preprocessing.end());
  size_t width = 0;
  for (const auto& row : rows) width = std::max(width, row.first.size());
  std::string out;
  for (const auto& [key, value] : rows) {
    std::string v = value;
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    absl::StrAppendFormat(&out, "  %-*s  %s\n", static_cast<int>(width), key, v);
  }
  return out;
}

}  // namespace hardgnn::data
