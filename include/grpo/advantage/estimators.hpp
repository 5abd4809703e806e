#pragma once
// The advantage estimators (spec §1) as small typed structs: the type chooses the algorithm, the
// members hold its hyper-parameters as run-time values with defaults. Each struct also says
//   name            its name as in docs/advantage.md
//   token_level     true: A_out is [N, T] (per token); false: A_out is [N] (per sequence)
//   min_group_size  the smallest group it accepts (2 where a group of one has no meaning)
// The structs are plain aggregates usable in device code; Hana reflection for printing lives in
// reflect.hpp (host only).
#include <grpo/advantage/inputs.hpp>
#include <grpo/core/macros.hpp>

#include <concepts>

namespace grpo {

/// A_i = (r_i - mean_g) / (std_g + eps). GRPO / DeepSeekMath eq. 3.
/// Peers: TRL scale_rewards="group" (bessel, eps 1e-4), verl `grpo` (bessel, 1e-6),
/// OpenRLHF `group_norm` (bessel, 1e-9).
struct group_normalized {
  static constexpr const char* name = "group_normalized";
  static constexpr bool token_level = false;
  static constexpr index_t min_group_size = 1;
  std_convention convention = std_convention::bessel;
  double eps = 1e-6;
};

/// A_i = r_i - mean_g. Dr. GRPO. TRL scale_rewards="none", verl norm_adv_by_std_in_grpo=False,
/// OpenRLHF `dr_grpo`.
struct mean_only {
  static constexpr const char* name = "mean_only";
  static constexpr bool token_level = false;
  static constexpr index_t min_group_size = 1;
};

/// A_i = (r_i - mean_g) / (std_batch + eps): the mean per group, the std over every finite
/// reward of the (global) batch. TRL scale_rewards="batch".
struct group_mean_batch_std {
  static constexpr const char* name = "group_mean_batch_std";
  static constexpr bool token_level = false;
  static constexpr index_t min_group_size = 1;
  std_convention convention = std_convention::bessel;
  double eps = 1e-4;
};

/// A_i = r_i - mean of the other members = G/(G-1)·(r_i - mean_g). verl/OpenRLHF `rloo`.
struct rloo {
  static constexpr const char* name = "rloo";
  static constexpr bool token_level = false;
  static constexpr index_t min_group_size = 2;
};

/// REINFORCE++: token rewards (the sequence reward on its last token, -beta·k1 on every token
/// when beta > 0), discounted returns G_t = r_t + gamma·G_{t+1}, whitened over every completion
/// token of the batch: (G - mean) / sqrt(var + whiten_eps), var unbiased.
/// Reads lengths, max_length (and logp_old, logp_ref when beta > 0). A_out is [N, T].
/// verl `reinforce_plus_plus`, OpenRLHF `reinforce`.
struct reinforce_pp {
  static constexpr const char* name = "reinforce_pp";
  static constexpr bool token_level = true;
  static constexpr index_t min_group_size = 1;
  double gamma = 1.0;
  double beta = 0.0;
  double whiten_eps = 1e-8;
};

/// REINFORCE++-baseline: x_i = r_i - mean_g, then whitened over the batch's completion tokens
/// (each sequence weighted by T_i when lengths are given, by 1 otherwise):
/// (x - mean) / sqrt(var + whiten_eps), var unbiased. verl `reinforce_plus_plus_baseline`,
/// OpenRLHF `reinforce_baseline`.
struct reinforce_pp_baseline {
  static constexpr const char* name = "reinforce_pp_baseline";
  static constexpr bool token_level = false;
  static constexpr index_t min_group_size = 1;
  double whiten_eps = 1e-8;
};

/// ReMax: A_i = r_i - b_g, b_g the reward of the greedy completion of group g's prompt
/// (reward_view::baseline_rewards, [P]). verl `remax`.
struct remax {
  static constexpr const char* name = "remax";
  static constexpr bool token_level = false;
  static constexpr index_t min_group_size = 1;
};

/// OPO: A_i = r_i - sum_j T_j r_j / sum_j T_j (length-weighted group baseline). Reads lengths.
/// verl `opo`.
struct opo {
  static constexpr const char* name = "opo";
  static constexpr bool token_level = false;
  static constexpr index_t min_group_size = 1;
};

/// GPG: A_i = alpha·(r_i - mean_g) [/ (std_g + eps) when scale_by_std],
/// alpha = N / max(#nonzero finite rewards, 1) over the global batch. verl `gpg`.
struct gpg {
  static constexpr const char* name = "gpg";
  static constexpr bool token_level = false;
  static constexpr index_t min_group_size = 1;
  bool scale_by_std = false;
  std_convention convention = std_convention::bessel;
  double eps = 1e-6;
};

/// pass@k-GRPO: the best member of a group gets r_max - r_second (÷ (std_g + eps) when
/// scale_by_std), every other member 0. verl `grpo_passk`.
struct passk_grpo {
  static constexpr const char* name = "passk_grpo";
  static constexpr bool token_level = false;
  static constexpr index_t min_group_size = 2;
  bool scale_by_std = true;
  std_convention convention = std_convention::bessel;
  double eps = 1e-6;
};

/// GDPO (several rewards, reward_view::num_rewards = K): each reward normalised within its
/// group, (r_ik - mean_gk) / (std_gk + eps), weighted sum over k, then whitened over the batch:
/// (x - mean) / (std + batch_eps). TRL multi_objective_aggregation="normalize_then_sum",
/// verl `gdpo`.
struct gdpo {
  static constexpr const char* name = "gdpo";
  static constexpr bool token_level = false;
  static constexpr index_t min_group_size = 1;
  std_convention convention = std_convention::bessel;
  double eps = 1e-6;
  double batch_eps = 1e-6;
};

/// Process supervision (DeepSeekMath §4.1.3): the step rewards of a whole group are normalised
/// together, (r_j - mean) / (std + eps), and token t of sequence i gets the sum of the
/// normalised rewards of its steps that end at or after t. Reads step_offsets, step_end,
/// step_reward, lengths, max_length. A_out is [N, T]. `rewards` is not read.
struct process_supervision {
  static constexpr const char* name = "process_supervision";
  static constexpr bool token_level = true;
  static constexpr index_t min_group_size = 1;
  std_convention convention = std_convention::bessel;
  double eps = 1e-6;
};

template <class E>
concept advantage_estimator = requires {
  { E::name } -> std::convertible_to<const char*>;
  { E::token_level } -> std::convertible_to<bool>;
  { E::min_group_size } -> std::convertible_to<index_t>;
};

}  // namespace grpo
