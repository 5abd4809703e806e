#include <catch2/catch.hpp>
#include <grpo/eval/answer.hpp>
#include <grpo/eval/metrics.hpp>

#include <cmath>
#include <optional>
#include <string>
#include <vector>

using opt = std::optional<std::string>;

TEST_CASE("majority vote: the most frequent answer, unanswered samples do not vote",
          "[eval][cons]") {
  const std::vector<opt> a = {"3", std::nullopt, "5", "5", std::nullopt, std::nullopt, "3", "5"};
  CHECK(grpo::eval::majority_vote(a) == 2u);  // "5" x3, first at 2
  const std::vector<opt> none = {std::nullopt, std::nullopt};
  CHECK_FALSE(grpo::eval::majority_vote(none).has_value());
  CHECK_FALSE(grpo::eval::majority_vote(std::span<const opt>{}).has_value());
}

TEST_CASE("majority vote ties: the answer whose first occurrence is earliest wins",
          "[eval][cons]") {
  CHECK(grpo::eval::majority_vote(std::vector<opt>{"7", "9", "9", "7"}) == 0u);
  CHECK(grpo::eval::majority_vote(std::vector<opt>{"9", "7", "7", "9"}) == 0u);
  CHECK(grpo::eval::majority_vote(std::vector<opt>{std::nullopt, "1", "2", "3"}) == 1u);
  CHECK(grpo::eval::majority_vote(std::vector<opt>{"1", "2", "2", "1", "3", "3", "3"}) == 4u);
  // a later answer that overtakes wins, and its FIRST occurrence is reported
  CHECK(grpo::eval::majority_vote(std::vector<opt>{"1", "2", "1", "2", "2"}) == 1u);
}

TEST_CASE("cons@k votes over canonical answers", "[eval][cons]") {
  // problem 0 (reference 8000): "8,000", "8000", "7000" -> 8000 wins after normalisation: right
  // problem 1 (reference 29):   "29", "30", "30.0"     -> 30 wins: wrong
  // problem 2 (reference 1):    no answers             -> wrong
  // problem 3 (reference 4):    "4", "5", "5", none, "4.00" -> tie 2-2, "4" first: right
  const std::vector<opt> raw = {"8,000", "8000",       "7000",       "29",         "30",
                                "30.0",  std::nullopt, std::nullopt, std::nullopt, "4",
                                "5",     "5",          std::nullopt, "4.00"};
  const std::vector<std::string> ref = {"8000", "8000", "8000", "29", "29", "29", "1",
                                        "1",    "1",    "4",    "4",  "4",  "4",  "4"};
  std::vector<opt> answers;
  std::vector<std::uint8_t> correct;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    answers.push_back(raw[i] ? opt(grpo::eval::canonical_answer(*raw[i])) : std::nullopt);
    correct.push_back(raw[i] && grpo::eval::answers_match(*raw[i], ref[i]));
  }
  const grpo::index_t offsets[] = {0, 3, 6, 9, 14};
  const auto layout = grpo::group_layout::ragged(14, 4, offsets);
  double cons = 0;
  REQUIRE(grpo::eval::cons_at_k(answers, correct, layout, cons).ok());
  CHECK(cons == Approx(2.0 / 4));
  // flip the tie order of problem 3: "5" first now wins and the problem is wrong
  std::swap(answers[9], answers[10]);
  std::swap(correct[9], correct[10]);
  REQUIRE(grpo::eval::cons_at_k(answers, correct, layout, cons).ok());
  CHECK(cons == Approx(1.0 / 4));
  CHECK(grpo::eval::cons_at_k(answers, correct, grpo::group_layout::fixed(12, 3), cons).kind() ==
        grpo::errc::shape_mismatch);
}

TEST_CASE("bootstrap CI: seeded, contains the mean, narrows with more problems",
          "[eval][bootstrap]") {
  std::vector<double> scores;
  for (int i = 0; i < 200; ++i) scores.push_back(static_cast<double>((i * 37) % 101) / 100.0);
  double mean = 0, var = 0;
  for (double x : scores) mean += x / 200;
  for (double x : scores) var += (x - mean) * (x - mean) / 200;
  grpo::eval::confidence_interval a, b, c;
  REQUIRE(grpo::eval::bootstrap_mean_ci(scores, 2000, 0.95, 42, a).ok());
  REQUIRE(grpo::eval::bootstrap_mean_ci(scores, 2000, 0.95, 42, b).ok());
  REQUIRE(grpo::eval::bootstrap_mean_ci(scores, 2000, 0.95, 43, c).ok());
  CHECK(a.lower == b.lower);  // seeded
  CHECK(a.upper == b.upper);
  CHECK(a.lower != c.lower);  // another seed, other resamples
  CHECK(a.mean == Approx(mean));
  CHECK(a.lower < mean);
  CHECK(a.upper > mean);
  // the normal approximation of the mean's 95% interval: ±1.96·σ/√P
  const double half = 1.96 * std::sqrt(var / 200);
  CHECK((a.upper - a.lower) / 2 == Approx(half).epsilon(0.1));
  std::vector<double> constant(50, 0.5);
  REQUIRE(grpo::eval::bootstrap_mean_ci(constant, 100, 0.9, 1, a).ok());
  CHECK(a.lower == 0.5);
  CHECK(a.upper == 0.5);
  CHECK(grpo::eval::bootstrap_mean_ci({}, 100, 0.9, 1, a).kind() == grpo::errc::shape_mismatch);
  CHECK(grpo::eval::bootstrap_mean_ci(constant, 1, 0.9, 1, a).input() == "resamples");
  CHECK(grpo::eval::bootstrap_mean_ci(constant, 100, 1.0, 1, a).input() == "level");
  constant[7] = NAN;
  CHECK(grpo::eval::bootstrap_mean_ci(constant, 100, 0.9, 1, a).index() == 7);
}
