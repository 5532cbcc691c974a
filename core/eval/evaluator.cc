#include "core/eval/evaluator.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "absl/strings/str_cat.h"
#include "core/eval/chain_scores.h"
#include "core/eval/count_ahead.h"
#include "core/model/batch.h"

namespace hardgnn {
namespace {

struct Case {
  int64_t eval_row;  // row of dataset.eval_negatives
  int32_t user;
  int32_t target;
  int64_t input_len;
  bool revisit;      // the target is among the user's events before the target's event
};

bool Among(const int32_t* items, int64_t len, int32_t item) { return std::find(items, items + len, item) != items + len; }

std::vector<Case> Cases(const data::PreparedDataset& d, bool validation, TestInput mode) {
  std::vector<Case> cases;
  for (size_t r = 0; r < d.eval_users.size(); ++r) {
    const int32_t u = d.eval_users[r];
    const int32_t* s = d.Sequence(u);
    if (validation) {
      if (d.val_item[u] >= 0) {
        cases.push_back({static_cast<int64_t>(r), u, d.val_item[u], d.train_len[u],
                         Among(s, d.train_len[u], d.val_item[u])});
      }
    } else if (d.test_item[u] >= 0) {
      // The official input holds the test event itself; revisits are judged on what came before.
      const int64_t len = mode == TestInput::kClean ? d.test_input_len[u] : d.SequenceLength(u);
      cases.push_back({static_cast<int64_t>(r), u, d.test_item[u], len, Among(s, d.test_input_len[u], d.test_item[u])});
    }
  }
  return cases;
}

double SecondsSince(std::chrono::steady_clock::time_point& since) {
  const auto now = std::chrono::steady_clock::now();
  const double s = std::chrono::duration<double>(now - since).count();
  since = now;
  return s;
}

// The items of the user's input sequence other than the target, each once: full ranking
// leaves them out.
void KnownItems(const data::PreparedDataset& d, const Case& c, std::vector<int32_t>& known) {
  known.assign(d.Sequence(c.user), d.Sequence(c.user) + c.input_len);
  std::sort(known.begin(), known.end());
  known.erase(std::unique(known.begin(), known.end()), known.end());
  known.erase(std::remove(known.begin(), known.end(), c.target), known.end());
}

// Rank of the target among all items but the known ones: not_below counts the items (the target
// among them) scoring not below it, known_ahead the known items among those; ties count against
// the target, and a NaN target ranks last.
int64_t FullRank(float pos, int64_t not_below, int64_t known_ahead, int64_t num_items) {
  return std::isnan(pos) ? num_items : not_below - 1 - known_ahead;
}

// Ranks of the targets of `rows` cases among their fixed negatives and, with `full`, among all
// items but their known ones, from a score matrix [rows, num_items].
void RankRows(const float* scores, const Case* cases, int64_t rows, const data::PreparedDataset& d, bool full,
              int64_t* sampled_rank, int64_t* full_rank) {
  const int64_t negs = d.negatives_per_user;
  at::parallel_for(0, rows, 16, [&](int64_t lo, int64_t hi) {
    std::vector<float> neg(negs);
    std::vector<int32_t> known;
    for (int64_t b = lo; b < hi; ++b) {
      const Case& c = cases[b];
      const float* row = scores + b * d.num_items;
      const int32_t* cand = d.EvalNegatives(c.eval_row);
      for (int64_t j = 0; j < negs; ++j) neg[j] = row[cand[j]];
      const float pos = row[c.target];
      sampled_rank[b] = RankAmongNegatives(pos, neg.data(), negs);
      if (!full) continue;
      KnownItems(d, c, known);
      int64_t known_ahead = 0;
      for (int32_t h : known) known_ahead += !(row[h] < pos);
      full_rank[b] = FullRank(pos, CountNotBelow(row, d.num_items, pos), known_ahead, d.num_items);
    }
  });
}

// The same from chain scores, without a score matrix: the targets' scores and, with `full`,
// every item's bit "not below the target" (`phases.scores`: the products), then the ranks from
// the bits, or from the negatives' scores without full ranking.
void RankRowsByChains(const ChainScores& scorer, const float* queries, const Case* cases, int64_t rows,
                      const data::PreparedDataset& d, bool full, int64_t* sampled_rank, int64_t* full_rank,
                      EvalResult::Phases& phases) {
  const int64_t negs = d.negatives_per_user, words = scorer.BitWords();
  auto clock = std::chrono::steady_clock::now();
  std::vector<float> pos(rows);
  std::vector<int64_t> not_below(rows, 0);
  std::vector<uint64_t> bits(full ? rows * words : 0);
  at::parallel_for(0, rows, 16, [&](int64_t lo, int64_t hi) {
    for (int64_t b = lo; b < hi; ++b) scorer.Scores(queries + b * scorer.dim(), &cases[b].target, 1, &pos[b]);
    if (full) {
      scorer.NotBelow(queries + lo * scorer.dim(), hi - lo, pos.data() + lo, bits.data() + lo * words,
                      not_below.data() + lo);
    }
  });
  phases.scores += SecondsSince(clock);
  at::parallel_for(0, rows, 16, [&](int64_t lo, int64_t hi) {
    std::vector<float> neg(full ? 0 : negs);
    std::vector<int32_t> known;
    for (int64_t b = lo; b < hi; ++b) {
      const Case& c = cases[b];
      const int32_t* cand = d.EvalNegatives(c.eval_row);
      if (!full) {
        scorer.Scores(queries + b * scorer.dim(), cand, negs, neg.data());
        sampled_rank[b] = RankAmongNegatives(pos[b], neg.data(), negs);
        continue;
      }
      // The same ranks as from the scores: a bit is !(score < target), which is what they count.
      const uint64_t* row = bits.data() + b * words;
      auto ahead = [row](int32_t i) { return static_cast<int64_t>(row[i / 64] >> (i % 64) & 1); };
      int64_t rank = 0;
      for (int64_t j = 0; j < negs; ++j) rank += ahead(cand[j]);
      sampled_rank[b] = rank;  // a NaN target sets every bit: last, as RankAmongNegatives ranks it
      KnownItems(d, c, known);
      int64_t known_ahead = 0;
      for (int32_t h : known) known_ahead += ahead(h);
      full_rank[b] = FullRank(pos[b], not_below[b], known_ahead, d.num_items);
    }
  });
  phases.ranks += SecondsSince(clock);
}

// chains: the items' chain scores where they apply (else the score matrix by LibTorch's product).
SplitMetrics EvaluateSplit(EvalScorer& scorer, const at::Tensor& items, const ChainScores* chains,
                           const data::PreparedDataset& d, const std::vector<Case>& cases, const EvalOptions& options,
                           EvalResult::Phases& phases) {
  const int64_t num_items = d.num_items, negs = d.negatives_per_user, max_len = options.max_seq_len;
  MetricAccumulator sampled, full, sampled_by[2], full_by[2];  // by[1]: revisits
  std::vector<UserRank> ranks;
  at::Tensor buffer;  // the host's score rows
  // This shard's cases (all of them in one process).
  const size_t first = cases.size() * options.shard / options.num_shards,
               last = cases.size() * (options.shard + 1) / options.num_shards;
  for (size_t begin = first; begin < last; begin += options.batch_size) {
    const int64_t b_size = std::min<int64_t>(options.batch_size, last - begin);
    Batch batch;
    batch.users = at::empty({b_size}, at::kLong);
    batch.seq = at::zeros({b_size, max_len}, at::kLong);
    batch.seq_mask = at::zeros({b_size, max_len}, at::kFloat);
    for (int64_t b = 0; b < b_size; ++b) {
      const Case& c = cases[begin + b];
      batch.users.data_ptr<int64_t>()[b] = c.user;
      FillSequenceRow(d.Sequence(c.user), c.input_len, b, max_len, batch.seq.data_ptr<int64_t>(),
                      batch.seq_mask.data_ptr<float>());
    }
    // Scored where the model's tables are; ranked on the host.
    auto clock = std::chrono::steady_clock::now();
    const at::Tensor queries = scorer.Queries(OnDevice(batch, items.device()));
    phases.queries += SecondsSince(clock);
    std::vector<int64_t> sampled_rank(b_size), full_rank(b_size, -1);
    if (chains != nullptr && queries.is_cpu() && queries.scalar_type() == at::kFloat) {
      const at::Tensor q = queries.contiguous();
      RankRowsByChains(*chains, q.data_ptr<float>(), &cases[begin], b_size, d, options.full_ranking,
                       sampled_rank.data(), full_rank.data(), phases);
    } else {
      at::Tensor scores;
      if (items.is_cpu() && items.scalar_type() == at::kFloat && queries.scalar_type() == at::kFloat) {
        // Into one buffer for every batch: a fresh 78 MB (512 x 38k floats) per batch is fresh
        // pages from the kernel each time, which doubled the products' time (REPORT §4).
        if (!buffer.defined()) buffer = at::empty({options.batch_size, num_items}, items.options());
        scores = buffer.narrow(0, 0, b_size);
        at::mm_out(scores, queries, items.t());
      } else {  // another device or dtype: ranked as host floats
        scores = at::mm(queries, items.t()).to(at::kCPU, at::kFloat).contiguous();
      }
      phases.scores += SecondsSince(clock);
      RankRows(scores.data_ptr<float>(), &cases[begin], b_size, d, options.full_ranking, sampled_rank.data(),
               full_rank.data());
      phases.ranks += SecondsSince(clock);
    }
    for (int64_t b = 0; b < b_size; ++b) {
      const Case& c = cases[begin + b];
      const int revisit = c.revisit ? 1 : 0;
      if (options.keep_ranks) ranks.push_back({c.user, c.target, c.revisit, sampled_rank[b], full_rank[b]});
      sampled.Add(sampled_rank[b]);
      sampled_by[revisit].Add(sampled_rank[b]);
      if (options.full_ranking) {
        full.Add(full_rank[b]);
        full_by[revisit].Add(full_rank[b]);
      }
    }
  }
  if (options.reduce) {  // sum the shards' counts (a rank is at most negs, or num_items)
    MetricAccumulator* acc[6] = {&sampled, &sampled_by[1], &sampled_by[0], &full, &full_by[1], &full_by[0]};
    const int64_t size[6] = {negs + 1, negs + 1, negs + 1, num_items + 1, num_items + 1, num_items + 1};
    std::vector<int64_t> counts;
    for (int a = 0; a < 6; ++a) {
      const std::vector<int64_t> c = acc[a]->Counts(size[a]);
      counts.insert(counts.end(), c.begin(), c.end());
    }
    options.reduce(counts);
    int64_t offset = 0;
    for (int a = 0; a < 6; offset += size[a++]) {
      *acc[a] = MetricAccumulator::FromCounts(counts.data() + offset, size[a]);
    }
  }
  return {sampled.Result(),       full.Result(),        sampled_by[1].Result(), sampled_by[0].Result(),
          full_by[1].Result(),    full_by[0].Result(),  std::move(ranks)};
}

}  // namespace

std::string SplitMetrics::ToJson() const {
  return absl::StrCat("{\"sampled\":", sampled.ToJson(), ",\"full\":", full.ToJson(),
                      ",\"sampled_revisit\":", sampled_revisit.ToJson(), ",\"sampled_novel\":", sampled_novel.ToJson(),
                      ",\"full_revisit\":", full_revisit.ToJson(), ",\"full_novel\":", full_novel.ToJson(), "}");
}

std::string EvalResult::ToJson() const {
  return absl::StrCat("{\"validation\":", validation.ToJson(), ",\"test\":", test.ToJson(),
                      ",\"seconds\":", seconds, "}");
}

EvalResult Evaluate(Encoder& encoder, const data::PreparedDataset& dataset, const EvalOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  torch::NoGradGuard no_grad;
  const bool was_training = encoder.is_training();
  encoder.eval();
  std::unique_ptr<EvalScorer> scorer = encoder.MakeEvalScorer();
  at::Tensor items = scorer->Items();
  std::optional<ChainScores> chain_scores;
  if (options.chain_scores && ChainScores::Apply(items)) chain_scores.emplace(items);
  const ChainScores* chains = chain_scores ? &*chain_scores : nullptr;
  EvalResult result;
  auto clock = start;
  result.phases.embeddings = SecondsSince(clock);
  if (options.validation) {
    result.validation =
        EvaluateSplit(*scorer, items, chains, dataset, Cases(dataset, true, options.test_input), options, result.phases);
  }
  if (options.test) {
    result.test =
        EvaluateSplit(*scorer, items, chains, dataset, Cases(dataset, false, options.test_input), options, result.phases);
  }
  encoder.train(was_training);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace hardgnn
