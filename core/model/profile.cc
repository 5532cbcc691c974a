#include "core/model/profile.h"

namespace hardgnn {
namespace {

struct GaugeSum {
  std::string phase;
  double sum = 0;
  int64_t count = 0;
};

struct State {
  bool enabled = false;
  std::vector<std::pair<std::string, double>> totals;
  int64_t (*gauge)() = nullptr;
  std::vector<GaugeSum> gauge_sums;
};

State& Get() {
  static State* state = new State();
  return *state;
}

}  // namespace

void PhaseProfile::Enable(bool on) { Get().enabled = on; }
bool PhaseProfile::Enabled() { return Get().enabled; }
void PhaseProfile::Reset() {
  Get().totals.clear();
  Get().gauge_sums.clear();
}
void PhaseProfile::SetGauge(int64_t (*gauge)()) { Get().gauge = gauge; }
bool PhaseProfile::HasGauge() { return Get().gauge != nullptr; }

std::vector<std::pair<std::string, double>> PhaseProfile::GaugeMeans() {
  std::vector<std::pair<std::string, double>> out;
  for (const GaugeSum& g : Get().gauge_sums) out.push_back({g.phase, g.sum / g.count});
  return out;
}

void PhaseProfile::Add(const std::string& phase, double seconds) {
  if (Get().gauge != nullptr) {
    const double reading = static_cast<double>(Get().gauge());
    auto it = Get().gauge_sums.begin();
    while (it != Get().gauge_sums.end() && it->phase != phase) ++it;
    if (it == Get().gauge_sums.end()) it = Get().gauge_sums.insert(it, GaugeSum{phase});
    it->sum += reading;
    ++it->count;
  }
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
