#pragma once
// Several reward functions per completion, [N, K] row-major. The default way to use them with
// any estimator is "sum_then_normalize" (TRL reward_weights): R_i = sum_k w_k r_ik first, then
// the estimator sees one reward. GDPO ("normalize_then_sum") is the `gdpo` estimator.
#include <grpo/advantage/group_stats.hpp>
#include <grpo/core/error.hpp>

#include <cmath>
#include <string>
#include <type_traits>

namespace grpo {

/// R = sum_k w_k r_k over the finite entries of one row (w = null means every w_k = 1). A row
/// whose entries are all NaN stays NaN (unknown), so the estimator leaves it out and gives it 0.
template <class Real>
GRPO_HD Real weighted_reward(const Real* row, index_t K, const Real* w) {
  double sum = 0.0;
  bool any = false;
  for (index_t k = 0; k < K; ++k) {
    if (advantage_detail::is_nan(row[k])) continue;
    sum += (w ? double(w[k]) : 1.0) * row[k];
    any = true;
  }
  return any ? static_cast<Real>(sum) : row[0];  // row[0] is NaN here
}

/// out[i] = weighted_reward(rewards + i·K). Errors: null pointers, K < 1, N < 0, a weight that
/// is not finite, a reward that is +-Inf.
/// (Real is the type of `out`; the inputs may then be null pointers of no type.)
template <class Real>
status sum_then_normalize(std::type_identity_t<const Real*> rewards, index_t N, index_t K,
                          std::type_identity_t<const Real*> weights, Real* out) {
  if (!rewards) return {errc::null_pointer, "rewards", -1, ""};
  if (!out) return {errc::null_pointer, "out", -1, ""};
  if (N < 0) return {errc::shape_mismatch, "rewards", -1, "N must not be negative"};
  if (K < 1)
    return {errc::shape_mismatch, "num_rewards", -1, "K must be >= 1, got " + std::to_string(K)};
  if (weights)
    for (index_t k = 0; k < K; ++k)
      if (!std::isfinite(weights[k]))
        return {errc::non_finite, "reward_weights", k, "weights must be finite"};
  for (index_t j = 0; j < N * K; ++j)
    if (std::isinf(rewards[j]))
      return {errc::non_finite, "rewards", j, "reward is infinite (use NaN for unknown)"};
  for (index_t i = 0; i < N; ++i) out[i] = weighted_reward(rewards + i * K, K, weights);
  return {};
}

}  // namespace grpo
