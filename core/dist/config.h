#ifndef HARDGNN_CORE_DIST_CONFIG_H_
#define HARDGNN_CORE_DIST_CONFIG_H_

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace hardgnn::dist {

// Where this process stands in a data-parallel job, as torchrun describes it.
struct Config {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;                     // informational: the rank among this host's ranks
  std::string master_addr = "127.0.0.1";  // rank 0's host: it serves the rendezvous store there
  int master_port = 29500;
  std::chrono::seconds timeout{300};      // to join, and for any one collective
  // The address this rank's Gloo transport listens on; "" = this host's address that routes
  // to master_addr (127.0.0.1 on one machine, the interface towards rank 0 across hosts).
  std::string bind;
};

// What the command line says; -1 / "" / 0 = take the environment's.
struct ConfigFlags {
  int rank = -1;
  int world_size = -1;
  int local_rank = -1;
  std::string master_addr;
  int master_port = 0;
  int timeout_seconds = 300;
  std::string bind;
};

// The job's layout from torchrun's variables (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR,
// MASTER_PORT), each overridden by its flag when that is set. nullopt when WORLD_SIZE is
// unset or 1: one process, nothing distributed. Errors name the variable or flag and value.
absl::StatusOr<std::optional<Config>> ConfigFrom(const ConfigFlags& flags,
                                                 const std::function<const char*(const char*)>& env = nullptr);

// "name: rank A has 'x', rank B has 'y'" for every line of two "name=value" texts that
// differs (a name missing on one side is "(unset)"), joined by "; ". Empty when they agree.
std::string SettingsDiff(const std::string& a, const std::string& b, const std::string& a_name,
                         const std::string& b_name);

// "0, 2 and 5" (ranks in messages).
std::string JoinRanks(const std::vector<int>& ranks);

}  // namespace hardgnn::dist

#endif  // HARDGNN_CORE_DIST_CONFIG_H_
