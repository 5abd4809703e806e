#include "reference.hpp"

#include <catch2/catch.hpp>
#include <grpo/eval/answer.hpp>
#include <grpo/task/random.hpp>

#include <chrono>
#include <string>

using grpo::eval::answers_match;
using grpo::eval::extract_answer;
using grpo::eval::extraction;
using grpo::eval::normalize_number;

TEST_CASE("normalize_number: the known pitfalls", "[eval][normalize]") {
  CHECK(normalize_number("8,000") == "8000");
  CHECK(normalize_number("29.00") == "29");
  CHECK(normalize_number("$29.00") == "29");
  CHECK(normalize_number("$29") == "29");
  CHECK_FALSE(normalize_number(",").has_value());  // a lone comma is not a number
  CHECK_FALSE(normalize_number("").has_value());
  CHECK_FALSE(normalize_number(".").has_value());
  CHECK_FALSE(normalize_number("$").has_value());
  CHECK_FALSE(normalize_number("-").has_value());
  CHECK_FALSE(normalize_number(",000").has_value());
  CHECK(answers_match("8,000", "8000"));
  CHECK(answers_match("29.00", "29"));
  CHECK(answers_match("$29.00", "29"));
  CHECK_FALSE(answers_match(",", "0"));
  CHECK_FALSE(answers_match("", ""));
}

TEST_CASE("normalize_number: signs, decimals, separators, fractions", "[eval][normalize]") {
  CHECK(normalize_number("+17") == "17");
  CHECK(normalize_number("-17") == "-17");
  CHECK(normalize_number("-0") == "0");
  CHECK(normalize_number("-0.000") == "0");
  CHECK(normalize_number("007") == "7");
  CHECK(normalize_number(" 42 \n") == "42");
  CHECK(normalize_number("-$5") == "-5");
  CHECK(normalize_number("$-5") == "-5");
  CHECK(normalize_number("\\$5") == "5");
  CHECK(normalize_number("$5$") == "5");
  CHECK(normalize_number(".5") == "0.5");
  CHECK(normalize_number("29.") == "29");
  CHECK(normalize_number("1,234,567.250") == "1234567.25");
  CHECK(normalize_number("12345678901234567890123") == "12345678901234567890123");
  CHECK_FALSE(normalize_number("1,23").has_value());      // a group after a comma has 3 digits
  CHECK_FALSE(normalize_number("1234,567").has_value());  // the first group has at most 3
  CHECK_FALSE(normalize_number("1,,000").has_value());
  CHECK_FALSE(normalize_number("1.2.3").has_value());
  CHECK_FALSE(normalize_number("12a").has_value());
  CHECK_FALSE(normalize_number("--5").has_value());
  CHECK_FALSE(normalize_number("1 000").has_value());
  CHECK(normalize_number("3/4") == "0.75");
  CHECK(normalize_number("6/8") == "0.75");
  CHECK(normalize_number("\\frac{3}{4}") == "0.75");
  CHECK(normalize_number("-10/5") == "-2");
  CHECK(normalize_number("1/3") == "1/3");
  CHECK(normalize_number("2/6") == "1/3");
  CHECK(normalize_number("0/5") == "0");
  CHECK_FALSE(normalize_number("1/0").has_value());
  CHECK_FALSE(normalize_number("1/").has_value());
  CHECK_FALSE(normalize_number("/2").has_value());
  CHECK(normalize_number("1/1099511627776") == "1/1099511627776");  // 2^40: no 10^40 overflow
  CHECK(answers_match("0.75", "3/4"));
  CHECK(answers_match("-2", "-10/5"));
  CHECK_FALSE(answers_match("2", "-2"));
  // non-numbers compare as trimmed text, never equal to a number
  CHECK(answers_match(" (1+7)*4 ", "(1+7)*4"));
  CHECK_FALSE(answers_match("abc", "12"));
}

TEST_CASE("extraction: <answer> block and the last \\boxed{} with brace matching",
          "[eval][extract]") {
  CHECK(extract_answer("<think>x</think><answer> 42 </answer>") == "42");
  CHECK(extract_answer("<answer>1</answer> then <answer>2</answer>") == "2");  // the last block
  CHECK_FALSE(extract_answer("<answer>1").has_value());
  CHECK_FALSE(extract_answer("1</answer>").has_value());
  CHECK(extract_answer("so \\boxed{8,000}.") == "8,000");  // not "000"
  CHECK(normalize_number(*extract_answer("so \\boxed{8,000}.")) == "8000");
  CHECK(extract_answer("\\boxed{1} or \\boxed{\\frac{3}{4}}") == "\\frac{3}{4}");
  CHECK(extract_answer("<answer>the value is \\boxed{7}</answer>") == "7");
  CHECK(extract_answer("\\boxed{2} <answer>5</answer>") == "5");
  CHECK_FALSE(extract_answer("\\boxed{12").has_value());
  CHECK(extract_answer("\\boxed{}") == "");
  CHECK_FALSE(extract_answer("no answer here").has_value());
  CHECK(extract_answer("<answer>x</answer>", extraction::boxed) == std::nullopt);
  CHECK(extract_answer("\\boxed{3}", extraction::answer_block) == std::nullopt);
  CHECK(extract_answer("the sum is 1,234 and then 56.", extraction::last_number) == "56");
  CHECK(extract_answer("total: $-1,234.5!", extraction::last_number) == "$-1,234.5");
  CHECK(extract_answer("a lone , comma", extraction::last_number) == std::nullopt);
  CHECK(extract_answer("x=3/4", extraction::last_number) == "3/4");
}

TEST_CASE("extraction: deeply nested braces and 10 MB strings in linear time",
          "[eval][extract][robust]") {
  const std::size_t n = 10u << 20;
  std::string nested = "\\boxed{" + std::string(n, '{') + "5" + std::string(n, '}') + "}";
  const auto t0 = std::chrono::steady_clock::now();
  const auto got = grpo::eval::last_boxed(nested);
  REQUIRE(got.has_value());
  CHECK(got->size() == 2 * n + 1);
  std::string unclosed = "\\boxed{" + std::string(n, '{');
  CHECK_FALSE(grpo::eval::last_boxed(unclosed).has_value());
  std::string many_boxes;
  for (std::size_t i = 0; many_boxes.size() < n; ++i) many_boxes += "\\boxed{";
  CHECK_FALSE(extract_answer(many_boxes).has_value());
  std::string tags;
  while (tags.size() < n) tags += "<answer><answer></answer";
  CHECK_FALSE(extract_answer(tags).has_value());
  std::string digits(n, '7');
  CHECK(normalize_number(digits)->size() == n);
  std::string commas = "1";
  while (commas.size() < n) commas += ",000";
  CHECK(normalize_number(commas)->size() == 1 + 3 * (commas.size() / 4));
  CHECK(extract_answer(digits, extraction::last_number)->size() == n);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK(seconds < 10.0);  // linear: ~0.1 s in Release; quadratic would take hours
}

TEST_CASE("extraction: invalid UTF-8 and NUL bytes are just bytes", "[eval][extract][robust]") {
  const std::string bad = std::string("<answer>\xff\xfe") + '\0' + "\xc3(12\x80</answer>";
  const auto a = extract_answer(bad);
  REQUIRE(a.has_value());
  CHECK(a->size() == 8);
  CHECK_FALSE(normalize_number(*a).has_value());
  CHECK(extract_answer(std::string("\xe2\x82\\boxed{\xf0\x9f 3}")) == "\xf0\x9f 3");
}

namespace {
// A random string over an alphabet rich in the characters the extractors look at.
std::string random_text(grpo::task::splitmix64& rng, std::size_t max_len) {
  static const std::string pieces[] = {
      "<answer>", "</answer>", "\\boxed{", "{",       "}",  "<think>", "</think>", ",",
      ".",        "$",         "-",        "+",       "/",  "0",       "7",        "29",
      "8,000",    " ",         "\n",       "\\frac{", "}{", "\xff",    "\xc3",     "a"};
  std::string s;
  const std::size_t len = rng.below(max_len + 1);
  while (s.size() < len) {
    if (rng.below(8) == 0)
      s += static_cast<char>(rng.below(256));
    else
      s += pieces[rng.below(std::size(pieces))];
  }
  return s;
}
}  // namespace

TEST_CASE(
    "extraction fuzz (2 s): no crash, results are substrings, agrees with the naive reference",
    "[eval][extract][fuzz]") {
  grpo::task::splitmix64 rng(2026);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  std::size_t cases = 0;
  std::string previous = "<answer>1</answer>";
  while (std::chrono::steady_clock::now() < deadline) {
    std::string s = random_text(rng, 200);
    if (rng.below(3) == 0) {  // mutate the previous input: splice, duplicate, truncate
      const auto cut = rng.below(previous.size() + 1);
      s = previous.substr(0, cut) + s + previous.substr(cut);
    }
    for (auto policy : {extraction::answer_block, extraction::boxed,
                        extraction::answer_block_then_boxed, extraction::last_number}) {
      const auto a = extract_answer(s, policy);
      if (a) {
        // the result is a view into the input
        REQUIRE(a->data() >= s.data());
        REQUIRE(a->data() + a->size() <= s.data() + s.size());
        const auto n = normalize_number(*a);
        if (n) REQUIRE(normalize_number(*n) == *n);  // canonical forms are fixed points
        (void)grpo::eval::canonical_answer(*a);
      }
    }
    const auto boxed = grpo::eval::last_boxed(s);
    const auto naive_boxed = grpo_test::naive_last_boxed(s);
    REQUIRE(boxed.has_value() == naive_boxed.has_value());
    if (boxed) REQUIRE(std::string(*boxed) == *naive_boxed);
    const auto block = grpo::eval::answer_block(s);
    const auto naive_block = grpo_test::naive_answer_block(s);
    REQUIRE(block.has_value() == naive_block.has_value());
    if (block) REQUIRE(std::string(*block) == *naive_block);
    (void)normalize_number(s);
    previous = std::move(s);
    ++cases;
  }
  INFO("fuzz cases: " << cases);
  CHECK(cases > 1000);
}
