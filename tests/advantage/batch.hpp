#pragma once
// A test batch that owns every input an advantage estimator can read, random generators for it,
// and the views the library takes.
#include <grpo/advantage/inputs.hpp>
#include <grpo/core/groups.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace adv_test {

using grpo::index_t;
inline const float kNaN = std::numeric_limits<float>::quiet_NaN();

struct test_batch {
  index_t N = 0, T = 0, K = 1;
  index_t fixed_G = 0;             // > 0: the layout is group_layout::fixed(N, fixed_G)
  std::vector<index_t> offsets;    // always filled, [P + 1]
  std::vector<float> rewards;      // [N * K]
  std::vector<float> weights;      // [K] or empty (all ones)
  std::vector<std::int32_t> lengths;  // [N]
  std::vector<float> logp_old, logp_ref;  // [N * T]
  std::vector<float> baseline;     // [P]
  std::vector<index_t> step_offsets, step_end;  // [N + 1], [S]
  std::vector<float> step_reward;  // [S]

  index_t P() const { return index_t(offsets.size()) - 1; }
  grpo::group_layout layout() const {
    return fixed_G > 0 ? grpo::group_layout::fixed(N, fixed_G)
                       : grpo::group_layout::ragged(N, P(), offsets.data());
  }
  grpo::reward_view view() const {
    grpo::reward_view v;
    v.rewards = rewards.data();
    v.num_sequences = N;
    v.num_rewards = K;
    v.reward_weights = weights.empty() ? nullptr : weights.data();
    v.max_length = T;
    v.lengths = lengths.data();
    v.logp_old = logp_old.data();
    v.logp_ref = logp_ref.data();
    v.baseline_rewards = baseline.data();
    v.step_offsets = step_offsets.data();
    v.step_end = step_end.data();
    v.step_reward = step_reward.data();
    return v;
  }
};

struct batch_options {
  index_t num_groups = 6;
  index_t min_G = 2, max_G = 8;
  bool ragged = true;
  index_t K = 1;
  index_t T = 7;
  double nan_prob = 0.05;
  bool binary = false;  // rewards in {0, 1}: many all-equal groups
  double offset = 0.0;  // added to every reward
};

/// A random batch: groups of random sizes (or one fixed size), rewards continuous or binary
/// with some NaN, lengths in [0, T], log-probabilities, greedy baselines and random steps.
inline test_batch random_batch(std::mt19937_64& rng, const batch_options& o) {
  test_batch b;
  std::uniform_int_distribution<index_t> gsize(o.min_G, o.max_G);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::normal_distribution<double> normal(0.0, 1.0);
  b.offsets.push_back(0);
  const index_t G = gsize(rng);
  for (index_t g = 0; g < o.num_groups; ++g)
    b.offsets.push_back(b.offsets.back() + (o.ragged ? gsize(rng) : G));
  b.N = b.offsets.back();
  b.fixed_G = o.ragged ? 0 : G;
  b.T = o.T;
  b.K = o.K;
  auto reward = [&]() -> float {
    if (u(rng) < o.nan_prob) return kNaN;
    return static_cast<float>(o.offset + (o.binary ? (u(rng) < 0.5 ? 0.0 : 1.0) : normal(rng)));
  };
  for (index_t j = 0; j < b.N * b.K; ++j) b.rewards.push_back(reward());
  if (b.K > 1)
    for (index_t k = 0; k < b.K; ++k) b.weights.push_back(static_cast<float>(0.25 + u(rng)));
  std::uniform_int_distribution<index_t> len(0, b.T);
  for (index_t i = 0; i < b.N; ++i) b.lengths.push_back(std::int32_t(u(rng) < 0.8 ? std::max<index_t>(1, len(rng)) : len(rng)));
  for (index_t j = 0; j < b.N * b.T; ++j) {
    b.logp_old.push_back(static_cast<float>(-2.0 * u(rng)));
    b.logp_ref.push_back(static_cast<float>(-2.0 * u(rng)));
  }
  for (index_t g = 0; g < b.P(); ++g) b.baseline.push_back(u(rng) < 0.1 ? kNaN : reward());
  for (auto& x : b.baseline)
    if (std::isnan(x) && u(rng) < 0.5) x = 0.5f;
  b.step_offsets.push_back(0);
  for (index_t i = 0; i < b.N; ++i) {
    const index_t steps = b.lengths[i] == 0 ? 0 : std::uniform_int_distribution<index_t>(0, 3)(rng);
    for (index_t s = 0; s < steps; ++s) {
      b.step_end.push_back(std::uniform_int_distribution<index_t>(0, b.lengths[i] - 1)(rng));
      b.step_reward.push_back(u(rng) < o.nan_prob ? kNaN : static_cast<float>(normal(rng)));
    }
    b.step_offsets.push_back(index_t(b.step_end.size()));
  }
  return b;
}

}  // namespace adv_test
