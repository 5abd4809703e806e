// The trainer on the smallest problem that shows GRPO working: a two-state, four-action
// contextual bandit with the tabular softmax policy. Each step samples G actions per prompt,
// scores them, normalises the rewards within each group and takes one AdamW step on the fused
// GRPO loss. Because the policy is a table, the expected reward
//   J(θ) = (1/S) Σ_s Σ_a π_θ(a|s) r(s, a)
// is computed exactly and printed next to the sampled reward.
#include <grpo/model/tabular.hpp>
#include <grpo/objective/presets.hpp>
#include <grpo/train/trainer.hpp>

#include <cstdio>
#include <vector>

namespace {

/// Prompt = [state]; a completion is one action; reward = r[state][action].
struct bandit {
  std::vector<std::vector<double>> r = {{0.0, 1.0, 0.2, 0.0}, {0.5, 0.0, 0.0, 1.0}};
  std::vector<int> states;  // of the last draw

  grpo::status draw_prompts(grpo::index_t n, grpo::model::rng_type& rng, grpo::train::prompt_list& prompts) {
    prompts.assign(static_cast<std::size_t>(n), {});
    states.resize(static_cast<std::size_t>(n));
    for (std::size_t p = 0; p < prompts.size(); ++p) {
      states[p] = static_cast<int>(rng() % 2);
      prompts[p] = {states[p]};
    }
    return {};
  }
  grpo::status score(const grpo::model::rollout& ro, grpo::reward::reward_table& t, std::vector<double>& reflective) {
    t = {};
    t.names = {"bandit"};
    t.weights = {1.0};
    t.num_completions = ro.size();
    for (grpo::index_t i = 0; i < ro.size(); ++i) {
      const auto s = static_cast<std::size_t>(states[static_cast<std::size_t>(i / ro.group_size)]);
      const auto a = static_cast<std::size_t>(ro.batch.sequence(i)[1]);
      t.per_reward.push_back(r[s][a]);
    }
    t.total = t.per_reward;
    reflective.clear();
    return {};
  }
  double expected(const grpo::model::tabular_policy<double>& pi) const {
    double j = 0;
    for (int s = 0; s < 2; ++s) {
      const auto p = pi.probabilities(s);
      for (std::size_t a = 0; a < 4; ++a) j += p[a] * r[static_cast<std::size_t>(s)][a];
    }
    return j / 2;
  }
};

}  // namespace

int main() {
  bandit env;
  grpo::model::tabular_policy<double> policy(/*states=*/2, /*actions=*/4, /*positions=*/1);
  grpo::train::trainer_config cfg;
  cfg.prompts_per_step = 8;
  cfg.group_size = 8;
  cfg.sampling = {1.0, 0, 1.0, /*max_new_tokens=*/1, /*stop_token=*/-1};
  cfg.mask_truncated = false;  // a one-token completion never ends with a stop token
  cfg.adamw.lr = 0.05;
  // trl::grpo() has beta = 0 (TRL's default): no reference model needed.
  grpo::train::trainer trainer(policy, env, grpo::group_normalized{}, grpo::presets::trl::grpo(), cfg);

  std::printf("step  sampled reward  exact E[r]\n");
  std::printf("%4d  %14s  %10.4f\n", 0, "-", env.expected(policy));
  for (int step = 1; step <= 40; ++step) {
    grpo::train::metrics_record m;
    grpo::throw_if_error(trainer.step(m));
    if (step % 5 == 0) std::printf("%4d  %14.4f  %10.4f\n", step, m.get("reward_mean"), env.expected(policy));
  }
  std::printf("optimum E[r] = 1 (action 1 in state 0, action 3 in state 1)\n");
  return 0;
}
