#pragma once
// Multi-digit addition and multiplication, and chain sums (r1.md's procedural tasks).
// Operands are uniform over the integers with min_digits..max_digits digits; answers are exact
// int64. The canonical key of a commutative problem sorts its operands, so "a+b" and "b+a" are
// one instance and always land in the same split.
#include <grpo/task/problem.hpp>

#include <algorithm>
#include <string>
#include <vector>

namespace grpo::task {

namespace detail {
inline std::int64_t pow10(int d) {
  std::int64_t p = 1;
  for (int i = 0; i < d; ++i) p *= 10;
  return p;
}
// Uniform over integers with exactly d digits, d drawn uniformly from [lo, hi] (1 digit: 0..9).
inline std::int64_t draw_operand(splitmix64& rng, int lo, int hi) {
  const int d = static_cast<int>(rng.between(lo, hi));
  return d == 1 ? rng.between(0, 9) : rng.between(pow10(d - 1), pow10(d) - 1);
}
inline status check_digits(int lo, int hi, int max_allowed) {
  if (lo < 1 || hi < lo || hi > max_allowed)
    return {errc::bad_config, "max_digits", -1,
            "need 1 <= min_digits <= max_digits <= " + std::to_string(max_allowed) + ", got " +
                std::to_string(lo) + ".." + std::to_string(hi)};
  return {};
}
}  // namespace detail

/// a + b (Op = '+') or a * b (Op = '*') with operands of min_digits..max_digits digits.
/// Traces: column addition right to left with carries, then the sum read back,
/// "7+5=12, 4+8+1=13, 47+85=132"; multiplication as
/// one partial product per non-zero digit of b, then their running sum,
/// "47*5=235, 47*80=3760, 235+3760=3995".
template <char Op>
struct two_operand_task : split_config {
  static_assert(Op == '+' || Op == '*');
  static constexpr bool is_addition = Op == '+';
  int min_digits = 1;
  int max_digits = is_addition ? 3 : 2;

  std::string_view name() const { return is_addition ? "addition" : "multiplication"; }
  status validate() const {
    // a sum of 17-digit numbers, and a product of 9-digit numbers (< 10^18), fit int64
    GRPO_TRY(detail::check_digits(min_digits, max_digits, is_addition ? 17 : 9));
    return validate_split();
  }
  bool verify(const problem& p, std::string_view answer) const { return verify_answer(p, answer); }

  problem draw(splitmix64& rng) const {
    const std::int64_t a = detail::draw_operand(rng, min_digits, max_digits);
    const std::int64_t b = detail::draw_operand(rng, min_digits, max_digits);
    problem p;
    p.task = std::string(name());
    p.key = concat(is_addition ? "add:" : "mul:", std::min(a, b), Op, std::max(a, b));
    p.prompt = concat(a, Op, b, "=?");
    p.target = is_addition ? a + b : a * b;
    p.reference = std::to_string(p.target);
    p.numbers = {a, b};
    p.trace = is_addition ? column_trace(a, b) : partial_products_trace(a, b);
    return p;
  }

  static std::string column_trace(const std::int64_t a0, const std::int64_t b0) {
    std::int64_t a = a0, b = b0;
    std::string t;
    std::int64_t carry = 0;
    do {
      const std::int64_t x = a % 10, y = b % 10, s = x + y + carry;
      if (!t.empty()) t += ", ";
      t += carry ? concat(x, '+', y, '+', carry, '=', s) : concat(x, '+', y, '=', s);
      carry = s / 10;
      a /= 10;
      b /= 10;
    } while (a > 0 || b > 0);
    if (a0 >= 10 || b0 >= 10)
      t += concat(", ", a0, '+', b0, '=', a0 + b0);  // the digits, read back
    return t;
  }

  static std::string partial_products_trace(std::int64_t a, std::int64_t b) {
    if (b == 0) return concat(a, "*0=0");
    std::string t;
    std::vector<std::int64_t> partial;
    std::int64_t place = 1;
    for (std::int64_t rest = b; rest > 0; rest /= 10, place *= 10) {
      const std::int64_t term = (rest % 10) * place;
      if (term == 0) continue;  // a zero digit adds nothing
      if (!t.empty()) t += ", ";
      t += concat(a, '*', term, '=', a * term);
      partial.push_back(a * term);
    }
    std::int64_t sum = partial.front();
    for (std::size_t i = 1; i < partial.size(); ++i) {
      t += concat(", ", sum, '+', partial[i], '=', sum + partial[i]);
      sum += partial[i];
    }
    return t;
  }
};

using addition = two_operand_task<'+'>;
using multiplication = two_operand_task<'*'>;

/// x1 ± x2 ± … ± xn with `terms` operands of 1..max_digits digits. Trace: running totals,
/// "3+15=18, 18-2=16, 16+7=23". Order matters, so the key is the expression itself.
struct chain_sum : split_config {
  int terms = 4;
  int max_digits = 1;

  std::string_view name() const { return "chain_sum"; }
  status validate() const {
    if (terms < 2 || terms > 64)
      return {errc::bad_config, "terms", -1, "need 2 <= terms <= 64, got " + std::to_string(terms)};
    GRPO_TRY(detail::check_digits(1, max_digits, 12));
    return validate_split();
  }
  bool verify(const problem& p, std::string_view answer) const { return verify_answer(p, answer); }

  problem draw(splitmix64& rng) const {
    problem p;
    p.task = "chain_sum";
    std::int64_t total = detail::draw_operand(rng, 1, max_digits);
    p.numbers.push_back(total);
    std::string expr = std::to_string(total);
    for (int i = 1; i < terms; ++i) {
      const bool minus = rng.below(2) == 1;
      const std::int64_t x = detail::draw_operand(rng, 1, max_digits);
      const std::int64_t next = minus ? total - x : total + x;
      if (!p.trace.empty()) p.trace += ", ";
      const char op = minus ? '-' : '+';
      p.trace += concat(total, op, x, '=', next);
      expr += concat(op, x);
      p.numbers.push_back(minus ? -x : x);
      total = next;
    }
    p.key = concat("chain:", expr);
    p.prompt = expr + "=?";
    p.target = total;
    p.reference = std::to_string(total);
    return p;
  }
};

}  // namespace grpo::task
