#pragma once
// Batch transformations for the property and data-parallel tests: permute members within their
// groups, map the rewards, cut a batch into the groups one rank would hold.
#include "batch.hpp"

#include <algorithm>
#include <numeric>
#include <random>

namespace adv_test {

/// The batch whose sequence i is sequence perm[i] of `b` (perm must keep every sequence in its
/// group). Rows of every per-sequence and per-token input move together, steps included.
inline test_batch permuted(const test_batch& b, const std::vector<index_t>& perm) {
  test_batch p = b;
  p.step_offsets = {0};
  p.step_end.clear();
  p.step_reward.clear();
  for (index_t i = 0; i < b.N; ++i) {
    const index_t s = perm[i];
    for (index_t k = 0; k < b.K; ++k) p.rewards[i * b.K + k] = b.rewards[s * b.K + k];
    p.lengths[i] = b.lengths[s];
    for (index_t t = 0; t < b.T; ++t) {
      p.logp_old[i * b.T + t] = b.logp_old[s * b.T + t];
      p.logp_ref[i * b.T + t] = b.logp_ref[s * b.T + t];
    }
    for (index_t j = b.step_offsets[s]; j < b.step_offsets[s + 1]; ++j) {
      p.step_end.push_back(b.step_end[j]);
      p.step_reward.push_back(b.step_reward[j]);
    }
    p.step_offsets.push_back(index_t(p.step_end.size()));
  }
  return p;
}

inline std::vector<index_t> random_within_group_permutation(const test_batch& b,
                                                            std::mt19937_64& rng) {
  std::vector<index_t> perm(b.N);
  std::iota(perm.begin(), perm.end(), index_t{0});
  for (index_t g = 0; g < b.P(); ++g)
    std::shuffle(perm.begin() + b.offsets[g], perm.begin() + b.offsets[g + 1], rng);
  return perm;
}

/// Applies f to every reward, step reward and greedy baseline (NaN stays NaN).
template <class F>
test_batch map_rewards(test_batch b, F f) {
  for (auto& r : b.rewards) r = static_cast<float>(f(double(r)));
  for (auto& r : b.step_reward) r = static_cast<float>(f(double(r)));
  for (auto& r : b.baseline) r = static_cast<float>(f(double(r)));
  return b;
}

/// Groups [g0, g1) of b as a batch of their own (what one data-parallel rank holds).
inline test_batch slice_groups(const test_batch& b, index_t g0, index_t g1) {
  test_batch s;
  const index_t i0 = b.offsets[g0], i1 = b.offsets[g1];
  s.N = i1 - i0;
  s.T = b.T;
  s.K = b.K;
  s.fixed_G = b.fixed_G;
  for (index_t g = g0; g <= g1; ++g) s.offsets.push_back(b.offsets[g] - i0);
  s.rewards.assign(b.rewards.begin() + i0 * b.K, b.rewards.begin() + i1 * b.K);
  s.weights = b.weights;
  s.lengths.assign(b.lengths.begin() + i0, b.lengths.begin() + i1);
  s.logp_old.assign(b.logp_old.begin() + i0 * b.T, b.logp_old.begin() + i1 * b.T);
  s.logp_ref.assign(b.logp_ref.begin() + i0 * b.T, b.logp_ref.begin() + i1 * b.T);
  s.baseline.assign(b.baseline.begin() + g0, b.baseline.begin() + g1);
  const index_t s0 = b.step_offsets[i0], s1 = b.step_offsets[i1];
  for (index_t i = i0; i <= i1; ++i) s.step_offsets.push_back(b.step_offsets[i] - s0);
  s.step_end.assign(b.step_end.begin() + s0, b.step_end.begin() + s1);
  s.step_reward.assign(b.step_reward.begin() + s0, b.step_reward.begin() + s1);
  return s;
}

}  // namespace adv_test
