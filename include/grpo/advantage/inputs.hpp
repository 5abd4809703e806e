#pragma once
// What the advantage estimators read and report: a non-owning view of the rewards (and, for the
// token-level estimators, lengths, log-probabilities or step rewards), and the statistics of one
// call. Every pointer is the caller's memory; nothing is copied.
#include <grpo/core/macros.hpp>

#include <cstdint>

namespace grpo {

/// How a group's standard deviation is normalised: Bessel divides the sum of squared deviations
/// by (n - 1) (torch.std's default: TRL, verl, OpenRLHF), population by n.
enum class std_convention { bessel, population };

inline const char* to_string(std_convention c) noexcept {
  return c == std_convention::bessel ? "bessel" : "population";
}

/// Inputs of `compute_advantages`, in float (`reward_view`) or double (`reward_view64`; the
/// advantages are then written in double). Only `rewards` and `num_sequences` are always needed; each
/// estimator names the other fields it reads (see estimators.hpp) and validation reports a
/// missing one as a null pointer.
///
/// Rewards may be NaN ("unknown"): such a completion is left out of every statistic and gets
/// A = 0. +-Inf is an error.
template <class Real>
struct basic_reward_view {
  /// [N] one reward per sequence, or [N, K] row-major when `num_rewards` = K > 1.
  const Real* rewards = nullptr;
  index_t num_sequences = 0;  // N
  /// K reward functions. Every estimator except `gdpo` first combines them into one reward
  /// R_i = sum_k w_k r_ik ("sum_then_normalize"); `gdpo` normalises each one first.
  index_t num_rewards = 1;
  const Real* reward_weights = nullptr;  // [K]; null means w_k = 1

  /// Row stride T of the padded [N, T] token arrays (also the row stride of A_out for the
  /// token-level estimators).
  index_t max_length = 0;
  /// [N] completion lengths T_i, 0 <= T_i <= T: tokens [0, T_i) of row i are the completion.
  /// Needed by opo, reinforce_pp, process_supervision; optional for reinforce_pp_baseline
  /// (whitening weights each sequence by its token count when given, by 1 otherwise).
  const std::int32_t* lengths = nullptr;  // the same type as token_batch::lengths

  /// [N, T] log-probabilities of the sampling policy and of the reference model; reinforce_pp
  /// with beta > 0 puts -beta * k1 = -beta * (logp_old - logp_ref) on every completion token.
  const Real* logp_old = nullptr;
  const Real* logp_ref = nullptr;

  /// [P] ReMax: the reward of the greedy completion of each group's prompt (NaN = unknown:
  /// the group's advantages are 0).
  const Real* baseline_rewards = nullptr;

  /// Process supervision, compressed rows: the steps of sequence i are
  /// j in [step_offsets[i], step_offsets[i+1]); step j ends at token step_end[j] (inclusive,
  /// 0 <= step_end[j] < T_i) and has reward step_reward[j] (NaN = unknown, contributes 0).
  /// step_offsets has N + 1 entries, step_offsets[0] = 0, non-decreasing.
  const index_t* step_offsets = nullptr;
  const index_t* step_end = nullptr;
  const Real* step_reward = nullptr;
};
using reward_view = basic_reward_view<float>;
using reward_view64 = basic_reward_view<double>;

/// What one call reports. Counts are global (they go through the batch reduction).
struct advantage_stats {
  index_t num_groups = 0;
  /// Groups that carry no learning signal from their own rewards: at least two members and
  /// all finite rewards equal, or fewer than two finite rewards. Their members get A = 0 (the
  /// whitening estimators then shift them like everyone else; see docs/advantage.md).
  index_t zero_std_groups = 0;
  double zero_std_fraction = 0.0;
  index_t nan_rewards = 0;  // sequences whose (combined) reward is NaN, all given A = 0
  /// The batch-wide normaliser when the estimator has one (batch std, whitening mean and
  /// standard deviation sqrt(var + 1e-8)); 0 otherwise.
  double batch_mean = 0.0;
  double batch_std = 0.0;
  double gpg_alpha = 0.0;  // GPG's alpha = N / max(#nonzero rewards, 1); 0 for the others
};

}  // namespace grpo
