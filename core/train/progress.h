#ifndef HARDGNN_CORE_TRAIN_PROGRESS_H_
#define HARDGNN_CORE_TRAIN_PROGRESS_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace hardgnn {

// Training progress on stderr (step, epoch, loss, steps/s, ETA), in one of three forms:
//  kBar:   a one-line bar redrawn in place (a terminal);
//  kLines: a plain line at most every `line_interval` within an epoch (a log file), so the log
//          of a long run is never silent for minutes; the caller's log lines reset the timer;
//  kNone:  nothing per step; the caller's log lines still go out.
class Progress {
 public:
  enum class Mode { kNone, kBar, kLines };
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  using Sink = std::function<void(const std::string&)>;  // receives the text to write

  // `clock` and `sink` default to the steady clock and stderr; tests inject both.
  Progress(int64_t total_steps, int64_t first_step, Mode mode, Clock clock = nullptr, Sink sink = nullptr,
           std::chrono::seconds line_interval = std::chrono::seconds(30));
  static bool StderrIsTerminal();

  void Step(int64_t step, int64_t epoch, double loss);
  void Message(const std::string& line);  // a log line that does not break the bar
  void Finish();

 private:
  void DrawBar(int64_t step, int64_t epoch, double loss, double rate, double eta);

  int64_t total_, first_;
  Mode mode_;
  Clock clock_;
  Sink sink_;
  std::chrono::steady_clock::duration line_interval_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
  double loss_sum_ = 0;  // kLines: over the steps since the last line
  int64_t loss_steps_ = 0;
};

std::string FormatDuration(double seconds);

}  // namespace hardgnn

#endif  // HARDGNN_CORE_TRAIN_PROGRESS_H_
