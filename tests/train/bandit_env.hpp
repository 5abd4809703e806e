#pragma once
// Small environments for the trainer tests: a contextual bandit (prompt = one state token,
// completion = actions, reward = table lookup) usable with the tabular policy and the tiny
// transformer.
#include <grpo/model/tabular.hpp>
#include <grpo/reward/combine.hpp>
#include <grpo/train/trainer.hpp>

#include <vector>

namespace grpo_test {

using grpo::index_t;
using grpo::model::token_t;

/// Prompt: [state]; reward of a completion = mean over its tokens of r[state][token] (a
/// one-token completion gets exactly r[state][action]).
struct bandit_env {
  index_t num_states = 2, num_actions = 4;
  std::vector<std::vector<double>> r;  // [S][A]
  std::vector<index_t> states;         // of the last draw

  grpo::status draw_prompts(index_t n, grpo::model::rng_type& rng, grpo::train::prompt_list& prompts) {
    prompts.assign(static_cast<std::size_t>(n), {});
    states.resize(static_cast<std::size_t>(n));
    for (index_t p = 0; p < n; ++p) {
      const index_t s = static_cast<index_t>(rng() % static_cast<std::uint64_t>(num_states));
      states[static_cast<std::size_t>(p)] = s;
      prompts[static_cast<std::size_t>(p)] = {static_cast<token_t>(s)};
    }
    return {};
  }

  grpo::status score(const grpo::model::rollout& ro, grpo::reward::reward_table& t,
                     std::vector<double>& reflective) const {
    const index_t N = ro.size(), G = ro.group_size;
    t = {};
    t.names = {"bandit"};
    t.weights = {1.0};
    t.num_completions = N;
    t.per_reward.assign(static_cast<std::size_t>(N), 0.0);
    for (index_t i = 0; i < N; ++i) {
      const index_t s = states[static_cast<std::size_t>(i / G)];
      const index_t L = ro.batch.completion_length(i);
      double v = 0;
      for (index_t k = 0; k < L; ++k)
        v += r[static_cast<std::size_t>(s)][static_cast<std::size_t>(ro.batch.sequence(i)[ro.batch.prompt_length(i) + k])];
      t.per_reward[static_cast<std::size_t>(i)] = L > 0 ? v / static_cast<double>(L) : 0.0;
    }
    t.total = t.per_reward;
    t.stats = {grpo::reward::detail::mean_std(t.total)};
    t.total_stats = t.stats[0];
    reflective.clear();
    return {};
  }
};
static_assert(grpo::train::environment<bandit_env>);

/// Exact expected reward of a one-token tabular policy, states uniform.
inline double expected_reward(const grpo::model::tabular_policy<double>& p, const bandit_env& e) {
  double j = 0;
  for (index_t s = 0; s < e.num_states; ++s) {
    const auto pi = p.probabilities(s);
    for (index_t a = 0; a < e.num_actions; ++a)
      j += pi[static_cast<std::size_t>(a)] * e.r[static_cast<std::size_t>(s)][static_cast<std::size_t>(a)];
  }
  return j / static_cast<double>(e.num_states);
}

inline bandit_env make_bandit() {
  bandit_env e;
  e.num_states = 2;
  e.num_actions = 4;
  e.r = {{0.0, 1.0, 0.2, 0.0}, {0.5, 0.0, 0.0, 1.0}};
  return e;
}

}  // namespace grpo_test
