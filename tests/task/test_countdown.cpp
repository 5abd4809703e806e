#include <catch2/catch.hpp>
#include <grpo/task/tasks.hpp>

#include <string>
#include <vector>

using namespace grpo::task;

TEST_CASE("countdown: solvable by construction; the reference reaches the target",
          "[task][countdown]") {
  for (int count : {2, 3, 4, 5}) {
    countdown t;
    t.count = count;
    t.max_number = count <= 3 ? 9 : 25;
    t.max_target = 200;
    for (auto s : {split::train, split::test}) {
      const auto ps = make_problems_or_throw(t, s, 200, 11);
      for (const auto& p : ps) {
        INFO(p.prompt << " -> " << p.reference);
        REQUIRE(p.kind == answer_kind::countdown_expression);
        REQUIRE(p.numbers.size() == static_cast<std::size_t>(count));
        CHECK(p.target >= 1);
        CHECK(p.target <= t.max_target);
        for (auto x : p.numbers) CHECK((x >= t.min_number && x <= t.max_number));
        const auto e = evaluate_expression(p.reference);
        REQUIRE(e.error == expression_error::none);
        CHECK(e.value == rational{p.target, 1});
        CHECK(check_countdown(p.reference, p.numbers, p.target) == countdown_verdict::correct);
        CHECK(t.verify(p, p.reference));
        CHECK(split_of(p.key, t.test_fraction) == s);
      }
    }
  }
}

TEST_CASE("countdown verifier: reuse, missing and foreign numbers, division by zero",
          "[task][countdown]") {
  const std::vector<std::int64_t> nums = {3, 5, 7};
  using v = countdown_verdict;
  CHECK(check_countdown("3*5+7", nums, 22) == v::correct);
  CHECK(check_countdown(" ( 7 + 5 ) * 3 - 0 ", nums, 36) == v::wrong_numbers);  // 0 is foreign
  CHECK(check_countdown("(7+5)*3", nums, 36) == v::correct);
  CHECK(check_countdown("7*5-3", nums, 32) == v::correct);
  CHECK(check_countdown("3*5+7", nums, 23) == v::wrong_value);
  CHECK(check_countdown("3*5+5", nums, 20) == v::wrong_numbers);          // 5 reused, 7 missing
  CHECK(check_countdown("3*5", nums, 15) == v::wrong_numbers);            // 7 missing
  CHECK(check_countdown("3*5+7+7", nums, 29) == v::wrong_numbers);        // 7 reused
  CHECK(check_countdown("3*5+8", nums, 23) == v::wrong_numbers);          // 8 not given
  CHECK(check_countdown("7/(5-5)+3", nums, 3) == v::invalid_expression);  // division by zero
  CHECK(check_countdown("3/(7-7)", {3, 7, 7}, 1) == v::invalid_expression);
  CHECK(check_countdown("-3+5+7", nums, 9) == v::invalid_expression);  // no unary minus
  CHECK(check_countdown("3 5 7", nums, 15) == v::invalid_expression);
  CHECK(check_countdown("(3+5*7", nums, 38) == v::invalid_expression);
  CHECK(check_countdown("3+5)*7", nums, 56) == v::invalid_expression);
  CHECK(check_countdown("", nums, 0) == v::invalid_expression);
  CHECK(check_countdown("3*5+7=22", nums, 22) == v::invalid_expression);
  // exact rationals: 7/3 is not rounded
  const std::vector<std::int64_t> nums4 = {3, 3, 5, 7};
  CHECK(check_countdown("(5+7/3)*3", nums4, 22) == v::correct);
  CHECK(check_countdown("7/3*3+5", nums4, 12) == v::correct);
  CHECK(check_countdown("(5+7/3)*3", nums, 22) == v::wrong_numbers);  // 3 used twice
  CHECK(check_countdown("7/3+5", nums, 7) == v::wrong_value);         // 22/3, not rounded to 7
  const auto third = evaluate_expression("7/3");
  CHECK(third.value == rational{7, 3});
}

TEST_CASE("expression evaluator: overflow, depth and length limits", "[task][countdown]") {
  CHECK(evaluate_expression("99999999999999999999").error == expression_error::overflow);
  CHECK(evaluate_expression("4000000000*4000000000*4000000000").error ==
        expression_error::overflow);
  CHECK(evaluate_expression(std::string(65, '(') + "1" + std::string(65, ')')).error ==
        expression_error::too_long);
  CHECK(evaluate_expression(std::string(64, '(') + "1" + std::string(64, ')')).error ==
        expression_error::none);
  CHECK(evaluate_expression(std::string(100000, '(')).error == expression_error::too_long);
  std::string long_sum = "1";
  while (long_sum.size() < 5000) long_sum += "+1";
  CHECK(evaluate_expression(long_sum).error == expression_error::too_long);
  CHECK(evaluate_expression("1/0").error == expression_error::division_by_zero);
  CHECK(evaluate_expression("8/4/2").value == rational{1, 1});  // left-associative
  CHECK(evaluate_expression("8-4-2").value == rational{2, 1});
  CHECK(evaluate_expression("2*(3+4)-10/4").value == rational{23, 2});
  // random garbage never crashes and is mostly rejected
  splitmix64 rng(5);
  const std::string chars = "0123456789+-*/() x";
  for (int i = 0; i < 20000; ++i) {
    std::string s;
    const auto len = rng.below(30);
    for (std::uint64_t j = 0; j < len; ++j) s += chars[rng.below(chars.size())];
    (void)evaluate_expression(s);
  }
}

TEST_CASE("countdown: prompts, traces and config validation", "[task][countdown]") {
  const auto p = make_problems_or_throw(countdown{}, split::train, 1, 3)[0];
  CHECK(p.prompt.rfind("reach " + std::to_string(p.target) + " with", 0) == 0);
  CHECK(p.trace.ends_with("=" + std::to_string(p.target)));
  countdown no_div;
  no_div.allow_division = false;
  for (const auto& q : make_problems_or_throw(no_div, split::train, 100, 1))
    CHECK(q.reference.find('/') == std::string::npos);
  // no target in range is reachable: an error after max_attempts draws, not a hang
  countdown unreachable;
  unreachable.min_number = unreachable.max_number = 1000000;
  unreachable.count = 2;
  unreachable.allow_division = false;  // a+b, a-b = 0 and a*b are all out of range
  unreachable.max_target = 10;
  unreachable.max_attempts = 100;
  std::vector<problem> out;
  const auto s = make_problems(unreachable, split::train, 1, 1, out);
  CHECK(s.kind() == grpo::errc::bad_config);
  CHECK(s.detail().find("no instance of the train split") != std::string::npos);
  countdown bad;
  bad.constructions_per_draw = 0;
  CHECK(bad.validate().input() == "constructions_per_draw");
  bad = countdown{};
  bad.count = 7;
  CHECK(bad.validate().input() == "count");
  bad = countdown{};
  bad.min_number = 0;
  CHECK(bad.validate().input() == "max_number");
  bad = countdown{};
  bad.max_target = 0;
  CHECK(bad.validate().input() == "max_target");
}
