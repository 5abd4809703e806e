// External rollouts (trainer::draw_prompts + trainer::step(external_rollout)): the same rollout
// handed over from outside gives the same update as the trainer's own sampling; an engine whose
// log-probs differ reaches the objective as the sampler's, so correction::sampler_mismatch
// reweights each token by exp(old − sampler) (checked against that formula on the reported loss);
// and every malformed rollout is refused by name and index.
#include "bandit_env.hpp"

#include <grpo/model/tabular.hpp>
#include <grpo/objective/presets.hpp>
#include <grpo/train/trainer.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

using namespace grpo_test;
using grpo::index_t;
using grpo::train::external_rollout;

namespace {

grpo::train::trainer_config config() {
  grpo::train::trainer_config c;
  c.prompts_per_step = 6;
  c.group_size = 4;
  c.sampling = {1.0, 0, 1.0, 1, -1};  // one action per completion
  c.mask_truncated = false;
  c.adamw = {0.05, 0.9, 0.99, 1e-8, 0.0};
  c.seed = 7;
  c.threads = 1;
  return c;
}

// what an engine returns: the policy's own samples of `prompts` (drawn with `rng`), its recorded
// log-probs shifted by -delta[k] per completion token (delta empty: unshifted)
external_rollout engine(grpo::model::tabular_policy<double>& pi, const grpo::train::prompt_list& prompts, index_t G,
                        grpo::model::rng_type& rng, const std::vector<double>& delta = {}) {
  grpo::model::rollout r;
  REQUIRE(pi.sample(prompts, G, config().sampling, rng, r).ok());
  external_rollout e;
  e.batch = r.batch;
  e.group_size = G;
  e.finished = r.finished;
  std::size_t k = 0;
  for (index_t i = 0; i < r.size(); ++i)
    for (index_t t = 0; t < r.batch.completion_length(i); ++t, ++k)
      e.sampler_logp.push_back(r.old_logp[static_cast<std::size_t>(i * r.width + t)] -
                               static_cast<float>(delta.empty() ? 0.0 : delta[k]));
  return e;
}

}  // namespace

TEST_CASE("external rollouts: the policy's own rollout handed over gives the trainer's own update", "[train][external]") {
  auto env_a = make_bandit(), env_b = make_bandit();
  grpo::model::tabular_policy<double> a(2, 4, 1), b(2, 4, 1);
  grpo::train::trainer ta(a, env_a, grpo::group_normalized{}, grpo::presets::trl::grpo(), config());
  grpo::train::trainer tb(b, env_b, grpo::group_normalized{}, grpo::presets::trl::grpo(), config());
  for (int s = 0; s < 5; ++s) {
    grpo::train::metrics_record ma, mb;
    REQUIRE(ta.step(ma).ok());
    grpo::train::prompt_list prompts;
    REQUIRE(tb.draw_prompts(prompts).ok());
    // the same RNG stream as the trainer's own sampling
    const auto r = engine(b, prompts, 4, tb.rng());
    REQUIRE(tb.step(r, mb).ok());
    CHECK(mb.get("sampler_logp_gap_max") < 1e-6);
    CHECK(ma.get("sampler_logp_gap") == 0.0);
    CHECK(mb.get("reward_mean") == ma.get("reward_mean"));
    CHECK(mb.get("loss") == Approx(ma.get("loss")).margin(1e-12));
    const auto pa = a.parameters(), pb = b.parameters();
    for (std::size_t k = 0; k < pa.size(); ++k) CHECK(pb[k] == Approx(pa[k]).margin(1e-9));
  }
}

TEST_CASE("external rollouts: the engine's log-probs reach sampler_mismatch as the sampler's", "[train][external]") {
  grpo::correction::sampler_mismatch is;
  is.level = grpo::correction::is_level::token;
  is.mode = grpo::correction::is_mode::truncate;
  is.c_min = 0.0;
  is.c_max = 1.5;
  const auto corrected = grpo::with(grpo::presets::trl::grpo(), is);
  auto env = make_bandit();
  grpo::model::tabular_policy<double> pi(2, 4, 1);
  grpo::train::trainer tr(pi, env, grpo::group_normalized{}, corrected, config());
  grpo::train::prompt_list prompts;
  REQUIRE(tr.draw_prompts(prompts).ok());
  std::mt19937_64 g(3);
  std::uniform_real_distribution<double> u(-0.6, 0.6);
  std::vector<double> delta(24);
  for (auto& d : delta) d = u(g);
  grpo::model::tabular_policy<double> engine_copy = pi;
  const auto r = engine(engine_copy, prompts, 4, tr.rng(), delta);
  grpo::train::metrics_record m;
  REQUIRE(tr.step(r, m).ok());
  // old − sampler = delta per token
  double mean = 0, max = 0;
  for (double d : delta) mean += d / 24.0, max = std::max(max, std::abs(d));
  CHECK(m.get("sampler_logp_gap") == Approx(mean).margin(1e-6));
  CHECK(m.get("sampler_logp_gap_max") == Approx(max).margin(1e-6));
  // one-token completions at ratio 1: every aggregation gives loss = −mean_i A_i · w_i with
  // w_i = min(exp(delta_i), c_max), from the advantages the trainer used
  const auto& A = tr.last_advantages();
  REQUIRE(A.size() == 24);
  double want = 0;
  for (std::size_t i = 0; i < 24; ++i) want -= static_cast<double>(A[i]) * std::min(std::exp(delta[i]), 1.5) / 24.0;
  CHECK(std::abs(want) > 1e-3);  // the weights matter: the unweighted loss is 0 (advantages sum to 0)
  CHECK(m.get("loss") == Approx(want).epsilon(1e-5));

  // without the engine's log-probs the sampler is the policy: weight 1, loss −mean A = 0
  grpo::train::prompt_list again;
  REQUIRE(tr.draw_prompts(again).ok());
  auto plain = engine(engine_copy, again, 4, tr.rng());
  plain.sampler_logp.clear();
  REQUIRE(tr.step(plain, m).ok());
  CHECK(m.get("sampler_logp_gap") == 0.0);
  CHECK(m.get("loss") == Approx(0.0).margin(1e-6));
}

TEST_CASE("external rollouts: malformed rollouts are refused by name and index", "[train][external]") {
  auto env = make_bandit();
  grpo::model::tabular_policy<double> pi(2, 4, 1);
  grpo::train::trainer tr(pi, env, grpo::group_normalized{}, grpo::presets::trl::grpo(), config());
  grpo::train::metrics_record m;
  external_rollout none;
  CHECK(tr.step(none, m).input() == "external_rollout");  // no draw yet
  grpo::train::prompt_list prompts;
  REQUIRE(tr.draw_prompts(prompts).ok());
  grpo::model::tabular_policy<double> copy = pi;
  grpo::model::rng_type rng(1);
  const auto good = engine(copy, prompts, 4, rng);
  auto bad = good;
  bad.group_size = 3;
  CHECK(tr.step(bad, m).input() == "external_rollout.group_size");
  bad = good;
  bad.batch.clear();
  for (index_t i = 0; i < good.batch.size() - 4; ++i)
    bad.batch.add(std::span<const grpo::model::token_t>(good.batch.sequence(i), 1),
                  std::span<const grpo::model::token_t>(good.batch.sequence(i) + 1, 1));
  CHECK(tr.step(bad, m).input() == "external_rollout.batch");
  // sequence 9 answers another prompt than the draw's third
  bad = good;
  bad.batch.clear();
  for (index_t i = 0; i < good.batch.size(); ++i) {
    grpo::model::token_t p = good.batch.sequence(i)[0];
    if (i == 9) p = static_cast<grpo::model::token_t>(1 - p);
    const grpo::model::token_t c = good.batch.sequence(i)[1];
    bad.batch.add(std::span<const grpo::model::token_t>(&p, 1), std::span<const grpo::model::token_t>(&c, 1));
  }
  const auto wrong_prompt = tr.step(bad, m);
  CHECK(wrong_prompt.input() == "external_rollout.batch");
  CHECK(wrong_prompt.index() == 9);
  bad = good;
  bad.finished.pop_back();
  CHECK(tr.step(bad, m).input() == "external_rollout.finished");
  bad = good;
  bad.sampler_logp.push_back(-1.0f);
  CHECK(tr.step(bad, m).input() == "external_rollout.sampler_logp");
  bad = good;
  bad.sampler_logp[5] = 0.25f;  // a probability above 1
  const auto positive = tr.step(bad, m);
  CHECK(positive.input() == "external_rollout.sampler_logp");
  CHECK(positive.index() == 5);
  bad.sampler_logp[5] = std::nanf("");
  CHECK(tr.step(bad, m).index() == 5);
  // refused rollouts leave the draw open; the good one is taken, and then the draw is spent
  CHECK(tr.step_count() == 0);
  REQUIRE(tr.step(good, m).ok());
  CHECK(tr.step_count() == 1);
  CHECK(tr.step(good, m).input() == "external_rollout");
}
