#include "core/dist/data_parallel.h"

#include <sstream>

#include <ATen/ATen.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/csrc/autograd/grad_mode.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/data/checksum.h"
#include "core/model/profile.h"

namespace hardgnn::dist {
namespace {

constexpr int64_t kSparseMinEntries = 1 << 16;

bool IsTable(const at::Tensor& p) { return p.dim() >= 2 && p.numel() >= kSparseMinEntries; }

// A table's gradient as rows of its last dimension.
at::Tensor Rows(const at::Tensor& g) { return g.reshape({-1, g.size(-1)}); }

}  // namespace

namespace {

// Every rank's rows in rank order; the backward keeps this rank's rows of the gradient.
struct GatherRows : public torch::autograd::Function<GatherRows> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& local, Group* group) {
    ScopedPhase phase("all-gather: loss entries");
    const int ranks = group->size(), rank = group->rank();
    at::Tensor counts = at::zeros({ranks}, at::kLong);
    counts[rank] = local.size(0);
    std::vector<at::Tensor> one = {counts};
    group->AllReduceSum(one);
    const int64_t* n = counts.data_ptr<int64_t>();
    int64_t most = 0, offset = 0;
    for (int r = 0; r < ranks; ++r) {
      most = std::max(most, n[r]);
      if (r < rank) offset += n[r];
    }
    std::vector<int64_t> shape = local.sizes().vec();
    shape[0] = most;
    at::Tensor padded = at::zeros(shape, local.options());
    padded.narrow(0, 0, local.size(0)).copy_(local);
    std::vector<at::Tensor> all = group->AllGather(padded);
    for (int r = 0; r < ranks; ++r) all[r] = all[r].narrow(0, 0, n[r]);
    ctx->saved_data["offset"] = offset;
    ctx->saved_data["rows"] = local.size(0);
    return at::cat(all, 0);
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad) {
    return {grad[0].narrow(0, ctx->saved_data["offset"].toInt(), ctx->saved_data["rows"].toInt()), at::Tensor()};
  }
};

class GatherExchange : public BatchExchange {
 public:
  explicit GatherExchange(Group& group) : group_(group) {}
  at::Tensor AllGather(const at::Tensor& local) const override {
    return GatherRows::apply(local.contiguous(), &group_);
  }

 private:
  Group& group_;
};

}  // namespace

std::unique_ptr<BatchExchange> MakeExchange(Group& group) { return std::make_unique<GatherExchange>(group); }

Shard ShardOf(int64_t rows, int rank, int ranks) {
  return {rows * rank / ranks, rows * (rank + 1) / ranks};
}

DataParallel::DataParallel(const DataParallelOptions& options, std::vector<at::Tensor> parameters)
    : options_(options), parameters_(std::move(parameters)), exchange_(MakeExchange(*options.group)) {
  const int64_t cap = std::max<int64_t>(1, options_.bucket_bytes / 4);
  for (size_t i = 0; i < parameters_.size(); ++i) {
    const at::Tensor& p = parameters_[i];
    TORCH_CHECK(p.scalar_type() == at::kFloat, "data-parallel training needs float parameters");
    if (options_.sparse_tables && IsTable(p)) {
      sparse_.push_back(i);
      continue;
    }
    if (buckets_.empty() || buckets_.back().numel + p.numel() > cap) buckets_.emplace_back();
    buckets_.back().params.push_back(i);
    buckets_.back().numel += p.numel();
  }
  if (buckets_.empty()) buckets_.emplace_back();
}

absl::StatusOr<std::vector<double>> DataParallel::ShareTerms(const std::vector<std::string>& names,
                                                             const std::vector<Loss::Reduction>& reductions,
                                                             const std::vector<double>& local,
                                                             std::vector<double>& scales) {
  const size_t n = reductions.size();
  at::Tensor sums = at::zeros({static_cast<int64_t>(2 * n)}, at::kDouble);  // per term: units, value (x units)
  double* s = sums.data_ptr<double>();
  for (size_t t = 0; t < n; ++t) {
    const Loss::Reduction& r = reductions[t];
    switch (r.kind) {
      case Loss::Reduction::kUnknown:
        return absl::InvalidArgumentError(absl::StrCat(
            "loss '", names[t], "' does not say how it adds up over a batch (Loss::BatchReduction), so it cannot "
            "be split between ranks; train it in one process"));
      case Loss::Reduction::kMean:
        s[2 * t] = static_cast<double>(r.count);
        s[2 * t + 1] = r.count > 0 ? local[t] * static_cast<double>(r.count) : 0.0;
        break;
      case Loss::Reduction::kSum:
        s[2 * t + 1] = local[t];
        break;
      case Loss::Reduction::kParameters:
      case Loss::Reduction::kGathered:  // the same value on every rank: counted once
        s[2 * t + 1] = group().rank() == 0 ? local[t] : 0.0;
        break;
    }
  }
  std::vector<at::Tensor> one = {sums};
  {
    ScopedPhase phase("all-reduce: loss terms");  // also where a fast rank waits for the forward of a slow one
    group().AllReduceSum(one);
  }
  std::vector<double> values(n);
  scales.assign(n, 1.0);
  for (size_t t = 0; t < n; ++t) {
    const Loss::Reduction& r = reductions[t];
    const double units = s[2 * t], total = s[2 * t + 1];
    if (r.kind == Loss::Reduction::kMean) {
      values[t] = units > 0 ? total / units : 0.0;
      scales[t] = units > 0 ? static_cast<double>(r.count) / units : 0.0;
    } else {
      values[t] = total;
      if (r.kind == Loss::Reduction::kParameters && group().rank() != 0) scales[t] = 0.0;
    }
  }
  return values;
}

void DataParallel::ReduceGradients() {
  const size_t n = parameters_.size();
  const bool profile = PhaseProfile::Enabled();
  if (profile) {
    // Kept apart from the transfer: the time the fastest ranks wait for the slowest.
    ScopedPhase phase("all-reduce: waiting for the slowest rank");
    group().Barrier();
  }
  ScopedPhase phase("all-reduce: gradients");
  std::vector<at::Tensor> flat;
  for (const Bucket& b : buckets_) flat.push_back(at::empty({b.numel + (&b == &buckets_.back() ? int64_t(n) : 0)}, at::kFloat));
  // The last bucket ends with one flag per parameter: 1 where this rank has a gradient.
  float* defined = flat.back().data_ptr<float>() + buckets_.back().numel;
  for (size_t b = 0; b < buckets_.size(); ++b) {
    int64_t offset = 0;
    for (size_t i : buckets_[b].params) {
      const at::Tensor& g = parameters_[i].grad();
      at::Tensor slot = flat[b].narrow(0, offset, parameters_[i].numel());
      if (g.defined()) {
        slot.copy_(g.reshape(-1));
      } else {
        slot.zero_();
      }
      offset += parameters_[i].numel();
    }
  }
  for (size_t i = 0; i < n; ++i) {
    const at::Tensor& g = parameters_[i].grad();
    defined[i] = g.defined() ? 1.0f : 0.0f;
    if (profile && g.defined() && IsTable(g)) {
      const at::Tensor rows = Rows(g);
      rows_nonzero_ += rows.ne(0).any(1).sum().item<int64_t>();
      rows_total_ += rows.size(0);
    }
  }
  group().AllReduceSum(flat);
  for (const at::Tensor& f : flat) bytes_ += f.numel() * 4;
  for (size_t i : sparse_) {
    at::Tensor& p = parameters_[i];
    const at::Tensor g = p.grad().defined() ? p.grad() : at::zeros_like(p);
    const at::Tensor rows = Rows(g);
    const at::Tensor nonzero = rows.ne(0).any(1).nonzero().view(-1);
    const at::Tensor sum = group().AllReduceSparse(
        at::sparse_coo_tensor(nonzero.view({1, -1}), rows.index_select(0, nonzero), rows.sizes()));
    bytes_ += sum._nnz() * (rows.size(1) * 4 + 8);
    p.mutable_grad() = defined[i] > 0 ? sum.to_dense().view(p.sizes()) : at::Tensor();
  }
  for (size_t b = 0; b < buckets_.size(); ++b) {
    int64_t offset = 0;
    for (size_t i : buckets_[b].params) {
      at::Tensor& p = parameters_[i];
      p.mutable_grad() = defined[i] > 0 ? flat[b].narrow(0, offset, p.numel()).view(p.sizes()) : at::Tensor();
      offset += p.numel();
    }
  }
  ++steps_;
}

DataParallel::Stats DataParallel::stats() const {
  Stats s;
  s.steps = steps_;
  if (steps_ > 0) s.bytes_per_step = static_cast<double>(bytes_) / steps_;
  if (rows_total_ > 0) s.nonzero_row_share = static_cast<double>(rows_nonzero_) / rows_total_;
  return s;
}

void BroadcastText(Group& group, std::string& text) {
  at::Tensor size = at::tensor({static_cast<int64_t>(text.size())}, at::kLong);
  std::vector<at::Tensor> one = {size};
  group.Broadcast(one, 0);
  text.resize(size.item<int64_t>());
  if (text.empty()) return;
  std::vector<at::Tensor> bytes = {at::from_blob(&text[0], {static_cast<int64_t>(text.size())}, at::kByte)};
  group.Broadcast(bytes, 0);
}

void BroadcastModule(Group& group, torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  std::vector<at::Tensor> all, contiguous;
  for (const at::Tensor& p : module.parameters()) all.push_back(p.detach());
  for (const at::Tensor& b : module.buffers()) all.push_back(b.detach());
  for (const at::Tensor& t : all) contiguous.push_back(t.contiguous());
  group.Broadcast(contiguous, 0);
  for (size_t i = 0; i < all.size(); ++i) {
    if (!contiguous[i].is_same(all[i])) all[i].copy_(contiguous[i]);
  }
}

void DataParallel::SyncFromRankZero(torch::nn::Module& module, torch::optim::Optimizer& optimizer, std::string& state) {
  BroadcastText(group(), state);
  BroadcastModule(group(), module);
  std::string saved;
  if (group().rank() == 0) {
    torch::serialize::OutputArchive archive;
    optimizer.save(archive);
    std::ostringstream bytes;
    archive.save_to(bytes);
    saved = std::move(bytes).str();
  }
  BroadcastText(group(), saved);
  if (group().rank() != 0) {
    torch::serialize::InputArchive archive;
    archive.load_from(saved.data(), saved.size());
    optimizer.load(archive);
  }
}

absl::Status DataParallel::CheckReplicasAgree(torch::nn::Module& module, const std::string& when) {
  uint64_t sum = 0;
  for (const at::Tensor& p : module.parameters()) {
    const at::Tensor c = p.detach().contiguous();
    sum = data::Xxh64(c.data_ptr(), c.numel() * c.element_size(), sum);
  }
  at::Tensor sums = at::zeros({group().size()}, at::kLong);
  sums[group().rank()] = static_cast<int64_t>(sum);
  std::vector<at::Tensor> one = {sums};
  group().AllReduceSum(one);
  const int64_t* s = sums.data_ptr<int64_t>();
  std::vector<int> differ;
  for (int r = 1; r < group().size(); ++r) {
    if (s[r] != s[0]) differ.push_back(r);
  }
  if (differ.empty()) return absl::OkStatus();
  return absl::InternalError(absl::StrFormat(
      "%s the parameters of rank %d differ from rank 0's (checksums %016x and %016x): the ranks no longer train "
      "one model", when, differ.front(), static_cast<uint64_t>(s[differ.front()]), static_cast<uint64_t>(s[0])));
}

}  // namespace hardgnn::dist
