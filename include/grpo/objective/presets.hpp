#pragma once
// Presets: objectives configured as each peer library configures them by default.
//   grpo::presets::trl::{grpo, bnpo, dr_grpo, dapo, cispo, sapo, luspo}
//   grpo::presets::verl::vanilla<Aggregation>()  (one per loss_agg_mode)
//   grpo::presets::openrlhf::{group_norm, dr_grpo, rloo, reinforce_baseline}<KlEstimator>()
// Each returns a plain objective value; change any member afterwards (p.surrogate.eps_high = 0.28).
// Advantages are not part of the objective: pair a preset with the matching estimator of
// grpo/advantage. The one deliberate deviation: TRL does not clamp log ρ; these presets keep the
// ±20 safety clamp, which changes nothing unless |logp − old| > 20 (ρ > 4.85e8).
#include <grpo/objective/objective.hpp>

namespace grpo::presets {

namespace trl {
// TRL GRPOConfig defaults: epsilon = 0.2, epsilon_high = None (=> epsilon), delta = None,
// beta = 0.0 (no KL; set `beta` and give `ref` to enable TRL's k3), loss_type = "dapo",
// importance_sampling_level = "token", sapo temperatures 1.0 / 1.05, max_completion_length = 512.
using grpo_objective = objective<ratio::token, surrogate::ppo_clip, kl::k3, aggregation::seq_mean_token_mean>;
using bnpo_objective = objective<ratio::token, surrogate::ppo_clip, kl::k3, aggregation::bnpo>;
using dr_grpo_objective = objective<ratio::token, surrogate::ppo_clip, kl::k3, aggregation::constant>;
using dapo_objective = objective<ratio::token, surrogate::ppo_clip, kl::k3, aggregation::token_mean>;
using cispo_objective = objective<ratio::token, surrogate::cispo_trl, kl::k3, aggregation::token_mean>;
using sapo_objective = objective<ratio::token, surrogate::sapo, kl::k3, aggregation::seq_mean_token_mean>;
using luspo_objective = objective<ratio::sequence, surrogate::ppo_clip, kl::k3, aggregation::luspo>;

/// loss_type="grpo": PPO-clip, per-sequence token mean, then mean over sequences.
inline grpo_objective grpo() { return {}; }
/// loss_type="bnpo": token mean over the local micro-batch.
inline bnpo_objective bnpo() { return {}; }
/// loss_type="dr_grpo": Σ / (N · max_completion_length).
inline dr_grpo_objective dr_grpo(double max_completion_length = 512) {
  dr_grpo_objective o;
  o.aggregation.max_length = max_completion_length;
  return o;
}
/// loss_type="dapo" (TRL's default): token mean over the global batch. TRL keeps
/// epsilon_high = epsilon = 0.2 unless set; the DAPO paper uses 0.28 (`o.surrogate.eps_high`).
inline dapo_objective dapo() { return {}; }
/// loss_type="cispo": −sg(min(ρ, ε_max))·A·logp, token mean. TRL's ε_max is `epsilon_high`,
/// which defaults to epsilon = 0.2; TRL's docs recommend 5.0 (ScaleRL): pass it explicitly.
inline cispo_objective cispo(double epsilon_high = 0.2) {
  cispo_objective o;
  o.surrogate.eps_max = epsilon_high;
  return o;
}
/// loss_type="sapo": soft gate with τ = 1.0 (A > 0) / 1.05, seq-mean-token-mean.
inline sapo_objective sapo() { return {}; }
/// loss_type="luspo": GSPO sequence ratio, mean_i(ℓ_i·T_i).
inline luspo_objective luspo() { return {}; }
}  // namespace trl

namespace verl {
// verl `vanilla` policy loss: log ρ clamped to ±20, clip_ratio 0.2 (low = high), dual-clip
// clip_ratio_c = 3.0 (always on for A < 0), KL loss `low_var_kl` (k3 with d clamped to ±20 and
// the value to ±10) with kl_loss_coef = 0.001 (set beta = 0 when use_kl_loss is off).
// Aggregation = loss_agg_mode: token_mean (default), seq_mean_token_mean, seq_mean_token_sum,
// constant (= "seq-mean-token-sum-norm", normalised by the padded width), token_sum.
using low_var_kl = kl::clamped<kl::k3>;
template <class Aggregation = aggregation::token_mean>
using vanilla_objective = objective<ratio::token, surrogate::ppo_clip, low_var_kl, Aggregation>;

template <class Aggregation = aggregation::token_mean>
vanilla_objective<Aggregation> vanilla() {
  vanilla_objective<Aggregation> o;
  o.surrogate.delta = 3.0;
  o.beta = 0.001;
  return o;
}
}  // namespace verl

namespace openrlhf {
// OpenRLHF PolicyLoss defaults: log ρ clamped to ±20, eps_clip 0.2, no dual clip, token-level
// loss (global token mean). Every KL estimator is clamped to ±10; the default estimator is k1.
// By default OpenRLHF puts the KL into the reward (`kl.use_loss` off), so the loss has β = 0;
// pass kl_loss_coef (OpenRLHF's init_coef is 0.01) to put it in the loss. The four names
// share one objective; they differ by the advantage estimator (grpo/advantage).
template <class K = kl::k1>
using ppo_objective = objective<ratio::token, surrogate::ppo_clip, kl::clamped<K>, aggregation::token_mean>;

template <class K = kl::k1>
ppo_objective<K> ppo(double kl_loss_coef = 0.0) {
  ppo_objective<K> o;
  o.kl.inner = K{};
  if constexpr (requires { o.kl.inner.d_clamp; }) o.kl.inner.d_clamp = grpo::detail::inf();
  o.beta = kl_loss_coef;
  return o;
}
template <class K = kl::k1>
ppo_objective<K> group_norm(double kl_loss_coef = 0.0) { return ppo<K>(kl_loss_coef); }
template <class K = kl::k1>
ppo_objective<K> dr_grpo(double kl_loss_coef = 0.0) { return ppo<K>(kl_loss_coef); }
template <class K = kl::k1>
ppo_objective<K> rloo(double kl_loss_coef = 0.0) { return ppo<K>(kl_loss_coef); }
template <class K = kl::k1>
ppo_objective<K> reinforce_baseline(double kl_loss_coef = 0.0) { return ppo<K>(kl_loss_coef); }
}  // namespace openrlhf

}  // namespace grpo::presets
