#include "core/train/trainer.h"

#include <chrono>
#include <cmath>
#include <memory>
#include <optional>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/dist/data_parallel.h"
#include "core/model/backward_profile.h"
#include "core/model/profile.h"
#include "core/model/tensor_memory.h"
#include "core/model/rng.h"
#include "core/train/fused_adam.h"
#include "core/train/progress.h"
#include "core/train/run_directory.h"

namespace hardgnn {
namespace {

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The epoch's rows in training order: its users (each target drawn at build time), or every
// training event.
std::vector<TrainingEvent> EpochRows(const BatchBuilder& builder, const TrainOptions& options, int64_t epoch) {
  std::vector<TrainingEvent> rows;
  if (options.epoch_scheme == EpochScheme::kEvents) {
    rows = builder.TrainingEvents();
  } else {
    for (int32_t u : builder.TrainableUsers()) rows.push_back({u, -1});
  }
  Rng rng(options.seed, (1ULL << 40) + static_cast<uint64_t>(epoch));
  for (size_t i = rows.size(); i > 1; --i) std::swap(rows[i - 1], rows[rng.Below(i)]);
  const int64_t limit = options.users_per_epoch;
  if (options.epoch_scheme == EpochScheme::kUsers && limit > 0 && static_cast<int64_t>(rows.size()) > limit) {
    rows.resize(limit);
  }
  return rows;
}

// An epoch's loss terms for log.jsonl ("terms": raw means, as always; "weighted": each term's
// contribution to the loss, weight x raw; "weights") and for the epoch line, which spells the
// total out as the sum of those contributions ("hinge 0.41 + sal 0.0069 (1e-06 x 6.9e+06)").
struct TermReport {
  std::string json, line;
};

TermReport ReportTerms(const std::vector<WeightedLoss>& losses, const std::vector<double>& sums, int64_t steps) {
  std::string raw, weighted, weights, line;
  for (size_t t = 0; t < losses.size(); ++t) {
    const char* sep = t ? "," : "";
    const std::string& name = losses[t].name;
    const double mean = sums[t] / steps, weight = losses[t].weight, part = weight * mean;
    absl::StrAppendFormat(&raw, "%s\"%s\":%.6g", sep, name, mean);
    absl::StrAppendFormat(&weighted, "%s\"%s\":%.6g", sep, name, part);
    absl::StrAppendFormat(&weights, "%s\"%s\":%.6g", sep, name, weight);
    absl::StrAppendFormat(&line, "%s%s %.4g", t ? " + " : "", name, part);
    if (weight != 1) absl::StrAppendFormat(&line, " (%g x %.4g)", weight, mean);
  }
  return {absl::StrCat("\"terms\":{", raw, "},\"weighted\":{", weighted, "},\"weights\":{", weights, "}"),
          line.empty() ? "no terms" : line};
}

// One call of Train(): the loop, its run directory and its selection state.
class TrainingRun {
 public:
  TrainingRun(Model& model, const data::PreparedDataset& dataset, const TrainOptions& options, RunDirectory run)
      : model_(model), encoder_(*model.encoder), dataset_(dataset), options_(options), run_(std::move(run)),
        optimizer_(encoder_.parameters(), torch::optim::AdamOptions(options.lr).betas({0.9, 0.999}).eps(1e-8)),
        builder_(dataset, BatchOptionsFor(model, options.batch)) {
    for (const WeightedLoss& l : model.losses) {
      if (l.loss->NeedsNegatives()) anchor_view_ = l.loss->AnchorView();
    }
    if (options.data_parallel.group != nullptr) dp_.emplace(options.data_parallel, encoder_.parameters());
    FoldParameterPenalties();
  }

  absl::StatusOr<TrainSummary> Execute();

 private:
  absl::Status Prepare();
  void FoldParameterPenalties();
  absl::StatusOr<double> Step(const std::vector<TrainingEvent>& rows, int64_t epoch, std::vector<double>& term_sums);
  absl::Status SampleNegatives(const Batch& host, const Views* views, uint64_t seed, Sampler::Result& out) const;
  struct StepTerms;
  void ComputeTerms(const Loss::Input& input, dist::DataParallel* dp, bool before_forward, StepTerms& terms);
  absl::Status EndEpoch(int64_t epoch, double loss, const std::vector<double>& term_sums, int64_t steps,
                        double seconds, bool stop_requested);
  absl::Status Finish();

  Model& model_;
  Encoder& encoder_;
  const data::PreparedDataset& dataset_;
  TrainOptions options_;  // a copy: lr_decay_steps is set from lr_decay_epochs once the epoch size is known
  RunDirectory run_;
  FusedAdam optimizer_;  // the stock Adam's bits, in one pass over each parameter
  std::vector<bool> folded_;  // a term whose gradient the optimizer adds (FoldParameterPenalties)
  BatchBuilder builder_;
  CheckpointIdentity identity_;
  std::string anchor_view_;
  TrainerState state_;
  std::optional<Progress> progress_;
  int64_t first_step_ = 0;
  bool stop_ = false;
  TrainSummary summary_;
  // Data parallel (core/dist/data_parallel.h): set when this process is one rank of several.
  std::optional<dist::DataParallel> dp_;
  bool rank0_writes_ = false;     // rank 0 has a run directory (best.pt to re-read at the end)
  at::Tensor batch_positives_;   // the whole step's targets, for a sampler drawing from the batch
};

// A step's loss terms: the tensors to differentiate (undefined: not computed on this rank),
// their values, their data-parallel weights, and how each adds up over the ranks.
struct TrainingRun::StepTerms {
  explicit StepTerms(size_t n) : tensors(n), values(n, 0.0), scales(n, 1.0), reductions(n), early(n, false) {}
  std::vector<at::Tensor> tensors;
  std::vector<double> values, scales;
  std::vector<Loss::Reduction> reductions;
  std::vector<bool> early;  // a term of the parameters alone, done before the forward pass
};

// Before the forward pass (before_forward), the terms of the parameters alone, when the
// encoder's penalized tensors are its tables: autograd runs ready nodes newest first, so their
// backward then runs last, after the forward's saved tensors are freed, and the L2 term's
// gradients of the tables (178 MB at the published Yelp shape) are not held through the whole
// backward; a parameter's gradient is the same sum (two addends, in the other order). The
// caller asks for these only when Encoder::RegularizedBeforeForward(). After the forward pass,
// every term not yet computed. Data parallel: a term of the parameters alone is rank 0's.
void TrainingRun::ComputeTerms(const Loss::Input& input, dist::DataParallel* dp, bool before_forward,
                               StepTerms& terms) {
  for (size_t t = 0; t < model_.losses.size(); ++t) {
    Loss& loss = *model_.losses[t].loss;
    if (terms.early[t] || (before_forward && !loss.RequiredViews().empty())) continue;
    if (before_forward || dp) terms.reductions[t] = loss.BatchReduction(input);
    const bool parameters_alone = terms.reductions[t].kind == Loss::Reduction::kParameters;
    if (before_forward && !parameters_alone) continue;
    terms.early[t] = before_forward;
    if (dp && parameters_alone && dp->group().rank() != 0) continue;
    std::optional<at::NoGradGuard> value_only;  // a folded term: the optimizer adds its gradient
    if (folded_[t]) value_only.emplace();
    terms.tensors[t] = loss.Compute(input);
    terms.values[t] = terms.tensors[t].item<double>();
  }
}

// A term c/2 sum ||p||^2 of whole parameters (L2 of the tables) gets its gradient c p from the
// optimizer, in the pass that reads p anyway: autograd would build a full-size tensor per table
// (178 MB at the published Yelp shape) and sum it into the table's gradient: about 40 ms of a
// 1 s SelfGNN step by the profile's nodes, and 130 MB of its peak (REPORT §3). The term's value
// is still computed, without autograd. Not where the penalized tensors are picked by the
// forward pass (not parameters themselves) or where after_backward reads the gradients, which
// would then lack the term's share.
void TrainingRun::FoldParameterPenalties() {
  folded_.assign(model_.losses.size(), false);
  if (!options_.fold_parameter_penalties || options_.after_backward || !encoder_.RegularizedBeforeForward()) return;
  absl::flat_hash_set<const void*> parameters;
  for (const at::Tensor& p : encoder_.parameters()) parameters.insert(p.unsafeGetTensorImpl());
  const std::vector<at::Tensor> penalized = encoder_.RegularizedParameters();
  absl::flat_hash_set<const void*> seen;
  for (const at::Tensor& p : penalized) {
    // Each once, and each a parameter the optimizer steps.
    if (!parameters.contains(p.unsafeGetTensorImpl()) || !seen.insert(p.unsafeGetTensorImpl()).second) return;
  }
  for (size_t t = 0; t < model_.losses.size(); ++t) {
    const double c = model_.losses[t].loss->CoupledDecay();
    if (c == 0) continue;
    folded_[t] = true;
    for (const at::Tensor& p : penalized) {
      optimizer_.SetCoupledDecay(p, optimizer_.CoupledDecay(p) + model_.losses[t].weight * c);
    }
  }
}

// Checks what can be checked before the first step, then resumes or starts.
absl::Status TrainingRun::Prepare() {
  if (builder_.TrainableUsers().empty()) return absl::FailedPreconditionError("no user has a training target");
  if (model_.sampler != nullptr) {
    // A user with fewer drawable items than K would make the sampler repeat or fail; K near
    // the catalog size would also cost gigabytes per step.
    const int64_t k = model_.sampler->NumNegatives();
    int32_t poorest = builder_.TrainableUsers().front();
    for (int32_t u : builder_.TrainableUsers()) {
      if (builder_.Seen().RowSize(u) > builder_.Seen().RowSize(poorest)) poorest = u;
    }
    const int64_t drawable = dataset_.num_items - builder_.Seen().RowSize(poorest);
    if (k > drawable) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the sampler draws ", k, " negatives per anchor (--contrastive_k or the sampler's k), but user ", poorest,
          " may draw only ", drawable, " (", dataset_.num_items, " items, ", builder_.Seen().RowSize(poorest),
          " seen): choose K <= ", drawable));
    }
  }
  identity_ = options_.identity;
  if (run_.enabled() && identity_.dataset_fingerprint.empty()) identity_ = WithDataset(identity_, dataset_);
  if (options_.resume) {
    absl::StatusOr<TrainerState> state = run_.Resume(encoder_, optimizer_, identity_);
    if (!state.ok()) return state.status();
    state_ = *state;
    if (state_.step > 0) {
      absl::Status s = run_.Log(
          absl::StrCat("{\"event\":\"resume\",\"epoch\":", state_.next_epoch, ",\"step\":", state_.step, "}"));
      if (!s.ok()) return s;
    }
  }
  if (dp_) {
    // Data parallel: every rank continues from rank 0's weights, optimizer and trainer state.
    if (options_.batch_size < dp_->group().size()) {
      return absl::InvalidArgumentError(absl::StrCat("--batch_size=", options_.batch_size, " is below the number of ranks (",
                                                     dp_->group().size(), ")"));
    }
    std::string state = absl::StrCat(run_.enabled() ? "1" : "0", state_.Serialize());
    dp_->SyncFromRankZero(encoder_, optimizer_, state);
    rank0_writes_ = state[0] == '1';
    absl::StatusOr<TrainerState> synced = TrainerState::Parse(state.substr(1), "rank 0's trainer state");
    if (!synced.ok()) return synced.status();
    state_ = *synced;
  }
  return options_.on_start ? options_.on_start() : absl::OkStatus();
}

// `host`: the step's batch on the host (samplers read users and positives there); the
// negatives go to the model's device.
absl::Status TrainingRun::SampleNegatives(const Batch& host, const Views* views, uint64_t seed,
                                          Sampler::Result& out) const {
  ScopedPhase phase("sampler");
  Sampler::Request request;
  if (views != nullptr) {
    request.anchors = views->Get(anchor_view_).detach();
    request.items = views->Get(view::kItem).detach();
  }
  request.users = host.users;
  request.positives = host.targets;
  request.first_row = host.first_row;
  request.batch_positives = batch_positives_;
  request.history = &builder_.Seen();
  request.num_items = dataset_.num_items;
  request.seed = seed;
  absl::StatusOr<Sampler::Result> sampled = model_.sampler->Sample(request);
  if (!sampled.ok()) return sampled.status();
  out = std::move(*sampled);
  out.ids = out.ids.to(options_.device);
  if (out.weights.defined()) out.weights = out.weights.to(options_.device);
  return absl::OkStatus();
}

// One optimizer step on `step_rows`; returns its loss and adds each term to term_sums. Data
// parallel: this rank computes its share of the rows, the terms and gradients are summed over
// the ranks (every rank draws the same seeds, and per-row draws are keyed by batch.first_row).
absl::StatusOr<double> TrainingRun::Step(const std::vector<TrainingEvent>& step_rows, int64_t epoch,
                                         std::vector<double>& term_sums) {
  Rng step_rng(options_.seed, static_cast<uint64_t>(state_.step));
  const uint64_t batch_seed = step_rng.Next();
  at::manual_seed(step_rng.Next());  // dropout: a function of the seed and the step
  ScopedPhase step_phase("step (total)");
  // Data parallel: a step with fewer rows than ranks runs whole on every rank (the same
  // numbers everywhere, nothing to exchange).
  dist::DataParallel* dp = dp_ && static_cast<int64_t>(step_rows.size()) >= dp_->group().size() ? &*dp_ : nullptr;
  const dist::Shard shard = dp ? dp->ShardOf(step_rows.size()) : dist::Shard{0, static_cast<int64_t>(step_rows.size())};
  const std::vector<TrainingEvent> rows(step_rows.begin() + shard.begin, step_rows.begin() + shard.end);
  Batch host, batch;  // the step's batch as built, and on the model's device (the same tensors on CPU)
  {
    ScopedPhase phase("batch building");
    host = builder_.BuildRows(rows, batch_seed);
    host.first_row = shard.begin;
    batch_positives_ = dp && model_.sampler != nullptr ? builder_.Targets(step_rows, batch_seed) : at::Tensor();
    batch = OnDevice(host, options_.device);
  }
  const uint64_t sampler_seed = step_rng.Next();
  const bool all_items = model_.sampler != nullptr && model_.sampler->NeedsItemTable();
  Sampler::Result negatives;
  // A sampler that needs no embeddings runs first, so the encoder computes its negatives'
  // item rows along with the batch's other touched items.
  if (model_.sampler != nullptr && !all_items) {
    if (absl::Status s = SampleNegatives(host, nullptr, sampler_seed, negatives); !s.ok()) return s;
    batch.touched_items = std::get<0>(at::_unique(at::cat({batch.touched_items, negatives.ids.reshape(-1)})));
  }
  const size_t num_terms = model_.losses.size();
  StepTerms step_terms(num_terms);
  if (encoder_.RegularizedBeforeForward()) {
    ScopedPhase phase("losses: parameters alone");
    const Views no_views;
    // The L2 term's sums of squares come from the last optimizer step's pass (FusedAdam).
    ComputeTerms({batch, no_views, encoder_, nullptr, &builder_.Seen(), dp ? dp->exchange() : nullptr,
                  [this](const at::Tensor& p) { return optimizer_.SumOfSquares(p); }},
                 dp, /*before_forward=*/true, step_terms);
  }
  Views views = encoder_.Forward(batch, all_items);
  if (model_.sampler != nullptr && all_items) {
    if (absl::Status s = SampleNegatives(host, &views, sampler_seed, negatives); !s.ok()) return s;
    ScopedPhase phase("forward: sampled item rows");
    // Rows of touched items already carry their gradient; only the other picks need one.
    const at::Tensor picked = std::get<0>(at::_unique(negatives.ids.reshape(-1)));
    encoder_.AddItemRows(views, picked.masked_select(at::isin(picked, batch.touched_items).logical_not()));
  }

  std::optional<ScopedPhase> loss_phase(std::in_place, "losses");
  ComputeTerms({batch, views, encoder_, model_.sampler ? &negatives : nullptr, &builder_.Seen(),
                dp ? dp->exchange() : nullptr},
               dp, /*before_forward=*/false, step_terms);
  std::vector<at::Tensor>& terms = step_terms.tensors;
  std::vector<double>& values = step_terms.values;
  std::vector<double>& scales = step_terms.scales;
  const std::vector<Loss::Reduction>& reductions = step_terms.reductions;
  if (dp) {  // the whole batch's terms, and this rank's weight of each
    std::vector<std::string> names;
    for (const WeightedLoss& l : model_.losses) names.push_back(l.name);
    absl::StatusOr<std::vector<double>> whole = dp->ShareTerms(names, reductions, values, scales);
    if (!whole.ok()) return whole.status();
    values = *whole;
  }
  at::Tensor total = at::zeros({});
  double whole_loss = 0;
  for (size_t t = 0; t < num_terms; ++t) {
    term_sums[t] += values[t];
    whole_loss += model_.losses[t].weight * values[t];
    if (terms[t].defined() && scales[t] != 0) total = total + (model_.losses[t].weight * scales[t]) * terms[t];
  }
  const double loss = dp ? whole_loss : total.item<double>();
  loss_phase.reset();
  // What autograd needs is saved in the graph; the views themselves (full-graph embeddings
  // among them) can go before the backward pass builds its gradients.
  views = Views();
  if (state_.step == 0) state_.first_loss = std::fabs(loss);
  if (!std::isfinite(loss)) {
    return absl::InternalError(absl::StrCat("training diverged: the loss is ", loss, " at step ", state_.step,
                                            " (epoch ", epoch, "); lower --lr or check the data"));
  }
  if (options_.max_loss_growth > 0 &&
      std::fabs(loss) > options_.max_loss_growth * std::max(state_.first_loss, 1e-6)) {
    return absl::InternalError(absl::StrFormat(
        "training diverged: the loss is %g at step %d (epoch %d), over %g times the first step's %g "
        "(--max_loss_growth); lower --lr", loss, state_.step, epoch, options_.max_loss_growth, state_.first_loss));
  }
  for (auto& group : optimizer_.param_groups()) {
    static_cast<torch::optim::AdamOptions&>(group.options()).lr(LearningRateAt(options_, state_.step));
  }
  {
    ScopedPhase phase("backward");
    if (total.requires_grad()) total.backward();  // a rank > 0 whose only terms are rank 0's has none
  }
  if (dp) dp->ReduceGradients();
  if (options_.after_backward) {
    if (absl::Status s = options_.after_backward(state_.step, epoch); !s.ok()) return s;
  }
  {
    ScopedPhase phase("optimizer");
    optimizer_.step();
    // Gradients set to none, not zero, once used: no buffer held through the next forward
    // pass, and the next backward's first gradient for a parameter becomes its .grad.
    for (at::Tensor& p : encoder_.parameters()) p.mutable_grad() = at::Tensor();
  }
  return loss;
}

// The epoch's log line, evaluation and selection, and the checkpoint.
absl::Status TrainingRun::EndEpoch(int64_t epoch, double loss, const std::vector<double>& term_sums, int64_t steps,
                                   double seconds, bool stop_requested) {
  summary_.epoch_loss.push_back(loss);
  ++summary_.epochs_run;
  const TermReport terms = ReportTerms(model_.losses, term_sums, steps);
  if (absl::Status s = run_.Log(absl::StrFormat(
          "{\"event\":\"epoch\",\"epoch\":%d,\"step\":%d,\"loss\":%.6g,%s,\"lr\":%.6g,\"seconds\":%.3f}", epoch,
          state_.step, loss, terms.json, LearningRateAt(options_, state_.step), seconds));
      !s.ok()) {
    return s;
  }
  std::string line = absl::StrFormat("epoch %d: loss %.4f = %s; %.1fs", epoch, loss, terms.line, seconds);
  if (options_.after_epoch) {
    if (absl::Status s = options_.after_epoch(epoch, loss); !s.ok()) return s;
  }
  if (dp_) {  // the ranks must still hold one model
    if (absl::Status s = dp_->CheckReplicasAgree(encoder_, absl::StrCat("after epoch ", epoch, ":")); !s.ok()) return s;
  }
  stop_ = stop_requested;
  const bool last = epoch + 1 == options_.epochs || stop_;
  const bool evaluate = epoch % std::max<int64_t>(1, options_.eval_every) == 0 || last;
  if (evaluate) {
    EvalResult result = Evaluate(encoder_, dataset_, options_.eval);
    if (absl::Status s = run_.Log(absl::StrCat("{\"event\":\"eval\",\"epoch\":", epoch, ",\"result\":", result.ToJson(), "}"));
        !s.ok()) {
      return s;
    }
    const double metric = options_.selection.Of(result);
    absl::StrAppendFormat(&line, " | val NDCG@10 %.4f HR@10 %.4f | test NDCG@10 %.4f HR@10 %.4f (%.1fs)",
                          result.validation.sampled.Ndcg(10), result.validation.sampled.Hr(10),
                          result.test.sampled.Ndcg(10), result.test.sampled.Hr(10), result.seconds);
    if (metric > state_.best_metric) {
      state_.best_metric = metric;
      state_.best_epoch = epoch;
      state_.stale_evals = 0;
      if (absl::Status s = run_.SaveBest(encoder_, identity_); !s.ok()) return s;
      summary_.best = result;
      line += " *";
    } else if (options_.patience > 0 && ++state_.stale_evals >= options_.patience) {
      line += absl::StrFormat(" (no improvement in %d evaluations: stopping)", options_.patience);
      stop_ = true;
    }
  }
  progress_->Message(line);
  state_.next_epoch = epoch + 1;
  if (evaluate || stop_) return run_.Commit(encoder_, optimizer_, identity_, state_);
  return absl::OkStatus();
}

namespace {

// The profile's live tensor memory per phase (when --profile tracks it), appended to `table`
// after the times; returns the same as JSON members for the run's log.
std::string AppendTensorMemory(std::string& table) {
  if (!PhaseProfile::HasGauge() || !TensorMemory::Tracking()) return "";
  absl::StrAppendFormat(&table, "live LibTorch CPU tensors at the end of each phase (mean), peak %.0f MB:\n",
                        TensorMemory::Peak() / 1e6);
  std::string json;
  for (const auto& [phase, bytes] : PhaseProfile::GaugeMeans()) {
    absl::StrAppendFormat(&table, "  %-34s %9.0f MB live\n", phase, bytes / 1e6);
    absl::StrAppendFormat(&json, "%s\"%s\":%.0f", json.empty() ? "" : ",", phase, bytes / 1e6);
  }
  return absl::StrFormat(",\"live_tensor_mb\":{%s},\"live_tensor_peak_mb\":%.0f", json, TensorMemory::Peak() / 1e6);
}

// The backward's autograd nodes by time per step (the 15 largest) appended to `table`; all of
// them as a JSON member for the run's log.
std::string AppendBackwardNodes(std::string& table, int64_t steps) {
  const auto nodes = BackwardNodeProfile::Totals();
  if (nodes.empty()) return "";
  table += "the backward by autograd node (ms per step; LibTorch's ops and the fused kernels' own nodes):\n";
  std::string json;
  for (size_t i = 0; i < nodes.size(); ++i) {
    const double per_step = nodes[i].second / steps;
    if (i < 15) absl::StrAppendFormat(&table, "  %-34s %9.1f ms\n", nodes[i].first, 1e3 * per_step);
    absl::StrAppendFormat(&json, "%s\"%s\":%.6f", json.empty() ? "" : ",", nodes[i].first, per_step);
  }
  return absl::StrFormat(",\"backward_nodes\":{%s}", json);
}

}  // namespace

// The phase profile, and the selected model re-read from its checkpoint, so the numbers
// reported are the file's.
absl::Status TrainingRun::Finish() {
  progress_->Finish();
  if (PhaseProfile::Enabled() && state_.step > first_step_) {
    std::string json, table = "per-step wall time by phase (mean over this run's steps):\n";
    for (const auto& [phase, seconds] : PhaseProfile::Totals()) {
      const double per_step = seconds / (state_.step - first_step_);
      absl::StrAppendFormat(&table, "  %-34s %9.1f ms\n", phase, 1e3 * per_step);
      absl::StrAppendFormat(&json, "%s\"%s\":%.6f", json.empty() ? "" : ",", phase, per_step);
    }
    std::string dp_json;
    if (dp_) {  // what the ranks exchanged
      const dist::DataParallel::Stats d = dp_->stats();
      absl::StrAppendFormat(&table, "  data parallel: %d ranks, %.2f MB all-reduced per step%s\n", dp_->group().size(),
                            d.bytes_per_step / 1e6,
                            d.nonzero_row_share < 0 ? "" : absl::StrFormat(", %.1f%% of the tables' gradient rows not zero",
                                                                            100 * d.nonzero_row_share));
      dp_json = absl::StrFormat(",\"data_parallel\":{\"ranks\":%d,\"bytes_per_step\":%.0f,\"nonzero_row_share\":%.4f}",
                                dp_->group().size(), d.bytes_per_step, d.nonzero_row_share);
    }
    const std::string nodes_json = AppendBackwardNodes(table, state_.step - first_step_);
    const std::string memory_json = AppendTensorMemory(table);
    progress_->Message(table);
    if (absl::Status s = run_.Log(absl::StrCat("{\"event\":\"profile\",\"steps\":", state_.step - first_step_,
                                               ",\"seconds_per_step\":{", json, "}", nodes_json, memory_json, dp_json,
                                               "}"));
        !s.ok()) {
      return s;
    }
  }
  summary_.steps = state_.step;
  summary_.best_epoch = state_.best_epoch;
  // Data parallel: rank 0 re-reads best.pt and gives it to the others; all evaluate it.
  if ((dp_ ? rank0_writes_ : run_.enabled()) && state_.best_epoch >= 0) {
    if (run_.enabled()) {
      if (absl::Status s = run_.LoadBest(encoder_, identity_); !s.ok()) return s;
    }
    if (dp_) dp_->BroadcastParameters(encoder_);
    summary_.best = Evaluate(encoder_, dataset_, options_.eval);
    return run_.Log(absl::StrCat("{\"event\":\"best\",\"epoch\":", state_.best_epoch, ",\"result\":",
                                 summary_.best.ToJson(), "}"));
  }
  return absl::OkStatus();
}

absl::StatusOr<TrainSummary> TrainingRun::Execute() {
  if (absl::Status s = Prepare(); !s.ok()) return s;
  const int64_t epoch_rows = static_cast<int64_t>(EpochRows(builder_, options_, 0).size());
  const int64_t steps_per_epoch = (epoch_rows + options_.batch_size - 1) / options_.batch_size;
  int64_t total_steps = steps_per_epoch * options_.epochs;
  if (options_.max_steps > 0) total_steps = std::min(total_steps, options_.max_steps);
  options_.lr_decay_steps = DecayStairSteps(options_, steps_per_epoch);
  progress_.emplace(total_steps, state_.step, options_.progress);
  first_step_ = state_.step;
  for (int64_t epoch = state_.next_epoch; epoch < options_.epochs && !stop_; ++epoch) {
    const auto epoch_start = std::chrono::steady_clock::now();
    encoder_.train();
    const std::vector<TrainingEvent> rows = EpochRows(builder_, options_, epoch);
    std::vector<double> term_sums(model_.losses.size(), 0.0);
    double loss_sum = 0;
    int64_t steps = 0;
    bool out_of_steps = false;
    for (size_t begin = 0; begin < rows.size(); begin += options_.batch_size) {
      if (options_.max_steps > 0 && state_.step >= options_.max_steps) { out_of_steps = true; break; }
      const std::vector<TrainingEvent> chunk(rows.begin() + begin,
                                             rows.begin() + std::min(rows.size(), begin + options_.batch_size));
      absl::StatusOr<double> loss = Step(chunk, epoch, term_sums);
      if (!loss.ok()) return loss.status();
      loss_sum += *loss;
      ++steps;
      progress_->Step(state_.step, epoch, *loss);
      ++state_.step;
    }
    if (steps == 0) break;
    if (absl::Status s = EndEpoch(epoch, loss_sum / steps, term_sums, steps, SecondsSince(epoch_start), out_of_steps);
        !s.ok()) {
      return s;
    }
  }
  if (absl::Status s = Finish(); !s.ok()) return s;
  return summary_;
}

}  // namespace

double LearningRateAt(const TrainOptions& options, int64_t step) {
  const int64_t stairs = options.lr_decay_steps > 0 ? step / options.lr_decay_steps : 0;
  return options.lr * std::pow(options.lr_decay, static_cast<double>(stairs));
}

int64_t DecayStairSteps(const TrainOptions& options, int64_t steps_per_epoch) {
  return options.lr_decay_epochs > 0 ? options.lr_decay_epochs * steps_per_epoch : options.lr_decay_steps;
}

BatchOptions BatchOptionsFor(const Model& model, BatchOptions base) {
  for (const WeightedLoss& l : model.losses) {
    const BatchNeeds needs = l.loss->Needs();
    base.rec_negatives = std::max(base.rec_negatives, needs.rec_negatives);
    base.sal_samples = std::max(base.sal_samples, needs.sal_samples);
  }
  return base;
}

absl::StatusOr<TrainSummary> Train(Model& model, const data::PreparedDataset& dataset,
                                   const TrainOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<RunDirectory> run = RunDirectory::Open(options.run_dir);
  if (!run.ok()) return run.status();
  absl::StatusOr<TrainSummary> summary;
  if (!model.encoder->Trainable()) {  // nothing to fit: evaluate as is
    if (options.on_start) {
      if (absl::Status s = options.on_start(); !s.ok()) return s;
    }
    summary.emplace();
    summary->best = Evaluate(*model.encoder, dataset, options.eval);
    absl::Status s = run->Log(absl::StrCat("{\"event\":\"eval\",\"epoch\":-1,\"result\":", summary->best.ToJson(), "}"));
    if (!s.ok()) return s;
  } else {
    model.encoder->to(options.device);  // before the optimizer takes the parameters
    TrainingRun training(model, dataset, options, std::move(*run));
    summary = training.Execute();
    if (!summary.ok()) return summary.status();
  }
  summary->seconds = SecondsSince(start);
  return summary;
}

}  // namespace hardgnn
