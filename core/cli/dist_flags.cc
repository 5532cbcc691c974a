#include "core/cli/dist_flags.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <ATen/ATen.h>

#include <gflags/gflags.h>

#include "absl/strings/str_cat.h"
#include "core/cli/run_flags.h"
#include "core/data/file_io.h"
#include "core/train/checkpoint.h"

DEFINE_int32(rank, -1, "data parallel: this process's rank, 0 .. --world_size - 1 (default: $RANK)");
DEFINE_int32(world_size, -1, "data parallel: the number of ranks (default: $WORLD_SIZE; unset or 1: one process)");
DEFINE_int32(local_rank, -1, "data parallel: the rank among this host's ranks (default: $LOCAL_RANK)");
DEFINE_string(master_addr, "", "data parallel: rank 0's host, which serves the rendezvous store (default: $MASTER_ADDR, "
                               "else 127.0.0.1)");
DEFINE_int32(master_port, 0, "data parallel: the rendezvous store's port (default: $MASTER_PORT, else 29500)");
DEFINE_int32(dist_timeout, 300, "data parallel: seconds to wait for every rank to join, and for any one collective");
DEFINE_string(dist_bind, "", "data parallel: the address this rank's Gloo transport listens on (default: this "
                             "host's address on the route to --master_addr)");
DEFINE_bool(dist_sparse_grads, false, "data parallel: send the embedding tables' gradients as their rows that are "
                                      "not zero (gathered) instead of whole (all-reduced)");
DEFINE_int64(dist_bucket_mb, 25, "data parallel: gradients are all-reduced in buckets of about this many MB");

namespace hardgnn {

absl::StatusOr<std::unique_ptr<RankOfJob>> RankOfJob::FromFlags() {
  dist::ConfigFlags flags;
  flags.rank = FLAGS_rank;
  flags.world_size = FLAGS_world_size;
  flags.local_rank = FLAGS_local_rank;
  flags.master_addr = FLAGS_master_addr;
  flags.master_port = FLAGS_master_port;
  flags.timeout_seconds = FLAGS_dist_timeout;
  flags.bind = FLAGS_dist_bind;
  absl::StatusOr<std::optional<dist::Config>> config = dist::ConfigFrom(flags);
  if (!config.ok()) return config.status();
  if (!config->has_value()) return nullptr;
  if (FLAGS_dist_bucket_mb < 1) return absl::InvalidArgumentError("--dist_bucket_mb must be >= 1");
  std::unique_ptr<RankOfJob> job(new RankOfJob());
  job->config_ = **config;
  return job;
}

absl::Status RankOfJob::Join(const std::string& command, const PluginChoice& choice,
                             const data::PreparedDataset& dataset, const std::string& run_dir) {
  dist::JoinRequest request;
  request.config = config_;
  request.run_dir = run_dir;
  const CheckpointIdentity identity = WithDataset(IdentityFromFlags(choice), dataset);
  request.settings = absl::StrCat(identity.architecture, identity.config, "dataset=", identity.dataset,
                                  "\ndataset_fingerprint=", identity.dataset_fingerprint, "\ncommand=", command, "\nepochs=", gflags::GetCommandLineFlagInfoOrDie("epochs").current_value,
                                  "\nmax_steps=", gflags::GetCommandLineFlagInfoOrDie("max_steps").current_value,
                                  "\nresume=", gflags::GetCommandLineFlagInfoOrDie("resume").current_value,
                                  "\nprofile=", gflags::GetCommandLineFlagInfoOrDie("profile").current_value,
                                  "\ndist_sparse_grads=", FLAGS_dist_sparse_grads, "\ndist_bucket_mb=", FLAGS_dist_bucket_mb,
                                  "\n");
  std::fprintf(stderr, "hardgnn %s: rank %d of %d: joining the job at %s:%d\n", command.c_str(), rank(), size(),
               config_.master_addr.c_str(), config_.master_port);
  absl::StatusOr<std::unique_ptr<dist::GlooGroup>> group = dist::Join(request);
  if (!group.ok()) return group.status();
  group_ = std::move(*group);
  if (rank() > 0 && !group_->rank0_run_dir().empty()) {
    // This rank's own log, beside rank 0's run directory files.
    const std::string& dir = group_->rank0_run_dir();
    const std::string log = absl::StrCat(dir, "/rank", rank(), ".log");
    if (absl::Status s = data::MakeDirectories(dir); !s.ok()) return s;
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return absl::InternalError(absl::StrCat("cannot open ", log, ": ", std::strerror(errno)));
    std::fprintf(stderr, "hardgnn %s: rank %d of %d logs to %s\n", command.c_str(), rank(), size(), log.c_str());
    std::fflush(stdout);
    std::fflush(stderr);
    terminal_ = dup(STDERR_FILENO);
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    close(fd);
  }
  group_->SetReporter([this](const std::string& message) { Say(message); });
  std::fprintf(stderr, "hardgnn %s: rank %d of %d joined (Gloo on %s)\n", command.c_str(), rank(), size(),
               group_->bind_address().c_str());
  return absl::OkStatus();
}

void RankOfJob::Say(const std::string& message) const {
  std::fprintf(stderr, "%s\n", message.c_str());
  std::fflush(stdout);
  std::fflush(stderr);
  if (terminal_ >= 0) {
    const std::string line = message + "\n";
    (void)!write(terminal_, line.data(), line.size());
  }
}

void RankOfJob::ConfigureEval(EvalOptions& options) {
  options.shard = rank();
  options.num_shards = size();
  options.reduce = [this](std::vector<int64_t>& counts) {
    at::Tensor t = at::from_blob(counts.data(), {static_cast<int64_t>(counts.size())}, at::kLong);
    std::vector<at::Tensor> one = {t};
    group_->AllReduceSum(one);
  };
}

void RankOfJob::Configure(TrainOptions& options) {
  options.data_parallel.group = group_.get();
  options.data_parallel.bucket_bytes = FLAGS_dist_bucket_mb << 20;
  options.data_parallel.sparse_tables = FLAGS_dist_sparse_grads;
  ConfigureEval(options.eval);
  if (rank() > 0) {
    options.run_dir.clear();
    options.resume = false;
    options.on_start = nullptr;
    if (options.progress == Progress::Mode::kBar) options.progress = Progress::Mode::kLines;
  }
}

int RankOfJob::Fail(const char* command, const absl::Status& status) {
  const std::string message = std::string(status.message());
  Say(absl::StrCat("hardgnn ", command, ": rank ", rank(), " of ", size(), ": ", message));
  if (group_ != nullptr) group_->Abandon(message);
  return 1;
}

void RankOfJob::Finish() {
  if (group_ != nullptr) group_->Finish();
}

}  // namespace hardgnn
