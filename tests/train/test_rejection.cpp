// Rejection sampling (grpo/train/rejection.hpp): the filter's counts on a hand-built rollout with
// known answers, the same counts from a plain per-sample predicate list on random rollouts, and
// the sampling wrapper with a tabular policy.
#include <catch2/catch.hpp>
#include <grpo/model/tabular.hpp>
#include <grpo/task/random.hpp>
#include <grpo/train/rejection.hpp>

#include <algorithm>
#include <vector>

using grpo::train::rejection_filter;
using grpo::train::rejection_stats;
using grpo::train::sft_example;

namespace {

struct sample {
  std::vector<grpo::model::token_t> completion;
  bool finished;
  double accuracy, format, language;
};

// One prompt per group of G: builds the rollout and the reward table.
void build(const std::vector<std::vector<sample>>& groups, grpo::model::rollout& r, grpo::reward::reward_table& t) {
  r = {};
  r.group_size = static_cast<grpo::index_t>(groups.front().size());
  t = {};
  t.names = {"accuracy", "format", "language"};
  t.weights = {1, 1, 1};
  for (std::size_t p = 0; p < groups.size(); ++p)
    for (const auto& s : groups[p]) {
      const std::vector<grpo::model::token_t> prompt = {static_cast<grpo::model::token_t>(p), 9};
      r.batch.add(prompt, s.completion);
      r.finished.push_back(s.finished);
      t.per_reward.insert(t.per_reward.end(), {s.accuracy, s.format, s.language});
      t.total.push_back(s.accuracy + s.format + s.language);
    }
  t.num_completions = r.batch.size();
}

}  // namespace

TEST_CASE("rejection: each rejected sample is counted under the first test it fails", "[rejection]") {
  // prompt 0: a good one, its duplicate, a wrong one, a truncated good one, a badly formatted one
  // prompt 1: too long, mixed language, good, good (different), good (third: over the quota)
  const std::vector<std::vector<sample>> groups = {
      {{{1, 2}, true, 1, 1, 1}, {{1, 2}, true, 1, 1, 1}, {{3}, true, 0, 1, 1}, {{1, 2}, false, 1, 1, 1}, {{4}, true, 1, 0, 1}},
      {{{1, 2, 3, 4, 5, 6}, true, 1, 1, 1}, {{2}, true, 1, 1, 0.5}, {{2, 2}, true, 1, 1, 1}, {{3, 3}, true, 1, 1, 1}, {{4, 4}, true, 1, 1, 1}}};
  grpo::model::rollout r;
  grpo::reward::reward_table t;
  build(groups, r, t);
  rejection_filter f;
  f.max_tokens = 5;
  f.language_reward = "language";
  f.max_per_prompt = 2;
  std::vector<sft_example> out;
  rejection_stats s;
  REQUIRE(grpo::train::filter_rollout(r, t, f, out, s).ok());
  CHECK(s.prompts == 2);
  CHECK(s.sampled == 10);
  CHECK(s.kept == 3);
  CHECK(s.duplicate == 1);
  CHECK(s.incorrect == 1);
  CHECK(s.truncated == 1);
  CHECK(s.format == 1);
  CHECK(s.length == 1);
  CHECK(s.language == 1);
  CHECK(s.quota == 1);
  CHECK(s.prompts_with_a_kept_sample == 2);
  REQUIRE(out.size() == 3);
  CHECK(out[0].prompt == std::vector<grpo::model::token_t>{0, 9});
  CHECK(out[0].completion == std::vector<grpo::model::token_t>{1, 2});
  CHECK(out[1].completion == std::vector<grpo::model::token_t>{2, 2});
  CHECK(out[2].completion == std::vector<grpo::model::token_t>{3, 3});
  // the same rollout with the filters off keeps everything
  rejection_filter none;
  none.drop_truncated = false;
  none.correct_reward = "";
  none.format_reward = "";
  none.drop_duplicates = false;
  out.clear();
  REQUIRE(grpo::train::filter_rollout(r, t, none, out, s).ok());
  CHECK(s.kept == 10);
}

TEST_CASE("rejection: the counts equal a plain per-sample check on random rollouts", "[rejection]") {
  grpo::task::splitmix64 rng(31);
  for (int trial = 0; trial < 50; ++trial) {
    const int P = 1 + static_cast<int>(rng.below(5)), G = 1 + static_cast<int>(rng.below(6));
    std::vector<std::vector<sample>> groups(static_cast<std::size_t>(P));
    for (auto& g : groups)
      for (int i = 0; i < G; ++i) {
        sample s;
        const auto len = rng.below(5);
        for (std::uint64_t k = 0; k < len; ++k) s.completion.push_back(static_cast<grpo::model::token_t>(rng.below(2)));
        s.finished = rng.below(4) != 0;
        s.accuracy = static_cast<double>(rng.below(2));
        s.format = rng.below(5) != 0 ? 1.0 : 0.0;
        s.language = rng.below(3) / 2.0;
        g.push_back(s);
      }
    rejection_filter f;
    f.min_tokens = 1;
    f.max_tokens = 3;
    f.language_reward = rng.below(2) ? "language" : "";
    f.language_threshold = 0.5;
    f.max_per_prompt = static_cast<grpo::index_t>(rng.below(3));
    grpo::model::rollout r;
    grpo::reward::reward_table t;
    build(groups, r, t);
    std::vector<sft_example> out;
    rejection_stats s;
    REQUIRE(grpo::train::filter_rollout(r, t, f, out, s).ok());
    // the plain check
    rejection_stats want;
    std::size_t kept_total = 0;
    for (const auto& g : groups) {
      std::vector<std::vector<grpo::model::token_t>> kept;
      for (const auto& x : g) {
        const auto len = static_cast<grpo::index_t>(x.completion.size());
        if (!x.finished) ++want.truncated;
        else if (len < f.min_tokens || len > f.max_tokens) ++want.length;
        else if (x.accuracy < 1) ++want.incorrect;
        else if (x.format < 1) ++want.format;
        else if (!f.language_reward.empty() && x.language < 0.5) ++want.language;
        else if (std::find(kept.begin(), kept.end(), x.completion) != kept.end()) ++want.duplicate;
        else if (f.max_per_prompt > 0 && static_cast<grpo::index_t>(kept.size()) >= f.max_per_prompt) ++want.quota;
        else kept.push_back(x.completion);
      }
      kept_total += kept.size();
    }
    CHECK(s.truncated == want.truncated);
    CHECK(s.length == want.length);
    CHECK(s.incorrect == want.incorrect);
    CHECK(s.format == want.format);
    CHECK(s.language == want.language);
    CHECK(s.duplicate == want.duplicate);
    CHECK(s.quota == want.quota);
    CHECK(static_cast<std::size_t>(s.kept) == kept_total);
    CHECK(out.size() == kept_total);
    CHECK(s.sampled == s.kept + s.truncated + s.length + s.incorrect + s.format + s.language + s.duplicate + s.quota);
  }
}

TEST_CASE("rejection: sampling from a policy, and the errors", "[rejection]") {
  // a tabular policy that prefers action 1; the "task": a completion is correct when it starts with 1
  grpo::model::tabular_policy<float> policy(2, 3, 1);
  policy.logits(0, 0)[1] = 2.0f;
  struct env_t {
    grpo::status score(const grpo::model::rollout& r, grpo::reward::reward_table& t, std::vector<double>&) {
      t = {};
      t.names = {"accuracy"};
      t.weights = {1};
      t.num_completions = r.size();
      for (grpo::index_t i = 0; i < r.size(); ++i) {
        const double ok = r.batch.sequence(i)[r.batch.prompt_length(i)] == 1 ? 1.0 : 0.0;
        t.per_reward.push_back(ok);
        t.total.push_back(ok);
      }
      return {};
    }
  } env;
  const std::vector<std::vector<grpo::model::token_t>> prompts = {{0}, {0}, {0}};
  grpo::model::sampler_config sc;
  sc.max_new_tokens = 1;
  grpo::model::rng_type rng(5);
  rejection_filter f;
  f.format_reward = "";
  f.drop_truncated = false;  // one-token completions never see a stop token
  f.drop_duplicates = false;
  std::vector<sft_example> out;
  rejection_stats s;
  REQUIRE(grpo::train::rejection_sample(policy, env, prompts, 8, sc, rng, f, out, s).ok());
  CHECK(s.sampled == 24);
  CHECK(s.kept + s.incorrect == 24);
  CHECK(s.kept > s.incorrect);  // p(1) = e²/(e² + 2) ≈ 0.79
  for (const auto& e : out) CHECK(e.completion.front() == 1);
  // errors
  CHECK(grpo::train::rejection_sample(policy, env, prompts, 0, sc, rng, f, out, s).input() == "k");
  f.format_reward = "format";
  CHECK(grpo::train::rejection_sample(policy, env, prompts, 2, sc, rng, f, out, s).input() == "rejection_filter");
}
