#ifndef HARDGNN_CORE_DIST_GLOO_GROUP_H_
#define HARDGNN_CORE_DIST_GLOO_GROUP_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "core/dist/config.h"
#include "core/dist/group.h"

namespace hardgnn::dist {

struct JoinRequest {
  Config config;
  // "name=value" lines every rank must hold the same values of (the run's flags, the dataset's
  // fingerprint, the command). A rank whose lines differ from rank 0's stops every rank, with
  // the differences named.
  std::string settings;
  std::string run_dir;  // rank 0's is given to every rank (GlooGroup::rank0_run_dir)
};

class GlooGroup;

// Starts this process's part of a job. Rank 0 serves a c10d TCPStore at master_addr:
// master_port; every rank publishes its settings there and waits (config.timeout) for all the
// others, then the ranks connect a c10d ProcessGroupGloo. Errors (on every rank that can see
// them, none waits for the timeout when another has already failed): the ranks that did not
// join in time, by number; settings that differ from rank 0's, with both values; another
// WORLD_SIZE; two processes with one rank; rank 0 unable to listen on the port.
absl::StatusOr<std::unique_ptr<GlooGroup>> Join(const JoinRequest& request);

// A joined rank. Besides the collectives, a watchdog thread beats a heartbeat into the store
// every half second and watches for other ranks' failures: when one reports an error
// (Abandon), every other rank prints it, naming that rank, and exits with status 1. When a
// collective fails, the heartbeats tell which ranks were lost (a rank whose heartbeat stopped:
// killed, or its host unreachable; the store itself unreachable: rank 0).
class GlooGroup : public Group {
 public:
  ~GlooGroup() override;

  int rank() const override { return config_.rank; }
  int size() const override { return config_.world_size; }
  void AllReduceSum(std::vector<at::Tensor>& tensors) override;
  at::Tensor AllReduceSparse(const at::Tensor& sparse) override;
  std::vector<at::Tensor> AllGather(const at::Tensor& local) override;
  void Broadcast(std::vector<at::Tensor>& tensors, int root) override;
  void Barrier() override;
  Traffic traffic() const override { return traffic_; }

  const std::string& rank0_run_dir() const { return rank0_run_dir_; }
  const std::string& bind_address() const { return bind_; }

  // Where this rank's fatal messages go (default: stderr). Set it before any collective.
  void SetReporter(std::function<void(const std::string&)> report) { report_ = std::move(report); }

  // This rank stops with an error: the other ranks' watchdogs end them with `message`, naming
  // this rank. Rank 0 serves the store, so it waits (a few seconds at most) until they have read it.
  void Abandon(const std::string& message);

  // The end of a job that went well: stops the watchdog and meets every rank at a barrier, so
  // no rank leaves (and rank 0 takes the store down) while another still needs it.
  void Finish();

 private:
  friend absl::StatusOr<std::unique_ptr<GlooGroup>> Join(const JoinRequest& request);
  GlooGroup() = default;

  absl::Status Rendezvous(const JoinRequest& request);
  absl::Status Connect();
  void StartWatchdog();
  void StopWatchdog();
  void Watch();
  // Runs a collective (started and waited for in `run`), ending the process if it fails, and
  // counts its payload in `payload` and its time.
  void Collective(const char* what, int64_t* payload, int64_t bytes, const std::function<void()>& run);
  // A collective failed: says which ranks were lost and ends the process.
  [[noreturn]] void Lost(const char* what, const std::exception& error);
  // Which ranks are lost (their heartbeat stood still) or failed; `lost_count`: how many.
  std::string Diagnose(int* lost_count);
  // Counts this rank out of the store's users and, on rank 0, waits for the others to leave.
  void LeaveStore(int others_expected);
  void Report(const std::string& message) const;
  std::string Where() const;  // "rank r of n"

  struct Handles;  // the c10d objects (gloo_group.cc)

  Config config_;
  std::string bind_, rank0_run_dir_;
  std::unique_ptr<Handles> c10d_;
  std::thread watchdog_;
  std::atomic<bool> stop_watchdog_{false};
  std::function<void(const std::string&)> report_;
  Traffic traffic_;
};

}  // namespace hardgnn::dist

#endif  // HARDGNN_CORE_DIST_GLOO_GROUP_H_
