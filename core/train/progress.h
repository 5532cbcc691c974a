#ifndef HARDGNN_CORE_TRAIN_PROGRESS_H_
#define HARDGNN_CORE_TRAIN_PROGRESS_H_

#include <chrono>
#include <cstdint>
#include <string>

namespace hardgnn {

// Training progress on stderr: a one-line bar (step, loss, steps/s, ETA) redrawn in place on
// a terminal; otherwise nothing per step, and the caller's plain log lines carry the news.
class Progress {
 public:
  Progress(int64_t total_steps, int64_t first_step, bool interactive);
  static bool StderrIsTerminal();

  void Step(int64_t step, int64_t epoch, double loss);
  void Message(const std::string& line);  // a log line that does not break the bar
  void Finish();

 private:
  int64_t total_, first_;
  bool interactive_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

std::string FormatDuration(double seconds);

}  // namespace hardgnn

#endif  // HARDGNN_CORE_TRAIN_PROGRESS_H_
