#ifndef HARDGNN_CORE_EVAL_EVALUATOR_H_
#define HARDGNN_CORE_EVAL_EVALUATOR_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/data/dataset.h"
#include "core/eval/metrics.h"
#include "core/model/encoder.h"

namespace hardgnn {

enum class TestInput {
  kClean,     // everything before the test event (training prefix + validation event)
  kOfficial,  // the user's whole sequence, test event included, as the published code does
};

struct EvalOptions {
  int64_t batch_size = 512;
  int64_t max_seq_len = 200;
  TestInput test_input = TestInput::kClean;
  bool full_ranking = true;   // also rank against every item but the user's known ones
  bool validation = true;
  bool test = true;
  bool keep_ranks = false;    // also return each user's ranks (SplitMetrics::ranks)
  // Score CPU float tables by chain products (core/eval/chain_scores.h: the same bits on every
  // CPU with AVX2, no score matrix); false: LibTorch's product into a score matrix, as on other
  // devices (tests compare the two).
  bool chain_scores = true;
  // Data-parallel evaluation (core/dist): this process scores the contiguous share `shard` of
  // `num_shards` of each split's users, and `reduce` sums the users-by-rank counts
  // (MetricAccumulator::Counts) over the shards in place, so every shard returns the metrics
  // of all users, the same bits as one process.
  int shard = 0;
  int num_shards = 1;
  std::function<void(std::vector<int64_t>& counts)> reduce;
};

// One evaluated user's ranks (0-based; full = -1 when full ranking is off), for paired
// comparisons of two models user by user.
struct UserRank {
  int32_t user, target;
  bool revisit;
  int64_t sampled, full;
};

struct SplitMetrics {
  RankingMetrics sampled;  // the paper's protocol: the positive among its fixed negatives
  RankingMetrics full;     // full ranking (users == 0 when not computed)
  // The same, split by target: revisits (the user had the item among the events before the
  // target's) and novel items. Their `users` add up to the whole split's.
  RankingMetrics sampled_revisit, sampled_novel, full_revisit, full_novel;
  std::vector<UserRank> ranks;  // with EvalOptions::keep_ranks: this shard's users, in eval order
  std::string ToJson() const;
};

struct EvalResult {
  SplitMetrics validation, test;
  double seconds = 0;
  // Where the seconds went: the long-term embeddings (MakeEvalScorer), the users' queries,
  // the score products and the ranking of the scores.
  struct Phases {
    double embeddings = 0, queries = 0, scores = 0, ranks = 0;
  } phases;
  std::string ToJson() const;
};

// Evaluates `encoder` on the dataset's evaluation users: validation (target = validation
// item, input = training prefix) and test (target = test item, input per test_input).
// Long-term embeddings are computed once, through Encoder::MakeEvalScorer.
EvalResult Evaluate(Encoder& encoder, const data::PreparedDataset& dataset,
                    const EvalOptions& options);

}  // namespace hardgnn

#endif  // HARDGNN_CORE_EVAL_EVALUATOR_H_
