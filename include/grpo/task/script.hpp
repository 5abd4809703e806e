#pragma once
// Two scripts for the numerals of a chain of thought: the toy world's two "languages", so that a
// model can mix them and DeepSeek-R1's language-consistency reward (arXiv:2501.12948 §2.3.2)
// measures something. R1-Zero's traces mixed languages; here the same reasoning can be written
// with ASCII digits ("7+5=12") or with a second set of ten glyphs, "OIZEHSGLBP" for 0..9
// ("L+S=IZ"), as a corpus in two scripts would have it, and a trace that switches script from
// one step to the next is "mixed". Prompts and final answers are always ASCII digits, so a model
// that reasons in the second script must translate its result back to answer.
//
//   transliterate(text, script)         every ASCII digit of text in `script`
//   mix_scripts(trace, script, p, rng)  each ", "-separated step in `script` with probability p
//   bilingual_tokenizer(script)         the compact alphabet plus the script's glyphs
//   numeral_consistency(target, other)  the language-consistency reward over numerals only: the
//                                       share of the thought's numeral glyphs (of either script)
//                                       written in `target`
#include <grpo/core/error.hpp>
#include <grpo/reward/language.hpp>
#include <grpo/task/random.hpp>
#include <grpo/task/tokenizer.hpp>

#include <string>
#include <string_view>

namespace grpo::task {

/// Ten distinct glyphs, the one for digit d at position d (single bytes: the tokenizer is
/// character-level).
struct numeral_script {
  std::string_view glyphs;

  [[nodiscard]] char glyph(int digit) const { return glyphs[static_cast<std::size_t>(digit)]; }
  [[nodiscard]] bool contains(char32_t cp) const noexcept {
    return cp < 0x80 && glyphs.find(static_cast<char>(cp)) != std::string_view::npos;
  }
  /// The digit a glyph stands for, or -1.
  [[nodiscard]] int digit_of(char c) const noexcept {
    const auto at = glyphs.find(c);
    return at == std::string_view::npos ? -1 : static_cast<int>(at);
  }
};

inline constexpr numeral_script ascii_digits{"0123456789"};
/// The second script: glyphs that look a little like the digits they stand for, none of them in
/// tokenizer::compact_alphabet.
inline constexpr numeral_script toy_digits{"OIZEHSGLBP"};

/// Ten distinct printable ASCII bytes, none of them whitespace.
inline status validate(const numeral_script& s) {
  if (s.glyphs.size() != 10)
    return {errc::bad_config, "numeral_script", -1,
            "need 10 glyphs (one per digit), got " + std::to_string(s.glyphs.size())};
  for (std::size_t i = 0; i < 10; ++i) {
    const char c = s.glyphs[i];
    if (c <= ' ' || c > '~')
      return {errc::bad_config, "numeral_script", static_cast<index_t>(i), "glyphs must be printable ASCII, not space"};
    if (s.glyphs.find(c) != i)
      return {errc::bad_config, "numeral_script", static_cast<index_t>(i),
              "glyph '" + std::string(1, c) + "' stands for two digits"};
  }
  return {};
}

/// `text` with each ASCII digit replaced by its glyph in `to` (everything else unchanged).
inline std::string transliterate(std::string_view text, const numeral_script& to) {
  std::string out(text);
  for (char& c : out)
    if (c >= '0' && c <= '9') c = to.glyph(c - '0');
  return out;
}

/// A trace whose steps (separated by ", ") are each written in `second` with probability
/// `p_second`, else left in ASCII digits: p = 0 is the trace, p = 1 its transliteration.
inline std::string mix_scripts(std::string_view trace, const numeral_script& second, double p_second, splitmix64& rng) {
  std::string out;
  std::size_t from = 0;
  while (true) {
    const auto at = trace.find(", ", from);
    const auto step = trace.substr(from, at == std::string_view::npos ? std::string_view::npos : at - from);
    out += rng.uniform() < p_second ? transliterate(step, second) : std::string(step);
    if (at == std::string_view::npos) break;
    out += ", ";
    from = at + 2;
  }
  return out;
}

/// The compact alphabet and the glyphs of `second` (tokenizer::compact() plus ten ids).
inline tokenizer bilingual_tokenizer(const numeral_script& second = toy_digits) {
  throw_if_error(validate(second));
  std::string a(tokenizer::compact_alphabet);
  a += second.glyphs;
  return tokenizer::make_or_throw(a);  // a glyph already in the alphabet is an error naming it
}

/// Code-point classes for reward::language_consistency.
struct in_script {
  numeral_script script;
  bool operator()(char32_t cp) const noexcept { return script.contains(cp); }
};
struct in_either_script {
  numeral_script a, b;
  bool operator()(char32_t cp) const noexcept { return a.contains(cp) || b.contains(cp); }
};

using numeral_consistency_reward = reward::language_consistency<in_script, in_either_script>;

/// R1's language-consistency reward for the two-script world: the share of the numeral glyphs
/// in the <think> block written in `target` (1 = one script throughout, 0 = all in `other`; a
/// thought without numerals scores 0).
inline numeral_consistency_reward numeral_consistency(const numeral_script& target = ascii_digits,
                                                      const numeral_script& other = toy_digits) {
  return {in_script{target}, in_either_script{target, other}};
}

}  // namespace grpo::task
