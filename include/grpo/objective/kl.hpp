#pragma once
// §4 KL penalty to the reference, added to ℓ as β·k. With d = logp − ref each estimator returns
// its value and ∂k/∂logp (= ∂k/∂d). IS-corrected k3 also needs the token ratio ρ and
// ∂ρ/∂logp (ρ when log ρ is not clamped, else 0).
#include <grpo/objective/detail/math.hpp>
#include <grpo/objective/detail/tags.hpp>

namespace grpo {

template <class Real>
struct kl_value {
  Real value;
  Real d_logp;
};

namespace kl {

/// No KL term (β is ignored; validation rejects β ≠ 0 so the mistake is not silent).
struct none {
  using category = kl_tag;
  static constexpr const char* name = "none";
  static constexpr bool enabled = false;
  template <class Real>
  GRPO_HD kl_value<Real> operator()(Real, Real, Real) const { return {Real(0), Real(0)}; }
  const char* check() const { return nullptr; }
};

/// k1 = d, ∂/∂d = 1.
struct k1 {
  using category = kl_tag;
  static constexpr const char* name = "k1";
  static constexpr bool enabled = true;
  template <class Real>
  GRPO_HD kl_value<Real> operator()(Real d, Real, Real) const { return {d, Real(1)}; }
  const char* check() const { return nullptr; }
};

/// k2 = ½d², ∂/∂d = d.
struct k2 {
  using category = kl_tag;
  static constexpr const char* name = "k2";
  static constexpr bool enabled = true;
  template <class Real>
  GRPO_HD kl_value<Real> operator()(Real d, Real, Real) const { return {Real(0.5) * d * d, d}; }
  const char* check() const { return nullptr; }
};

/// k3 ("low_var_kl") = exp(−d) + d − 1, ∂/∂d = 1 − exp(−d). d is first clamped to
/// ±d_clamp (verl clamps the exponent to ±20; derivative 0 where the clamp is active), so the
/// value stays finite in fp32 for any finite input.
struct k3 {
  using category = kl_tag;
  static constexpr const char* name = "k3";
  static constexpr bool enabled = true;
  double d_clamp = 20.0;
  template <class Real>
  GRPO_HD kl_value<Real> operator()(Real d, Real, Real) const {
    Real dd;
    const Real x = grpo::detail::clamp_d(d, Real(-d_clamp), Real(d_clamp), dd);
    const Real e = grpo::detail::exp_(-x);
    return {e + x - Real(1), dd * (Real(1) - e)};
  }
  const char* check() const { return d_clamp > 0 ? nullptr : "k3 d_clamp must be > 0"; }
};

/// abs = |d|, ∂/∂d = sign(d) (0 at d = 0).
struct abs {
  using category = kl_tag;
  static constexpr const char* name = "abs";
  static constexpr bool enabled = true;
  template <class Real>
  GRPO_HD kl_value<Real> operator()(Real d, Real, Real) const {
    return {d < 0 ? -d : d, d > 0 ? Real(1) : (d < 0 ? Real(-1) : Real(0))};
  }
  const char* check() const { return nullptr; }
};

/// An estimator whose value is clamped to [lo, hi] (verl low_var_kl: ±10; OpenRLHF: every
/// estimator ±10). Derivative 0 where the clamp is active.
template <class K>
struct clamped {
  static_assert(is_part_of<K, kl_tag>, "grpo::kl::clamped<K>: K must be a KL estimator such as grpo::kl::k3");
  using category = kl_tag;
  static constexpr const char* name = "clamped";
  static constexpr bool enabled = true;
  K inner{};
  double lo = -10.0;
  double hi = 10.0;
  template <class Real>
  GRPO_HD kl_value<Real> operator()(Real d, Real ratio, Real d_ratio) const {
    const kl_value<Real> k = inner(d, ratio, d_ratio);
    Real dc;
    const Real v = grpo::detail::clamp_d(k.value, Real(lo), Real(hi), dc);
    return {v, dc > 0 ? k.d_logp : Real(0)};  // no 0·Inf where the clamp holds
  }
  const char* check() const {
    if (!(lo <= hi)) return "kl::clamped needs lo <= hi";
    return inner.check();
  }
};

/// Straight-through "k+": the value of K, the gradient of k2 (verl `k3+`: ½d² − sg(½d²) + sg(k)).
template <class K>
struct straight_through {
  static_assert(is_part_of<K, kl_tag>, "grpo::kl::straight_through<K>: K must be a KL estimator such as grpo::kl::k3");
  using category = kl_tag;
  static constexpr const char* name = "straight_through";
  static constexpr bool enabled = true;
  K inner{};
  template <class Real>
  GRPO_HD kl_value<Real> operator()(Real d, Real ratio, Real d_ratio) const {
    return {inner(d, ratio, d_ratio).value, d};
  }
  const char* check() const { return inner.check(); }
};

/// IS-corrected k3 (DeepSeek-V3.2, TRL `use_bias_correction_kl`): k3·ρ with the token ratio ρ
/// (not PPO-clipped; ρ keeps its gradient as in TRL).
/// ∂(k3·ρ)/∂logp = (1 − e^{−d})·ρ + k3·∂ρ/∂logp. Token-level ratio only.
struct is_corrected_k3 {
  using category = kl_tag;
  static constexpr const char* name = "is_corrected_k3";
  static constexpr bool enabled = true;
  static constexpr bool needs_token_ratio = true;
  k3 base{};
  template <class Real>
  GRPO_HD kl_value<Real> operator()(Real d, Real ratio, Real d_ratio) const {
    const kl_value<Real> k = base(d, ratio, d_ratio);
    return {k.value * ratio, k.d_logp * ratio + k.value * d_ratio};
  }
  const char* check() const { return base.check(); }
};

}  // namespace kl
}  // namespace grpo
