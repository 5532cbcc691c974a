#include "core/data/prepare.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/data/negatives.h"
#include "core/data/rng.h"
#include "core/data/slices.h"

namespace hardgnn::data {
namespace {

absl::Status ValidateOptions(const PrepareOptions& o) {
  if (o.kcore < 0) return absl::InvalidArgumentError(absl::StrCat("kcore must be >= 0, got ", o.kcore));
  if (o.num_slices < 1 || o.num_slices > 10000) {
    return absl::InvalidArgumentError(absl::StrCat("slices must be in [1, 10000], got ", o.num_slices));
  }
  if (o.num_eval_users < 0) {
    return absl::InvalidArgumentError(absl::StrCat("num_eval_users must be >= 0, got ", o.num_eval_users));
  }
  if (o.eval_negatives < 0 || o.eval_negatives > 1000000) {
    return absl::InvalidArgumentError(absl::StrCat("eval_negatives must be in [0, 1e6], got ", o.eval_negatives));
  }
  if (!(o.noise >= 0.0 && o.noise <= 1.0)) {
    return absl::InvalidArgumentError(absl::StrCat("noise must be in [0, 1], got ", o.noise));
  }
  if (o.time_begin && o.time_end && *o.time_begin >= *o.time_end) {
    return absl::InvalidArgumentError(
        absl::StrCat("empty time window [", *o.time_begin, ", ", *o.time_end, ")"));
  }
  return absl::OkStatus();
}

std::string Describe(const InteractionLog& log, const PrepareOptions& o) {
  std::string s = absl::StrCat(log.source.empty() ? "log" : log.source, " | filter=");
  if (o.filter == FilterKind::kSelfGnn) {
    absl::StrAppend(&s, "selfgnn");
  } else {
    absl::StrAppend(&s, "kcore:", o.kcore);
  }
  if (o.time_begin || o.time_end) {
    absl::StrAppend(&s, " window=[", o.time_begin ? absl::StrCat(*o.time_begin) : "-inf", ",",
                    o.time_end ? absl::StrCat(*o.time_end) : "+inf", ")");
  }
  absl::StrAppend(&s, " slices=", o.num_slices, " eval_users=", o.num_eval_users == 0 ? "all" : absl::StrCat(o.num_eval_users),
                  " negatives=", o.eval_negatives, " noise=", o.noise, " seed=", o.seed);
  return s;
}

// Steps 3-5: drop short users, assign dense ids, group by user and sort by time.
void BuildSequences(const InteractionLog& log, const std::vector<Interaction>& events, PreparedDataset* ds,
                    PrepareReport* report) {
  std::vector<int64_t> count(log.num_users(), 0);
  for (const Interaction& e : events) ++count[e.user];
  std::vector<int32_t> user_id(log.num_users(), -1), item_id(log.num_items(), -1);
  std::vector<int64_t> user_events;  // by dense id
  for (const Interaction& e : events) {
    if (count[e.user] < kMinUserEvents) continue;
    if (user_id[e.user] < 0) {
      user_id[e.user] = static_cast<int32_t>(ds->user_names.size());
      ds->user_names.push_back(log.user_name(e.user));
      user_events.push_back(count[e.user]);
    }
    if (item_id[e.item] < 0) {
      item_id[e.item] = static_cast<int32_t>(ds->item_names.size());
      ds->item_names.push_back(log.item_name(e.item));
    }
  }
  for (int32_t u = 0; u < log.num_users(); ++u) {
    if (count[u] > 0 && count[u] < kMinUserEvents) {
      ++report->users_dropped_short;
      report->events_dropped_short += count[u];
    }
  }
  ds->num_users = static_cast<int32_t>(ds->user_names.size());
  ds->num_items = static_cast<int32_t>(ds->item_names.size());
  ds->seq_ptr.assign(ds->num_users + 1, 0);
  for (int32_t u = 0; u < ds->num_users; ++u) ds->seq_ptr[u + 1] = ds->seq_ptr[u] + user_events[u];
  const int64_t total = ds->seq_ptr.back();
  ds->seq_item.resize(total);
  ds->seq_time.resize(total);
  std::vector<int64_t> next(ds->seq_ptr.begin(), ds->seq_ptr.end() - 1);
  for (const Interaction& e : events) {
    const int32_t u = user_id[e.user];
    if (u < 0) continue;
    ds->seq_item[next[u]] = item_id[e.item];
    ds->seq_time[next[u]++] = e.time;
  }
  std::vector<std::pair<int64_t, int32_t>> buf;
  for (int32_t u = 0; u < ds->num_users; ++u) {
    const int64_t b = ds->seq_ptr[u], n = ds->seq_ptr[u + 1] - b;
    buf.clear();
    for (int64_t p = 0; p < n; ++p) buf.emplace_back(ds->seq_time[b + p], ds->seq_item[b + p]);
    std::stable_sort(buf.begin(), buf.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
    for (int64_t p = 0; p < n; ++p) {
      ds->seq_time[b + p] = buf[p].first;
      ds->seq_item[b + p] = buf[p].second;
    }
  }
}

void Split(PreparedDataset* ds) {
  ds->train_len.resize(ds->num_users);
  ds->val_item.resize(ds->num_users);
  ds->test_item.resize(ds->num_users);
  ds->test_input_len.resize(ds->num_users);
  for (int32_t u = 0; u < ds->num_users; ++u) {
    const int64_t n = ds->SequenceLength(u);  // >= kMinUserEvents
    ds->train_len[u] = static_cast<int32_t>(n - 2);
    ds->val_item[u] = ds->seq_item[ds->seq_ptr[u] + n - 2];
    ds->test_item[u] = ds->seq_item[ds->seq_ptr[u] + n - 1];
    ds->test_input_len[u] = static_cast<int32_t>(n - 1);
  }
}

int64_t AddNoise(double fraction, uint64_t seed, PreparedDataset* ds) {
  if (fraction <= 0.0 || ds->num_items < 2) return 0;
  std::vector<int64_t> positions;
  for (int32_t u = 0; u < ds->num_users; ++u) {
    for (int64_t p = ds->seq_ptr[u]; p < ds->seq_ptr[u] + ds->train_len[u]; ++p) positions.push_back(p);
  }
  const int64_t total = static_cast<int64_t>(positions.size());
  const int64_t m = std::min<int64_t>(total, std::llround(fraction * static_cast<double>(total)));
  Rng rng(DeriveSeed(seed, "noise"));
  for (int64_t j = 0; j < m; ++j) {  // partial Fisher-Yates: positions[0..m) uniform without replacement
    std::swap(positions[j], positions[j + static_cast<int64_t>(rng.Uniform(total - j))]);
    int32_t& item = ds->seq_item[positions[j]];
    const int32_t r = static_cast<int32_t>(rng.Uniform(ds->num_items - 1));
    item = r >= item ? r + 1 : r;  // uniform over the other items
  }
  return m;
}

void BuildInteracted(PreparedDataset* ds) {
  std::vector<std::pair<int32_t, int32_t>> pairs;
  pairs.reserve(ds->seq_item.size());
  for (int32_t u = 0; u < ds->num_users; ++u) {
    for (int64_t p = ds->seq_ptr[u]; p < ds->seq_ptr[u + 1]; ++p) pairs.emplace_back(u, ds->seq_item[p]);
  }
  ds->interacted = CsrFromPairs(ds->num_users, ds->num_items, std::move(pairs));
}

void SampleEvaluation(const PrepareOptions& o, PreparedDataset* ds, PrepareReport* report) {
  std::vector<int32_t> candidates;
  for (int32_t u = 0; u < ds->num_users; ++u) {
    if (ds->interacted.RowSize(u) < ds->num_items) {
      candidates.push_back(u);
    } else {
      ++report->users_without_negatives;
    }
  }
  const int64_t n = static_cast<int64_t>(candidates.size());
  if (o.num_eval_users > 0 && o.num_eval_users < n) {
    Rng rng(DeriveSeed(o.seed, "eval_users"));
    for (int64_t j = 0; j < o.num_eval_users; ++j) {
      std::swap(candidates[j], candidates[j + static_cast<int64_t>(rng.Uniform(n - j))]);
    }
    candidates.resize(o.num_eval_users);
    std::sort(candidates.begin(), candidates.end());
  }
  ds->eval_users = std::move(candidates);
  ds->negatives_per_user = o.eval_negatives;
  ds->eval_negatives.resize(ds->eval_users.size() * static_cast<size_t>(o.eval_negatives));
  Rng rng(DeriveSeed(o.seed, "negatives"));
  int32_t* out = ds->eval_negatives.data();
  for (const int32_t u : ds->eval_users) {
    for (int32_t j = 0; j < o.eval_negatives; ++j) {
      *out++ = SampleFromComplement(ds->interacted.RowBegin(u), ds->interacted.RowEnd(u), ds->num_items, &rng);
    }
  }
  report->eval_users = static_cast<int64_t>(ds->eval_users.size());
}

}  // namespace

absl::StatusOr<FilterKind> ParseFilterKind(const std::string& name) {
  if (name == "kcore") return FilterKind::kKCore;
  if (name == "selfgnn") return FilterKind::kSelfGnn;
  return absl::InvalidArgumentError(absl::StrCat("unknown filter '", name, "' (known: kcore, selfgnn)"));
}

absl::StatusOr<PreparedDataset> Prepare(const InteractionLog& log, const PrepareOptions& options,
                                        PrepareReport* report_out) {
  if (absl::Status s = ValidateOptions(options); !s.ok()) return s;
  PrepareReport report;
  report.input = Census("input", log.events());
  std::vector<Interaction> events = FilterTimeWindow(log.events(), options.time_begin, options.time_end);
  report.events_outside_window = log.size() - static_cast<int64_t>(events.size());
  if (options.time_begin || options.time_end) report.filter_passes.push_back(Census("time window", events));
  if (options.filter == FilterKind::kSelfGnn) {
    events = SelfGnnFilter(std::move(events), &report.filter_passes);
  } else if (options.kcore > 1) {
    int32_t rounds = 0;
    events = KCore(std::move(events), options.kcore, &rounds);
    report.filter_passes.push_back(
        Census(absl::StrCat(options.kcore, "-core on event counts (", rounds, " rounds)"), events));
  }

  PreparedDataset ds;
  ds.name = options.name;
  ds.source = Describe(log, options);
  BuildSequences(log, events, &ds, &report);
  if (ds.num_users == 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "no user has ", kMinUserEvents, " or more interactions after preprocessing (", log.size(),
        " events in, ", events.size(), " after the window and filter); relax --kcore/--filter or the time window"));
  }
  Split(&ds);
  report.noise_replaced = AddNoise(options.noise, options.seed, &ds);
  if (absl::Status s = BuildTimeSlices(options.num_slices, &ds); !s.ok()) return s;
  BuildInteracted(&ds);
  SampleEvaluation(options, &ds, &report);
  report.output = {"prepared", ds.num_users, ds.num_items, static_cast<int64_t>(ds.seq_item.size())};
  if (report_out != nullptr) *report_out = std::move(report);
  return ds;
}

absl::StatusOr<PreparedDataset> PrepareTriples(const std::vector<Triple>& triples, int32_t num_slices,
                                               int32_t eval_negatives, uint64_t seed) {
  PrepareOptions o;
  o.name = "triples";
  o.kcore = 0;
  o.num_slices = num_slices;
  o.eval_negatives = eval_negatives;
  o.seed = seed;
  return Prepare(InteractionLog::FromTriples(triples), o);
}

std::vector<std::pair<std::string, std::string>> PrepareReport::ToKeyValues() const {
  std::vector<std::pair<std::string, std::string>> kv;
  auto pass = [&kv](const std::string& key, const FilterPass& p) {
    kv.emplace_back(key, absl::StrCat("{\"step\": \"", p.name, "\", \"users\": ", p.users, ", \"items\": ", p.items,
                                      ", \"events\": ", p.events, "}"));
  };
  pass("input", input);
  kv.emplace_back("events_outside_window", absl::StrCat(events_outside_window));
  for (size_t i = 0; i < filter_passes.size(); ++i) pass(absl::StrCat("filter_pass_", i), filter_passes[i]);
  kv.emplace_back("users_dropped_fewer_than_3_events", absl::StrCat(users_dropped_short));
  kv.emplace_back("events_of_dropped_users", absl::StrCat(events_dropped_short));
  pass("output", output);
  kv.emplace_back("noise_replaced_training_events", absl::StrCat(noise_replaced));
  kv.emplace_back("users_not_evaluated_no_possible_negative", absl::StrCat(users_without_negatives));
  return kv;
}

}  // namespace hardgnn::data
