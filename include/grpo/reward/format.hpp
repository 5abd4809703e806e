#pragma once
// Format rewards (DeepSeek-R1, arXiv:2501.12948 §2.2.2; open-r1's format_reward,
// src/open_r1/rewards.py).
//   strict_format: 1 iff the completion is exactly <think>…</think><answer>…</answer>.
//   tag_count:     +0.25 for each of the four tags that appears exactly once.
// The pitfalls of the usual regex `^<think>.*?</think>\s*<answer>.*?</answer>` (no `$`, or `.`
// matching across blocks) are closed here by counting: every tag must occur exactly once, in
// order, and only whitespace may stand outside the blocks. So trailing text after </answer>,
// a second <answer> block and a tag inside a block all score 0.
#include <grpo/eval/answer.hpp>
#include <grpo/reward/completion.hpp>

#include <array>
#include <cstdint>

namespace grpo::reward {

namespace detail {
inline std::int64_t count_occurrences(std::string_view text, std::string_view tag) {
  std::int64_t n = 0;
  for (auto at = text.find(tag); at != std::string_view::npos; at = text.find(tag, at + tag.size()))
    ++n;
  return n;
}
inline bool blank(std::string_view s) { return eval::trim(s).empty(); }
}  // namespace detail

struct strict_format {
  bool think_prefilled =
      false;  // the prompt already ends with <think>; the completion must not repeat it
  bool allow_whitespace = true;  // whitespace before, between and after the blocks
  bool require_answer = true;    // the answer block must hold something other than whitespace

  double operator()(const completion& c) const { return matches(c.text) ? 1.0 : 0.0; }

  [[nodiscard]] bool matches(std::string_view t) const {
    using detail::count_occurrences;
    const std::int64_t want_open = think_prefilled ? 0 : 1;
    if (count_occurrences(t, think_open_tag) != want_open ||
        count_occurrences(t, think_close_tag) != 1 ||
        count_occurrences(t, eval::answer_open_tag) != 1 ||
        count_occurrences(t, eval::answer_close_tag) != 1)
      return false;
    const auto think_close = t.find(think_close_tag);
    const auto answer_open = t.find(eval::answer_open_tag);
    const auto answer_close = t.find(eval::answer_close_tag);
    std::size_t think_begin = 0;
    if (!think_prefilled) {
      const auto think_open = t.find(think_open_tag);
      if (!outside_ok(t.substr(0, think_open))) return false;
      think_begin = think_open + think_open_tag.size();
    }
    if (!(think_begin <= think_close && think_close < answer_open && answer_open < answer_close))
      return false;
    const auto between_begin = think_close + think_close_tag.size();
    if (!outside_ok(t.substr(between_begin, answer_open - between_begin))) return false;
    const auto answer_begin = answer_open + eval::answer_open_tag.size();
    if (require_answer && detail::blank(t.substr(answer_begin, answer_close - answer_begin)))
      return false;
    return outside_ok(t.substr(answer_close + eval::answer_close_tag.size()));
  }

 private:
  [[nodiscard]] bool outside_ok(std::string_view s) const {
    return s.empty() || (allow_whitespace && detail::blank(s));
  }
};

struct tag_count {
  double per_tag = 0.25;

  double operator()(const completion& c) const {
    static constexpr std::array<std::string_view, 4> tags = {
        think_open_tag, think_close_tag, eval::answer_open_tag, eval::answer_close_tag};
    double r = 0;
    for (auto tag : tags) r += detail::count_occurrences(c.text, tag) == 1 ? per_tag : 0.0;
    return r;
  }
};

}  // namespace grpo::reward
