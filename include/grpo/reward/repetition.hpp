#pragma once
// repetition penalty (Yeo et al. 2025, arXiv:2502.03373; open-r1's
// get_repetition_penalty_reward): (1 − unique n-grams / total n-grams)·p with p < 0 (n = 3,
// p = −1). n-grams of whitespace-separated words (as the reference implementations do)
// or of characters (the tokens of a character-level model). Fewer than n units: 0.
#include <grpo/reward/completion.hpp>

#include <string>
#include <unordered_set>
#include <vector>

namespace grpo::reward {

struct repetition {
  enum class unit { words, characters };
  int n = 3;
  double penalty = -1.0;  // p
  unit over = unit::words;

  [[nodiscard]] status validate() const {
    if (n < 1) return {errc::bad_config, "repetition.n", -1, "need n >= 1"};
    if (!(penalty <= 0)) return {errc::bad_config, "repetition.penalty", -1, "need p <= 0"};
    return {};
  }

  double operator()(const completion& c) const {
    const auto nn = static_cast<std::size_t>(n < 1 ? 1 : n);
    std::size_t total = 0;
    std::unordered_set<std::string_view> unique_chars;
    std::unordered_set<std::string> unique_words;
    if (over == unit::characters) {
      if (c.text.size() < nn) return 0.0;
      total = c.text.size() - nn + 1;
      for (std::size_t i = 0; i < total; ++i) unique_chars.insert(c.text.substr(i, nn));
      return (1.0 - static_cast<double>(unique_chars.size()) / static_cast<double>(total)) *
             penalty;
    }
    std::vector<std::string_view> words;
    for (std::size_t i = 0; i < c.text.size();) {
      while (i < c.text.size() && is_space(c.text[i])) ++i;
      const auto b = i;
      while (i < c.text.size() && !is_space(c.text[i])) ++i;
      if (i > b) words.push_back(c.text.substr(b, i - b));
    }
    if (words.size() < nn) return 0.0;
    total = words.size() - nn + 1;
    for (std::size_t i = 0; i < total; ++i) {
      std::string key;  // words joined by a separator no word contains
      for (std::size_t k = 0; k < nn; ++k) {
        key += words[i + k];
        key += ' ';
      }
      unique_words.insert(std::move(key));
    }
    return (1.0 - static_cast<double>(unique_words.size()) / static_cast<double>(total)) * penalty;
  }

 private:
  static bool is_space(char ch) { return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r'; }
};

}  // namespace grpo::reward
