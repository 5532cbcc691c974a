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

Progress::Progress(int64_t total_steps, int64_t first_step, bool interactive)
    : total_(total_steps), first_(first_step), interactive_(interactive),
      start_(std::chrono::steady_clock::now()), last_draw_(start_) {}

bool Progress::StderrIsTerminal() { return isatty(STDERR_FILENO) == 1; }

void Progress::Step(int64_t step, int64_t epoch, double loss) {
  if (!interactive_) return;
  const auto now = std::chrono::steady_clock::now();
  if (drawn_ && now - last_draw_ < std::chrono::milliseconds(200) && step + 1 < total_) return;
  last_draw_ = now;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double rate = elapsed > 0 ? (step + 1 - first_) / elapsed : 0;
  const double eta = rate > 0 ? (total_ - step - 1) / rate : 0;
  const int width = 24;
  const int filled = total_ > 0 ? static_cast<int>(width * (step + 1) / total_) : width;
  std::fprintf(stderr, "\r[%s%s] epoch %lld step %lld/%lld loss %.4f %.2f steps/s ETA %s   ",
               std::string(filled, '#').c_str(), std::string(width - filled, '.').c_str(),
               static_cast<long long>(epoch), static_cast<long long>(step + 1),
               static_cast<long long>(total_), loss, rate, FormatDuration(eta).c_str());
  drawn_ = true;
}

void Progress::Message(const std::string& line) {
  if (drawn_) std::fputs("\r\033[K", stderr);
  std::fprintf(stderr, "%s\n", line.c_str());
  drawn_ = false;
}

void Progress::Finish() {
  if (drawn_) std::fputs("\n", stderr);
  drawn_ = false;
}

}  // namespace hardgnn
