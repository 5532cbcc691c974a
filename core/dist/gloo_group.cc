#include "core/dist/gloo_group.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <cstdio>
#include <map>
#include <optional>

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace hardgnn::dist {

struct GlooGroup::Handles {
  c10::intrusive_ptr<c10d::TCPStore> store;        // the main thread's connection (rank 0: also the server)
  c10::intrusive_ptr<c10d::TCPStore> watch_store;  // the watchdog's own connection
  c10::intrusive_ptr<c10d::ProcessGroupGloo> pg;
};

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kBeat = std::chrono::milliseconds(500);
// How long a heartbeat must stand still for its rank to count as lost, once a collective failed.
constexpr auto kLostAfter = std::chrono::milliseconds(2500);
// How long rank 0 keeps the store up for the others to read why the job stops.
constexpr auto kLinger = std::chrono::seconds(6);

// An exception's message without c10's backtrace.
std::string ErrorText(const std::exception& e) {
  const auto* c10_error = dynamic_cast<const c10::Error*>(&e);
  std::string text = c10_error != nullptr ? c10_error->msg() : e.what();
  const size_t cut = text.find("\nException raised from");
  if (cut != std::string::npos) text.resize(cut);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

std::vector<uint8_t> Bytes(const std::string& s) { return std::vector<uint8_t>(s.begin(), s.end()); }
std::string Text(const std::vector<uint8_t>& b) { return std::string(b.begin(), b.end()); }

// This host's address on the route towards `host` (connecting a UDP socket sends nothing).
absl::StatusOr<std::string> RouteAddress(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* found = nullptr;
  if (int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found); rc != 0) {
    return absl::InvalidArgumentError(absl::StrCat("cannot resolve MASTER_ADDR '", host, "': ", gai_strerror(rc)));
  }
  std::string address;
  for (addrinfo* a = found; a != nullptr && address.empty(); a = a->ai_next) {
    const int fd = socket(a->ai_family, SOCK_DGRAM, 0);
    if (fd < 0) continue;
    sockaddr_storage local{};
    socklen_t len = sizeof(local);
    if (connect(fd, a->ai_addr, a->ai_addrlen) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) == 0) {
      char text[INET6_ADDRSTRLEN] = {};
      const void* raw = local.ss_family == AF_INET6
                            ? static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(&local)->sin6_addr)
                            : static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(&local)->sin_addr);
      if (inet_ntop(local.ss_family, raw, text, sizeof(text)) != nullptr) address = text;
    }
    close(fd);
  }
  freeaddrinfo(found);
  if (address.empty()) return absl::UnavailableError(absl::StrCat("no route from this host to MASTER_ADDR '", host, "'"));
  return address;
}

// The fields of a join record: "key=value" lines, then the settings after a "--" line.
struct Record {
  std::map<std::string, std::string> fields;
  std::string settings;
};

std::string FormatRecord(const std::map<std::string, std::string>& fields, const std::string& settings) {
  std::string out;
  for (const auto& [k, v] : fields) absl::StrAppend(&out, k, "=", v, "\n");
  return absl::StrCat(out, "--\n", settings);
}

Record ParseRecord(const std::string& text) {
  Record r;
  const size_t split = text.find("--\n");
  const std::string head = split == std::string::npos ? text : text.substr(0, split);
  if (split != std::string::npos) r.settings = text.substr(split + 3);
  for (absl::string_view line : absl::StrSplit(head, '\n', absl::SkipEmpty())) {
    std::pair<std::string, std::string> kv = absl::StrSplit(line, absl::MaxSplits('=', 1));
    r.fields[kv.first] = kv.second;
  }
  return r;
}

// Ends the process with a message unless destroyed within `limit`: a TCPStore call has no
// timeout of its own once connected (a stopped rank 0, or a foreign server on the port,
// would block it for ever).
class Guard {
 public:
  Guard(std::chrono::milliseconds limit, std::function<void()> on_expiry) {
    thread_ = std::thread([this, limit, on_expiry] {
      std::unique_lock<std::mutex> lock(mutex_);
      if (!done_cv_.wait_for(lock, limit, [this] { return done_; })) {
        on_expiry();
        std::_Exit(1);
      }
    });
  }
  ~Guard() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
    }
    done_cv_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mutex_;
  std::condition_variable done_cv_;
  bool done_ = false;
  std::thread thread_;
};

std::string HostName() {
  char name[256] = {};
  return gethostname(name, sizeof(name) - 1) == 0 ? name : "?";
}

}  // namespace

std::string GlooGroup::Where() const { return absl::StrCat("rank ", config_.rank, " of ", config_.world_size); }

void GlooGroup::Report(const std::string& message) const {
  if (report_) {
    report_(message);
  } else {
    std::fprintf(stderr, "%s\n", message.c_str());
    std::fflush(stderr);
  }
}

absl::StatusOr<std::unique_ptr<GlooGroup>> Join(const JoinRequest& request) {
  // A peer that dies mid-send must give an error, not kill this process with SIGPIPE.
  signal(SIGPIPE, SIG_IGN);
  std::unique_ptr<GlooGroup> group(new GlooGroup());
  group->config_ = request.config;
  group->c10d_ = std::make_unique<GlooGroup::Handles>();
  if (absl::Status s = group->Rendezvous(request); !s.ok()) return s;
  if (absl::Status s = group->Connect(); !s.ok()) return s;
  group->StartWatchdog();
  return group;
}

absl::Status GlooGroup::Rendezvous(const JoinRequest& request) {
  const Config& c = config_;
  const std::string store_at = absl::StrCat(c.master_addr, ":", c.master_port);
  const auto deadline = Clock::now() + c.timeout;
  c10d::TCPStoreOptions options;
  options.port = static_cast<uint16_t>(c.master_port);
  options.isServer = c.rank == 0;
  options.waitWorkers = false;
  options.timeout = c.timeout;
  const std::string not_ours = absl::StrCat(Where(), ": what listens at ", store_at,
                                            " is not rank 0's rendezvous store (no answer within ", c.timeout.count(),
                                            " s: another program on MASTER_PORT, or rank 0 is stuck)");
  try {
    // LibTorch 2.x's client also checks the server while it is constructed, and waits for ever
    // on a program that accepts the connection but never answers (1.13's only connects).
    std::optional<Guard> guard;
    if (c.rank != 0) {
      guard.emplace(std::chrono::milliseconds(c.timeout) + std::chrono::seconds(5),
                    [&] { Report(absl::StrCat("hardgnn: ", not_ours)); });
    }
    c10d_->store = c10::make_intrusive<c10d::TCPStore>(c.master_addr, options);
  } catch (const std::exception& e) {
    if (c.rank == 0) {
      return absl::UnavailableError(absl::StrCat(
          "rank 0 cannot serve the rendezvous store on port ", c.master_port, ": ", ErrorText(e),
          " (is another job using the port? choose another MASTER_PORT or --master_port)"));
    }
    return absl::DeadlineExceededError(absl::StrCat(
        Where(), ": rank 0 did not start: no rendezvous store answered at ", store_at, " within ", c.timeout.count(),
        " s (is rank 0 running, and are MASTER_ADDR and MASTER_PORT its?): ", ErrorText(e)));
  }
  absl::StatusOr<std::string> bind = c.bind.empty() ? RouteAddress(c.master_addr, c.master_port) : c.bind;
  if (!bind.ok()) return bind.status();
  bind_ = *bind;

  c10d::TCPStore& store = *c10d_->store;
  const Guard guard(std::chrono::milliseconds(c.timeout) + std::chrono::seconds(10), [&] {
    Report(absl::StrCat("hardgnn: ", Where(), ": the rendezvous store at ", store_at, " stopped answering while the "
                        "ranks joined (rank 0 stopped?)"));
  });
  std::vector<std::string> problems;  // this rank's reasons to refuse the job
  std::vector<bool> seen(c.world_size, false);
  int seen_count = 0, missing_count = 0;
  try {
    // Rank 0 says the store is a hardgnn job's: a store call waits for ever on a server that
    // never answers, but this wait has a timeout.
    if (c.rank == 0) store.set("hardgnn", Bytes("1"));
    try {
      store.wait({"hardgnn"}, std::chrono::milliseconds(c.timeout));
    } catch (const std::exception& e) {
      return absl::UnavailableError(absl::StrCat(not_ours, ": ", ErrorText(e)));
    }
    if (store.add(absl::StrCat("joined/", c.rank), 1) > 1) {  // leave the first one's job alone
      return absl::AlreadyExistsError(absl::StrCat(Where(), ": another process already joined as rank ", c.rank,
                                                   " (two processes started with RANK=", c.rank, "?)"));
    }
    const std::map<std::string, std::string> mine = {{"world_size", std::to_string(c.world_size)},
                                                     {"host", HostName()},
                                                     {"pid", std::to_string(getpid())},
                                                     {"run_dir", request.run_dir}};
    store.set(absl::StrCat("join/", c.rank), Bytes(FormatRecord(mine, request.settings)));
    // Every rank compares itself with rank 0, and rank 0 compares every rank with itself.
    while (seen_count < c.world_size && problems.empty()) {
      for (int r = 0; r < c.world_size; ++r) {
        const std::string key = absl::StrCat("join/", r);
        if (seen[r] || !store.check({key})) continue;
        seen[r] = true;
        ++seen_count;
        if (r == c.rank || (r != 0 && c.rank != 0)) continue;
        const Record other = ParseRecord(Text(store.get(key)));
        if (r == 0) rank0_run_dir_ = other.fields.count("run_dir") ? other.fields.at("run_dir") : "";
        const auto world = other.fields.find("world_size");
        const std::string where = absl::StrCat(" (host ", other.fields.count("host") ? other.fields.at("host") : "?",
                                               ", pid ", other.fields.count("pid") ? other.fields.at("pid") : "?", ")");
        if (world == other.fields.end() || world->second != std::to_string(c.world_size)) {
          problems.push_back(absl::StrCat("rank ", r, where, " was started with WORLD_SIZE=",
                                          world == other.fields.end() ? "?" : world->second, ", rank ", c.rank,
                                          " with WORLD_SIZE=", c.world_size));
          continue;
        }
        const int lo = std::min(r, c.rank), hi = std::max(r, c.rank);
        const std::string diff = lo == c.rank ? SettingsDiff(request.settings, other.settings, absl::StrCat("rank ", lo),
                                                             absl::StrCat("rank ", hi))
                                              : SettingsDiff(other.settings, request.settings, absl::StrCat("rank ", lo),
                                                             absl::StrCat("rank ", hi));
        if (!diff.empty()) {
          problems.push_back(r == 0 ? absl::StrCat("rank ", hi, "'s settings differ from those of rank 0", where, ": ", diff)
                                    : absl::StrCat("the settings of rank ", hi, where, " differ from rank 0's: ", diff));
        }
      }
      if (seen_count < c.world_size && problems.empty()) {
        // Another rank may have refused the job already: stop at once rather than at the deadline.
        if (store.add("refused", 0) > 0) break;
        if (Clock::now() > deadline) {
          std::vector<int> missing;
          for (int r = 0; r < c.world_size; ++r) {
            if (!seen[r]) missing.push_back(r);
          }
          missing_count = static_cast<int>(missing.size());
          problems.push_back(absl::StrCat(missing.size() == 1 ? "rank " : "ranks ", JoinRanks(missing), " of ",
                                          c.world_size, " did not join within ",
                                          c.timeout.count(), " s (the rendezvous store is at ", store_at,
                                          "; --dist_timeout sets the wait)"));
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
    // The verdicts: every rank says whether it accepts the job, then reads everyone's (a
    // refusal is counted after its verdict is set, so a counted one can be read).
    store.set(absl::StrCat("verdict/", c.rank), Bytes(problems.empty() ? "ok" : problems.front()));
    if (!problems.empty()) store.add("refused", 1);
    std::vector<int> silent;
    while (problems.empty()) {
      silent.clear();
      for (int r = 0; r < c.world_size; ++r) {
        if (!store.check({absl::StrCat("verdict/", r)})) silent.push_back(r);
      }
      if (silent.empty() || store.add("refused", 0) > 0 || Clock::now() > deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    for (int r = 0; r < c.world_size && problems.empty(); ++r) {
      const std::string key = absl::StrCat("verdict/", r);
      if (store.check({key}) && Text(store.get(key)) != "ok") {
        problems.push_back(absl::StrCat("rank ", r, " refused to start: ", Text(store.get(key))));
      }
    }
    if (problems.empty() && !silent.empty()) {
      problems.push_back(absl::StrCat(silent.size() == 1 ? "rank " : "ranks ", JoinRanks(silent),
                                      " did not confirm the job within ", c.timeout.count(), " s"));
    }
    if (!problems.empty()) {
      LeaveStore(c.world_size - 1 - missing_count);  // rank 0: until the others have read why
      return absl::FailedPreconditionError(absl::StrCat(Where(), ": the job cannot start: ", problems.front()));
    }
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat(Where(), ": the rendezvous store at ", store_at,
                                               " failed while the ranks joined (rank 0 stopped, or something "
                                               "other than rank 0 listens on MASTER_PORT): ",
                                               ErrorText(e)));
  }
  return absl::OkStatus();
}

absl::Status GlooGroup::Connect() {
  try {
    auto options = c10d::ProcessGroupGloo::Options::create(std::chrono::milliseconds(config_.timeout));
    options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(bind_));
    options->threads = 2;
    c10d_->pg = c10::make_intrusive<c10d::ProcessGroupGloo>(
        c10::make_intrusive<c10d::PrefixStore>("gloo", c10d_->store), config_.rank, config_.world_size, options);
  } catch (const std::exception& e) {
    LeaveStore(config_.world_size - 1);
    return absl::UnavailableError(absl::StrCat(Where(), ": the ranks could not connect their Gloo transport (this rank "
                                               "listens on ", bind_, "; --dist_bind chooses the address): ",
                                               ErrorText(e)));
  }
  return absl::OkStatus();
}

void GlooGroup::StartWatchdog() {
  c10d::TCPStoreOptions options;
  options.port = static_cast<uint16_t>(config_.master_port);
  options.isServer = false;
  options.waitWorkers = false;
  options.timeout = config_.timeout;
  c10d_->watch_store = c10::make_intrusive<c10d::TCPStore>(config_.master_addr, options);
  watchdog_ = std::thread([this] { Watch(); });
}

void GlooGroup::StopWatchdog() {
  stop_watchdog_ = true;
  if (watchdog_.joinable()) watchdog_.join();
}

void GlooGroup::Watch() {
  c10d::TCPStore& store = *c10d_->watch_store;
  const std::string beat = absl::StrCat("hb/", config_.rank);
  while (!stop_watchdog_) {
    try {
      store.add(beat, 1);
      if (store.add("errors", 0) > 0) {
        for (int r = 0; r < config_.world_size; ++r) {
          const std::string key = absl::StrCat("error/", r);
          if (r == config_.rank || !store.check({key})) continue;
          Report(absl::StrCat("hardgnn: ", Where(), ": stopping: rank ", r, " failed: ", Text(store.get(key))));
          store.add("left", 1);
          if (config_.rank == 0) LeaveStore(-1);
          std::_Exit(1);
        }
      }
    } catch (const std::exception& e) {
      if (stop_watchdog_) return;
      Report(absl::StrCat("hardgnn: ", Where(), ": stopping: lost rank 0, which serves the rendezvous store at ",
                          config_.master_addr, ":", config_.master_port, " (killed, or its host is unreachable): ",
                          ErrorText(e)));
      std::_Exit(1);
    }
    for (int i = 0; i < 10 && !stop_watchdog_; ++i) std::this_thread::sleep_for(kBeat / 10);
  }
}

std::string GlooGroup::Diagnose(int* lost_count) {
  const int n = config_.world_size;
  *lost_count = 0;
  try {
    c10d::TCPStore& store = *c10d_->store;
    std::vector<std::string> failed;
    for (int r = 0; r < n; ++r) {
      const std::string key = absl::StrCat("error/", r);
      if (r != config_.rank && store.check({key})) failed.push_back(absl::StrCat("rank ", r, " failed: ", Text(store.get(key))));
    }
    if (!failed.empty()) return failed.front();
    std::vector<int64_t> before(n), after(n);
    for (int r = 0; r < n; ++r) before[r] = store.add(absl::StrCat("hb/", r), 0);
    std::this_thread::sleep_for(kLostAfter);
    std::vector<int> lost;
    for (int r = 0; r < n; ++r) {
      after[r] = store.add(absl::StrCat("hb/", r), 0);
      if (r != config_.rank && after[r] == before[r]) lost.push_back(r);
    }
    *lost_count = static_cast<int>(lost.size());
    if (!lost.empty()) {
      return absl::StrCat("lost rank", lost.size() > 1 ? "s " : " ", JoinRanks(lost), " (no heartbeat for ",
                          std::chrono::duration<double>(kLostAfter).count(), " s: killed, or its host is unreachable)");
    }
    return absl::StrCat("every rank is alive but one did not take part in time (a rank stuck, or ranks running "
                        "different code; --dist_timeout=", config_.timeout.count(), ")");
  } catch (const std::exception& e) {
    return absl::StrCat("lost rank 0, which serves the rendezvous store at ", config_.master_addr, ":",
                        config_.master_port, " (killed, or its host is unreachable)");
  }
}

void GlooGroup::Lost(const char* what, const std::exception& error) {
  const Guard guard(kLostAfter + kLinger + std::chrono::seconds(5), [&] {
    Report(absl::StrCat("hardgnn: ", Where(), ": the ", what, " failed (", ErrorText(error),
                        ") and rank 0's rendezvous store does not answer: rank 0 is lost or stuck"));
  });
  int lost = 0;
  const std::string why = Diagnose(&lost);
  Report(absl::StrCat("hardgnn: ", Where(), ": ", why, "; the ", what, " failed: ", ErrorText(error)));
  LeaveStore(config_.world_size - 1 - lost);
  std::_Exit(1);
}

void GlooGroup::LeaveStore(int others_expected) {
  try {
    c10d::TCPStore& store = *c10d_->store;
    if (config_.rank != 0) {
      store.add("left", 1);
      return;
    }
    // Rank 0 serves the store: the others may still need it to learn why the job stops.
    const int64_t expected = others_expected >= 0 ? others_expected : config_.world_size - 1;
    const auto until = Clock::now() + kLinger;
    while (Clock::now() < until && store.add("left", 0) < expected) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  } catch (const std::exception&) {
    // The store is gone: nobody is left to tell.
  }
}

void GlooGroup::Abandon(const std::string& message) {
  const Guard guard(kLinger + std::chrono::seconds(5), [] {});
  StopWatchdog();
  try {
    c10d_->store->set(absl::StrCat("error/", config_.rank), Bytes(message));
    c10d_->store->add("errors", 1);
  } catch (const std::exception&) {
  }
  LeaveStore(-1);
}

void GlooGroup::Finish() {
  {
    const Guard guard(std::chrono::milliseconds(config_.timeout), [&] {
      Report(absl::StrCat("hardgnn: ", Where(), ": rank 0's rendezvous store stopped answering at the end"));
    });
    StopWatchdog();
  }
  Barrier();
}

GlooGroup::~GlooGroup() {
  StopWatchdog();
  if (c10d_ != nullptr) {
    c10d_->pg.reset();
    c10d_->watch_store.reset();
    c10d_->store.reset();
  }
}

void GlooGroup::Collective(const char* what, int64_t* payload, int64_t bytes, const std::function<void()>& run) {
  const auto start = Clock::now();
  try {
    run();
  } catch (const std::exception& e) {
    Lost(what, e);
  }
  *payload += bytes;
  ++traffic_.calls;
  traffic_.seconds += std::chrono::duration<double>(Clock::now() - start).count();
}

namespace {

int64_t PayloadBytes(const std::vector<at::Tensor>& tensors, const char* what) {
  int64_t bytes = 0;
  for (const at::Tensor& t : tensors) {
    TORCH_CHECK(t.is_contiguous() && t.device().is_cpu(), what, ": contiguous CPU tensors");
    bytes += t.numel() * static_cast<int64_t>(t.element_size());
  }
  return bytes;
}

}  // namespace

void GlooGroup::AllReduceSum(std::vector<at::Tensor>& tensors) {
  Collective("all-reduce", &traffic_.allreduce_bytes, PayloadBytes(tensors, "AllReduceSum"), [&] {
    std::vector<c10::intrusive_ptr<c10d::Work>> work;  // all started, then waited for
    for (at::Tensor& t : tensors) {
      std::vector<at::Tensor> one = {t};
      work.push_back(c10d_->pg->allreduce(one));
    }
    for (auto& w : work) w->wait();
  });
}

at::Tensor GlooGroup::AllReduceSparse(const at::Tensor& sparse) {
  std::vector<at::Tensor> one = {sparse.coalesce()};
  const int64_t bytes = one[0]._indices().numel() * 8 + one[0]._values().numel() * one[0]._values().element_size();
  Collective("sparse all-reduce", &traffic_.allreduce_bytes, bytes, [&] { c10d_->pg->allreduce(one)->wait(); });
  return one[0];
}

std::vector<at::Tensor> GlooGroup::AllGather(const at::Tensor& local) {
  std::vector<std::vector<at::Tensor>> out(1);
  for (int r = 0; r < size(); ++r) out[0].push_back(at::empty_like(local));
  std::vector<at::Tensor> in = {local};
  Collective("all-gather", &traffic_.allreduce_bytes, PayloadBytes(in, "AllGather"),
             [&] { c10d_->pg->allgather(out, in)->wait(); });
  return out[0];
}

void GlooGroup::Broadcast(std::vector<at::Tensor>& tensors, int root) {
  Collective("broadcast", &traffic_.broadcast_bytes, PayloadBytes(tensors, "Broadcast"), [&] {
    c10d::BroadcastOptions options;
    options.rootRank = root;
    std::vector<c10::intrusive_ptr<c10d::Work>> work;
    for (at::Tensor& t : tensors) {
      std::vector<at::Tensor> one = {t};
      work.push_back(c10d_->pg->broadcast(one, options));
    }
    for (auto& w : work) w->wait();
  });
}

void GlooGroup::Barrier() {
  try {
    c10d_->pg->barrier()->wait();
  } catch (const std::exception& e) {
    Lost("barrier", e);
  }
}

}  // namespace hardgnn::dist
