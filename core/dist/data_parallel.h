#ifndef HARDGNN_CORE_DIST_DATA_PARALLEL_H_
#define HARDGNN_CORE_DIST_DATA_PARALLEL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

#include "absl/status/statusor.h"
#include "core/dist/group.h"
#include "core/model/loss.h"

namespace hardgnn::dist {

// A rank's share of a step's rows, [begin, end).
struct Shard {
  int64_t begin = 0, end = 0;
  int64_t size() const { return end - begin; }
};

// Contiguous shares: rank r of n takes rows [r * rows / n, (r + 1) * rows / n).
Shard ShardOf(int64_t rows, int rank, int ranks);

// Rank 0's parameters and buffers of `module` on every rank.
void BroadcastModule(Group& group, torch::nn::Module& module);

struct DataParallelOptions {
  Group* group = nullptr;               // null: one process, nothing to do
  int64_t bucket_bytes = 25LL << 20;    // gradients are summed in buckets of about this size
  // Send the gradients of large tables (>= 2-D, >= 65536 entries) as their rows that are not
  // zero (sparse all-reduce: every rank gathers every rank's rows) instead of whole.
  bool sparse_tables = false;
};

// What data-parallel training adds to a trainer's step on one rank of a group (the trainer's
// hooks, core/train/trainer.cc):
//  - the step's rows are split with ShardOf; every rank draws the same seeds, and whatever is
//    drawn per row is keyed by the row's place in the whole batch (Batch::first_row);
//  - each loss term is computed on the rank's share and weighted (ShareTerms) so that the
//    ranks' weighted terms sum to the whole batch's term: a mean over units by the share of the
//    units, a sum by 1, a term of the parameters alone by 1 on rank 0 and 0 elsewhere;
//  - the gradients are then summed over the ranks (ReduceGradients), so every rank takes the
//    optimizer step of the whole batch and the parameters stay the same on every rank.
class DataParallel {
 public:
  DataParallel(const DataParallelOptions& options, std::vector<at::Tensor> parameters);

  Group& group() const { return *options_.group; }
  // The losses' gather over the ranks' shares (Loss::Input::exchange).
  const BatchExchange* exchange() const { return exchange_.get(); }
  Shard ShardOf(int64_t rows) const { return dist::ShardOf(rows, group().rank(), group().size()); }

  // From this rank's term values on its share (`local`; a kParameters term only computed on
  // rank 0, 0 elsewhere): the whole batch's values, and in `scales` the factor of this rank's
  // term in the loss it differentiates (0: leave the term out). An error names a loss that
  // does not say how it adds up over a batch.
  absl::StatusOr<std::vector<double>> ShareTerms(const std::vector<std::string>& names,
                                                 const std::vector<Loss::Reduction>& reductions,
                                                 const std::vector<double>& local, std::vector<double>& scales);

  // Sums every parameter's gradient over the ranks, in place: buckets of bucket_bytes started
  // together, then waited for. A gradient undefined on every rank stays undefined (Adam then
  // skips the parameter, as in one process); undefined on some ranks counts as zero there.
  void ReduceGradients();

  // Rank 0's parameters, buffers, optimizer state and `state` (a text) on every rank.
  void SyncFromRankZero(torch::nn::Module& module, torch::optim::Optimizer& optimizer, std::string& state);
  // Rank 0's parameters and buffers on every rank.
  void BroadcastParameters(torch::nn::Module& module) { BroadcastModule(group(), module); }
  // An error when a rank's parameters differ from rank 0's (the reduction must give every
  // rank the same gradients): a checksum of every parameter's bytes, compared.
  absl::Status CheckReplicasAgree(torch::nn::Module& module, const std::string& when);

  // Per step, averaged over the steps so far: payload bytes all-reduced, and the share of the
  // large tables' gradient rows that were not zero (measured with --profile only, else -1).
  struct Stats {
    int64_t steps = 0;
    double bytes_per_step = 0;
    double nonzero_row_share = -1;
  };
  Stats stats() const;

 private:
  struct Bucket {
    std::vector<size_t> params;  // indices into parameters_
    int64_t numel = 0;
  };

  DataParallelOptions options_;
  std::vector<at::Tensor> parameters_;
  std::vector<Bucket> buckets_;
  std::vector<size_t> sparse_;  // parameters sent as sparse rows
  std::unique_ptr<BatchExchange> exchange_;
  int64_t steps_ = 0, bytes_ = 0, rows_nonzero_ = 0, rows_total_ = 0;
};

// BatchExchange over a group: a differentiable all-gather of rows of different counts.
std::unique_ptr<BatchExchange> MakeExchange(Group& group);

// A text's bytes from rank 0 on every rank.
void BroadcastText(Group& group, std::string& text);


}  // namespace hardgnn::dist

#endif  // HARDGNN_CORE_DIST_DATA_PARALLEL_H_
