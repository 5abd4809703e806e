#pragma once
// Presets: objectives configured as each peer library configures them, checked against the
// peers' own code (tests/peers/test_peers.cpp over tests/peers/fixtures/, docs/objective.md
// has the table of what was compared and the largest error).
//   grpo::presets::trl::{grpo, bnpo, dr_grpo, dapo, cispo, sapo, luspo}()          TRL 1.16
//   grpo::presets::verl::{vanilla, gspo, sapo, gpg, geo_mean, cispo, dro}<Agg>()    verl 0.9.1
//   grpo::presets::openrlhf::{ppo, gspo}<K>()                                       OpenRLHF 0.11.2
//   grpo::presets::liger::{grpo, bnpo, dr_grpo, dapo, cispo, sapo}()                Liger-Kernel 0.8.5
// Each returns a plain objective value; change any member afterwards (p.surrogate.eps_high =
// 0.28), or swap a part with grpo::with<Part>(p) (objective.hpp). Advantages are not part of the
// objective: pair a preset with the matching estimator of grpo/advantage (docs/advantage.md).
// `<peer>::metrics(objective, stats, f)` calls f(name, value) for each statistic under the name
// that peer logs it by.
#include <grpo/objective/objective.hpp>
#include <grpo/objective/pass.hpp>

#include <string_view>
#include <type_traits>

namespace grpo::presets {

namespace detail_ {
inline constexpr double inf = __builtin_huge_val();
template <class O>
O unclamped(O o) {  // no log-ratio clamp, and no clamp in k3's exponent
  o.ratio.log_min = -inf;
  o.ratio.log_max = inf;
  if constexpr (requires { o.kl.exp_min; }) o.kl.exp_min = -inf, o.kl.exp_max = inf;
  if constexpr (requires { o.kl.base.exp_min; }) o.kl.base.exp_min = -inf, o.kl.base.exp_max = inf;
  return o;
}
struct alias {
  const char* peer;
  const char* ours;  // nullptr: the peer logs a constant 0
};
template <class F, std::size_t K>
void report(const objective_statistics& s, const alias (&table)[K], F&& f) {
  for (const alias& a : table) {
    if (a.ours == nullptr) f(std::string_view(a.peer), 0.0);
    else if (s.has(a.ours)) f(std::string_view(a.peer), s[a.ours]);
  }
}
}  // namespace detail_

// ---- TRL (trl/trainer/grpo_trainer.py, GRPOTrainer._compute_loss) --------------------------------
namespace trl {
// GRPOConfig defaults: epsilon = 0.2, epsilon_high = None (=> epsilon), delta = None, beta = 0.0,
// use_bias_correction_kl = True (the KL, when beta > 0, is k3·ratio), loss_type = "dapo",
// importance_sampling_level = "token" (grpo::with<ratio::sequence>(p) for "sequence"), sapo
// temperatures 1.0 / 1.05, max_completion_length = 512. TRL clamps neither log ρ nor k3.
template <class Surrogate, class Aggregation, class Ratio = ratio::token>
using objective_t = objective<Ratio, Surrogate, kl::is_corrected_k3, Aggregation>;

/// loss_type="grpo": PPO-clip, per-sequence token mean, mean over all sequences.
inline auto grpo() { return detail_::unclamped(objective_t<surrogate::ppo_clip, aggregation::seq_mean_token_mean>{}); }
/// loss_type="bnpo": token mean over the local micro-batch.
inline auto bnpo() { return detail_::unclamped(objective_t<surrogate::ppo_clip, aggregation::bnpo>{}); }
/// loss_type="dr_grpo": Σ / (N · max_completion_length).
inline auto dr_grpo(double max_completion_length = 512) {
  auto o = detail_::unclamped(objective_t<surrogate::ppo_clip, aggregation::constant>{});
  o.aggregation.max_length = max_completion_length;
  return o;
}
/// loss_type="dapo" (TRL's default): token mean over the generation batch (num_items_in_batch,
/// through the reduction hook). The DAPO paper's ε_high = 0.28 is opt-in, as in TRL.
inline auto dapo() { return detail_::unclamped(objective_t<surrogate::ppo_clip, aggregation::token_mean>{}); }
/// loss_type="cispo": −sg(min(ρ, ε_max))·A·logp, token mean. TRL's ε_max is `epsilon_high`,
/// which falls back to epsilon = 0.2; TRL's docs recommend 5.0 (ScaleRL): pass it explicitly.
inline auto cispo(double epsilon_high = 0.2) {
  auto o = detail_::unclamped(objective_t<surrogate::cispo_trl, aggregation::token_mean>{});
  o.surrogate.eps_max = epsilon_high;
  return o;
}
/// loss_type="sapo": soft gate with τ = 1.0 (A > 0) / 1.05, per-sequence token mean.
inline auto sapo() { return detail_::unclamped(objective_t<surrogate::sapo, aggregation::seq_mean_token_mean>{}); }
/// loss_type="luspo" with importance_sampling_level="sequence": GSPO ratio, mean_i(ℓ_i·T_i).
inline auto luspo() {
  return detail_::unclamped(objective_t<surrogate::ppo_clip, aggregation::luspo, ratio::sequence>{});
}

/// TRL's metric names (the ones _compute_loss logs for this objective).
template <class O, class F>
void metrics(const O&, const objective_statistics& s, F&& f) {
  using S = typename O::surrogate_type;
  constexpr bool seq = O::level != ratio_level::token;
  static constexpr detail_::alias common[] = {{"kl", "kl"}, {"entropy", "entropy"}};
  detail_::report(s, common, f);
  if constexpr (std::is_same_v<S, surrogate::ppo_clip>) {
    static constexpr detail_::alias token[] = {
        {"clip_ratio/low_mean", "clip_low"},           {"clip_ratio/high_mean", "clip_high"},
        {"clip_ratio/region_mean", "clip_region"},     {"clip_ratio/low_min", "clip_low_seq_min"},
        {"clip_ratio/high_max", "clip_high_seq_max"}};
    static constexpr detail_::alias sequence[] = {
        {"clip_ratio/low_mean", "clip_low_seq_mean"},  {"clip_ratio/high_mean", "clip_high_seq_mean"},
        {"clip_ratio/region_mean", "clip_region_seq_mean"}, {"clip_ratio/low_min", "clip_low_seq_min"},
        {"clip_ratio/high_max", "clip_high_seq_max"}};
    if constexpr (seq) detail_::report(s, sequence, f);
    else detail_::report(s, token, f);
  } else if constexpr (std::is_same_v<S, surrogate::cispo_trl>) {
    static constexpr detail_::alias t[] = {{"cispo_clip_ratio", seq ? "clip_high_seq_mean" : "clip_high"}};
    detail_::report(s, t, f);
  }
}
}  // namespace trl

// ---- verl (verl/trainer/ppo/core_algos.py, verl/workers/utils/losses.py:ppo_loss) ---------------
namespace verl {
// ActorConfig defaults: clip_ratio_low = clip_ratio_high = 0.2, clip_ratio_c = 3.0 (the dual clip,
// always on for A < 0), loss_agg_mode = "token-mean", use_kl_loss = False with kl_loss_coef
// 0.001 and kl_loss_type "low_var_kl" (k3 with its exponent clamped to ±20 and the value to ±10),
// entropy_coeff 0, tau_pos/neg 1.0/1.05. The trainer passes global_batch_size = N, so the
// seq-mean modes average over all N sequences. Aggregation = loss_agg_mode:
//   token-mean: aggregation::token_mean      seq-mean-token-mean: aggregation::seq_mean_token_mean
//   token-sum: aggregation::token_sum        seq-mean-token-sum: aggregation::seq_mean_token_sum
//   seq-mean-token-sum-norm: aggregation::constant (max_length = loss_scale_factor, 0 = padded T)
// KL types: kl/k1 kl::k1, abs kl::abs, mse/k2 kl::k2, low_var_kl/k3 low_var_kl, "<type>+"
// kl::straight_through<that type>.
using low_var_kl = kl::clamped<kl::k3>;
template <class Ratio, class Surrogate, class Aggregation>
using objective_t = objective<Ratio, Surrogate, low_var_kl, Aggregation>;

/// The vanilla PPO loss. kl_loss_coef > 0 is use_kl_loss = True (verl's GRPO recipe: 0.001).
template <class Aggregation = aggregation::token_mean>
auto vanilla(double kl_loss_coef = 0.0) {
  objective_t<ratio::token, surrogate::ppo_clip, Aggregation> o;
  o.surrogate.dual_clip = 3.0;
  o.beta = kl_loss_coef;
  return o;
}
/// GSPO, token form: log s_{i,t} = logp − sg(logp) + sg(mean log ρ), clamped at 10 from above
/// only; no dual clip.
template <class Aggregation = aggregation::token_mean>
auto gspo(double kl_loss_coef = 0.0) {
  objective_t<ratio::gspo_token, surrogate::ppo_clip, Aggregation> o;
  o.ratio.log_min = -detail_::inf;
  o.ratio.log_max = 10.0;
  o.beta = kl_loss_coef;
  return o;
}
/// SAPO: always aggregated as seq-mean-token-mean.
inline auto sapo(double kl_loss_coef = 0.0) {
  objective_t<ratio::token, surrogate::sapo, aggregation::seq_mean_token_mean> o;
  o.beta = kl_loss_coef;
  return o;
}
/// GPG: −A·logp.
template <class Aggregation = aggregation::token_mean>
auto gpg(double kl_loss_coef = 0.0) {
  objective_t<ratio::token, surrogate::gpg, Aggregation> o;
  o.beta = kl_loss_coef;
  return o;
}
/// geo_mean (GMPO): no log-ratio clamp, ε = clip_ratio_low/high (0.2 by default), a plain mean
/// over all N sequences whatever the loss_agg_mode.
inline auto geo_mean(double kl_loss_coef = 0.0) {
  objective_t<ratio::sequence, surrogate::gmpo, aggregation::seq_mean_token_mean> o;
  o.ratio.log_min = -detail_::inf;
  o.ratio.log_max = detail_::inf;
  o.surrogate.eps_low = o.surrogate.eps_high = 0.2;
  o.beta = kl_loss_coef;
  return o;
}
/// CISPO: −sg(clip(ρ, 1−ε_low, 1+ε_high))·A·logp with clip_ratio_low/high (0.2 by default).
template <class Aggregation = aggregation::token_mean>
auto cispo(double kl_loss_coef = 0.0) {
  objective_t<ratio::token, surrogate::cispo_clipped, Aggregation> o;
  o.surrogate.eps_low = o.surrogate.eps_high = 0.2;
  o.beta = kl_loss_coef;
  return o;
}
/// DRO: −(logp·A − ½·dro_beta·(log ρ)²), no log-ratio clamp (dro_beta has no default in verl).
template <class Aggregation = aggregation::token_mean>
auto dro(double dro_beta, double kl_loss_coef = 0.0) {
  objective_t<ratio::token, surrogate::dro, Aggregation> o;
  o.ratio.log_min = -detail_::inf;
  o.ratio.log_max = detail_::inf;
  o.surrogate.beta = dro_beta;
  o.beta = kl_loss_coef;
  return o;
}

/// verl's metric names (losses.py prefixes every key with actor/).
template <class O, class F>
void metrics(const O&, const objective_statistics& s, F&& f) {
  using S = typename O::surrogate_type;
  static constexpr detail_::alias common[] = {{"actor/ppo_kl", "approx_kl"}};
  if constexpr (!std::is_same_v<S, surrogate::gpg>) detail_::report(s, common, f);
  if constexpr (std::is_same_v<S, surrogate::ppo_clip>) {
    static constexpr detail_::alias t[] = {{"actor/pg_clipfrac", "clip_branch"},
                                           {"actor/pg_clipfrac_lower", O::level == ratio_level::token ? "clip_dual" : nullptr}};
    detail_::report(s, t, f);
  } else if constexpr (std::is_same_v<S, surrogate::cispo_clipped>) {
    static constexpr detail_::alias t[] = {{"actor/pg_clipfrac", "clipped"}, {"actor/pg_clipfrac_lower", nullptr}};
    detail_::report(s, t, f);
  } else if constexpr (std::is_same_v<S, surrogate::gmpo>) {
    static constexpr detail_::alias t[] = {{"actor/pg_clipfrac", "clip_high"}, {"actor/pg_clipfrac_lower", "clip_low"}};
    detail_::report(s, t, f);
  } else if constexpr (std::is_same_v<S, surrogate::sapo>) {
    static constexpr detail_::alias t[] = {{"actor/pg_clipfrac", nullptr}, {"actor/pg_clipfrac_lower", nullptr}};
    detail_::report(s, t, f);
  }
}
}  // namespace verl

// ---- OpenRLHF (openrlhf/models/loss.py PolicyLoss, models/utils.py compute_approx_kl) -------------
namespace openrlhf {
// Defaults: eps_clip 0.2 (low = high), no dual clip, log ρ clamped to ±20 (ppo) before exp,
// loss_agg_mode token-mean; seq-mean-token-mean averages over the non-empty sequences. The KL
// loss (algo.kl.use_loss, coefficient init_coef) is always a token mean, whatever the policy's
// aggregation; every estimator's value is clamped to ±10 and k3's exponent to ≤ 10.
template <class K>
using kl_t = aggregated<kl::clamped<K>, aggregation::token_mean>;

/// The token-mean aggregation, or OpenRLHF's sample mode (seq-mean-token-mean over N⁺).
template <class Aggregation>
Aggregation agg() {
  Aggregation a;
  if constexpr (requires { a.over; }) a.over = aggregation::count::nonempty;
  return a;
}

template <class K = kl::k1, class Aggregation = aggregation::token_mean>
auto ppo(double kl_coef = 0.0) {
  objective<ratio::token, surrogate::ppo_clip, kl_t<K>, Aggregation> o;
  o.ratio.approx_kl_raw = true;
  o.aggregation = agg<Aggregation>();
  if constexpr (requires { o.kl.inner.exp_min; }) o.kl.inner.exp_min = -detail_::inf, o.kl.inner.exp_max = 10.0;
  o.beta = kl_coef;
  return o;
}
/// policy_loss_type="gspo": the sequence ratio with its gradient through the mean, no clamp, and
/// always the sample mode.
template <class K = kl::k1>
auto gspo(double kl_coef = 0.0) {
  objective<ratio::sequence, surrogate::ppo_clip, kl_t<K>, aggregation::seq_mean_token_mean> o;
  o.ratio.log_min = -detail_::inf;
  o.ratio.log_max = detail_::inf;
  o.aggregation.over = aggregation::count::nonempty;
  if constexpr (requires { o.kl.inner.exp_min; }) o.kl.inner.exp_min = -detail_::inf, o.kl.inner.exp_max = 10.0;
  o.beta = kl_coef;
  return o;
}

template <class O, class F>
void metrics(const O&, const objective_statistics& s, F&& f) {
  static constexpr detail_::alias t[] = {{"ppo_clip_ratio", "clip_branch"}, {"ppo_kl", "approx_kl"}, {"kl", "kl"}};
  detail_::report(s, t, f);
}
}  // namespace openrlhf

// ---- Liger-Kernel (liger_kernel/chunked_loss/grpo_loss.py, LigerFusedLinearGRPOLoss) -------------
namespace liger {
// Defaults: beta = 0.04 with k3 (not IS-corrected: use_bias_correction_kl = False), epsilon_low
// = epsilon_high = 0.2, loss_type = "dapo", importance_sampling_level = "token", no clamps.
// Liger computes its log-probs in float32 (the fused linear head); these presets take logp.
template <class Surrogate, class Aggregation>
auto make() {
  auto o = detail_::unclamped(objective<ratio::token, Surrogate, kl::k3, Aggregation>{});
  o.beta = 0.04;
  return o;
}
inline auto grpo() { return make<surrogate::ppo_clip, aggregation::seq_mean_token_mean>(); }
inline auto bnpo() { return make<surrogate::ppo_clip, aggregation::bnpo>(); }
inline auto dr_grpo(double max_completion_length) {
  auto o = make<surrogate::ppo_clip, aggregation::constant>();
  o.aggregation.max_length = max_completion_length;
  return o;
}
inline auto dapo() { return make<surrogate::ppo_clip, aggregation::token_mean>(); }
inline auto cispo(double epsilon_high = 0.2) {
  auto o = make<surrogate::cispo_trl, aggregation::token_mean>();
  o.surrogate.eps_max = epsilon_high;
  return o;
}
inline auto sapo() { return make<surrogate::sapo, aggregation::seq_mean_token_mean>(); }

template <class O, class F>
void metrics(const O&, const objective_statistics& s, F&& f) {
  using S = typename O::surrogate_type;
  static constexpr detail_::alias t[] = {
      {"kl", "kl"}, {"clip_ratio", std::is_same_v<S, surrogate::cispo_trl> ? "clip_high" : "clip_region"}};
  detail_::report(s, t, f);
}
}  // namespace liger

}  // namespace grpo::presets
