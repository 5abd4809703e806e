#pragma once
// Answer extraction and numeric normalisation (DeepSeek-R1's <answer> format, arXiv:2501.12948
// §2.2.1; the MATH dataset's \boxed{} answers, Hendrycks et al. 2021, arXiv:2103.03874).
//
// Every function here reads arbitrary bytes: any length, unbalanced or deeply nested braces,
// invalid UTF-8, embedded NULs. Each makes O(1) passes over its input (linear time), allocates
// at most the size of the answer it returns, and never recurses on the input.
//
// The known pitfalls and how they are handled (docs/rewards.md):
//   `\boxed{8,000}` -> "8,000" by brace matching, then 8000 by thousands-separator rules;
//   `29.00`, `$29`, `$29.00`, `+29` all normalise to "29";
//   a lone `,` (or `.`, `$`, `-`) is not a number.
#include <grpo/core/macros.hpp>

#include <cstdint>
#include <numeric>
#include <optional>
#include <string>
#include <string_view>

namespace grpo::eval {

inline constexpr std::string_view answer_open_tag = "<answer>";
inline constexpr std::string_view answer_close_tag = "</answer>";
inline constexpr std::string_view boxed_open = "\\boxed{";
inline constexpr std::string_view fbox_open = "\\fbox{";

namespace detail {
inline bool is_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
inline bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
}  // namespace detail

/// `s` without leading and trailing ASCII whitespace.
inline std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && detail::is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && detail::is_space(s.back())) s.remove_suffix(1);
  return s;
}

/// The content of the LAST complete `<answer>…</answer>` block: the last `</answer>` and the
/// nearest `<answer>` before it. No block -> nullopt.
inline std::optional<std::string_view> answer_block(std::string_view text) {
  const auto close = text.rfind(answer_close_tag);
  if (close == std::string_view::npos) return std::nullopt;
  const auto open = text.substr(0, close).rfind(answer_open_tag);
  if (open == std::string_view::npos) return std::nullopt;
  const auto begin = open + answer_open_tag.size();
  return text.substr(begin, close - begin);
}

/// The content of the LAST `\boxed{…}` or `\fbox{…}`, matching braces from its `{`. When that
/// last box is never closed the result is nullopt (earlier boxes are not tried: that keeps the
/// scan linear and an unclosed final box means the model did not finish its answer).
inline std::optional<std::string_view> last_boxed(std::string_view text) {
  const auto boxed = text.rfind(boxed_open);
  const auto fbox = text.rfind(fbox_open);
  std::size_t at = 0, begin = 0;
  if (boxed == std::string_view::npos && fbox == std::string_view::npos) return std::nullopt;
  if (fbox == std::string_view::npos || (boxed != std::string_view::npos && boxed > fbox)) {
    at = boxed;
    begin = at + boxed_open.size();
  } else {
    at = fbox;
    begin = at + fbox_open.size();
  }
  std::int64_t depth = 1;  // a counter, not a stack: nesting depth costs no memory
  for (auto i = begin; i < text.size(); ++i) {
    if (text[i] == '{') {
      ++depth;
    } else if (text[i] == '}') {
      if (--depth == 0) return text.substr(begin, i - begin);
    }
  }
  return std::nullopt;
}

/// The last number-like run in the text: digits with `,` `.` `/` inside, an optional sign and
/// `$` in front. For completions without any answer format (a base model's raw output).
inline std::optional<std::string_view> last_number(std::string_view text) {
  std::size_t end = text.size();
  while (end > 0 && !detail::is_digit(text[end - 1])) --end;
  if (end == 0) return std::nullopt;
  std::size_t begin = end;
  while (begin > 0) {
    const char c = text[begin - 1];
    // a separator belongs to the number only when a digit precedes it
    if (detail::is_digit(c) ||
        ((c == ',' || c == '.' || c == '/') && begin >= 2 && detail::is_digit(text[begin - 2])))
      --begin;
    else
      break;
  }
  // "$-5", "-$5", "$5", "-5": at most one `$` and one sign, in either order
  bool dollar = false, sign = false;
  while (begin > 0) {
    const char c = text[begin - 1];
    if (c == '$' && !dollar)
      dollar = true;
    else if ((c == '-' || c == '+') && !sign)
      sign = true;
    else
      break;
    --begin;
  }
  return text.substr(begin, end - begin);
}

/// Where the final answer is looked for.
enum class extraction {
  answer_block,             // the last <answer> block only
  boxed,                    // the last \boxed{} (or \fbox{}) only
  answer_block_then_boxed,  // the <answer> block (or the last \boxed{} inside it), else the
                            // last \boxed{} of the whole text
  last_number,              // the last number in the text
};

/// The final answer of a completion under `policy`, trimmed; nullopt when there is none.
inline std::optional<std::string_view> extract_answer(
    std::string_view text, extraction policy = extraction::answer_block_then_boxed) {
  std::optional<std::string_view> found;
  switch (policy) {
    case extraction::answer_block:
      found = answer_block(text);
      break;
    case extraction::boxed:
      found = last_boxed(text);
      break;
    case extraction::last_number:
      found = last_number(text);
      break;
    case extraction::answer_block_then_boxed:
      if (auto block = answer_block(text)) {
        auto inner = last_boxed(*block);
        found = inner ? inner : block;
      } else {
        found = last_boxed(text);
      }
      break;
  }
  if (!found) return std::nullopt;
  return trim(*found);
}

namespace detail {

// Digits without leading zeros ("" stays "").
inline std::string_view strip_leading_zeros(std::string_view d) {
  while (!d.empty() && d.front() == '0') d.remove_prefix(1);
  return d;
}

// Parses a run of at most 18 digits into an int64; nullopt if empty or too long.
inline std::optional<std::int64_t> small_integer(std::string_view d) {
  d = strip_leading_zeros(d);
  if (d.size() > 18) return std::nullopt;
  std::int64_t v = 0;
  for (char c : d) {
    if (!is_digit(c)) return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

inline bool all_digits(std::string_view d) {
  if (d.empty()) return false;
  for (char c : d)
    if (!is_digit(c)) return false;
  return true;
}

// Integer part with optional thousands separators: "8000", "8,000", "12,345,678".
// A comma must be followed by exactly three digits and the first group has 1..3 digits.
inline std::optional<std::string> integer_part(std::string_view s) {
  if (s.find(',') == std::string_view::npos) {
    if (!all_digits(s)) return std::nullopt;
    return std::string(s);
  }
  const auto first = s.find(',');
  if (first == 0 || first > 3 || !all_digits(s.substr(0, first))) return std::nullopt;
  std::string out(s.substr(0, first));
  std::size_t i = first;
  while (i < s.size()) {
    if (s[i] != ',' || i + 4 > s.size() || !all_digits(s.substr(i + 1, 3))) return std::nullopt;
    out.append(s.substr(i + 1, 3));
    i += 4;
  }
  return out;
}

// The canonical decimal of sign · int_digits . frac_digits.
inline std::string canonical_decimal(bool negative, std::string_view int_digits,
                                     std::string_view frac_digits) {
  int_digits = strip_leading_zeros(int_digits);
  while (!frac_digits.empty() && frac_digits.back() == '0') frac_digits.remove_suffix(1);
  std::string out;
  const bool zero = int_digits.empty() && frac_digits.empty();
  if (negative && !zero) out += '-';
  out += int_digits.empty() ? std::string_view("0") : int_digits;
  if (!frac_digits.empty()) {
    out += '.';
    out += frac_digits;
  }
  return out;
}

inline std::string fraction_text(bool negative, std::int64_t p, std::int64_t q) {
  std::string out = negative ? "-" : "";
  out += std::to_string(p);
  out += '/';
  out += std::to_string(q);
  return out;
}

// p/q reduced; an exact decimal when q has only the prime factors 2 and 5, else "p/q".
inline std::optional<std::string> canonical_fraction(bool negative, std::string_view num,
                                                     std::string_view den) {
  const auto p0 = small_integer(num);
  const auto q0 = small_integer(den);
  if (!p0 || !q0 || *q0 == 0) return std::nullopt;
  const std::int64_t g = std::gcd(*p0, *q0);
  std::int64_t p = g ? *p0 / g : 0, q = g ? *q0 / g : 1;
  if (p == 0) return std::string("0");
  std::int64_t twos = 0, fives = 0, rest = q;
  while (rest % 2 == 0) rest /= 2, ++twos;
  while (rest % 5 == 0) rest /= 5, ++fives;
  if (rest != 1) {
    return fraction_text(negative, p, q);
  }
  // p/q = p·(10^m/q) / 10^m with m = max(twos, fives)
  const std::int64_t m = twos > fives ? twos : fives;
  if (m > 18) return fraction_text(negative, p, q);
  std::int64_t scale = 1;
  for (std::int64_t k = 0; k < m; ++k) scale *= 10;  // q | 10^m <= 10^18
  std::int64_t scaled = 0;
  if (__builtin_mul_overflow(p, scale / q, &scaled)) {
    return fraction_text(negative, p, q);
  }
  std::string digits = std::to_string(scaled);
  if (static_cast<std::int64_t>(digits.size()) <= m)  // pad so at least one integer digit is left
    digits = std::string(static_cast<std::size_t>(m) - digits.size() + 1, '0') + digits;
  const auto split = digits.size() - static_cast<std::size_t>(m);
  return canonical_decimal(negative, std::string_view(digits).substr(0, split),
                           std::string_view(digits).substr(split));
}

}  // namespace detail

/// The canonical form of a number written in `s`, or nullopt when `s` is not exactly one number.
/// Accepted: surrounding whitespace; a leading `+` or `-`; a `$` (or `\$`) before or after the
/// sign; a closing `$`; thousands separators (`8,000`, groups of three); a decimal point
/// (`29.00`, `.5`, `29.`); a fraction `3/4` or `\frac{3}{4}` of integers up to 18 digits.
/// Canonical form: no `+`, no leading zeros, no trailing fractional zeros, `0` never negative,
/// fractions reduced and written as exact decimals when they terminate ("3/4" -> "0.75"),
/// else "p/q". Examples: "8,000" -> "8000", "$29.00" -> "29", "-0.50" -> "-0.5", "," -> nullopt.
inline std::optional<std::string> normalize_number(std::string_view s) {
  s = trim(s);
  bool negative = false;
  auto strip_dollar = [&s] {
    if (s.substr(0, 2) == "\\$")
      s.remove_prefix(2);
    else if (!s.empty() && s.front() == '$')
      s.remove_prefix(1);
  };
  strip_dollar();
  if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  strip_dollar();
  if (!s.empty() && s.back() == '$') {
    s.remove_suffix(1);
    if (!s.empty() && s.back() == '\\') s.remove_suffix(1);
  }
  s = trim(s);
  if (s.empty()) return std::nullopt;

  // \frac{a}{b}
  if (s.substr(0, 6) == "\\frac{" && s.back() == '}') {
    const auto mid = s.find("}{");
    if (mid == std::string_view::npos) return std::nullopt;
    const auto num = s.substr(6, mid - 6);
    const auto den = s.substr(mid + 2, s.size() - 1 - (mid + 2));
    if (!detail::all_digits(num) || !detail::all_digits(den)) return std::nullopt;
    return detail::canonical_fraction(negative, num, den);
  }
  // a/b
  if (const auto slash = s.find('/'); slash != std::string_view::npos) {
    const auto num = s.substr(0, slash), den = s.substr(slash + 1);
    if (!detail::all_digits(num) || !detail::all_digits(den)) return std::nullopt;
    return detail::canonical_fraction(negative, num, den);
  }
  // [int][.frac]
  const auto dot = s.find('.');
  const auto int_text = s.substr(0, dot);
  const auto frac_text = dot == std::string_view::npos ? std::string_view{} : s.substr(dot + 1);
  if (int_text.empty() && frac_text.empty()) return std::nullopt;  // ".", ""
  std::string int_digits;
  if (!int_text.empty()) {
    auto parsed = detail::integer_part(int_text);
    if (!parsed) return std::nullopt;
    int_digits = std::move(*parsed);
  }
  if (!frac_text.empty() && !detail::all_digits(frac_text)) return std::nullopt;
  return detail::canonical_decimal(negative, int_digits, frac_text);
}

/// The key an answer votes with in cons@k and compares by: its canonical number when it is one,
/// else the trimmed text.
inline std::string canonical_answer(std::string_view answer) {
  if (auto n = normalize_number(answer)) return std::move(*n);
  return std::string(trim(answer));
}

/// Whether a predicted answer equals the reference: numerically when both are numbers, else as
/// trimmed text. An empty prediction never matches.
inline bool answers_match(std::string_view predicted, std::string_view reference) {
  if (trim(predicted).empty()) return false;
  const auto p = normalize_number(predicted);
  const auto r = normalize_number(reference);
  if (p && r) return *p == *r;
  if (p || r) return false;
  return trim(predicted) == trim(reference);
}

}  // namespace grpo::eval
