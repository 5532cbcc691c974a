#include "core/train/trainer.h"

#include <sys/stat.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <memory>
#include <optional>

#include <ATen/ATen.h>
#include <torch/optim/adam.h>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "core/model/profile.h"
#include "core/model/rng.h"
#include "core/train/checkpoint.h"
#include "core/train/progress.h"

namespace hardgnn {
namespace {

// Resume state: the next epoch to run, the global step, and the selection so far.
struct State {
  int64_t next_epoch = 0;
  int64_t step = 0;
  int64_t best_epoch = -1;
  double best_metric = -1;
  int64_t stale_evals = 0;

  std::string Serialize() const {
    return absl::StrFormat("next_epoch=%d\nstep=%d\nbest_epoch=%d\nbest_metric=%.17g\nstale_evals=%d\n",
                           next_epoch, step, best_epoch, best_metric, stale_evals);
  }
  static absl::StatusOr<State> Parse(const std::string& path) {
    std::ifstream in(path);
    if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot read resume state"));
    State s;
    std::string line;
    int line_no = 0, fields = 0;
    while (std::getline(in, line)) {
      ++line_no;
      std::pair<std::string, std::string> kv = absl::StrSplit(line, absl::MaxSplits('=', 1));
      bool ok = true;
      if (kv.first == "next_epoch") ok = absl::SimpleAtoi(kv.second, &s.next_epoch);
      else if (kv.first == "step") ok = absl::SimpleAtoi(kv.second, &s.step);
      else if (kv.first == "best_epoch") ok = absl::SimpleAtoi(kv.second, &s.best_epoch);
      else if (kv.first == "best_metric") ok = absl::SimpleAtod(kv.second, &s.best_metric);
      else if (kv.first == "stale_evals") ok = absl::SimpleAtoi(kv.second, &s.stale_evals);
      else ok = false;
      if (!ok) return absl::InvalidArgumentError(absl::StrCat(path, ":", line_no, ": bad line '", line, "'"));
      ++fields;
    }
    if (fields != 5) return absl::InvalidArgumentError(absl::StrCat(path, ": incomplete resume state"));
    return s;
  }
};

std::vector<int32_t> EpochUsers(const std::vector<int32_t>& trainable, int64_t limit, uint64_t seed,
                                int64_t epoch) {
  std::vector<int32_t> users = trainable;
  Rng rng(seed, (1ULL << 40) + static_cast<uint64_t>(epoch));
  for (size_t i = users.size(); i > 1; --i) std::swap(users[i - 1], users[rng.Below(i)]);
  if (limit > 0 && static_cast<int64_t>(users.size()) > limit) users.resize(limit);
  return users;
}

class RunLog {
 public:
  explicit RunLog(const std::string& dir) {
    if (!dir.empty()) out_.open(dir + "/log.jsonl", std::ios::app);
  }
  void Write(const std::string& json) {
    if (out_.is_open()) out_ << json << "\n" << std::flush;
  }

 private:
  std::ofstream out_;
};

}  // namespace

double LearningRateAt(const TrainOptions& options, int64_t step) {
  const int64_t stairs = options.lr_decay_steps > 0 ? step / options.lr_decay_steps : 0;
  return options.lr * std::pow(options.lr_decay, static_cast<double>(stairs));
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
  const std::string& dir = options.run_dir;
  const std::string best_path = dir + "/best.pt", last_path = dir + "/last.pt",
                    state_path = dir + "/state.txt";
  Encoder& encoder = *model.encoder;
  TrainSummary summary;
  RunLog log(dir);

  if (!encoder.Trainable()) {  // nothing to fit: evaluate as is
    summary.best = Evaluate(encoder, dataset, options.eval);
    log.Write(absl::StrCat("{\"event\":\"eval\",\"epoch\":-1,\"result\":", summary.best.ToJson(), "}"));
    summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return summary;
  }

  torch::optim::Adam optimizer(encoder.parameters(),
                               torch::optim::AdamOptions(options.lr).betas({0.9, 0.999}).eps(1e-8));
  State state;
  if (options.resume) {
    if (dir.empty()) return absl::InvalidArgumentError("--resume needs a run directory");
    absl::StatusOr<State> loaded = State::Parse(state_path);
    if (!loaded.ok()) return loaded.status();
    state = *loaded;
    absl::Status status = LoadCheckpoint(last_path, encoder, &optimizer);
    if (!status.ok()) return status;
    log.Write(absl::StrCat("{\"event\":\"resume\",\"epoch\":", state.next_epoch, ",\"step\":", state.step, "}"));
  }

  BatchBuilder builder(dataset, BatchOptionsFor(model, options.batch));
  if (builder.TrainableUsers().empty()) return absl::FailedPreconditionError("no user has a training target");
  const int64_t epoch_users = options.users_per_epoch > 0
      ? std::min<int64_t>(options.users_per_epoch, builder.TrainableUsers().size())
      : builder.TrainableUsers().size();
  const int64_t steps_per_epoch = (epoch_users + options.batch_size - 1) / options.batch_size;
  int64_t total_steps = steps_per_epoch * options.epochs;
  if (options.max_steps > 0) total_steps = std::min(total_steps, options.max_steps);
  Progress progress(total_steps, state.step, options.progress_bar);
  const int64_t first_step = state.step;
  const bool all_items = model.sampler != nullptr && model.sampler->NeedsItemTable();
  std::string anchor_view;
  for (const WeightedLoss& l : model.losses) {
    if (l.loss->NeedsNegatives()) anchor_view = l.loss->AnchorView();
  }

  bool stop = false;
  for (int64_t epoch = state.next_epoch; epoch < options.epochs && !stop; ++epoch) {
    const auto epoch_start = std::chrono::steady_clock::now();
    encoder.train();
    const std::vector<int32_t> users =
        EpochUsers(builder.TrainableUsers(), options.users_per_epoch, options.seed, epoch);
    std::vector<double> term_sums(model.losses.size(), 0.0);
    double loss_sum = 0;
    int64_t epoch_steps = 0;
    for (size_t begin = 0; begin < users.size(); begin += options.batch_size) {
      if (options.max_steps > 0 && state.step >= options.max_steps) { stop = true; break; }
      std::vector<int32_t> chunk(users.begin() + begin,
                                 users.begin() + std::min(users.size(), begin + options.batch_size));
      Rng step_rng(options.seed, static_cast<uint64_t>(state.step));
      const uint64_t batch_seed = step_rng.Next();
      at::manual_seed(step_rng.Next());  // dropout: a function of the seed and the step
      ScopedPhase step_phase("step (total)");
      Batch batch;
      {
        ScopedPhase phase("batch building");
        batch = builder.Build(chunk, batch_seed);
      }
      const uint64_t sampler_seed = step_rng.Next();
      Sampler::Result negatives;
      auto sample = [&](const Views* views) -> absl::Status {
        ScopedPhase phase("sampler");
        Sampler::Request request;
        if (views != nullptr) {
          request.anchors = views->Get(anchor_view).detach();
          request.items = views->Get(view::kItem).detach();
        }
        request.users = batch.users;
        request.positives = batch.targets;
        request.history = &builder.Seen();
        request.num_items = dataset.num_items;
        request.seed = sampler_seed;
        absl::StatusOr<Sampler::Result> sampled = model.sampler->Sample(request);
        if (!sampled.ok()) return sampled.status();
        negatives = std::move(*sampled);
        return absl::OkStatus();
      };
      // A sampler that needs no embeddings runs first, so the encoder computes its
      // negatives' item rows along with the batch's other touched items.
      if (model.sampler != nullptr && !all_items) {
        absl::Status status = sample(nullptr);
        if (!status.ok()) return status;
        batch.touched_items = std::get<0>(at::_unique(at::cat({batch.touched_items, negatives.ids.reshape(-1)})));
      }
      Views views = encoder.Forward(batch, all_items);
      if (model.sampler != nullptr && all_items) {
        absl::Status status = sample(&views);
        if (!status.ok()) return status;
        ScopedPhase phase("forward: sampled item rows");
        // Rows of touched items already carry their gradient; only the other picks need one.
        const at::Tensor picked = std::get<0>(at::_unique(negatives.ids.reshape(-1)));
        encoder.AddItemRows(views, picked.masked_select(at::isin(picked, batch.touched_items).logical_not()));
      }

      at::Tensor total = at::zeros({});
      std::optional<ScopedPhase> loss_phase(std::in_place, "losses");
      for (size_t t = 0; t < model.losses.size(); ++t) {
        Loss::Input input{batch, views, encoder, model.sampler ? &negatives : nullptr, &builder.Seen()};
        at::Tensor term = model.losses[t].loss->Compute(input);
        term_sums[t] += term.item<double>();
        total = total + model.losses[t].weight * term;
      }
      const double loss_value = total.item<double>();
      loss_phase.reset();
      // What autograd needs is saved in the graph; the views themselves (full-graph
      // embeddings among them) can go before the backward pass builds its gradients.
      views = Views();
      if (!std::isfinite(loss_value)) {
        return absl::InternalError(absl::StrCat("loss is ", loss_value, " at step ", state.step,
                                                " (epoch ", epoch, "): lower --lr or check the data"));
      }
      for (auto& group : optimizer.param_groups()) {
        static_cast<torch::optim::AdamOptions&>(group.options()).lr(LearningRateAt(options, state.step));
      }
      {
        ScopedPhase phase("backward");
        // Gradients set to none, not zero: no buffer held through the forward pass, and the
        // backward's first gradient for a parameter becomes its .grad without a copy.
        for (at::Tensor& p : encoder.parameters()) p.mutable_grad() = at::Tensor();
        total.backward();
      }
      {
        ScopedPhase phase("optimizer");
        optimizer.step();
      }
      loss_sum += loss_value;
      ++epoch_steps;
      progress.Step(state.step, epoch, loss_value);
      ++state.step;
    }
    if (epoch_steps == 0) break;
    const double epoch_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start).count();
    summary.epoch_loss.push_back(loss_sum / epoch_steps);
    ++summary.epochs_run;
    std::string terms;
    for (size_t t = 0; t < model.losses.size(); ++t) {
      absl::StrAppendFormat(&terms, "%s\"%s\":%.6g", t ? "," : "", model.losses[t].name,
                            term_sums[t] / epoch_steps);
    }
    log.Write(absl::StrFormat(
        "{\"event\":\"epoch\",\"epoch\":%d,\"step\":%d,\"loss\":%.6g,\"terms\":{%s},\"lr\":%.6g,\"seconds\":%.3f}",
        epoch, state.step, loss_sum / epoch_steps, terms, LearningRateAt(options, state.step), epoch_seconds));
    std::string line = absl::StrFormat("epoch %d: loss %.4f (%s) %.1fs", epoch, loss_sum / epoch_steps,
                                       terms, epoch_seconds);
    if (options.after_epoch) {
      absl::Status status = options.after_epoch(epoch, loss_sum / epoch_steps);
      if (!status.ok()) return status;
    }

    const bool last = epoch + 1 == options.epochs || stop;
    if (epoch % std::max<int64_t>(1, options.eval_every) == 0 || last) {
      EvalResult result = Evaluate(encoder, dataset, options.eval);
      log.Write(absl::StrCat("{\"event\":\"eval\",\"epoch\":", epoch, ",\"result\":", result.ToJson(), "}"));
      const double metric = options.selection.Of(result);
      absl::StrAppendFormat(&line, " | val NDCG@10 %.4f HR@10 %.4f | test NDCG@10 %.4f HR@10 %.4f (%.1fs)",
                            result.validation.sampled.Ndcg(10), result.validation.sampled.Hr(10),
                            result.test.sampled.Ndcg(10), result.test.sampled.Hr(10), result.seconds);
      if (metric > state.best_metric) {
        state.best_metric = metric;
        state.best_epoch = epoch;
        state.stale_evals = 0;
        if (!dir.empty()) {
          absl::Status saved = SaveCheckpoint(best_path, encoder, nullptr);
          if (!saved.ok()) return saved;
        }
        summary.best = result;
        line += " *";
      } else if (options.patience > 0 && ++state.stale_evals >= options.patience) {
        line += absl::StrFormat(" (no improvement in %d evaluations: stopping)", options.patience);
        stop = true;
      }
    }
    progress.Message(line);
    state.next_epoch = epoch + 1;
    if (!dir.empty() && (epoch % std::max<int64_t>(1, options.eval_every) == 0 || last || stop)) {
      absl::Status saved = SaveCheckpoint(last_path, encoder, &optimizer);
      if (saved.ok()) saved = WriteFileAtomically(state_path, state.Serialize());
      if (!saved.ok()) return saved;
    }
  }
  progress.Finish();
  if (PhaseProfile::Enabled() && state.step > first_step) {
    std::string json, table = "per-step wall time by phase (mean over this run's steps):\n";
    for (const auto& [phase, seconds] : PhaseProfile::Totals()) {
      const double per_step = seconds / (state.step - first_step);
      absl::StrAppendFormat(&table, "  %-34s %9.1f ms\n", phase, 1e3 * per_step);
      absl::StrAppendFormat(&json, "%s\"%s\":%.6f", json.empty() ? "" : ",", phase, per_step);
    }
    progress.Message(table);
    log.Write(absl::StrCat("{\"event\":\"profile\",\"steps\":", state.step - first_step,
                           ",\"seconds_per_step\":{", json, "}}"));
  }

  summary.steps = state.step;
  summary.best_epoch = state.best_epoch;
  // Report the selected model as re-read from its checkpoint, so the numbers are the file's.
  if (!dir.empty() && state.best_epoch >= 0) {
    absl::Status loaded = LoadCheckpoint(best_path, encoder, nullptr);
    if (!loaded.ok()) return loaded;
    summary.best = Evaluate(encoder, dataset, options.eval);
    log.Write(absl::StrCat("{\"event\":\"best\",\"epoch\":", state.best_epoch, ",\"result\":",
                           summary.best.ToJson(), "}"));
  }
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return summary;
}

}  // namespace hardgnn
