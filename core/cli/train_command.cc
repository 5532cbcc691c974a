#include "core/cli/train_command.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <cmath>
#include <fstream>
#include <optional>

#include <gflags/gflags.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/cli/device.h"
#include "core/cli/dist_flags.h"
#include "core/cli/model_flags.h"
#include "core/cli/plugin_flags.h"
#include "core/cli/run_flags.h"
#include "core/data/cache.h"
#include "core/dist/data_parallel.h"
#include "core/data/stats.h"
#include "core/data/durable_io.h"
#include "core/data/file_io.h"
#include "core/train/checkpoint.h"
#include "core/model/backward_profile.h"
#include "core/model/profile.h"
#include "core/model/tensor_memory.h"
#include "core/train/progress.h"
#include "core/train/sampler_study.h"
#include "core/train/study_recorder.h"
#include "core/train/trainer.h"

DECLARE_string(device);  // core/cli/main.cc

DEFINE_string(data, "", "prepared dataset: a folder written by `hardgnn prepare` (or its dataset.bin)");
DEFINE_int64(epochs, 150, "unit: epochs (see --epoch_scheme). Training epochs");
DEFINE_int64(batch_size, 512, "users per training step");
DEFINE_string(epoch_scheme, "users",
              "what an epoch visits: users (--users_per_epoch users, one target each among their last "
              "--pred_num+1 training items: the published SelfGNN code) or events (every training event "
              "once, in random order: standard BPR-MF)");
DEFINE_int64(users_per_epoch, 10000, "--epoch_scheme=users: users drawn per epoch (trnNum); 0 = all users");
DEFINE_double(lr, 1e-3, "Adam learning rate");
DEFINE_double(lr_decay, 0.96, "staircase decay factor of the learning rate");
DEFINE_int64(lr_decay_steps, 19,
             "unit: training steps (batches). Steps per decay stair (the published code: 10000 // 512); "
             "0 = no decay. The pace per epoch depends on the data's size: --lr_decay_epochs does not");
DEFINE_int64(lr_decay_epochs, 0,
             "unit: epochs. Epochs per decay stair, instead of --lr_decay_steps (give --lr_decay_steps=0 "
             "with it when a preset sets --lr_decay_steps); 0 = the schedule is in steps");
DEFINE_int64(eval_every, 3, "unit: epochs. Evaluate every this many epochs (and after the last)");
DEFINE_int64(patience, 0, "unit: evaluations. Stop after this many evaluations without improvement; 0 = never");
DEFINE_int64(seed, 100, "seed of every random choice in training");
DEFINE_int64(max_steps, 0, "unit: training steps. Stop after this many steps (0 = no limit)");
DEFINE_int64(max_seq_len, 200, "most recent items fed to the sequence encoder (pos_length)");
DEFINE_int64(pred_num, 5, "training target drawn among the last pred_num+1 training items");
DEFINE_double(negative_popularity, 0,
              "ranking negatives (hinge, BPR) drawn in proportion to each item's training events "
              "raised to this power, e.g. 0.75; 0 = uniform over the user's unseen items, as published");
DEFINE_string(eval_protocol, "clean",
              "clean: train on the training prefix, select on validation, test input excludes "
              "the test item; official: the published code (trains on the validation item, "
              "test input is the whole sequence including the test item, selects on test)");
DEFINE_string(negatives_exclude, "auto",
              "items never drawn or kept as a training negative for a user: prefix (the items "
              "training may use), sequence (every item of the user, held-out validation and test "
              "items included, as the published code), auto (prefix under --eval_protocol=clean, "
              "sequence under official)");
DEFINE_bool(full_ranking, true, "also rank each positive against every item the user has not seen");
DEFINE_string(select_metric, "paper:ndcg@10",
              "what model selection and --patience maximize on validation: paper:ndcg@10, full:ndcg@10, "
              "paper:hr@20, full:mrr, ... (PROTOCOL:METRIC, METRIC ndcg@K, hr@K with K 5, 10, 20, or mrr)");
DEFINE_int64(eval_batch_size, 512, "users per evaluation batch");
DEFINE_string(run_dir, "", "run directory (default runs/<dataset>-<encoder>-<time>)");
DEFINE_bool(resume, false,
            "continue the run in --run_dir from its last checkpoint (a run stopped before its first one "
            "starts again); the flags must be the run's (its flags.txt), except --epochs, --max_steps, "
            "--threads, --progress, --profile and --keep_last");
DEFINE_double(max_loss_growth, 1000,
              "stop with an error when a step's |loss| exceeds this many times the first step's "
              "(divergence); 0 = only a non-finite loss stops");
DEFINE_string(progress, "auto",
              "progress: auto (a bar on a terminal; otherwise a line at most every 30 s within an epoch: "
              "step, epoch, loss, steps/s, ETA), always (the bar), never (epoch lines only)");
DEFINE_bool(keep_last, true,
            "keep last.pt (weights, optimizer and trainer state, for --resume) when the run ends; best.pt "
            "(what eval needs) is always kept");
DEFINE_string(checkpoint, "", "eval: the checkpoint to evaluate (a run's best.pt)");
DEFINE_string(ranks_out, "",
              "eval: also write each evaluated user's rank (0-based) of its target under both protocols "
              "to this TSV (split, user, target, revisit, sampled_rank, full_rank; full_rank -1 without "
              "--full_ranking), for paired per-user comparisons of two models");
DEFINE_bool(profile, false, "report the mean wall time per training step of each phase");
DEFINE_int64(study_probe_users, 1024, "study: users whose anchors are measured after every epoch");
DEFINE_int64(study_k, 5, "study: hard and random negatives per probe anchor");
DEFINE_double(study_tau, 0.1, "study: temperature of the InfoNCE values reported");
DEFINE_bool(study_grad_norms, true,
            "study: write grad_norms.csv, the norm of every parameter's gradient after each backward pass");

namespace hardgnn {
namespace {

int Fail(const char* command, const absl::Status& status) {
  std::fprintf(stderr, "hardgnn %s: %s\n", command, std::string(status.message()).c_str());
  return 1;
}

std::string DatasetFile(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return path + "/dataset.bin";
  return path;
}

// --eval_protocol, --negatives_exclude and --select_metric.
absl::Status ProtocolFromFlags(TrainOptions& o) {
  if (FLAGS_eval_protocol != "clean" && FLAGS_eval_protocol != "official") {
    return absl::InvalidArgumentError(
        absl::StrCat("--eval_protocol must be clean or official, not '", FLAGS_eval_protocol, "'"));
  }
  const bool official = FLAGS_eval_protocol == "official";
  o.batch.split = official ? TrainSplit::kOfficial : TrainSplit::kClean;
  o.eval.test_input = official ? TestInput::kOfficial : TestInput::kClean;
  if (FLAGS_negatives_exclude == "prefix" || (FLAGS_negatives_exclude == "auto" && !official)) {
    o.batch.seen = SeenItems::kTrainingPrefix;
  } else if (FLAGS_negatives_exclude == "sequence" || FLAGS_negatives_exclude == "auto") {
    o.batch.seen = SeenItems::kWholeSequence;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "--negatives_exclude must be auto, prefix or sequence, not '", FLAGS_negatives_exclude, "'"));
  }
  absl::StatusOr<Selection> selection = ParseSelection(FLAGS_select_metric);
  if (!selection.ok()) return absl::InvalidArgumentError(absl::StrCat("--select_metric: ", selection.status().message()));
  if (selection->full_ranking && !o.eval.full_ranking) {
    return absl::InvalidArgumentError("--select_metric on full ranking needs --full_ranking");
  }
  o.selection = *selection;
  o.selection.on_test = official;
  return absl::OkStatus();
}

// --lr_decay_steps or --lr_decay_epochs: one unit. With epochs, --lr_decay_steps becomes 0, so
// flags.txt records the schedule once and a rerun from it passes this check.
absl::Status ScheduleFromFlags(TrainOptions& o) {
  if (FLAGS_lr_decay_steps < 0 || FLAGS_lr_decay_epochs < 0) {
    return absl::InvalidArgumentError("--lr_decay_steps and --lr_decay_epochs must be >= 0");
  }
  if (FLAGS_lr_decay_epochs > 0 && FLAGS_lr_decay_steps != 0) {
    if (!gflags::GetCommandLineFlagInfoOrDie("lr_decay_steps").is_default) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--lr_decay_epochs=", FLAGS_lr_decay_epochs, " and --lr_decay_steps=", FLAGS_lr_decay_steps,
          " both set the decay schedule (in epochs and in steps): give one; --lr_decay_steps=0 clears a preset's"));
    }
    gflags::SetCommandLineOption("lr_decay_steps", "0");
  }
  o.lr = FLAGS_lr;
  o.lr_decay = FLAGS_lr_decay;
  o.lr_decay_steps = FLAGS_lr_decay_steps;
  o.lr_decay_epochs = FLAGS_lr_decay_epochs;
  return absl::OkStatus();
}

absl::StatusOr<Progress::Mode> ProgressFromFlag() {
  if (FLAGS_progress == "auto") return Progress::StderrIsTerminal() ? Progress::Mode::kBar : Progress::Mode::kLines;
  if (FLAGS_progress == "always") return Progress::Mode::kBar;
  if (FLAGS_progress == "never") return Progress::Mode::kNone;
  return absl::InvalidArgumentError("--progress must be auto, always or never");
}

absl::StatusOr<TrainOptions> OptionsFromFlags() {
  TrainOptions o;
  o.epochs = FLAGS_epochs;
  o.batch_size = FLAGS_batch_size;
  o.users_per_epoch = FLAGS_users_per_epoch;
  if (FLAGS_epoch_scheme == "users") {
    o.epoch_scheme = EpochScheme::kUsers;
  } else if (FLAGS_epoch_scheme == "events") {
    o.epoch_scheme = EpochScheme::kEvents;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("--epoch_scheme must be users or events, not '", FLAGS_epoch_scheme, "'"));
  }
  if (absl::Status s = ScheduleFromFlags(o); !s.ok()) return s;
  o.eval_every = FLAGS_eval_every;
  o.patience = FLAGS_patience;
  o.seed = static_cast<uint64_t>(FLAGS_seed);
  o.max_steps = FLAGS_max_steps;
  o.max_loss_growth = FLAGS_max_loss_growth;
  o.batch.max_seq_len = FLAGS_max_seq_len;
  o.batch.pred_num = FLAGS_pred_num;
  o.batch.negative_popularity = FLAGS_negative_popularity;
  o.eval.batch_size = FLAGS_eval_batch_size;
  o.eval.max_seq_len = FLAGS_max_seq_len;
  o.eval.full_ranking = FLAGS_full_ranking;
  if (absl::Status s = ProtocolFromFlags(o); !s.ok()) return s;
  if (o.epochs < 0 || o.batch_size < 1 || o.users_per_epoch < 0 || o.batch.max_seq_len < 1 ||
      o.batch.pred_num < 0 || !(o.batch.negative_popularity >= 0) || o.eval.batch_size < 1 ||
      o.eval_every < 1 || !(o.max_loss_growth >= 0)) {
    return absl::InvalidArgumentError(
        "--epochs, --users_per_epoch, --pred_num, --negative_popularity and --max_loss_growth must be >= 0; "
        "--batch_size, --max_seq_len, --eval_batch_size and --eval_every >= 1");
  }
  absl::StatusOr<DeviceSpec> device = ParseDeviceFlag(FLAGS_device);
  if (!device.ok()) return device.status();
  o.device = TorchDevice(*device);
  PhaseProfile::Enable(FLAGS_profile);
  if (FLAGS_profile) {  // and the live tensor memory at each phase's end, and the backward's nodes
    TensorMemory::StartTracking();
    PhaseProfile::SetGauge(&TensorMemory::Live);
    BackwardNodeProfile::Enable();  // this thread trains
  }
  absl::StatusOr<Progress::Mode> progress = ProgressFromFlag();
  if (!progress.ok()) return progress.status();
  o.progress = *progress;
  return o;
}

// The rows' labels say how the model was trained (on the validation item under the official
// protocol) and which test input was scored (the whole sequence, test item included, under it).
std::string ResultTable(const std::string& model, const EvalResult& r, bool trained_on_validation,
                        bool official_test_input) {
  std::string out = absl::StrFormat("%-12s %-32s %6s %8s %8s %8s %8s %8s\n", "model", "split", "users", "HR@10",
                                    "NDCG@10", "HR@20", "NDCG@20", "MRR");
  auto row = [&](const std::string& split, const RankingMetrics& m) {
    if (m.users == 0) return;
    absl::StrAppendFormat(&out, "%-12s %-32s %6d %8.4f %8.4f %8.4f %8.4f %8.4f\n", model, split, m.users, m.Hr(10),
                          m.Ndcg(10), m.Hr(20), m.Ndcg(20), m.mrr);
  };
  const std::string val = trained_on_validation ? "val (trained on!)" : "validation",
                    test = official_test_input ? "test (official input)" : "test";
  for (const auto& [name, split] : {std::pair{val, &r.validation}, std::pair{test, &r.test}}) {
    row(name, split->sampled);
    row(name + ", revisits", split->sampled_revisit);
    row(name + ", novel", split->sampled_novel);
  }
  for (const auto& [name, split] : {std::pair{std::string("validation"), &r.validation}, std::pair{std::string("test"), &r.test}}) {
    row(name + ", full rank", split->full);
    row(name + ", full rank, revisits", split->full_revisit);
    row(name + ", full rank, novel", split->full_novel);
  }
  return out;
}

// The run's variant, selection and table, printed and written as summary.json and summary.txt
// (nothing there varies between identical runs but "seconds").
absl::Status WriteSummary(const LoadedModel& m, const TrainSummary& summary) {
  const TrainOptions& o = m.options;
  const bool official = FLAGS_eval_protocol == "official", trained = m.model.encoder->Trainable();
  const std::string variant = VariantName(CurrentFlagValues());
  const std::string table = ResultTable(m.choice.encoder, summary.best, official, official);
  const std::string selected =
      trained ? absl::StrFormat("selected: epoch %d on %s (%d steps)", summary.best_epoch, o.selection.Name(),
                                summary.steps)
              : absl::StrCat("selected: nothing to train (", m.choice.encoder, " is evaluated as it is)");
  std::printf("variant: %s\n%s; %s\n%s", variant.c_str(), selected.c_str(), FormatDuration(summary.seconds).c_str(),
              table.c_str());
  std::string losses;
  for (const LossSpec& l : m.choice.losses) absl::StrAppend(&losses, losses.empty() ? "" : ",", l.name, ":", l.weight);
  const std::string json = absl::StrCat(
      "{\"encoder\":", data::JsonString(m.choice.encoder), ",\"variant\":", data::JsonString(variant),
      ",\"sampler\":", data::JsonString(m.choice.sampler), ",\"contrastive_loss\":", data::JsonString(FLAGS_contrastive_loss),
      ",\"anchor\":", data::JsonString(m.choice.anchor_view), ",\"losses\":", data::JsonString(losses),
      ",\"trained\":", trained ? "true" : "false", ",\"best_epoch\":", summary.best_epoch, ",\"steps\":",
      summary.steps, ",\"seconds\":", summary.seconds, ",\"protocol\":\"", FLAGS_eval_protocol,
      "\",\"selected_on\":\"", o.selection.Name(), "\",\"best\":", summary.best.ToJson(), "}\n");
  absl::Status status = WriteFileAtomically(o.run_dir + "/summary.json", json);
  if (!status.ok()) return status;
  return WriteFileAtomically(o.run_dir + "/summary.txt", absl::StrCat("variant: ", variant, "\n", selected, "\n", table));
}

// The run directory (named after the data and the encoder unless --run_dir), refused when it
// holds another run and --resume is not given; flags.txt and dataset.txt are written when the
// run starts.
absl::Status SetUpRunDirectory(LoadedModel& m) {
  TrainOptions& o = m.options;
  if (FLAGS_run_dir.empty()) {
    char stamp[32];
    std::time_t now = std::time(nullptr);
    std::strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", std::localtime(&now));
    FLAGS_run_dir = absl::StrCat("runs/", m.dataset->name, "-", m.choice.encoder, "-", stamp);
  }
  o.run_dir = FLAGS_run_dir;
  o.resume = FLAGS_resume;
  if (!o.resume && data::FileExists(o.run_dir + "/log.jsonl")) {
    return absl::AlreadyExistsError(absl::StrCat("run directory ", o.run_dir,
                                                 " already holds a run: pass --resume to continue it, or choose "
                                                 "another --run_dir"));
  }
  if (absl::Status s = data::MakeDirectories(o.run_dir); !s.ok()) return s;
  o.identity = WithDataset(IdentityFromFlags(m.choice), *m.dataset);
  // Written once the run has started or resumed: a refused resume leaves them as they were.
  o.on_start = [&m]() -> absl::Status {
    const TrainOptions& o = m.options;
    absl::Status s = WriteFileAtomically(o.run_dir + "/flags.txt", RunFlagfile(m.choice));
    if (!s.ok()) return s;
    return WriteFileAtomically(o.run_dir + "/dataset.txt",
                               absl::StrFormat("path=%s\nname=%s\nfingerprint=%s\nusers=%d\nitems=%d\n",
                                               DatasetFile(FLAGS_data), m.dataset->name, o.identity.dataset_fingerprint,
                                               m.dataset->num_users, m.dataset->num_items));
  };
  return absl::OkStatus();
}

// --keep_last=false: the finished run's last.pt goes (best.pt stays).
absl::Status DropLastCheckpoint(const std::string& run_dir) {
  const std::string last = run_dir + "/last.pt";
  if (FLAGS_keep_last || ::unlink(last.c_str()) == 0 || errno == ENOENT) return absl::OkStatus();
  return absl::InternalError(absl::StrCat(last, ": cannot remove (--keep_last=false): ", std::strerror(errno)));
}

}  // namespace

absl::StatusOr<LoadedModel> LoadModelFromFlags() {
  LoadedModel m;
  absl::StatusOr<PluginChoice> choice = PluginChoiceFromFlags();
  if (!choice.ok()) return choice.status();
  m.choice = std::move(*choice);
  m.choice.max_seq_len = FLAGS_max_seq_len;
  absl::StatusOr<TrainOptions> options = OptionsFromFlags();
  if (!options.ok()) return options.status();
  m.options = std::move(*options);
  if (FLAGS_data.empty()) return absl::InvalidArgumentError("--data is required (see `hardgnn prepare`)");
  absl::StatusOr<data::PreparedDataset> dataset = data::LoadPreparedDataset(DatasetFile(FLAGS_data));
  if (!dataset.ok()) return dataset.status();
  m.dataset = std::make_unique<data::PreparedDataset>(std::move(*dataset));
  absl::StatusOr<Model> model = CreateModel(m.choice, *m.dataset, m.options.seed, ArgSourceFromFlags(m.choice));
  if (!model.ok()) return model.status();
  m.model = std::move(*model);
  m.model.encoder->to(m.options.device);  // a checkpoint's tensors are read onto the device
  return m;
}

absl::Status LoadCheckpointFromFlags(LoadedModel& m) {
  if (FLAGS_checkpoint.empty()) {
    if (!m.model.encoder->Trainable()) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat("--checkpoint is required for encoder '", m.choice.encoder, "'"));
  }
  const CheckpointIdentity expected = WithDataset(IdentityFromFlags(m.choice), *m.dataset);
  return LoadCheckpoint(FLAGS_checkpoint, *m.model.encoder, nullptr, expected, IdentityCheck::kModel, &m.trained)
      .status();
}

// Shared by `train` and `study`.
static int RunTraining(bool study);

int RunTrainCommand() { return RunTraining(/*study=*/false); }
int RunStudyCommand() { return RunTraining(/*study=*/true); }

static int RunTraining(bool study) {
  absl::StatusOr<LoadedModel> loaded = LoadModelFromFlags();
  if (!loaded.ok()) return Fail("train", loaded.status());
  LoadedModel& m = *loaded;
  // Data parallel (core/cli/dist_flags.h): one rank of a job when WORLD_SIZE > 1. Rank 0 alone
  // writes the run directory; it joins even when that fails, to tell the others.
  absl::StatusOr<std::unique_ptr<RankOfJob>> job_or = RankOfJob::FromFlags();
  if (!job_or.ok()) return Fail("train", job_or.status());
  std::unique_ptr<RankOfJob> job = std::move(*job_or);
  const auto fail = [&job](const char* command, const absl::Status& s) {
    return job != nullptr ? job->Fail(command, s) : Fail(command, s);
  };
  const absl::Status set_up = job == nullptr || job->writes_run() ? SetUpRunDirectory(m) : absl::OkStatus();
  if (job != nullptr && !m.options.device.is_cpu()) {
    return Fail("train", absl::UnimplementedError("data-parallel training (WORLD_SIZE > 1) runs on the CPU (gloo); "
                                                  "NCCL for --device=cuda is not built"));
  }
  if (job != nullptr) {
    if (absl::Status s = job->Join(study ? "study" : "train", m.choice, *m.dataset, FLAGS_run_dir); !s.ok()) {
      return Fail("train", s);
    }
    job->Configure(m.options);
  }
  if (!set_up.ok()) return fail("train", set_up);
  TrainOptions& options = m.options;
  const bool official = FLAGS_eval_protocol == "official";
  std::fprintf(stderr, "hardgnn train: %s on %s (%d users, %d items), run directory %s%s\n",
               VariantName(CurrentFlagValues()).c_str(), m.dataset->name.c_str(), m.dataset->num_users,
               m.dataset->num_items, options.run_dir.c_str(),
               official ? "\nhardgnn train: eval_protocol=official: the published protocol: the "
                          "validation item is a training target, the test input contains the test "
                          "item and the epoch is selected on test; these numbers are optimistic"
                        : "");

  std::unique_ptr<StudyRecorder> recorder;
  if (study && (job == nullptr || job->writes_run())) {  // data parallel: rank 0 measures
    absl::StatusOr<SamplerStudy> created = SamplerStudy::Create(
        *m.dataset, BatchOptionsFor(m.model, options.batch),
        {FLAGS_study_probe_users, FLAGS_study_k, FLAGS_study_tau, m.choice.anchor_view, options.seed});
    if (!created.ok()) return Fail("study", created.status());
    absl::StatusOr<std::unique_ptr<StudyRecorder>> made =
        StudyRecorder::Create(std::move(*created), *m.model.encoder, options.run_dir, FLAGS_study_grad_norms);
    if (!made.ok()) return Fail("study", made.status());
    recorder = std::move(*made);
    if (absl::Status s = recorder->Attach(options); !s.ok()) return Fail("study", s);
  }
  absl::StatusOr<TrainSummary> summary = Train(m.model, *m.dataset, options);
  if (!summary.ok()) return fail("train", summary.status());
  absl::Status status = absl::OkStatus();
  if (job == nullptr || job->writes_run()) {
    status = WriteSummary(m, *summary);
    if (status.ok()) status = DropLastCheckpoint(options.run_dir);
  }
  if (!status.ok()) return fail("train", status);
  if (job != nullptr) job->Finish();
  return 0;
}

// Each evaluated user's ranks as a TSV, by the dataset's own user and item ids.
std::string RanksTsv(const EvalResult& result, const data::PreparedDataset& d) {
  std::string out = "split\tuser\ttarget\trevisit\tsampled_rank\tfull_rank\n";
  for (const auto& [name, split] : {std::pair{"validation", &result.validation}, std::pair{"test", &result.test}}) {
    for (const UserRank& r : split->ranks) {
      absl::StrAppend(&out, name, "\t", d.user_names[r.user], "\t", d.item_names[r.target], "\t",
                      r.revisit ? 1 : 0, "\t", r.sampled, "\t", r.full, "\n");
    }
  }
  return out;
}

int RunEvalCommand() {
  absl::StatusOr<LoadedModel> m = LoadModelFromFlags();
  if (!m.ok()) return Fail("eval", m.status());
  m->options.eval.keep_ranks = !FLAGS_ranks_out.empty();
  // Data parallel (core/cli/dist_flags.h): rank 0 reads the checkpoint and gives it to the
  // others; each scores its share of the users; rank 0 prints.
  absl::StatusOr<std::unique_ptr<RankOfJob>> job_or = RankOfJob::FromFlags();
  if (!job_or.ok()) return Fail("eval", job_or.status());
  std::unique_ptr<RankOfJob> job = std::move(*job_or);
  if (job != nullptr && !FLAGS_ranks_out.empty()) {
    return Fail("eval", absl::InvalidArgumentError("--ranks_out needs one process (each rank sees only its share of the users)"));
  }
  if (job != nullptr) {
    if (absl::Status s = job->Join("eval", m->choice, *m->dataset, ""); !s.ok()) return Fail("eval", s);
    job->ConfigureEval(m->options.eval);
  }
  if (job == nullptr || job->writes_run()) {
    if (absl::Status s = LoadCheckpointFromFlags(*m); !s.ok()) return job ? job->Fail("eval", s) : Fail("eval", s);
  }
  if (job != nullptr) dist::BroadcastModule(job->group(), *m->model.encoder);
  EvalResult result = Evaluate(*m->model.encoder, *m->dataset, m->options.eval);
  if (job != nullptr && !job->writes_run()) {
    job->Finish();
    return 0;
  }
  // How the checkpoint was trained is its own config's business, not this command line's.
  const bool trained_on_validation = ParseSettings(m->trained.config)["eval_protocol"] == "official";
  std::printf("%s", ResultTable(m->choice.encoder, result, trained_on_validation,
                                m->options.eval.test_input == TestInput::kOfficial).c_str());
  std::printf("%s\n", result.ToJson().c_str());
  if (!FLAGS_ranks_out.empty()) {
    if (absl::Status s = WriteFileAtomically(FLAGS_ranks_out, RanksTsv(result, *m->dataset)); !s.ok()) {
      return Fail("eval", s);
    }
  }
  if (job != nullptr) job->Finish();
  return 0;
}

}  // namespace hardgnn
