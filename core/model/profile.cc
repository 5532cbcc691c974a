#include "core/model/profile.h"

namespace hardgnn {
namespace {

// One phase: its seconds, and the sum and count of the gauge's readings at its ends.
struct Phase {
  std::string name;
  double seconds = 0, gauge_sum = 0;
  int64_t gauge_count = 0;
};

struct State {
  bool enabled = false;
  int64_t (*gauge)() = nullptr;
  std::vector<Phase> phases;  // in first-seen order
};

State& Get() {
  static State* state = new State();
  return *state;
}

}  // namespace

void PhaseProfile::Enable(bool on) { Get().enabled = on; }
bool PhaseProfile::Enabled() { return Get().enabled; }
void PhaseProfile::Reset() { Get().phases.clear(); }
void PhaseProfile::SetGauge(int64_t (*gauge)()) { Get().gauge = gauge; }
bool PhaseProfile::HasGauge() { return Get().gauge != nullptr; }

void PhaseProfile::Add(const std::string& phase, double seconds) {
  State& state = Get();
  auto it = state.phases.begin();
  while (it != state.phases.end() && it->name != phase) ++it;
  if (it == state.phases.end()) it = state.phases.insert(it, Phase{phase});
  it->seconds += seconds;
  if (state.gauge != nullptr) {
    it->gauge_sum += static_cast<double>(state.gauge());
    ++it->gauge_count;
  }
}

std::vector<std::pair<std::string, double>> PhaseProfile::Totals() {
  std::vector<std::pair<std::string, double>> out;
  for (const Phase& p : Get().phases) out.push_back({p.name, p.seconds});
  return out;
}

std::vector<std::pair<std::string, double>> PhaseProfile::GaugeMeans() {
  std::vector<std::pair<std::string, double>> out;
  for (const Phase& p : Get().phases) {
    if (p.gauge_count > 0) out.push_back({p.name, p.gauge_sum / p.gauge_count});
  }
  return out;
}

}  // namespace hardgnn
