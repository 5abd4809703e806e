#pragma once
// Prompt templates. `r1_zero` is the DeepSeek-R1-Zero template (paper, Table 1). Its ~90 words
// cost ~400 context tokens at character level and need the full ASCII alphabet, so a tiny
// character-level model gets `r1_zero_compact`: the same User/Assistant turn structure, with the
// format taught by the rewards (and by the SFT traces) instead of by the instruction text.
// Templates end with "Assistant:"; the model writes the completion from there.
#include <string>
#include <string_view>

namespace grpo::task {

struct prompt_template {
  std::string_view text;  // contains "{prompt}" exactly once

  /// The template with "{prompt}" replaced by `prompt`.
  [[nodiscard]] std::string render(std::string_view prompt) const {
    constexpr std::string_view slot = "{prompt}";
    const auto at = text.find(slot);
    std::string out(text.substr(0, at));
    out += prompt;
    out += text.substr(at + slot.size());
    return out;
  }
};

/// DeepSeek-R1-Zero's template (needs `tokenizer::ascii()`).
inline constexpr prompt_template r1_zero{
    "A conversation between User and Assistant. The user asks a question, and the Assistant "
    "solves it. The assistant first thinks about the reasoning process in the mind and then "
    "provides the user with the answer. The reasoning process and answer are enclosed within "
    "<think> </think> and <answer> </answer> tags, respectively, i.e., <think> reasoning "
    "process here </think> <answer> answer here </answer>. User: {prompt}. Assistant:"};

/// The compact variant for a character-level model (fits `tokenizer::compact()`): 17 characters
/// around the prompt.
inline constexpr prompt_template r1_zero_compact{"User: {prompt}\nAssistant:"};

}  // namespace grpo::task
