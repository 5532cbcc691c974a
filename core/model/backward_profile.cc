#include "core/model/backward_profile.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include <ATen/record_function.h>

namespace hardgnn {
namespace {

struct State {
  std::mutex mu;
  std::map<std::string, double> seconds;
  std::optional<at::CallbackHandle> handle;
};

State& Get() {
  static State* state = new State();
  return *state;
}

struct Started : at::ObserverContext {
  std::chrono::steady_clock::time_point at = std::chrono::steady_clock::now();
};

// "torch::autograd::CppNode<hardgnn::selfgnn::FusedLstm>" -> "FusedLstm"; "torch::autograd::AccumulateGrad"
// -> "AccumulateGrad".
std::string ShortName(std::string name) {
  constexpr char kCppNode[] = "CppNode<";
  if (const size_t at = name.find(kCppNode); at != std::string::npos && name.back() == '>') {
    name = name.substr(at + sizeof(kCppNode) - 1, name.size() - at - sizeof(kCppNode));
  }
  if (const size_t colon = name.rfind("::"); colon != std::string::npos) name = name.substr(colon + 2);
  return name;
}

void End(const at::RecordFunction& fn, at::ObserverContext* context) {
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - static_cast<Started*>(context)->at).count();
  State& state = Get();
  std::lock_guard<std::mutex> lock(state.mu);
  state.seconds[ShortName(fn.name())] += elapsed;
}

}  // namespace

void BackwardNodeProfile::Enable() {
  State& state = Get();
  if (state.handle) return;
  state.handle = at::addThreadLocalCallback(
      at::RecordFunctionCallback([](const at::RecordFunction&) -> std::unique_ptr<at::ObserverContext> {
        return std::make_unique<Started>();
      }, &End).scopes({at::RecordScope::BACKWARD_FUNCTION}));
}

void BackwardNodeProfile::Disable() {
  State& state = Get();
  if (!state.handle) return;
  at::removeCallback(*state.handle);
  state.handle.reset();
}

void BackwardNodeProfile::Reset() {
  State& state = Get();
  std::lock_guard<std::mutex> lock(state.mu);
  state.seconds.clear();
}

std::vector<std::pair<std::string, double>> BackwardNodeProfile::Totals() {
  State& state = Get();
  std::lock_guard<std::mutex> lock(state.mu);
  std::vector<std::pair<std::string, double>> out(state.seconds.begin(), state.seconds.end());
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  return out;
}

}  // namespace hardgnn
