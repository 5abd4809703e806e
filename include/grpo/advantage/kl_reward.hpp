#pragma once
// KL in the reward (spec §4, last paragraph): r_i <- r_i - beta·sum_t k1(i,t), with
// k1 = logp_old - logp_ref over the completion tokens t < T_i, and beta either fixed or driven
// by an adaptive controller. TRL RLOOTrainer, verl use_kl_in_reward, OpenRLHF's default.
#include <grpo/core/error.hpp>
#include <grpo/core/reduce.hpp>

#include <algorithm>
#include <cmath>
#include <string>
#include <type_traits>

namespace grpo {

/// A constant beta.
struct fixed_kl_controller {
  double beta = 0.001;
  void update(double /*kl*/, index_t /*n_steps*/) noexcept {}
};

/// beta <- beta·(1 + clip(KL/target - 1, -0.2, 0.2)·n/horizon): beta grows while the measured
/// KL is above the target and shrinks below it, by at most 20 % per horizon's worth of samples.
struct adaptive_kl_controller {
  double beta = 0.05;
  double target = 6.0;
  double horizon = 10000.0;
  void update(double kl, index_t n_steps) noexcept {
    const double error = std::clamp(kl / target - 1.0, -0.2, 0.2);
    beta *= 1.0 + error * double(n_steps) / horizon;
  }
};

/// Subtracts beta·sum_{t<T_i} (logp_old - logp_ref) from each reward (NaN rewards stay NaN) and
/// writes into `mean_kl` the mean over the (global) batch of the per-sequence KL sums, the
/// value a controller's update() takes. The mean goes through the reduction hook.
template <class Real, batch_reduction Reduction = local_reduction>
status apply_kl_penalty(Real* rewards, index_t N, std::type_identity_t<const Real*> logp_old,
                        std::type_identity_t<const Real*> logp_ref,
                        const std::int32_t* lengths, index_t T, double beta, double* mean_kl = nullptr,
                        const Reduction& reduction = {}) {
  if (!rewards) return {errc::null_pointer, "rewards", -1, ""};
  if (!logp_old) return {errc::null_pointer, "logp_old", -1, ""};
  if (!logp_ref) return {errc::null_pointer, "logp_ref", -1, ""};
  if (!lengths) return {errc::null_pointer, "lengths", -1, ""};
  if (N < 0 || T < 0) return {errc::shape_mismatch, "rewards", -1, "N and T must not be negative"};
  if (!std::isfinite(beta) || beta < 0.0)
    return {errc::bad_config, "beta", -1, "beta must be finite and >= 0"};
  for (index_t i = 0; i < N; ++i) {
    if (lengths[i] < 0 || lengths[i] > T)
      return {errc::out_of_range, "lengths", i,
              "length " + std::to_string(lengths[i]) + " outside [0, " + std::to_string(T) + "]"};
    if (std::isinf(rewards[i])) return {errc::non_finite, "rewards", i, "reward is infinite"};
    for (index_t t = 0; t < lengths[i]; ++t) {
      if (!std::isfinite(logp_old[i * T + t]))
        return {errc::non_finite, "logp_old", i * T + t, "at a completion token"};
      if (!std::isfinite(logp_ref[i * T + t]))
        return {errc::non_finite, "logp_ref", i * T + t, "at a completion token"};
    }
  }
  double acc[2] = {0.0, double(N)};  // sum of per-sequence KL, number of sequences
  for (index_t i = 0; i < N; ++i) {
    double kl = 0.0;
    for (index_t t = 0; t < lengths[i]; ++t)
      kl += double(logp_old[i * T + t]) - double(logp_ref[i * T + t]);
    acc[0] += kl;
    rewards[i] = static_cast<Real>(double(rewards[i]) - beta * kl);
  }
  reduction.sum(acc, 2);
  if (mean_kl) *mean_kl = acc[1] > 0.0 ? acc[0] / acc[1] : 0.0;
  return {};
}

}  // namespace grpo
