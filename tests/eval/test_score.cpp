#include <catch2/catch.hpp>
#include <grpo/eval/score.hpp>
#include <grpo/task/tasks.hpp>

#include <string>
#include <vector>

using namespace grpo;

TEST_CASE("score_samples and summarize: pass@1, pass@k, cons@k on hand-made samples",
          "[eval][score]") {
  const auto ps = task::make_problems_or_throw(task::addition{}, task::split::test, 2, 9);
  const auto cd = task::make_problems_or_throw(task::countdown{}, task::split::test, 1, 9)[0];
  std::vector<task::problem> problems = {ps[0], ps[1], cd};
  auto ans = [](const std::string& a) { return "<think>x</think><answer>" + a + "</answer>"; };
  const std::string r0 = ps[0].reference, r1 = ps[1].reference;
  const std::vector<std::string> texts = {
      // problem 0: 2 of 4 right; votes "1" x1, the reference x2 (as "N" and "N.0"): right
      ans("1"), ans(r0), "no answer", ans(r0 + ".0"),
      // problem 1: 0 of 4 right; "7" x2 ties "N1" x2 and comes first: wrong
      ans("7"), ans("7"), ans(r1 + "1"), "\\boxed{" + r1 + "1}",
      // problem 2 (Countdown): 1 of 4 right; the wrong "1+1" x2 outvotes it
      ans("1+1"), ans(cd.reference), ans("1+1"), ans("2+2")};
  const auto layout = group_layout::fixed(12, 4);
  eval::sample_scores s;
  REQUIRE(eval::score_samples(texts, problems, layout, eval::extraction::answer_block_then_boxed, s)
              .ok());
  CHECK(s.correct == std::vector<std::uint8_t>{0, 1, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0});
  CHECK_FALSE(s.answers[2].has_value());
  CHECK(s.answers[3] == r0);  // canonical: "N.0" -> "N"
  eval::eval_report r;
  REQUIRE(eval::summarize(s, layout, {.k = 2, .bootstrap_resamples = 200, .seed = 3}, r).ok());
  CHECK(r.num_problems == 3);
  CHECK(r.pass1 == Approx((0.5 + 0.0 + 0.25) / 3));
  // pass@2: 1 − C(2,2)/C(4,2) = 5/6 for c = 2; 0 for c = 0; 1 − C(3,2)/C(4,2) = 1/2 for c = 1
  CHECK(r.pass_at_k == Approx((5.0 / 6 + 0 + 0.5) / 3));
  CHECK(r.cons_at_k == Approx(1.0 / 3));
  CHECK(r.pass1_ci.lower <= r.pass1);
  CHECK(r.pass1_ci.upper >= r.pass1);
  // errors
  CHECK(eval::score_samples(texts, std::span(problems).first(2), layout,
                            eval::extraction::answer_block, s)
            .input() == "problems");
  CHECK(eval::score_samples(texts, problems, group_layout::fixed(8, 4),
                            eval::extraction::answer_block, s)
            .kind() == errc::shape_mismatch);
  CHECK(eval::summarize(s, layout, {.k = 5}, r).input() == "k");
}
