#include "core/train/batch_builder.h"

#include <algorithm>

#include <ATen/ATen.h>

#include "core/model/rng.h"
#include "core/model/sampling.h"

namespace hardgnn {
namespace {

at::Tensor ToTensor(const std::vector<int64_t>& v) {
  return at::tensor(at::ArrayRef<int64_t>(v), at::kLong);
}

}  // namespace

BatchBuilder::BatchBuilder(const data::PreparedDataset& dataset, BatchOptions options)
    : d_(dataset), options_(options) {
  for (int32_t u = 0; u < d_.num_users; ++u) {
    if (TrainPrefix(u) >= 1) trainable_.push_back(u);
  }
  if (options_.seen == SeenItems::kTrainingPrefix) {
    std::vector<std::pair<int32_t, int32_t>> pairs;
    for (int32_t u = 0; u < d_.num_users; ++u) {
      const int32_t* s = d_.Sequence(u);
      for (int64_t j = 0, n = TrainPrefix(u); j < n; ++j) pairs.emplace_back(u, s[j]);
    }
    seen_prefix_ = data::CsrFromPairs(d_.num_users, d_.num_items, std::move(pairs));
  }
  if (options_.negative_popularity > 0) {
    popular_.emplace(d_.ItemEventCounts([this](int32_t u) { return TrainPrefix(u); }),
                     options_.negative_popularity);
  }
}

int64_t BatchBuilder::TrainPrefix(int32_t user) const {
  if (options_.split == TrainSplit::kClean) return d_.train_len[user];
  return std::max<int64_t>(0, d_.SequenceLength(user) - 1);
}

Batch BatchBuilder::Build(const std::vector<int32_t>& users, uint64_t seed) const {
  std::vector<TrainingEvent> rows;
  for (int32_t u : users) rows.push_back({u, -1});
  return BuildRows(rows, seed);
}

std::vector<TrainingEvent> BatchBuilder::TrainingEvents() const {
  std::vector<TrainingEvent> events;
  for (int32_t u : trainable_) {
    for (int64_t pos = 0, p = TrainPrefix(u); pos < p; ++pos) events.push_back({u, static_cast<int32_t>(pos)});
  }
  return events;
}

// A user row's stream is its user id (a batch is a function of its users and the seed); an
// event row's also holds the position, so two events of one user draw apart.
Rng BatchBuilder::RowRng(const TrainingEvent& row, uint64_t seed) const {
  return Rng(seed, row.pos >= 0 ? (1ULL << 63) | (static_cast<uint64_t>(row.user) << 32) | static_cast<uint64_t>(row.pos)
                                : static_cast<uint64_t>(row.user));
}

int64_t BatchBuilder::TargetPosition(const TrainingEvent& row, Rng& rng) const {
  if (row.pos >= 0) return row.pos;
  // Target: position -c of the prefix, c uniform in {1..max(1, min(pred_num+1, |P|-3))}.
  const int64_t p = TrainPrefix(row.user);
  const int64_t c_max = std::max<int64_t>(1, std::min<int64_t>(options_.pred_num + 1, p - 3));
  return p - 1 - static_cast<int64_t>(rng.Below(c_max));
}

at::Tensor BatchBuilder::Targets(const std::vector<TrainingEvent>& rows, uint64_t seed) const {
  at::Tensor out = at::empty({static_cast<int64_t>(rows.size())}, at::kLong);
  int64_t* target = out.data_ptr<int64_t>();
  for (size_t b = 0; b < rows.size(); ++b) {
    Rng rng = RowRng(rows[b], seed);
    target[b] = d_.Sequence(rows[b].user)[TargetPosition(rows[b], rng)];
  }
  return out;
}

Batch BatchBuilder::BuildRows(const std::vector<TrainingEvent>& rows, uint64_t seed) const {
  const int64_t batch = static_cast<int64_t>(rows.size());
  const int64_t max_len = options_.max_seq_len;
  Batch out;
  out.users = at::empty({batch}, at::kLong);
  out.targets = at::empty({batch}, at::kLong);
  out.seq = at::zeros({batch, max_len}, at::kLong);
  out.seq_mask = at::zeros({batch, max_len}, at::kFloat);
  int64_t* user_out = out.users.data_ptr<int64_t>();
  int64_t* target_out = out.targets.data_ptr<int64_t>();
  int64_t* seq = out.seq.data_ptr<int64_t>();
  float* mask = out.seq_mask.data_ptr<float>();

  std::vector<int64_t> pair_rows, pair_pos, pair_neg;
  const int32_t num_slices = d_.num_slices();
  std::vector<std::vector<int64_t>> sal_rows(options_.sal_samples > 0 ? num_slices : 0),
      sal_items(sal_rows.size());
  std::vector<int64_t> touched;

  for (int64_t b = 0; b < batch; ++b) {
    const int32_t u = rows[b].user;
    Rng rng = RowRng(rows[b], seed);
    const int32_t* s = d_.Sequence(u);
    const int64_t p = TrainPrefix(u);
    const int64_t pos = TargetPosition(rows[b], rng);
    const int64_t target = s[pos];
    user_out[b] = u;
    target_out[b] = target;
    touched.push_back(target);
    FillSequenceRow(s, pos, b, max_len, seq, mask);
    for (int64_t j = std::max<int64_t>(0, pos - max_len); j < pos; ++j) touched.push_back(s[j]);

    // Ranking pairs: min(rec_negatives, |P|) negatives outside the user's seen items.
    const int64_t num_neg = std::min<int64_t>(options_.rec_negatives, p);
    for (int64_t j = 0; j < num_neg; ++j) {
      const int32_t* seen = Seen().RowBegin(u);
      const int64_t num_seen = Seen().RowSize(u);
      const int64_t neg = popular_ ? popular_->Draw(rng, seen, num_seen)
                                   : UniformOutside(rng, d_.num_items, seen, num_seen);
      pair_rows.push_back(b);
      pair_pos.push_back(target);
      pair_neg.push_back(neg);
      touched.push_back(neg);
    }

    // SAL entries: per slice, 2m items drawn with replacement from the user's slice items,
    // appended as (x1, y1, x2, y2, ...), SPEC §2.5.
    for (size_t k = 0; k < sal_rows.size(); ++k) {
      const data::Csr& slice = d_.slice_user_item[k];
      const int64_t n = slice.RowSize(u);
      const int64_t m = std::min<int64_t>(options_.sal_samples, n / 2);
      for (int64_t j = 0; j < 2 * m; ++j) {
        const int64_t item = slice.RowBegin(u)[rng.Below(n)];
        sal_rows[k].push_back(b);
        sal_items[k].push_back(item);
        touched.push_back(item);
      }
    }
  }

  out.pair_rows = ToTensor(pair_rows);
  out.pair_pos = ToTensor(pair_pos);
  out.pair_neg = ToTensor(pair_neg);
  // The published model pairs entry j with entry j + n (first half against second half).
  for (size_t k = 0; k < sal_rows.size(); ++k) {
    const int64_t n = static_cast<int64_t>(sal_rows[k].size()) / 2;
    at::Tensor rows = ToTensor(sal_rows[k]), items = ToTensor(sal_items[k]);
    out.sal.push_back({rows.slice(0, 0, n), items.slice(0, 0, n), rows.slice(0, n, 2 * n),
                       items.slice(0, n, 2 * n)});
  }
  // Sorted and distinct: marks over the catalog, in one pass each (the list a sort and unique give).
  std::vector<uint8_t> is_touched(d_.num_items, 0);
  for (const int64_t item : touched) is_touched[item] = 1;
  touched.clear();
  for (int64_t item = 0; item < d_.num_items; ++item) {
    if (is_touched[item]) touched.push_back(item);
  }
  out.touched_items = ToTensor(touched);
  return out;
}

}  // namespace hardgnn
