#pragma once
// Plain references for the eval tests, written from the definitions and kept apart from the
// library: pass@k by enumerating every k-subset, and answer extraction by the naive method
// (try every `\boxed{` from the last one; quadratic, fine for short inputs).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace grpo_test {

/// pass@k = P(a uniformly random k-subset of the n samples holds a correct one), by enumeration.
inline double pass_at_k_by_subsets(int n, int c, int k) {
  // samples 0..c-1 are correct; walk all k-subsets in lexicographic order
  std::vector<int> idx(static_cast<std::size_t>(k));
  for (int i = 0; i < k; ++i) idx[static_cast<std::size_t>(i)] = i;
  std::int64_t total = 0, hit = 0;
  for (;;) {
    ++total;
    bool any = false;
    for (int i : idx) any = any || i < c;
    hit += any;
    int pos = k - 1;
    while (pos >= 0 && idx[static_cast<std::size_t>(pos)] == n - k + pos) --pos;
    if (pos < 0) break;
    ++idx[static_cast<std::size_t>(pos)];
    for (int j = pos + 1; j < k; ++j)
      idx[static_cast<std::size_t>(j)] = idx[static_cast<std::size_t>(j - 1)] + 1;
  }
  return static_cast<double>(hit) / static_cast<double>(total);
}

/// The content of the last `\boxed{` by naive brace matching, nullopt if it does not close.
inline std::optional<std::string> naive_last_boxed(const std::string& s) {
  std::optional<std::size_t> last;
  std::size_t open_size = 0;
  for (const std::string open : {"\\boxed{", "\\fbox{"})  // the later of either
    for (std::size_t i = 0; i + open.size() <= s.size(); ++i)
      if (s.compare(i, open.size(), open) == 0 && (!last || i > *last)) last = i, open_size = open.size();
  if (!last) return std::nullopt;
  int depth = 0;
  for (std::size_t j = *last + open_size - 1; j < s.size(); ++j) {
    if (s[j] == '{') ++depth;
    if (s[j] == '}' && --depth == 0) return s.substr(*last + open_size, j - *last - open_size);
  }
  return std::nullopt;
}

/// The content of the last complete <answer>…</answer> block, by scanning all pairs.
inline std::optional<std::string> naive_answer_block(const std::string& s) {
  const std::string open = "<answer>", close = "</answer>";
  std::optional<std::string> best;
  std::optional<std::size_t> best_close;
  for (std::size_t c = 0; c + close.size() <= s.size(); ++c) {
    if (s.compare(c, close.size(), close) != 0) continue;
    std::optional<std::size_t> o;
    for (std::size_t i = 0; i + open.size() <= c; ++i)
      if (s.compare(i, open.size(), open) == 0) o = i;
    if (o && (!best_close || c > *best_close)) {
      best = s.substr(*o + open.size(), c - *o - open.size());
      best_close = c;
    } else if (!o && (!best_close || c > *best_close)) {
      best.reset();
      best_close = c;
    }
  }
  return best;
}

}  // namespace grpo_test
