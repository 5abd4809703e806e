// Held-out evaluation (grpo/train/task_env.hpp) on a scripted policy whose completions are known:
// pass@1 strict and format-agnostic, the pass@k curve, language consistency and the readable
// rate, against values worked out by hand.
#include <catch2/catch.hpp>
#include <grpo/task/tasks.hpp>
#include <grpo/train/task_env.hpp>

#include <string>
#include <vector>

using namespace grpo;

namespace {

// Writes texts[g] as completion g of every group (the prompt is ignored).
struct scripted_policy {
  task::tokenizer tok;
  std::vector<std::vector<std::string>> texts;  // per prompt, G completions

  status sample(std::span<const std::vector<model::token_t>> prompts, index_t G, const model::sampler_config&,
                model::rng_type&, model::rollout& out) {
    out = {};
    out.group_size = G;
    for (std::size_t p = 0; p < prompts.size(); ++p)
      for (index_t g = 0; g < G; ++g) {
        auto c = tok.encode_or_throw(texts[p][static_cast<std::size_t>(g)]);
        c.push_back(task::eos_token);
        out.batch.add(prompts[p], c);
        out.finished.push_back(1);
      }
    return {};
  }
};

}  // namespace

TEST_CASE("evaluate_policy: pass@k curve, language consistency and readable rate", "[train][eval]") {
  const auto tok = task::bilingual_tokenizer();
  task::problem a, b;
  a.prompt = "7+5=?";
  a.reference = "12";
  a.target = 12;
  b.prompt = "1+1=?";
  b.reference = "2";
  b.target = 2;
  const std::vector<task::problem> problems = {a, b};
  scripted_policy pol{tok,
                      {{"<think>7+5=12</think><answer>12</answer>",  // right, ASCII: readable
                        "<think>L+S=IZ</think><answer>12</answer>",  // right, other script
                        "<think>7+S=IZ</think><answer>13</answer>",  // wrong, mixed (1/4)
                        "7+5=12\n12"},                               // right only in any format, no thought
                       {"<think>1+1=2</think><answer>3</answer>", "<think>I+I=Z</think><answer>3</answer>",
                        "3", "<think>1+1=Z</think><answer>4</answer>"}}};
  train::task_environment env(task::addition{}, reward::combine(boost::hana::make_pair(BOOST_HANA_STRING("accuracy"), reward::accuracy{})), tok);
  train::eval_config ec;
  ec.k = 4;
  ec.greedy = false;
  ec.language = [r = task::numeral_consistency()](const reward::completion& c) { return r(c); };
  ec.pass_at_k_curve = {1, 2, 4};
  train::eval_result e;
  REQUIRE(train::evaluate_policy(pol, env, problems, ec, e).ok());
  // problem a: 2 of 4 right in the R1 format, 3 of 4 in any format; problem b: none
  CHECK(e.pass1 == Approx((2.0 / 4 + 0) / 2));
  CHECK(e.pass1_any_format == Approx((3.0 / 4 + 0) / 2));
  REQUIRE(e.pass_at_k_curve.size() == 3);
  CHECK(e.pass_at_k_curve[0] == Approx(0.25));
  CHECK(e.pass_at_k_curve[1] == Approx((1 - 1.0 / 6) / 2));  // 1 − C(2,2)/C(4,2) for a
  CHECK(e.pass_at_k_curve[2] == Approx(0.5));
  // consistency: a 1, 0, 1/4, 0 (no thought); b 1, 0, 0 (no thought), 2/3
  CHECK(e.language_consistency == Approx((1 + 0 + 0.25 + 0 + 1 + 0 + 0 + 2.0 / 3) / 8));
  // readable = strict format and consistency 1: a's first and b's first
  CHECK(e.readable_rate == Approx(2.0 / 8));
  CHECK(e.format_rate == Approx(6.0 / 8));

  // without a language reward, nothing is claimed
  train::eval_config plain = ec;
  plain.language = nullptr;
  plain.pass_at_k_curve.clear();
  REQUIRE(train::evaluate_policy(pol, env, problems, plain, e).ok());
  CHECK(std::isnan(e.language_consistency));
  CHECK(std::isnan(e.readable_rate));
  CHECK(e.pass_at_k_curve.empty());

  // a k of the curve above the samples per problem is an error naming it
  train::eval_config bad = ec;
  bad.pass_at_k_curve = {1, 8};
  const auto s = train::evaluate_policy(pol, env, problems, bad, e);
  CHECK(s.kind() == errc::bad_config);
  CHECK(s.input() == "pass_at_k_curve");
  CHECK(s.index() == 1);
}
