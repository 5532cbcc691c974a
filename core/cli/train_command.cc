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
#include "core/cli/model_flags.h"
#include "core/cli/plugin_flags.h"
#include "core/cli/run_flags.h"
#include "core/data/cache.h"
#include "core/data/durable_io.h"
#include "core/data/file_io.h"
#include "core/train/checkpoint.h"
#include "core/model/profile.h"
#include "core/train/progress.h"
#include "core/train/sampler_study.h"
#include "core/train/study_recorder.h"
#include "core/train/trainer.h"

DEFINE_string(data, "", "prepared dataset: a folder written by `hardgnn prepare` (or its dataset.bin)");
DEFINE_int64(epochs, 150, "training epochs");
DEFINE_int64(batch_size, 512, "users per training step");
DEFINE_string(epoch_scheme, "users",
              "what an epoch visits: users (--users_per_epoch users, one target each among their last "
              "--pred_num+1 training items: the published SelfGNN code) or events (every training event "
              "once, in random order: standard BPR-MF)");
DEFINE_int64(users_per_epoch, 10000, "--epoch_scheme=users: users drawn per epoch (trnNum); 0 = all users");
DEFINE_double(lr, 1e-3, "Adam learning rate");
DEFINE_double(lr_decay, 0.96, "staircase decay factor of the learning rate");
DEFINE_int64(lr_decay_steps, 19, "steps per decay stair (the published code: 10000 // 512)");
DEFINE_int64(eval_every, 3, "evaluate every this many epochs (and after the last)");
DEFINE_int64(patience, 0, "stop after this many evaluations without improvement; 0 = never");
DEFINE_int64(seed, 100, "seed of every random choice in training");
DEFINE_int64(max_steps, 0, "stop after this many steps (0 = no limit)");
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
            "--threads, --progress and --profile");
DEFINE_double(max_loss_growth, 1000,
              "stop with an error when a step's |loss| exceeds this many times the first step's "
              "(divergence); 0 = only a non-finite loss stops");
DEFINE_string(progress, "auto", "progress bar: auto (on a terminal), always, never");
DEFINE_string(checkpoint, "", "eval: the checkpoint to evaluate (a run's best.pt)");
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
  o.lr = FLAGS_lr;
  o.lr_decay = FLAGS_lr_decay;
  o.lr_decay_steps = FLAGS_lr_decay_steps;
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
  if (FLAGS_eval_protocol == "clean") {
    o.batch.split = TrainSplit::kClean;
    o.eval.test_input = TestInput::kClean;
  } else if (FLAGS_eval_protocol == "official") {
    o.batch.split = TrainSplit::kOfficial;
    o.eval.test_input = TestInput::kOfficial;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("--eval_protocol must be clean or official, not '", FLAGS_eval_protocol, "'"));
  }
  const bool official = FLAGS_eval_protocol == "official";
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
  o.selection.on_test = FLAGS_eval_protocol == "official";
  if (o.epochs < 0 || o.batch_size < 1 || o.users_per_epoch < 0 || o.batch.max_seq_len < 1 ||
      o.batch.pred_num < 0 || !(o.batch.negative_popularity >= 0) || o.eval.batch_size < 1 ||
      o.eval_every < 1 || !(o.max_loss_growth >= 0)) {
    return absl::InvalidArgumentError(
        "--epochs, --users_per_epoch, --pred_num, --negative_popularity and --max_loss_growth must be >= 0; "
        "--batch_size, --max_seq_len, --eval_batch_size and --eval_every >= 1");
  }
  PhaseProfile::Enable(FLAGS_profile);
  if (FLAGS_progress == "auto") o.progress_bar = Progress::StderrIsTerminal();
  else if (FLAGS_progress == "always") o.progress_bar = true;
  else if (FLAGS_progress == "never") o.progress_bar = false;
  else return absl::InvalidArgumentError("--progress must be auto, always or never");
  return o;
}

std::string ResultTable(const std::string& model, const EvalResult& r, bool official) {
  std::string out = absl::StrFormat("%-12s %-32s %6s %8s %8s %8s %8s %8s\n", "model", "split", "users", "HR@10",
                                    "NDCG@10", "HR@20", "NDCG@20", "MRR");
  auto row = [&](const std::string& split, const RankingMetrics& m) {
    if (m.users == 0) return;
    absl::StrAppendFormat(&out, "%-12s %-32s %6d %8.4f %8.4f %8.4f %8.4f %8.4f\n", model, split, m.users, m.Hr(10),
                          m.Ndcg(10), m.Hr(20), m.Ndcg(20), m.mrr);
  };
  const std::string val = official ? "val (trained on!)" : "validation", test = official ? "test (official input)" : "test";
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

}  // namespace

// Shared by `train` and `study`.
static int RunTraining(bool study);

int RunTrainCommand() { return RunTraining(/*study=*/false); }
int RunStudyCommand() { return RunTraining(/*study=*/true); }

static int RunTraining(bool study) {
  absl::StatusOr<PluginChoice> choice = PluginChoiceFromFlags();
  if (!choice.ok()) return Fail("train", choice.status());
  choice->max_seq_len = FLAGS_max_seq_len;
  absl::StatusOr<TrainOptions> options = OptionsFromFlags();
  if (!options.ok()) return Fail("train", options.status());
  if (FLAGS_data.empty()) return Fail("train", absl::InvalidArgumentError("--data is required (see `hardgnn prepare`)"));
  absl::StatusOr<data::PreparedDataset> dataset = data::LoadPreparedDataset(DatasetFile(FLAGS_data));
  if (!dataset.ok()) return Fail("train", dataset.status());

  absl::StatusOr<Model> model = CreateModel(*choice, *dataset, options->seed, ArgSourceFromFlags(*choice));
  if (!model.ok()) return Fail("train", model.status());

  if (FLAGS_run_dir.empty()) {
    char stamp[32];
    std::time_t now = std::time(nullptr);
    std::strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", std::localtime(&now));
    FLAGS_run_dir = absl::StrCat("runs/", dataset->name, "-", choice->encoder, "-", stamp);
  }
  options->run_dir = FLAGS_run_dir;
  options->resume = FLAGS_resume;
  if (!options->resume && data::FileExists(options->run_dir + "/log.jsonl")) {
    return Fail("train", absl::AlreadyExistsError(absl::StrCat(
                             "run directory ", options->run_dir,
                             " already holds a run: pass --resume to continue it, or choose another --run_dir")));
  }
  if (absl::Status s = data::MakeDirectories(options->run_dir); !s.ok()) return Fail("train", s);
  options->identity = WithDataset(IdentityFromFlags(*choice), *dataset);
  // Written once the run has started or resumed: a refused resume leaves them as they were.
  options->on_start = [&]() -> absl::Status {
    absl::Status s = WriteFileAtomically(options->run_dir + "/flags.txt", RunFlagfile(*choice));
    if (!s.ok()) return s;
    return WriteFileAtomically(
        options->run_dir + "/dataset.txt",
        absl::StrFormat("path=%s\nname=%s\nfingerprint=%s\nusers=%d\nitems=%d\n", DatasetFile(FLAGS_data),
                        dataset->name, options->identity.dataset_fingerprint, dataset->num_users, dataset->num_items));
  };
  const bool official = FLAGS_eval_protocol == "official";
  std::fprintf(stderr, "hardgnn train: %s on %s (%d users, %d items), run directory %s%s\n",
               choice->encoder.c_str(), dataset->name.c_str(), dataset->num_users, dataset->num_items,
               options->run_dir.c_str(),
               official ? "\nhardgnn train: eval_protocol=official: the published protocol: the "
                          "validation item is a training target, the test input contains the test "
                          "item and the epoch is selected on test; these numbers are optimistic"
                        : "");

  std::unique_ptr<StudyRecorder> recorder;
  if (study) {
    absl::StatusOr<SamplerStudy> created = SamplerStudy::Create(
        *dataset, BatchOptionsFor(*model, options->batch),
        {FLAGS_study_probe_users, FLAGS_study_k, FLAGS_study_tau, choice->anchor_view, options->seed});
    if (!created.ok()) return Fail("study", created.status());
    absl::StatusOr<std::unique_ptr<StudyRecorder>> made =
        StudyRecorder::Create(std::move(*created), *model->encoder, options->run_dir, FLAGS_study_grad_norms);
    if (!made.ok()) return Fail("study", made.status());
    recorder = std::move(*made);
    if (absl::Status s = recorder->Attach(*options); !s.ok()) return Fail("study", s);
  }
  absl::StatusOr<TrainSummary> summary = Train(*model, *dataset, *options);
  if (!summary.ok()) return Fail("train", summary.status());
  const std::string table = ResultTable(choice->encoder, summary->best, official);
  std::printf("%s selected at epoch %lld on %s; %lld steps, %s\n%s", choice->encoder.c_str(),
              static_cast<long long>(summary->best_epoch), options->selection.Name().c_str(),
              static_cast<long long>(summary->steps), FormatDuration(summary->seconds).c_str(), table.c_str());
  absl::Status status = WriteFileAtomically(options->run_dir + "/summary.json",
                               absl::StrCat("{\"encoder\":\"", choice->encoder, "\",\"best_epoch\":",
                                            summary->best_epoch, ",\"steps\":", summary->steps,
                                            ",\"seconds\":", summary->seconds, ",\"protocol\":\"",
                                            FLAGS_eval_protocol, "\",\"selected_on\":\"", options->selection.Name(),
                                            "\",\"best\":", summary->best.ToJson(), "}\n"));
  if (status.ok()) status = WriteFileAtomically(options->run_dir + "/summary.txt", table);
  if (!status.ok()) return Fail("train", status);
  return 0;
}

int RunEvalCommand() {
  absl::StatusOr<PluginChoice> choice = PluginChoiceFromFlags();
  if (!choice.ok()) return Fail("eval", choice.status());
  choice->max_seq_len = FLAGS_max_seq_len;
  absl::StatusOr<TrainOptions> options = OptionsFromFlags();
  if (!options.ok()) return Fail("eval", options.status());
  if (FLAGS_data.empty()) return Fail("eval", absl::InvalidArgumentError("--data is required"));
  absl::StatusOr<data::PreparedDataset> dataset = data::LoadPreparedDataset(DatasetFile(FLAGS_data));
  if (!dataset.ok()) return Fail("eval", dataset.status());
  absl::StatusOr<Model> model = CreateModel(*choice, *dataset, options->seed, ArgSourceFromFlags(*choice));
  if (!model.ok()) return Fail("eval", model.status());
  if (!FLAGS_checkpoint.empty()) {
    const CheckpointIdentity expected = WithDataset(IdentityFromFlags(*choice), *dataset);
    absl::StatusOr<std::string> loaded =
        LoadCheckpoint(FLAGS_checkpoint, *model->encoder, nullptr, expected, IdentityCheck::kModel);
    if (!loaded.ok()) return Fail("eval", loaded.status());
  } else if (model->encoder->Trainable()) {
    return Fail("eval", absl::InvalidArgumentError(absl::StrCat(
                            "--checkpoint is required for encoder '", choice->encoder, "'")));
  }
  EvalResult result = Evaluate(*model->encoder, *dataset, options->eval);
  std::printf("%s", ResultTable(choice->encoder, result, FLAGS_eval_protocol == "official").c_str());
  std::printf("%s\n", result.ToJson().c_str());
  return 0;
}

}  // namespace hardgnn
