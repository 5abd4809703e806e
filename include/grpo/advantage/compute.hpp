#pragma once
// The host entry point: validate, then run an estimator over every group.
//
//   grpo::advantage_stats stats;
//   auto s = grpo::compute_advantages(grpo::group_normalized{}, view, layout, A.data(), stats);
//
// Batch-wide quantities go through the reduction hook in two rounds: first (weight, weighted
// sum) to get the global mean, then the global sum of squared deviations from that mean. Each
// rank holding whole groups thus gets the advantages one process would. Every rank makes the
// same sequence of reduction calls whatever its data (the sequence depends only on the
// estimator type), as collectives require. Validation runs before the first reduction: a rank
// whose inputs are refused returns without joining the collectives, so a data-parallel caller
// must treat an error on any rank as fatal for all (or validate on every rank first).
#include <grpo/advantage/estimators.hpp>
#include <grpo/advantage/group_kernels.hpp>
#include <grpo/advantage/inputs.hpp>
#include <grpo/advantage/multi_reward.hpp>
#include <grpo/core/error.hpp>
#include <grpo/core/groups.hpp>
#include <grpo/core/reduce.hpp>

#include <algorithm>
#include <cmath>
#include <string>
#include <type_traits>
#include <vector>

namespace grpo {

namespace advantage_detail {

inline status check_nonneg(double v, const char* name) {
  if (!std::isfinite(v) || v < 0.0)
    return {errc::bad_config, name, -1, "must be finite and >= 0, got " + std::to_string(v)};
  return {};
}

inline status check_config(const group_normalized& e) { return check_nonneg(e.eps, "eps"); }
inline status check_config(const mean_only&) { return {}; }
inline status check_config(const group_mean_batch_std& e) { return check_nonneg(e.eps, "eps"); }
inline status check_config(const rloo&) { return {}; }
inline status check_config(const reinforce_pp& e) {
  if (!(e.gamma >= 0.0 && e.gamma <= 1.0))
    return {errc::bad_config, "gamma", -1, "gamma must be in [0, 1]"};
  GRPO_TRY(check_nonneg(e.beta, "beta"));
  return check_nonneg(e.whiten_eps, "whiten_eps");
}
inline status check_config(const reinforce_pp_baseline& e) {
  return check_nonneg(e.whiten_eps, "whiten_eps");
}
inline status check_config(const remax&) { return {}; }
inline status check_config(const opo&) { return {}; }
inline status check_config(const gpg& e) { return check_nonneg(e.eps, "eps"); }
inline status check_config(const passk_grpo& e) { return check_nonneg(e.eps, "eps"); }
inline status check_config(const gdpo& e) {
  GRPO_TRY(check_nonneg(e.eps, "eps"));
  return check_nonneg(e.batch_eps, "batch_eps");
}
inline status check_config(const process_supervision& e) { return check_nonneg(e.eps, "eps"); }

template <class E>
inline constexpr bool reads_rewards = !std::is_same_v<E, process_supervision>;
template <class E>
inline constexpr bool needs_lengths = std::is_same_v<E, opo> || std::is_same_v<E, reinforce_pp> ||
                                      std::is_same_v<E, process_supervision>;

template <class Real>
status check_lengths(const basic_reward_view<Real>& v, bool required) {
  if (!v.lengths) {
    if (required) return {errc::null_pointer, "lengths", -1, "this estimator needs lengths"};
    return {};
  }
  for (index_t i = 0; i < v.num_sequences; ++i) {
    if (v.lengths[i] < 0)
      return {errc::out_of_range, "lengths", i,
              "negative length " + std::to_string(v.lengths[i])};
    if (v.max_length > 0 && v.lengths[i] > v.max_length)
      return {errc::out_of_range, "lengths", i,
              "length " + std::to_string(v.lengths[i]) + " > T = " + std::to_string(v.max_length)};
  }
  return {};
}

/// Global (count-weighted) mean and deviation of values x with weights w, in two reduction
/// rounds. `for_each(f)` must call f(x, w) for every local value.
struct batch_moments {
  double weight = 0.0, mean = 0.0, m2 = 0.0;
};
template <class Reduction, class ForEach>
batch_moments reduce_moments(const Reduction& red, ForEach&& for_each) {
  double acc[2] = {0.0, 0.0};
  for_each([&](double x, double w) {
    acc[0] += w;
    acc[1] += w * x;
  });
  red.sum(acc, 2);
  batch_moments m;
  m.weight = acc[0];
  m.mean = acc[0] > 0.0 ? acc[1] / acc[0] : 0.0;
  double ssd[1] = {0.0};
  for_each([&](double x, double w) { ssd[0] += w * (x - m.mean) * (x - m.mean); });
  red.sum(ssd, 1);
  m.m2 = ssd[0];
  return m;
}

/// 1/d, or 0 when d is not positive (every value equal and no eps: the centred values are 0
/// and stay 0 instead of becoming 0/0).
inline double safe_inverse(double d) { return d > 0.0 ? 1.0 / d : 0.0; }

}  // namespace advantage_detail

/// Checks the estimator's hyper-parameters and every input it reads. On success the estimator
/// can run without producing NaN or Inf from bad input.
template <advantage_estimator E, class Real>
status validate_advantage_inputs(const E& est, const basic_reward_view<Real>& v, const group_layout& layout,
                                 const Real* A_out) {
  using namespace advantage_detail;
  GRPO_TRY(check_config(est));
  if (!A_out) return {errc::null_pointer, "A_out", -1, "no output buffer"};
  if (v.num_sequences != layout.num_sequences)
    return {errc::shape_mismatch, "rewards", -1,
            "reward_view has N = " + std::to_string(v.num_sequences) +
                " but the group layout has N = " + std::to_string(layout.num_sequences)};
  GRPO_TRY(validate(layout, E::min_group_size));
  const index_t N = v.num_sequences;
  if constexpr (reads_rewards<E>) {
    if (!v.rewards) return {errc::null_pointer, "rewards", -1, ""};
    if (v.num_rewards < 1)
      return {errc::shape_mismatch, "num_rewards", -1,
              "K must be >= 1, got " + std::to_string(v.num_rewards)};
    if (v.reward_weights)
      for (index_t k = 0; k < v.num_rewards; ++k)
        if (!std::isfinite(v.reward_weights[k]))
          return {errc::non_finite, "reward_weights", k, "weights must be finite"};
    for (index_t j = 0; j < N * v.num_rewards; ++j)
      if (std::isinf(v.rewards[j]))
        return {errc::non_finite, "rewards", j, "reward is infinite (use NaN for unknown)"};
  }
  if constexpr (E::token_level)
    if (v.max_length <= 0)
      return {errc::shape_mismatch, "max_length", -1,
              "token-level estimator needs T > 0, got " + std::to_string(v.max_length)};
  GRPO_TRY(check_lengths(v, needs_lengths<E>));
  if constexpr (std::is_same_v<E, reinforce_pp>) {
    if (est.beta > 0.0) {
      if (!v.logp_old) return {errc::null_pointer, "logp_old", -1, "needed when beta > 0"};
      if (!v.logp_ref) return {errc::null_pointer, "logp_ref", -1, "needed when beta > 0"};
      for (index_t i = 0; i < N; ++i)
        for (index_t t = 0; t < v.lengths[i]; ++t) {
          const index_t at = i * v.max_length + t;
          if (!std::isfinite(v.logp_old[at]))
            return {errc::non_finite, "logp_old", at, "at a completion token"};
          if (!std::isfinite(v.logp_ref[at]))
            return {errc::non_finite, "logp_ref", at, "at a completion token"};
        }
    }
  }
  if constexpr (std::is_same_v<E, remax>) {
    if (!v.baseline_rewards)
      return {errc::null_pointer, "baseline_rewards", -1, "ReMax needs one greedy reward per group"};
    for (index_t g = 0; g < layout.num_groups; ++g)
      if (std::isinf(v.baseline_rewards[g]))
        return {errc::non_finite, "baseline_rewards", g, "baseline reward is infinite"};
  }
  if constexpr (std::is_same_v<E, process_supervision>) {
    if (!v.step_offsets) return {errc::null_pointer, "step_offsets", -1, ""};
    if (v.step_offsets[0] != 0)
      return {errc::out_of_range, "step_offsets", 0, "step_offsets[0] must be 0"};
    if (v.step_offsets[N] > 0) {  // a batch without steps may pass null step arrays
      if (!v.step_end) return {errc::null_pointer, "step_end", -1, ""};
      if (!v.step_reward) return {errc::null_pointer, "step_reward", -1, ""};
    }
    for (index_t i = 0; i < N; ++i) {
      if (v.step_offsets[i + 1] < v.step_offsets[i])
        return {errc::out_of_range, "step_offsets", i + 1, "step offsets must not decrease"};
      for (index_t j = v.step_offsets[i]; j < v.step_offsets[i + 1]; ++j) {
        if (v.step_end[j] < 0 || v.step_end[j] >= v.lengths[i])
          return {errc::out_of_range, "step_end", j,
                  "step of sequence " + std::to_string(i) + " ends at token " +
                      std::to_string(v.step_end[j]) + ", outside [0, T_i = " +
                      std::to_string(v.lengths[i]) + ")"};
        if (std::isinf(v.step_reward[j]))
          return {errc::non_finite, "step_reward", j, "step reward is infinite"};
      }
    }
  }
  return {};
}

/// Runs the estimator without validation (the caller vouches for the inputs, for speed).
/// A_out is [N] for sequence-level estimators, [N, T] (row stride reward_view::max_length)
/// for token-level ones.
template <advantage_estimator E, class Real, batch_reduction Reduction = local_reduction>
status compute_advantages_unchecked(const E& est, const basic_reward_view<Real>& v, const group_layout& layout,
                                    Real* A_out, advantage_stats& stats,
                                    const Reduction& reduction = {}) {
  using namespace advantage_detail;
  const index_t N = v.num_sequences, P = layout.num_groups, T = v.max_length;
  stats = advantage_stats{};

  // Several rewards: every estimator but GDPO sees their weighted sum.
  std::vector<Real> combined;
  const Real* r = v.rewards;
  if constexpr (reads_rewards<E> && !std::is_same_v<E, gdpo>) {
    if (v.num_rewards > 1) {
      combined.resize(static_cast<std::size_t>(N));
      for (index_t i = 0; i < N; ++i)
        combined[i] = weighted_reward(v.rewards + i * v.num_rewards, v.num_rewards,
                                      v.reward_weights);
      r = combined.data();
    }
  }

  index_t zero_std = 0, nan_count = 0;
  auto count_nan = [&] {
    for (index_t i = 0; i < N; ++i) nan_count += is_nan(r[i]) ? 1 : 0;
  };
  auto group_degenerate = [&](index_t g) {
    return layout.size(g) >= 2 && moments_of(r + layout.begin(g), layout.size(g)).degenerate();
  };

  if constexpr (std::is_same_v<E, group_normalized> || std::is_same_v<E, mean_only>) {
    bool by_std = false;
    std_convention conv = std_convention::bessel;
    double eps = 0.0;
    if constexpr (std::is_same_v<E, group_normalized>) {
      by_std = true;
      conv = est.convention;
      eps = est.eps;
    }
    for (index_t g = 0; g < P; ++g) {
      const index_t b = layout.begin(g);
      zero_std += normalize_group(r + b, layout.size(g), 1, by_std, conv, eps, 1.0, A_out + b, 1);
    }
    count_nan();
  } else if constexpr (std::is_same_v<E, group_mean_batch_std>) {
    const batch_moments bm = reduce_moments(reduction, [&](auto&& f) {
      for (index_t i = 0; i < N; ++i)
        if (!is_nan(r[i])) f(double(r[i]), 1.0);
    });
    stats.batch_mean = bm.mean;
    stats.batch_std = std_of(bm.m2, bm.weight, est.convention);
    const double scale = safe_inverse(stats.batch_std + est.eps);
    for (index_t g = 0; g < P; ++g) {
      const index_t b = layout.begin(g);
      zero_std += normalize_group(r + b, layout.size(g), 1, false, est.convention, 0.0, scale,
                                  A_out + b, 1);
    }
    count_nan();
  } else if constexpr (std::is_same_v<E, rloo>) {
    for (index_t g = 0; g < P; ++g)
      zero_std += rloo_group(r + layout.begin(g), layout.size(g), A_out + layout.begin(g));
    count_nan();
  } else if constexpr (std::is_same_v<E, opo>) {
    for (index_t g = 0; g < P; ++g) {
      const index_t b = layout.begin(g);
      zero_std += opo_group(r + b, v.lengths + b, layout.size(g), A_out + b);
    }
    count_nan();
  } else if constexpr (std::is_same_v<E, remax>) {
    for (index_t g = 0; g < P; ++g) {
      const index_t b = layout.begin(g);
      zero_std += remax_group(r + b, layout.size(g), v.baseline_rewards[g], A_out + b);
    }
    count_nan();
  } else if constexpr (std::is_same_v<E, passk_grpo>) {
    for (index_t g = 0; g < P; ++g) {
      const index_t b = layout.begin(g);
      zero_std += passk_group(r + b, layout.size(g), est.scale_by_std, est.convention, est.eps,
                              A_out + b);
    }
    count_nan();
  } else if constexpr (std::is_same_v<E, gpg>) {
    double counts[2] = {double(N), 0.0};  // batch size, nonzero finite rewards
    for (index_t i = 0; i < N; ++i) counts[1] += (!is_nan(r[i]) && r[i] != Real(0)) ? 1.0 : 0.0;
    reduction.sum(counts, 2);
    stats.gpg_alpha = counts[0] / std::max(counts[1], 1.0);
    for (index_t g = 0; g < P; ++g) {
      const index_t b = layout.begin(g);
      zero_std += normalize_group(r + b, layout.size(g), 1, est.scale_by_std, est.convention,
                                  est.eps, stats.gpg_alpha, A_out + b, 1);
    }
    count_nan();
  } else if constexpr (std::is_same_v<E, reinforce_pp_baseline>) {
    for (index_t g = 0; g < P; ++g) {
      const index_t b = layout.begin(g);
      zero_std += normalize_group(r + b, layout.size(g), 1, false, std_convention::bessel, 0.0,
                                  1.0, A_out + b, 1);
    }
    // Whitening over the completion tokens: a sequence's centred reward is repeated on its T_i
    // tokens, so it enters the token statistics with weight T_i.
    const batch_moments bm = reduce_moments(reduction, [&](auto&& f) {
      for (index_t i = 0; i < N; ++i)
        if (!is_nan(r[i])) f(double(A_out[i]), v.lengths ? double(v.lengths[i]) : 1.0);
    });
    stats.batch_mean = bm.mean;
    const double sd = std_of(bm.m2, bm.weight, std_convention::bessel);
    stats.batch_std = std::sqrt(sd * sd + est.whiten_eps);
    const double inv = safe_inverse(stats.batch_std);
    for (index_t i = 0; i < N; ++i)
      A_out[i] = is_nan(r[i]) ? Real(0) : static_cast<Real>((A_out[i] - bm.mean) * inv);
    count_nan();
  } else if constexpr (std::is_same_v<E, reinforce_pp>) {
    std::vector<double> returns(static_cast<std::size_t>(N * T), 0.0);
    for (index_t i = 0; i < N; ++i) {
      if (is_nan(r[i])) continue;
      reinforce_returns(r[i], v.logp_old ? v.logp_old + i * T : nullptr,
                        v.logp_ref ? v.logp_ref + i * T : nullptr, v.lengths[i], T, est.gamma,
                        est.beta, returns.data() + i * T);
    }
    const batch_moments bm = reduce_moments(reduction, [&](auto&& f) {
      for (index_t i = 0; i < N; ++i)
        if (!is_nan(r[i]))
          for (index_t t = 0; t < v.lengths[i]; ++t) f(returns[i * T + t], 1.0);
    });
    stats.batch_mean = bm.mean;
    const double sd = std_of(bm.m2, bm.weight, std_convention::bessel);
    stats.batch_std = std::sqrt(sd * sd + est.whiten_eps);
    const double inv = safe_inverse(stats.batch_std);
    for (index_t i = 0; i < N; ++i)
      for (index_t t = 0; t < T; ++t)
        A_out[i * T + t] = (is_nan(r[i]) || t >= v.lengths[i])
                               ? Real(0)
                               : static_cast<Real>((returns[i * T + t] - bm.mean) * inv);
    for (index_t g = 0; g < P; ++g) zero_std += group_degenerate(g);
    count_nan();
  } else if constexpr (std::is_same_v<E, gdpo>) {
    const index_t K = v.num_rewards;
    auto row_unknown = [&](index_t i) {
      for (index_t k = 0; k < K; ++k)
        if (!is_nan(v.rewards[i * K + k])) return false;
      return true;
    };
    for (index_t g = 0; g < P; ++g) {
      const index_t b = layout.begin(g);
      zero_std += gdpo_group(v.rewards + b * K, layout.size(g), K, v.reward_weights,
                             est.convention, est.eps, A_out + b);
    }
    const batch_moments bm = reduce_moments(reduction, [&](auto&& f) {
      for (index_t i = 0; i < N; ++i)
        if (!row_unknown(i)) f(double(A_out[i]), 1.0);
    });
    stats.batch_mean = bm.mean;
    stats.batch_std = std_of(bm.m2, bm.weight, est.convention);
    const double inv = safe_inverse(stats.batch_std + est.batch_eps);
    for (index_t i = 0; i < N; ++i) {
      const bool unknown = row_unknown(i);
      nan_count += unknown ? 1 : 0;
      A_out[i] = unknown ? Real(0) : static_cast<Real>((A_out[i] - bm.mean) * inv);
    }
  } else if constexpr (std::is_same_v<E, process_supervision>) {
    for (index_t g = 0; g < P; ++g) {
      const index_t b = layout.begin(g);
      zero_std += process_group(v.step_offsets + b, v.step_end, v.step_reward, v.lengths + b,
                                layout.size(g), T, est.convention, est.eps, A_out + b * T);
    }
    for (index_t j = 0; j < v.step_offsets[N]; ++j) nan_count += is_nan(v.step_reward[j]) ? 1 : 0;
  } else {
    static_assert(sizeof(E) == 0, "compute_advantages: no implementation for this estimator");
  }

  double counts[3] = {double(P), double(zero_std), double(nan_count)};
  reduction.sum(counts, 3);
  stats.num_groups = static_cast<index_t>(counts[0]);
  stats.zero_std_groups = static_cast<index_t>(counts[1]);
  stats.nan_rewards = static_cast<index_t>(counts[2]);
  stats.zero_std_fraction = counts[0] > 0.0 ? counts[1] / counts[0] : 0.0;
  return {};
}

/// Validates every input (see validate_advantage_inputs), then computes the advantages.
template <advantage_estimator E, class Real, batch_reduction Reduction = local_reduction>
status compute_advantages(const E& est, const basic_reward_view<Real>& v, const group_layout& layout,
                          Real* A_out, advantage_stats& stats, const Reduction& reduction = {}) {
  GRPO_TRY(validate_advantage_inputs(est, v, layout, A_out));
  return compute_advantages_unchecked(est, v, layout, A_out, stats, reduction);
}

/// compute_advantages, throwing grpo::error on bad input.
template <advantage_estimator E, class Real, batch_reduction Reduction = local_reduction>
advantage_stats compute_advantages_or_throw(const E& est, const basic_reward_view<Real>& v,
                                            const group_layout& layout, Real* A_out,
                                            const Reduction& reduction = {}) {
  advantage_stats stats;
  throw_if_error(compute_advantages(est, v, layout, A_out, stats, reduction));
  return stats;
}

}  // namespace grpo
