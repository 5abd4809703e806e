#pragma once
// Exact arithmetic for Countdown: rationals with overflow checks, and a parser/evaluator for the
// expressions a model writes ("(7-3)*5+2"). Integers, + - * /, parentheses and spaces only; no
// unary minus (every number must be one of the given numbers, used as given).
//
// Robust to any text: the input length and the parenthesis depth are bounded, every integer and
// intermediate result is checked for overflow, a division by zero is a rejection, not a crash.
#include <grpo/core/macros.hpp>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace grpo::task {

/// An exact rational num/den with den > 0 and gcd(num, den) = 1.
struct rational {
  std::int64_t num = 0;
  std::int64_t den = 1;

  friend bool operator==(const rational&, const rational&) = default;
};

namespace detail {
inline std::optional<rational> make_rational(std::int64_t n, std::int64_t d) {
  if (d == 0) return std::nullopt;
  if (d < 0) {
    if (n == INT64_MIN || d == INT64_MIN) return std::nullopt;
    n = -n;
    d = -d;
  }
  const std::int64_t g = std::gcd(n, d);  // gcd(0, d) = d
  return rational{n / g, d / g};
}
}  // namespace detail

/// a op b exactly; nullopt on division by zero or int64 overflow.
inline std::optional<rational> apply(char op, const rational& a, const rational& b) {
  std::int64_t x = 0, y = 0, n = 0, d = 0;
  switch (op) {
    case '+':
    case '-':
      if (__builtin_mul_overflow(a.num, b.den, &x) || __builtin_mul_overflow(b.num, a.den, &y) ||
          __builtin_mul_overflow(a.den, b.den, &d))
        return std::nullopt;
      if (op == '+' ? __builtin_add_overflow(x, y, &n) : __builtin_sub_overflow(x, y, &n))
        return std::nullopt;
      return detail::make_rational(n, d);
    case '*':
      if (__builtin_mul_overflow(a.num, b.num, &n) || __builtin_mul_overflow(a.den, b.den, &d))
        return std::nullopt;
      return detail::make_rational(n, d);
    case '/':
      if (b.num == 0) return std::nullopt;
      if (__builtin_mul_overflow(a.num, b.den, &n) || __builtin_mul_overflow(a.den, b.num, &d))
        return std::nullopt;
      return detail::make_rational(n, d);
    default:
      return std::nullopt;
  }
}

/// Why an expression was rejected.
enum class expression_error {
  none,
  syntax,    // not an expression over integers, + - * / and parentheses
  too_long,  // more than `max_expression_length` bytes or nesting deeper than 64
  overflow,  // an integer or an intermediate result does not fit in int64
  division_by_zero,
};

inline constexpr std::size_t max_expression_length = 4096;

struct evaluated_expression {
  expression_error error = expression_error::none;
  rational value{};
  std::vector<std::int64_t> numbers;  // the integer literals in order of appearance
};

namespace detail {
// expr := term (('+'|'-') term)*; term := factor (('*'|'/') factor)*; factor := int | '(' expr ')'
class expression_parser {
 public:
  explicit expression_parser(std::string_view s) : s_(s) {}

  evaluated_expression run() {
    evaluated_expression out;
    if (s_.size() > max_expression_length) {
      out.error = expression_error::too_long;
      return out;
    }
    auto v = expr(0);
    skip_space();
    if (error_ == expression_error::none && (!v || pos_ != s_.size()))
      error_ = expression_error::syntax;
    out.error = error_;
    if (out.error == expression_error::none) out.value = *v;
    out.numbers = std::move(numbers_);
    return out;
  }

 private:
  static constexpr int max_depth = 64;

  void skip_space() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n')) ++pos_;
  }
  std::optional<rational> fail(expression_error e) {
    if (error_ == expression_error::none) error_ = e;
    return std::nullopt;
  }
  std::optional<rational> combine(char op, const rational& a, const rational& b) {
    if (op == '/' && b.num == 0) return fail(expression_error::division_by_zero);
    auto r = apply(op, a, b);
    if (!r) return fail(expression_error::overflow);
    return r;
  }

  // level 0 is expr (+ -), level 1 is term (* /); both fold their operands to the left.
  std::optional<rational> binary(int level, int depth) {
    const char plus = level == 0 ? '+' : '*', minus = level == 0 ? '-' : '/';
    auto operand = [&] { return level == 0 ? binary(1, depth) : factor(depth); };
    auto left = operand();
    while (left) {
      skip_space();
      if (pos_ >= s_.size() || (s_[pos_] != plus && s_[pos_] != minus)) break;
      const char op = s_[pos_++];
      auto right = operand();
      if (!right) return std::nullopt;
      left = combine(op, *left, *right);
    }
    return left;
  }
  std::optional<rational> expr(int depth) { return binary(0, depth); }

  std::optional<rational> factor(int depth) {
    skip_space();
    if (pos_ >= s_.size()) return fail(expression_error::syntax);
    if (s_[pos_] == '(') {
      if (depth >= max_depth) return fail(expression_error::too_long);
      ++pos_;
      auto v = expr(depth + 1);
      if (!v) return std::nullopt;
      skip_space();
      if (pos_ >= s_.size() || s_[pos_] != ')') return fail(expression_error::syntax);
      ++pos_;
      return v;
    }
    if (s_[pos_] < '0' || s_[pos_] > '9') return fail(expression_error::syntax);
    std::int64_t value = 0;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
      if (__builtin_mul_overflow(value, 10, &value) ||
          __builtin_add_overflow(value, s_[pos_] - '0', &value))
        return fail(expression_error::overflow);
      ++pos_;
    }
    numbers_.push_back(value);
    return rational{value, 1};
  }

  std::string_view s_;
  std::size_t pos_ = 0;
  expression_error error_ = expression_error::none;
  std::vector<std::int64_t> numbers_;
};
}  // namespace detail

/// Parses and evaluates `text` exactly.
inline evaluated_expression evaluate_expression(std::string_view text) {
  return detail::expression_parser(text).run();
}

/// The verdict on a Countdown answer.
enum class countdown_verdict {
  correct,
  invalid_expression,  // does not parse, overflows or divides by zero
  wrong_numbers,       // does not use each given number exactly once (reuse, missing, foreign)
  wrong_value,         // uses the numbers but does not reach the target
};

/// Whether `answer` reaches `target` using each of `numbers` exactly once.
inline countdown_verdict check_countdown(std::string_view answer,
                                         const std::vector<std::int64_t>& numbers,
                                         std::int64_t target) {
  auto e = evaluate_expression(answer);
  if (e.error != expression_error::none) return countdown_verdict::invalid_expression;
  auto used = e.numbers;
  auto given = numbers;
  std::sort(used.begin(), used.end());
  std::sort(given.begin(), given.end());
  if (used != given) return countdown_verdict::wrong_numbers;
  if (!(e.value == rational{target, 1})) return countdown_verdict::wrong_value;
  return countdown_verdict::correct;
}

}  // namespace grpo::task
