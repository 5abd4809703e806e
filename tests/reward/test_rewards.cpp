#include "reference.hpp"

#include <catch2/catch.hpp>
#include <grpo/reward/rewards.hpp>
#include <grpo/task/tasks.hpp>

#include <string>
#include <vector>

using namespace grpo::reward;
using grpo::task::problem;

namespace {
problem number_problem(const std::string& reference) {
  problem p;
  p.task = "test";
  p.reference = reference;
  p.kind = grpo::task::answer_kind::number;
  return p;
}
problem countdown_problem() {
  problem p;
  p.task = "countdown";
  p.kind = grpo::task::answer_kind::countdown_expression;
  p.numbers = {3, 5, 7};
  p.target = 22;
  p.reference = "3*5+7";
  return p;
}
completion on(const std::string& text, const problem& p, grpo::index_t tokens = 0) {
  return {text, tokens, &p};
}
}  // namespace

TEST_CASE("accuracy: numeric normalisation and the known pitfalls", "[reward][accuracy]") {
  const accuracy acc;
  const auto p8000 = number_problem("8000");
  const auto p29 = number_problem("29");
  const auto p0 = number_problem("0");
  CHECK(acc(on("<think>x</think><answer>8,000</answer>", p8000)) == 1.0);
  CHECK(acc(on("<think>x</think><answer>\\boxed{8,000}</answer>", p8000)) == 1.0);
  CHECK(acc(on("the answer is \\boxed{8,000}", p8000)) == 1.0);  // not "000"
  CHECK(acc(on("<answer>29.00</answer>", p29)) == 1.0);
  CHECK(acc(on("<answer>$29.00</answer>", p29)) == 1.0);
  CHECK(acc(on("<answer>$29</answer>", p29)) == 1.0);
  CHECK(acc(on("<answer> 29 </answer>", p29)) == 1.0);
  CHECK(acc(on("<answer>29.01</answer>", p29)) == 0.0);
  CHECK(acc(on("<answer>,</answer>", p0)) == 0.0);  // a lone comma is not a number
  CHECK(acc(on("<answer></answer>", p0)) == 0.0);
  CHECK(acc(on("29", p29)) == 0.0);  // no answer block and no box
  CHECK(accuracy{grpo::eval::extraction::last_number}(on("so 29", p29)) == 1.0);
  CHECK(acc(on("<answer>1</answer><answer>29</answer>", p29)) == 1.0);  // the last block counts
  CHECK(acc(completion{"<answer>29</answer>", 3, nullptr}) == 0.0);
  const auto cd = countdown_problem();
  CHECK(acc(on("<answer>(7+5*3)</answer>", cd)) == 1.0);
  CHECK(acc(on("<answer>22</answer>", cd)) == 0.0);
}

TEST_CASE("countdown reward: 0 / 0.1 / 1", "[reward][countdown]") {
  const countdown_reward r;
  const auto cd = countdown_problem();
  CHECK(r(on("<think>3*5=15, 15+7=22</think><answer>3*5+7</answer>", cd)) == 1.0);
  CHECK(r(on("<answer> 7 + 3 * 5 </answer>", cd)) == 1.0);
  CHECK(r(on("<answer>3*5+7+0</answer>", cd)) == 0.1);    // a foreign number
  CHECK(r(on("<answer>3*7+5</answer>", cd)) == 0.1);      // wrong value
  CHECK(r(on("<answer>5*5-3</answer>", cd)) == 0.1);      // 5 reused, 7 missing
  CHECK(r(on("<answer>7/(5-5)*3</answer>", cd)) == 0.1);  // division by zero
  CHECK(r(on("<answer>twenty two</answer>", cd)) == 0.1);
  CHECK(r(on("<answer>  </answer>", cd)) == 0.0);
  CHECK(r(on("3*5+7", cd)) == 0.0);  // no answer block
  CHECK(r(on("<answer>3*5+7", cd)) == 0.0);
}

TEST_CASE("strict format: exactly <think>…</think><answer>…</answer>", "[reward][format]") {
  const strict_format f;
  const auto p = number_problem("1");
  CHECK(f(on("<think>a</think><answer>1</answer>", p)) == 1.0);
  CHECK(f(on("<think>a</think>\n<answer>1</answer>\n", p)) == 1.0);
  CHECK(f(on("<think></think><answer>1</answer>", p)) == 1.0);  // an empty thought is allowed
  // the pitfalls
  CHECK(f(on("<think>a</think><answer>1</answer> and more text", p)) == 0.0);      // trailing text
  CHECK(f(on("<think>a</think><answer>1</answer><answer>2</answer>", p)) == 0.0);  // repeated block
  CHECK(f(on("<think>a</think><answer>1</answer><think>b</think><answer>2</answer>", p)) == 0.0);
  CHECK(f(on("<think>a</think><think>b</think><answer>1</answer>", p)) == 0.0);
  CHECK(f(on("<think>a<answer>0</answer></think><answer>1</answer>", p)) == 0.0);  // tag inside
  // other violations
  CHECK(f(on("hello <think>a</think><answer>1</answer>", p)) == 0.0);
  CHECK(f(on("<answer>1</answer><think>a</think>", p)) == 0.0);
  CHECK(f(on("<think>a</think>so<answer>1</answer>", p)) == 0.0);
  CHECK(f(on("<think>a</think><answer> </answer>", p)) == 0.0);
  CHECK(f(on("<think>a</think><answer>1", p)) == 0.0);
  CHECK(f(on("<think>a<answer>1</answer>", p)) == 0.0);
  CHECK(f(on("", p)) == 0.0);
  const strict_format tight{.allow_whitespace = false};
  CHECK(tight(on("<think>a</think><answer>1</answer>", p)) == 1.0);
  CHECK(tight(on("<think>a</think><answer>1</answer>\n", p)) == 0.0);
  CHECK(tight(on("<think>a</think> <answer>1</answer>", p)) == 0.0);
  const strict_format prefilled{.think_prefilled = true};
  CHECK(prefilled(on("a</think><answer>1</answer>", p)) == 1.0);
  CHECK(prefilled(on("<think>a</think><answer>1</answer>", p)) == 0.0);
  CHECK(prefilled(on("</think><answer>1</answer>junk", p)) == 0.0);
}

TEST_CASE("tag count: +0.25 per tag present exactly once", "[reward][format]") {
  const tag_count t;
  const auto p = number_problem("1");
  CHECK(t(on("<think>a</think><answer>1</answer>", p)) == 1.0);
  CHECK(t(on("<think>a</think><answer>1", p)) == 0.75);
  CHECK(t(on("<think>a</think><think>b</think><answer>1</answer>", p)) == 0.5);
  CHECK(t(on("<answer>1</answer><answer>2</answer>", p)) == 0.0);
  CHECK(t(on("no tags", p)) == 0.0);
  CHECK(t(on("</answer></think><answer><think>", p)) == 1.0);  // counts, not order
}

TEST_CASE("language consistency: fraction of chain-of-thought characters in the target class",
          "[reward][language]") {
  const language_consistency<> ascii;
  const auto p = number_problem("1");
  CHECK(ascii(on("<think>abc def</think><answer>1</answer>", p)) == 1.0);
  CHECK(ascii(on("<think>abc \xe4\xb8\xad\xe6\x96\x87</think><answer>1</answer>", p)) ==
        Approx(3.0 / 5));
  CHECK(ascii(on("<think>ab\xff</think>", p)) ==
        Approx(2.0 / 3));  // invalid UTF-8: one unit, not ASCII
  CHECK(ascii(on("<think>\xf0\x9f\x98\x80</think>", p)) == 0.0);  // one 4-byte code point
  CHECK(ascii(on("<think>  </think><answer>1</answer>", p)) == 0.0);
  CHECK(ascii(on("<answer>1</answer>", p)) == 0.0);             // no chain of thought
  CHECK(ascii(on("abc</think><answer>1</answer>", p)) == 1.0);  // prefilled <think>
  struct digits_only {
    bool operator()(char32_t c) const { return c >= U'0' && c <= U'9'; }
  };
  const language_consistency<digits_only> math{};
  CHECK(math(on("<think>12+3=15</think>", p)) == Approx(5.0 / 7));
}

TEST_CASE("Kimi length reward over a group", "[reward][length]") {
  const auto p = number_problem("5");
  const std::string right = "<answer>5</answer>", wrong = "<answer>4</answer>";
  const std::vector<completion> g = {on(right, p, 10), on(wrong, p, 20), on(right, p, 30),
                                     on(wrong, p, 10)};
  std::vector<double> out(4);
  kimi_length{}(g, out);
  CHECK(out[0] == Approx(0.5));   // shortest, correct: λ
  CHECK(out[1] == Approx(0.0));   // λ = 0 when wrong: min(0, 0)
  CHECK(out[2] == Approx(-0.5));  // longest, correct: λ = −0.5
  CHECK(out[3] == Approx(0.0));   // shortest but wrong: min(0, 0.5)
  const std::vector<completion> same = {on(right, p, 7), on(wrong, p, 7)};
  std::vector<double> z(2, 9.0);
  kimi_length{}(same, z);
  CHECK(z == std::vector<double>{0.0, 0.0});
  // random groups against the reference
  grpo::task::splitmix64 rng(1);
  for (int trial = 0; trial < 200; ++trial) {
    const auto n = static_cast<std::size_t>(rng.between(1, 9));
    std::vector<long> len(n);
    std::vector<bool> ok(n);
    std::vector<completion> cs;
    for (std::size_t i = 0; i < n; ++i) {
      len[i] = static_cast<long>(rng.between(0, 50));
      ok[i] = rng.below(2) == 1;
      cs.push_back(on(ok[i] ? right : wrong, p, len[i]));
    }
    std::vector<double> r(n);
    kimi_length{}(cs, r);
    const auto ref = grpo_test::kimi_reference(len, ok);
    for (std::size_t i = 0; i < n; ++i) CHECK(r[i] == Approx(ref[i]).margin(1e-15));
  }
}

TEST_CASE("cosine-scaled and soft overlong rewards", "[reward][length]") {
  const auto p = number_problem("5");
  const std::string right = "<answer>5</answer>", wrong = "<answer>4</answer>";
  const cosine_scaled cos{.max_length = 100};
  CHECK(cos(on(right, p, 0)) == Approx(1.0));
  CHECK(cos(on(right, p, 50)) == Approx(0.75));
  CHECK(cos(on(right, p, 100)) == Approx(0.5));
  CHECK(cos(on(right, p, 250)) == Approx(0.5));  // clamped at L
  CHECK(cos(on(wrong, p, 0)) == Approx(-1.0));   // short and wrong: the largest penalty
  CHECK(cos(on(wrong, p, 50)) == Approx(-0.75));
  CHECK(cos(on(wrong, p, 100)) == Approx(-0.5));
  const soft_overlong over{.max_length = 100, .cache_length = 20};
  CHECK(over(on(right, p, 80)) == 0.0);
  CHECK(over(on(right, p, 90)) == Approx(-0.5));
  CHECK(over(on(right, p, 100)) == Approx(-1.0));
  CHECK(over(on(right, p, 101)) == -1.0);
  grpo::task::splitmix64 rng(2);
  for (int i = 0; i < 500; ++i) {
    const long len = static_cast<long>(rng.between(0, 300));
    const bool ok = rng.below(2) == 1;
    CHECK(cos(on(ok ? right : wrong, p, len)) ==
          Approx(grpo_test::cosine_reference(len, 100, ok)).margin(1e-14));
    CHECK(over(on(right, p, len)) ==
          Approx(grpo_test::overlong_reference(len, 100, 20)).margin(1e-15));
  }
  CHECK(cosine_scaled{.max_length = 0}.validate().kind() == grpo::errc::bad_config);
  CHECK(soft_overlong{.max_length = 10, .cache_length = 11}.validate().kind() ==
        grpo::errc::bad_config);
  CHECK(soft_overlong{.max_length = 10, .cache_length = 0}.validate().kind() ==
        grpo::errc::bad_config);
}

TEST_CASE("repetition penalty over word or character n-grams", "[reward][repetition]") {
  const auto p = number_problem("1");
  const repetition rep;
  CHECK(rep(on("a b c a b c", p)) == Approx(-0.25));  // abc bca cab abc: 3 unique of 4
  CHECK(rep(on("a b c d", p)) == 0.0);
  CHECK(rep(on("a b", p)) == 0.0);
  CHECK(rep(on("", p)) == 0.0);
  CHECK(rep(on("x x x x x", p)) == Approx(-2.0 / 3));  // 3 n-grams, 1 unique
  const repetition chars{.over = repetition::unit::characters};
  CHECK(chars(on("aaaa", p)) == Approx(-0.5));
  CHECK(chars(on("abcd", p)) == 0.0);
  CHECK(repetition{.n = 0}.validate().kind() == grpo::errc::bad_config);
  CHECK(repetition{.penalty = 0.5}.validate().kind() == grpo::errc::bad_config);
  grpo::task::splitmix64 rng(3);
  const std::string words[] = {"7+5=12,", "so", "wait", "a", "b"};
  for (int i = 0; i < 300; ++i) {
    std::string text;
    const auto n = rng.below(15);
    for (std::uint64_t j = 0; j < n; ++j)
      text += std::string(words[rng.below(5)]) + (rng.below(4) ? " " : "\n ");
    CHECK(rep(on(text, p)) == Approx(grpo_test::repetition_reference(text, 3, -1.0)).margin(1e-15));
  }
}

TEST_CASE("reasoning steps: min(1, markers/3)", "[reward][steps]") {
  const auto p = number_problem("1");
  const reasoning_steps r;
  CHECK(r(on("Step 1: a. Step 2: b.", p)) == Approx(2.0 / 3));
  CHECK(r(on("Step 1: a Step 2: b Step 3: c Step 4: d", p)) == 1.0);
  CHECK(r(on("1. a\n2. b\n3. c", p)) == 1.0);
  CHECK(r(on("First, a. Next, b.", p)) == Approx(2.0 / 3));
  CHECK(r(on("list:\n- a\n* b", p)) == Approx(2.0 / 3));
  CHECK(r(on("Step x: no. 12 apples.", p)) == 0.0);
  CHECK(r(on("", p)) == 0.0);
  const reasoning_steps traces{.extra_markers = {", "}};
  CHECK(traces(on("7+5=12, 4+8+1=13, 47+85=132", p)) == Approx(2.0 / 3));
}
