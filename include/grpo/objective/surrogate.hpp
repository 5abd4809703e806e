#pragma once
// §3 Per-token policy surrogates ℓ (minimised). The hook `policy(c)` returns ℓ and
//   d_log_ratio = ∂ℓ/∂log ρ   (flows to logp through the ratio)
//   d_logp      = ∂ℓ/∂logp at fixed ρ (the terms that multiply logp itself: CISPO, GPG, DRO)
// from the token's ratio c.ratio = exp(c.log_ratio), advantage c.A and c.logp; see node.hpp.
#include <grpo/objective/detail/tags.hpp>
#include <grpo/objective/node.hpp>

namespace grpo::surrogate {

/// PPO-clip with asymmetric ε (DAPO's clip-higher), and two optional caps:
///   ℓ₁ = −min( min(ρ, δ)·A, clip(ρ, 1−ε_low, 1+ε_high)·A )     δ: TRL `delta`, both signs of A
///   ℓ  = min(−c·A, ℓ₁) where A < 0, else ℓ₁                      c: verl `clip_ratio_c`,
///                                                                   OpenRLHF `dual_clip`
/// The active branch decides the gradient: ∂(ρ·A)/∂log ρ = ρ·A where that branch is not at a
/// bound, 0 where it is (clipped ρ, ρ ≥ δ, or the −c·A cap). The two caps agree when
/// δ = c ≥ 1+ε_high.
/// Statistics (TRL grpo_trainer.py, verl core_algos.py compute_policy_loss_vanilla):
///   clip_low    min(ρ, δ) < 1−ε_low and A < 0     (TRL clip_ratio/low_mean; _seq_min: low_min)
///   clip_high   min(ρ, δ) > 1+ε_high and A > 0    (TRL clip_ratio/high_mean; _seq_max: high_max)
///   clip_region either                             (TRL clip_ratio/region_mean)
///   clip_branch −A·clip(ρ) > −A·ρ                  (verl actor/pg_clipfrac)
///   clip_dual   A < 0 and ℓ₁ > −c·A                (verl actor/pg_clipfrac_lower)
struct ppo_clip {
  using category = surrogate_tag;
  static constexpr const char* name = "ppo_clip";
  static constexpr stat_def stats[] = {{"clip_low", stat::mean | stat::seq_min},
                                       {"clip_high", stat::mean | stat::seq_max},
                                       {"clip_region", stat::mean},
                                       {"clip_branch", stat::mean},
                                       {"clip_dual", stat::mean}};
  double eps_low = 0.2;
  double eps_high = 0.2;
  double delta = lane::inf();      // TRL two-sided cap; +inf = off
  double dual_clip = lane::inf();  // verl/OpenRLHF cap for A < 0; +inf = off

  template <class C>
  GRPO_HD auto policy(C& c) const {
    using L = typename C::lane;
    using M = typename C::mask;
    const L rho = c.ratio, A = c.A, zero(0.0f), lo(1 - eps_low), hi(1 + eps_high);
    M inside;
    const L rc = lane::clamp(rho, lo, hi, inside), cl = rc * A, rA = rho * A;
    // −min(ρ'·A, clip(ρ)·A) with ρ' = min(ρ, δ); the branch taken decides the gradient
    L capped_rho = rho, u = rA;
    M not_capped = lane::all_lanes<L>();
    if (delta < lane::inf()) {
      capped_rho = lane::min(rho, L(delta));
      not_capped = rho <= L(delta);
      u = capped_rho * A;
    }
    const M take_u = u <= cl;
    L value = -lane::select(take_u, u, cl);
    L d = lane::when((take_u & not_capped) | ((!take_u) & inside), -rA);
    const M low = (capped_rho < lo) & (A < zero), high = (capped_rho > hi) & (A > zero);
    c.count(0, low);
    c.count(1, high);
    c.count(2, low | high);
    c.count(3, cl < rA);  // −A·clip(ρ) > −A·ρ: negation is exact, so the same test
    if (dual_clip < lane::inf()) {  // for A < 0: ℓ = min(−c·A, ℓ₁)
      const L cap = -L(dual_clip) * A;
      const M capped = (A < zero) & (cap < value);
      c.count(4, capped);
      value = lane::select(capped, cap, value);
      d = lane::select(capped, zero, d);
    }
    return policy_value<L>{value, d, zero};
  }
  const char* check() const {
    if (!(eps_low >= 0 && eps_low < 1)) return "ppo_clip eps_low must be in [0, 1)";
    if (!(eps_high >= 0)) return "ppo_clip eps_high must be >= 0";
    if (!(delta > 1)) return "ppo_clip delta must be > 1 (+inf = off)";
    if (!(dual_clip > 1)) return "ppo_clip dual_clip must be > 1 (+inf = off)";
    return nullptr;
  }
};

/// CISPO, TRL/Liger form: ℓ = −sg(min(ρ, ε_max))·A·logp, ε_max a raw bound (TRL's
/// `epsilon_high`, ≈ 5 in ScaleRL). The weight is a constant, so ∂ℓ/∂logp = −min(ρ, ε_max)·A.
/// Statistic clip_high: ρ > ε_max and A > 0 (TRL cispo_clip_ratio).
struct cispo_trl {
  using category = surrogate_tag;
  static constexpr const char* name = "cispo_trl";
  static constexpr stat_def stats[] = {{"clip_high", stat::mean}};
  double eps_max = 5.0;

  template <class C>
  GRPO_HD auto policy(C& c) const {
    using L = typename C::lane;
    const L w = lane::min(c.ratio, L(eps_max));
    c.count(0, (c.ratio > L(eps_max)) & (c.A > L(0.0f)));
    return policy_value<L>{-w * c.A * c.logp, L(0.0f), -w * c.A};
  }
  const char* check() const { return eps_max > 0 ? nullptr : "cispo_trl eps_max must be > 0"; }
};

/// CISPO, paper (MiniMax-M1, arXiv 2506.13585) / verl form:
/// ℓ = −sg(clip(ρ, 1−ε_low, 1+ε_high))·A·logp. Statistic clipped: ρ outside the interval, any
/// sign of A (verl actor/pg_clipfrac).
struct cispo_clipped {
  using category = surrogate_tag;
  static constexpr const char* name = "cispo_clipped";
  static constexpr stat_def stats[] = {{"clipped", stat::mean}};
  double eps_low = 0.2;
  double eps_high = 0.28;

  template <class C>
  GRPO_HD auto policy(C& c) const {
    using L = typename C::lane;
    typename C::mask inside;
    const L w = lane::clamp(c.ratio, L(1 - eps_low), L(1 + eps_high), inside);
    c.count(0, c.ratio != w);
    return policy_value<L>{-w * c.A * c.logp, L(0.0f), -w * c.A};
  }
  const char* check() const {
    // ε_low > 1 puts the lower bound at or below 0, where a ratio never is: no lower clip
    // (verl's CISPO runs with clip_ratio_low = 10 that way)
    if (!(eps_low >= 0 && eps_low - eps_low == 0)) return "cispo_clipped eps_low must be finite and >= 0";
    return eps_high >= 0 && eps_high - eps_high == 0 ? nullptr : "cispo_clipped eps_high must be finite and >= 0";
  }
};

/// SAPO (arXiv 2511.20347): ℓ = −σ(τ(ρ−1))·(4/τ)·A, τ = tau_pos if A > 0 else tau_neg.
/// ∂ℓ/∂log ρ = −(4/τ)·A·σ(1−σ)·τ·ρ = −4·A·ρ·σ(1−σ).
struct sapo {
  using category = surrogate_tag;
  static constexpr const char* name = "sapo";
  double tau_pos = 1.0;
  double tau_neg = 1.05;

  template <class C>
  GRPO_HD auto policy(C& c) const {
    using L = typename C::lane;
    const L one(1.0f), tau = lane::select(c.A > L(0.0f), L(tau_pos), L(tau_neg));
    const L s = lane::sigmoid(tau * (c.ratio - one));
    return policy_value<L>{-s * (L(4.0f) / tau) * c.A, L(-4.0f) * c.A * c.ratio * s * (one - s), L(0.0f)};
  }
  const char* check() const {
    return tau_pos > 0 && tau_neg > 0 ? nullptr : "sapo temperatures must be > 0";
  }
};

/// GMPO (arXiv 2507.20673; verl `geo_mean`): the sequence weight is the geometric mean
/// exp(Σ_t M·c_t / T_i) of sign-aware clamped log-ratios c_t, and ℓ_i = −weight·Â_i; use with
/// ratio::sequence, which sums `sequence_term`.
///   c_t = min(log ρ, ε_high) for A > 0, max(log ρ, −ε_low) for A < 0, 0 for A = 0
///   (verl: sgn(A)·min(sgn(A)·x, sgn(A)·clamp(x, −ε_low, ε_high)))
/// ∂ℓ/∂log s = −s·A. Statistics: clip_high / clip_low, a token's log ρ outside
/// [−ε_low, ε_high] with A > 0 / A < 0 (verl actor/pg_clipfrac, actor/pg_clipfrac_lower).
struct gmpo {
  using category = surrogate_tag;
  static constexpr const char* name = "gmpo";
  static constexpr bool needs_sequence_ratio = true;
  static constexpr stat_def stats[] = {{"clip_high", stat::mean}, {"clip_low", stat::mean}};
  double eps_low = 0.4;
  double eps_high = 0.4;

  template <class L, class M>
  GRPO_HD L sequence_term(const L& x, const L& A, M& inside) const {
    const L zero(0.0f);
    const L hi(eps_high), lo(-eps_low);
    const M pos = A > zero, neg = A < zero;
    inside = (pos & !(x > hi)) | (neg & !(x < lo));
    return lane::select(pos, lane::min(x, hi), lane::select(neg, lane::max(x, lo), zero));
  }
  template <class C>
  GRPO_HD auto policy(C& c) const {
    using L = typename C::lane;
    typename C::mask inside;
    const L x = c.logp - c.old, zero(0.0f);
    const L clamped = lane::clamp(x, L(-eps_low), L(eps_high), inside);
    c.count(0, (x != clamped) & (c.A > zero));
    c.count(1, (x != clamped) & (c.A < zero));
    return policy_value<L>{-c.ratio * c.A, -c.ratio * c.A, zero};
  }
  const char* check() const {
    return eps_low >= 0 && eps_high >= 0 ? nullptr : "gmpo eps_low and eps_high must be >= 0";
  }
};

/// GPG / plain REINFORCE (arXiv 2504.02546; verl `gpg`): ℓ = −A·logp, ∂ℓ/∂logp = −A.
struct gpg {
  using category = surrogate_tag;
  static constexpr const char* name = "gpg";
  template <class C>
  GRPO_HD auto policy(C& c) const {
    using L = typename C::lane;
    return policy_value<L>{-c.A * c.logp, L(0.0f), -c.A};
  }
};

/// DRO: ℓ = −(logp·A − ½·β·(log ρ)²); ∂ℓ/∂logp = −A, ∂ℓ/∂log ρ = β·log ρ.
struct dro {
  using category = surrogate_tag;
  static constexpr const char* name = "dro";
  double beta = 1.0;  // DRO's own quadratic weight (not the KL coefficient)
  template <class C>
  GRPO_HD auto policy(C& c) const {
    using L = typename C::lane;
    const L b(beta), lr = c.log_ratio;
    return policy_value<L>{-(c.logp * c.A - L(0.5f) * b * lr * lr), b * lr, -c.A};
  }
  const char* check() const { return beta >= 0 ? nullptr : "dro beta must be >= 0"; }
};

}  // namespace grpo::surrogate
