#pragma once
// §3 Per-token policy surrogates ℓ (minimised). Each returns its value and its derivatives
//   d_log_ratio = ∂ℓ/∂log ρ   (flows to logp through the ratio)
//   d_logp      = ∂ℓ/∂logp at fixed ρ (the terms that multiply logp itself: CISPO, GPG, DRO)
// plus whether the token counts as clipped low / high for the statistics.
// Inputs: log_ratio (already clamped), ratio = exp(log_ratio), advantage A, logp.
#include <grpo/objective/detail/math.hpp>
#include <grpo/objective/detail/tags.hpp>

namespace grpo {

template <class Real>
struct surrogate_value {
  Real value;
  Real d_log_ratio;
  Real d_logp;
  bool clipped_low;
  bool clipped_high;
};

/// Surrogates whose sequence-level ratio sums a transformed per-token term (GMPO).
template <class S, class Real>
concept has_sequence_term = requires(const S& s, Real x, Real& d) { s.sequence_term(x, x, d); };

namespace surrogate {

/// PPO-clip with asymmetric ε and the optional two-sided cap δ (TRL `delta`, verl `clip_ratio_c`,
/// OpenRLHF `dual_clip`):  ℓ = −min( min(ρ, δ)·A, clip(ρ, 1−ε_low, 1+ε_high)·A ).
/// The active branch decides the gradient: ∂(ρ·A)/∂log ρ = ρ·A where that branch is not at a
/// bound, 0 where it is (clipped ρ or ρ ≥ δ). For A < 0 and δ ≥ 1+ε_high this equals verl's
/// dual-clip min(−cA, max(−ρA, −clip(ρ)A)).
struct ppo_clip {
  using category = surrogate_tag;
  static constexpr const char* name = "ppo_clip";
  double eps_low = 0.2;
  double eps_high = 0.2;
  double delta = grpo::detail::inf();  // two-sided cap; +inf = off

  template <class Real>
  GRPO_HD surrogate_value<Real> operator()(Real, Real ratio, Real A, Real) const {
    const Real lo = Real(1 - eps_low), hi = Real(1 + eps_high), cap = Real(delta);
    const bool capped = ratio > cap;
    const Real u = (capped ? cap : ratio) * A;
    const bool clipped = ratio < lo || ratio > hi;
    const Real c = (ratio < lo ? lo : (ratio > hi ? hi : ratio)) * A;
    const bool take_u = u <= c;  // −min(u, c)
    const Real d = take_u ? (capped ? Real(0) : -ratio * A) : (clipped ? Real(0) : -ratio * A);
    return {take_u ? -u : -c, d, Real(0), ratio < lo && A < 0, ratio > hi && A > 0};
  }
  const char* check() const {
    if (!(eps_low >= 0 && eps_low < 1)) return "ppo_clip eps_low must be in [0, 1)";
    if (!(eps_high >= 0)) return "ppo_clip eps_high must be >= 0";
    if (!(delta > 1)) return "ppo_clip delta must be > 1 (+inf = off)";
    return nullptr;
  }
};

/// CISPO, TRL/Liger form: ℓ = −sg(min(ρ, ε_max))·A·logp, ε_max a raw bound (≈ 5).
/// The weight is a constant, so ∂ℓ/∂logp = −min(ρ, ε_max)·A.
struct cispo_trl {
  using category = surrogate_tag;
  static constexpr const char* name = "cispo_trl";
  double eps_max = 5.0;

  template <class Real>
  GRPO_HD surrogate_value<Real> operator()(Real, Real ratio, Real A, Real logp) const {
    const Real w = grpo::detail::min_(ratio, Real(eps_max));
    return {-w * A * logp, Real(0), -w * A, false, ratio > Real(eps_max) && A > 0};
  }
  const char* check() const { return eps_max > 0 ? nullptr : "cispo_trl eps_max must be > 0"; }
};

/// CISPO, paper (MiniMax-M1) / verl form: ℓ = −sg(clip(ρ, 1−ε_low, 1+ε_high))·A·logp.
struct cispo_clipped {
  using category = surrogate_tag;
  static constexpr const char* name = "cispo_clipped";
  double eps_low = 0.2;
  double eps_high = 0.28;

  template <class Real>
  GRPO_HD surrogate_value<Real> operator()(Real, Real ratio, Real A, Real logp) const {
    const Real lo = Real(1 - eps_low), hi = Real(1 + eps_high);
    const Real w = ratio < lo ? lo : (ratio > hi ? hi : ratio);
    return {-w * A * logp, Real(0), -w * A, ratio < lo && A < 0, ratio > hi && A > 0};
  }
  const char* check() const {
    if (!(eps_low >= 0 && eps_low <= 1)) return "cispo_clipped eps_low must be in [0, 1]";
    return eps_high >= 0 ? nullptr : "cispo_clipped eps_high must be >= 0";
  }
};

/// SAPO: ℓ = −σ(τ(ρ−1))·(4/τ)·A, τ = tau_pos if A > 0 else tau_neg.
/// ∂ℓ/∂log ρ = −(4/τ)·A·σ(1−σ)·τ·ρ = −4·A·ρ·σ(1−σ).
struct sapo {
  using category = surrogate_tag;
  static constexpr const char* name = "sapo";
  double tau_pos = 1.0;
  double tau_neg = 1.05;

  template <class Real>
  GRPO_HD surrogate_value<Real> operator()(Real, Real ratio, Real A, Real) const {
    const Real tau = A > 0 ? Real(tau_pos) : Real(tau_neg);
    const Real s = grpo::detail::sigmoid_(tau * (ratio - Real(1)));
    return {-s * (Real(4) / tau) * A, Real(-4) * A * ratio * s * (Real(1) - s), Real(0), false,
            false};
  }
  const char* check() const {
    return tau_pos > 0 && tau_neg > 0 ? nullptr : "sapo temperatures must be > 0";
  }
};

/// GMPO: the sequence weight is the geometric mean exp(Σ_t M·c_t / T_i) of sign-aware clamped
/// log-ratios c_t, and ℓ_i = −weight·A_i (use with ratio::sequence, which sums `sequence_term`).
/// c_t = min(log ρ, ε_high) for A > 0, max(log ρ, −ε_low) for A < 0, 0 for A = 0
/// (verl `geo_mean`: sgn(A)·min(sgn(A)·x, sgn(A)·clamp(x))); dc/dx = 1 where the bound is not
/// active. ∂ℓ/∂log s = −s·A.
struct gmpo {
  using category = surrogate_tag;
  static constexpr const char* name = "gmpo";
  static constexpr bool needs_sequence_ratio = true;
  double eps_low = 0.4;
  double eps_high = 0.4;

  template <class Real>
  GRPO_HD Real sequence_term(Real x, Real A, Real& dx) const {
    if (A > 0) {
      if (x > Real(eps_high)) { dx = Real(0); return Real(eps_high); }
    } else if (A < 0) {
      if (x < Real(-eps_low)) { dx = Real(0); return Real(-eps_low); }
    } else {
      dx = Real(0);
      return Real(0);
    }
    dx = Real(1);
    return x;
  }
  template <class Real>
  GRPO_HD surrogate_value<Real> operator()(Real, Real ratio, Real A, Real) const {
    return {-ratio * A, -ratio * A, Real(0), false, false};
  }
  const char* check() const {
    return eps_low >= 0 && eps_high >= 0 ? nullptr : "gmpo eps_low and eps_high must be >= 0";
  }
};

/// GPG / plain REINFORCE: ℓ = −A·logp, ∂ℓ/∂logp = −A (the ratio is not used).
struct gpg {
  using category = surrogate_tag;
  static constexpr const char* name = "gpg";
  template <class Real>
  GRPO_HD surrogate_value<Real> operator()(Real, Real, Real A, Real logp) const {
    return {-A * logp, Real(0), -A, false, false};
  }
  const char* check() const { return nullptr; }
};

/// DRO: ℓ = −(logp·A − ½·β·(log ρ)²); ∂ℓ/∂logp = −A, ∂ℓ/∂log ρ = β·log ρ.
struct dro {
  using category = surrogate_tag;
  static constexpr const char* name = "dro";
  double beta = 1.0;  // DRO's own quadratic weight (not the KL coefficient)
  template <class Real>
  GRPO_HD surrogate_value<Real> operator()(Real log_ratio, Real, Real A, Real logp) const {
    const Real b = Real(beta);
    return {-(logp * A - Real(0.5) * b * log_ratio * log_ratio), b * log_ratio, -A, false, false};
  }
  const char* check() const { return beta >= 0 ? nullptr : "dro beta must be >= 0"; }
};

}  // namespace surrogate
}  // namespace grpo
