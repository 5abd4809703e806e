#pragma once
// The reward functor protocol. A reward reads one completion (its decoded text, its length in
// tokens and the problem it answers) and returns a finite score; a group reward reads all the
// completions of one prompt's group at once (Kimi's length reward compares lengths within the
// group) and writes one score per member.
#include <grpo/core/error.hpp>
#include <grpo/task/problem.hpp>

#include <concepts>
#include <optional>
#include <span>
#include <string_view>

namespace grpo::reward {

struct completion {
  std::string_view text;                   // decoded: tags as text, no <pad>/<eos>
  index_t num_tokens = 0;                  // length in tokens (the length rewards' `len`)
  const task::problem* problem = nullptr;  // what it answers; required by answer-checking rewards
};

template <class R>
concept completion_reward = requires(const R& r, const completion& c) {
  { r(c) } -> std::convertible_to<double>;
};

template <class R>
concept group_reward = requires(const R& r, std::span<const completion> group,
                                std::span<double> out) {
  r(group, out);  // out.size() == group.size()
};

template <class R>
concept reward_function = completion_reward<R> || group_reward<R>;

inline constexpr std::string_view think_open_tag = "<think>";
inline constexpr std::string_view think_close_tag = "</think>";

/// The chain of thought: the text between the first `<think>` and the first `</think>` after it
/// (from the start when the template already wrote `<think>` and the completion has none).
/// nullopt without a closing `</think>`.
inline std::optional<std::string_view> think_block(std::string_view text) {
  const auto open = text.find(think_open_tag);
  const auto begin = open == std::string_view::npos ? 0 : open + think_open_tag.size();
  const auto close = text.find(think_close_tag, begin);
  if (close == std::string_view::npos) return std::nullopt;
  return text.substr(begin, close - begin);
}

}  // namespace grpo::reward
