#include "core/train/progress.h"

#include <unistd.h>

#include <cstdio>

#include "absl/strings/str_format.h"

namespace hardgnn {

std::string FormatDuration(double seconds) {
  const int64_t s = static_cast<int64_t>(seconds + 0.5);
  if (s >= 3600) return absl::StrFormat("%dh%02dm", s / 3600, (s % 3600) / 60);
  if (s >= 60) return absl::StrFormat("%dm%02ds", s / 60, s % 60);
  return absl::StrFormat("%ds", s);
}

Progress::Progress(int64_t total_steps, int64_t first_step, Mode mode, Clock clock, Sink sink,
                   std::chrono::seconds line_interval)
    : total_(total_steps), first_(first_step), mode_(mode),
      clock_(clock ? std::move(clock) : Clock([] { return std::chrono::steady_clock::now(); })),
      sink_(sink ? std::move(sink) : Sink([](const std::string& text) { std::fputs(text.c_str(), stderr); })),
      line_interval_(line_interval), start_(clock_()), last_draw_(start_) {}

bool Progress::StderrIsTerminal() { return isatty(STDERR_FILENO) == 1; }

void Progress::Step(int64_t step, int64_t epoch, double loss) {
  if (mode_ == Mode::kNone) return;
  const auto now = clock_();
  if (mode_ == Mode::kLines) {
    loss_sum_ += loss;
    ++loss_steps_;
  }
  if (mode_ == Mode::kBar && drawn_ && now - last_draw_ < std::chrono::milliseconds(200) && step + 1 < total_) return;
  if (mode_ == Mode::kLines && now - last_draw_ < line_interval_) return;
  last_draw_ = now;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double rate = elapsed > 0 ? (step + 1 - first_) / elapsed : 0;
  const double eta = rate > 0 ? (total_ - step - 1) / rate : 0;
  if (mode_ == Mode::kBar) return DrawBar(step, epoch, loss, rate, eta);
  sink_(absl::StrFormat("progress: epoch %d step %d/%d loss %.4f (mean of the last %d steps) %.2f steps/s ETA %s\n",
                        epoch, step + 1, total_, loss_sum_ / loss_steps_, loss_steps_, rate, FormatDuration(eta)));
  loss_sum_ = 0;
  loss_steps_ = 0;
}

void Progress::DrawBar(int64_t step, int64_t epoch, double loss, double rate, double eta) {
  const int width = 24;
  const int filled = total_ > 0 ? static_cast<int>(width * (step + 1) / total_) : width;
  sink_(absl::StrFormat("\r[%s%s] epoch %d step %d/%d loss %.4f %.2f steps/s ETA %s   ", std::string(filled, '#'),
                        std::string(width - filled, '.'), epoch, step + 1, total_, loss, rate, FormatDuration(eta)));
  drawn_ = true;
}

void Progress::Message(const std::string& line) {
  if (drawn_) sink_("\r\033[K");
  sink_(line + "\n");
  drawn_ = false;
  if (mode_ == Mode::kLines) {  // the log just spoke: the next progress line is due an interval later
    last_draw_ = clock_();
    loss_sum_ = 0;
    loss_steps_ = 0;
  }
}

void Progress::Finish() {
  if (drawn_) sink_("\n");
  drawn_ = false;
}

}  // namespace hardgnn
