#ifndef HARDGNN_CORE_MODEL_PROFILE_H_
#define HARDGNN_CORE_MODEL_PROFILE_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace hardgnn {

// Wall-clock seconds per named phase of training steps, collected when enabled (the
// trainer's --profile). Phases are timed on the calling thread; the work inside them may be
// parallel. Not thread-safe: phases are opened by the training loop's thread only.
class PhaseProfile {
 public:
  static void Enable(bool on);
  static bool Enabled();
  static void Add(const std::string& phase, double seconds);
  static void Reset();
  // Phases in first-seen order with their total seconds.
  static std::vector<std::pair<std::string, double>> Totals();
  // A quantity read at the end of every phase and averaged per phase (the trainer's is the
  // live tensor memory, core/model/tensor_memory.h); nullptr: none.
  static void SetGauge(int64_t (*gauge)());
  static bool HasGauge();
  // Phases in first-seen order with the mean of the gauge's readings at their ends.
  static std::vector<std::pair<std::string, double>> GaugeMeans();
};

class ScopedPhase {
 public:
  explicit ScopedPhase(const char* phase)
      : phase_(PhaseProfile::Enabled() ? phase : nullptr), start_(std::chrono::steady_clock::now()) {}
  ~ScopedPhase() {
    if (phase_ != nullptr) {
      PhaseProfile::Add(phase_, std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
    }
  }
  ScopedPhase(const ScopedPhase&) = delete;
  ScopedPhase& operator=(const ScopedPhase&) = delete;

 private:
  const char* phase_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace hardgnn

#endif  // HARDGNN_CORE_MODEL_PROFILE_H_
