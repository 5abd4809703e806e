#pragma once
// A one-line progress bar with ETA on stderr:
//   grpo [#########.............]  45/100  0:42 elapsed  ETA 0:51  reward 0.62
// The ETA is the mean time per completed unit times the units left. Redraws at most every
// `min_interval` seconds (and always at the end); when stderr is not a terminal it prints a
// full line every `log_every` units instead of redrawing.
#include <grpo/core/macros.hpp>

#include <chrono>
#include <cstdio>
#include <string>
#include <unistd.h>

namespace grpo::train {

/// "m:ss" or "h:mm:ss".
inline std::string format_duration(double seconds) {
  if (!(seconds >= 0) || seconds > 1e7) return "--:--";
  const long s = static_cast<long>(seconds + 0.5);
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  return buf;
}

class progress_bar {
 public:
  using clock = std::chrono::steady_clock;

  progress_bar(std::string label, index_t total, bool enabled = true, std::FILE* out = stderr)
      : label_(std::move(label)), total_(total > 0 ? total : 1), enabled_(enabled), out_(out),
        tty_(out == stderr && ::isatty(2)), start_(clock::now()) {}

  /// Seconds since construction.
  [[nodiscard]] double elapsed() const {
    return std::chrono::duration<double>(clock::now() - start_).count();
  }
  /// Estimated seconds left after `done` units.
  [[nodiscard]] double eta(index_t done) const {
    if (done <= 0) return -1;
    return elapsed() / static_cast<double>(done) * static_cast<double>(total_ - done);
  }

  /// The bar's text for `done` units (no carriage return).
  [[nodiscard]] std::string line(index_t done, const std::string& extra = {}) const {
    constexpr int width = 24;
    const int filled = static_cast<int>(width * static_cast<double>(done) / static_cast<double>(total_));
    std::string bar(static_cast<std::size_t>(width), '.');
    for (int k = 0; k < filled && k < width; ++k) bar[static_cast<std::size_t>(k)] = '#';
    char buf[160];
    std::snprintf(buf, sizeof buf, "%s [%s] %ld/%ld  %s elapsed  ETA %s", label_.c_str(), bar.c_str(),
                  static_cast<long>(done), static_cast<long>(total_), format_duration(elapsed()).c_str(),
                  format_duration(eta(done)).c_str());
    std::string s = buf;
    if (!extra.empty()) s += "  " + extra;
    return s;
  }

  void update(index_t done, const std::string& extra = {}) {
    if (!enabled_) return;
    const double now = elapsed();
    const bool last = done >= total_;
    if (tty_) {
      if (!last && now - last_draw_ < min_interval && done != 0) return;
      std::fprintf(out_, "\r%s\033[K", line(done, extra).c_str());
      if (last) std::fprintf(out_, "\n");
    } else {
      if (!last && done % log_every != 0) return;
      std::fprintf(out_, "%s\n", line(done, extra).c_str());
    }
    std::fflush(out_);
    last_draw_ = now;
  }

  double min_interval = 0.2;
  index_t log_every = 10;

 private:
  std::string label_;
  index_t total_;
  bool enabled_;
  std::FILE* out_;
  bool tty_;
  clock::time_point start_;
  double last_draw_ = -1;
};

}  // namespace grpo::train
