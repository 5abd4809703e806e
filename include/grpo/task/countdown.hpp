#pragma once
// Countdown: reach a target with + - * / over given numbers, each used exactly once.
// Solvable by construction: the generator draws the numbers, combines them in a random order by
// random operations into one random expression tree, and takes its value as the target. Draws
// whose tree divides inexactly or by zero, goes through a non-positive intermediate, or lands
// outside [1, max_target] are redrawn, so every target has at least the constructed solution,
// which is the reference answer (another expression that reaches the target is equally correct).
#include <grpo/task/problem.hpp>

#include <algorithm>
#include <string>
#include <vector>

namespace grpo::task {

struct countdown : split_config {
  int count = 3;                // how many numbers are given (2..6)
  std::int64_t min_number = 1;  // each number is uniform in [min_number, max_number]
  std::int64_t max_number = 9;
  std::int64_t max_target = 100;
  bool allow_division = true;
  int constructions_per_draw = 64;  // random trees tried per draw before it reports failure

  std::string_view name() const { return "countdown"; }

  status validate() const {
    if (count < 2 || count > 6)
      return {errc::bad_config, "count", -1, "need 2 <= count <= 6, got " + std::to_string(count)};
    if (min_number < 1 || max_number < min_number || max_number > 1000000)
      return {errc::bad_config, "max_number", -1,
              "need 1 <= min_number <= max_number <= 10^6, got " + std::to_string(min_number) +
                  ".." + std::to_string(max_number)};
    if (max_target < 1) return {errc::bad_config, "max_target", -1, "need max_target >= 1"};
    if (constructions_per_draw < 1)
      return {errc::bad_config, "constructions_per_draw", -1, "need >= 1"};
    return validate_split();
  }

  bool verify(const problem& p, std::string_view answer) const { return verify_answer(p, answer); }

  /// One solvable instance, or an empty problem (no key) when `constructions_per_draw` random
  /// trees all broke a rule; `generate` counts that as a failed draw, so a configuration with no
  /// reachable target ends in an error, not a hang.
  problem draw(splitmix64& rng) const {
    for (int i = 0; i < constructions_per_draw; ++i)
      if (auto p = try_draw(rng)) return std::move(*p);
    return {};
  }

 private:
  struct node {
    std::int64_t value = 0;
    char op = 0;  // 0 for a given number
    int precedence = 3;
    std::string text;
  };

  static int precedence_of(char op) { return (op == '+' || op == '-') ? 1 : 2; }

  // One random combination of all the numbers; nullopt when the tree breaks a rule.
  std::optional<problem> try_draw(splitmix64& rng) const {
    std::vector<std::int64_t> numbers(static_cast<std::size_t>(count));
    for (auto& x : numbers) x = rng.between(min_number, max_number);
    std::vector<node> nodes;
    for (auto x : numbers) nodes.push_back({x, 0, 3, std::to_string(x)});
    // shuffle so the expression's order is not the prompt's order (Fisher-Yates)
    for (std::size_t i = nodes.size(); i > 1; --i) std::swap(nodes[i - 1], nodes[rng.below(i)]);
    std::string trace;
    const char ops[] = {'+', '-', '*', '/'};
    const std::uint64_t num_ops = allow_division ? 4 : 3;
    while (nodes.size() > 1) {
      const auto i = rng.below(nodes.size() - 1);
      const char op = ops[rng.below(num_ops)];
      const node& a = nodes[i];
      const node& b = nodes[i + 1];
      std::int64_t v = 0;
      switch (op) {
        case '+':
          v = a.value + b.value;
          break;
        case '-':
          v = a.value - b.value;
          break;
        case '*':
          if (__builtin_mul_overflow(a.value, b.value, &v)) return std::nullopt;
          break;
        case '/':
          if (b.value == 0 || a.value % b.value != 0) return std::nullopt;
          v = a.value / b.value;
          break;
      }
      if (v <= 0 || v > 1000000000) return std::nullopt;
      const int prec = precedence_of(op);
      // parenthesise a child of lower precedence, and a right child of equal precedence under
      // a non-associative - or /
      const bool paren_a = a.precedence < prec;
      const bool paren_b =
          b.precedence < prec || (b.precedence == prec && (op == '-' || op == '/'));
      node c{v, op, prec,
             concat(paren_a ? "(" : "", a.text, paren_a ? ")" : "", op, paren_b ? "(" : "", b.text,
                    paren_b ? ")" : "")};
      if (!trace.empty()) trace += ", ";
      trace += concat(a.value, op, b.value, '=', v);
      nodes[i] = std::move(c);
      nodes.erase(nodes.begin() + static_cast<std::ptrdiff_t>(i) + 1);
    }
    const std::int64_t target = nodes.front().value;
    if (target < 1 || target > max_target) return std::nullopt;

    problem p;
    p.task = "countdown";
    auto sorted = numbers;
    std::sort(sorted.begin(), sorted.end());
    p.key = concat("countdown:", target, ':');
    for (auto x : sorted) p.key += concat(x, ',');
    p.prompt = concat("reach ", target, " with");
    for (auto x : numbers) p.prompt += concat(' ', x);
    p.reference = nodes.front().text;
    p.trace = std::move(trace);
    p.kind = answer_kind::countdown_expression;
    p.numbers = std::move(numbers);
    p.target = target;
    return p;
  }
};

}  // namespace grpo::task
