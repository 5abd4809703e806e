#pragma once
// reasoning steps (open-r1's reasoning_steps_reward, src/open_r1/rewards.py): min(1, count(step
// markers)/3). The markers:
// "Step <digits>:" anywhere, "<digits>." at the start of a line, "-" or "*" right after a
// newline, and the words "First,", "Second,", "Next,", "Finally,"; plus user-given literals
// (e.g. ", " between the steps of this library's task traces).
#include <grpo/reward/completion.hpp>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace grpo::reward {

struct reasoning_steps {
  double target_count = 3;                 // steps for the full reward
  std::vector<std::string> extra_markers;  // literal markers counted in addition

  /// How many step markers the text has.
  [[nodiscard]] std::int64_t count(std::string_view t) const {
    auto digit = [](char ch) { return ch >= '0' && ch <= '9'; };
    std::int64_t n = 0;
    for (std::size_t i = 0; i < t.size(); ++i) {
      const bool line_start = i == 0 || t[i - 1] == '\n';
      if (t.compare(i, 5, "Step ") == 0) {
        std::size_t j = i + 5;
        while (j < t.size() && digit(t[j])) ++j;
        if (j > i + 5 && j < t.size() && t[j] == ':') ++n;
      } else if (line_start && digit(t[i])) {
        std::size_t j = i;
        while (j < t.size() && digit(t[j])) ++j;
        if (j < t.size() && t[j] == '.') ++n;
        i = j - 1;  // the digits are consumed; no inner match is possible
      } else if (i > 0 && t[i - 1] == '\n' && (t[i] == '-' || t[i] == '*')) {
        ++n;
      } else {
        for (std::string_view w : {"First,", "Second,", "Next,", "Finally,"})
          if (t.compare(i, w.size(), w) == 0) ++n;
      }
    }
    for (const auto& m : extra_markers) {
      if (m.empty()) continue;
      for (auto at = t.find(m); at != std::string_view::npos; at = t.find(m, at + m.size())) ++n;
    }
    return n;
  }

  double operator()(const completion& c) const {
    const double steps = static_cast<double>(count(c.text));
    return std::min(1.0, steps / target_count);
  }
};

}  // namespace grpo::reward
