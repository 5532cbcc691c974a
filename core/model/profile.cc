#include "core/model/profile.h"

namespace hardgnn {
namespace {

struct State {
  bool enabled = false;
  std::vector<std::pair<std::string, double>> totals;
};

State& Get() {
  static State* state = new State();
  return *state;
}

}  // namespace

void PhaseProfile::Enable(bool on) { Get().enabled = on; }
bool PhaseProfile::Enabled() { return Get().enabled; }
void PhaseProfile::Reset() { Get().totals.clear(); }

void PhaseProfile::Add(const std::string& phase, double seconds) {
  for (auto& [name, total] : Get().totals) {
    if (name == phase) {
      total += seconds;
      return;
    }
  }
  Get().totals.push_back({phase, seconds});
}

std::vector<std::pair<std::string, double>> PhaseProfile::Totals() { return Get().totals; }

}  // namespace hardgnn
