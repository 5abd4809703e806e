#pragma once
// §4 KL penalty to the reference (J. Schulman, "Approximating KL divergence", 2020), added to
// the loss as β·k. With d = logp − ref the hook `term(c)` returns k and ∂k/∂logp (= ∂k/∂d);
// IS-corrected k3 also has ∂k/∂log ρ. β is the objective's (`objective::beta`), and the term is
// used iff β ≠ 0 (then `ref` is required).
#include <grpo/objective/detail/tags.hpp>
#include <grpo/objective/node.hpp>

namespace grpo::kl {

/// No KL term (validation rejects β ≠ 0, so the mistake is not silent).
struct none {
  using category = kl_tag;
  static constexpr const char* name = "none";
  static constexpr bool enabled = false;
  template <class C>
  GRPO_HD auto term(C&) const {
    using L = typename C::lane;
    return term_value<L>{L(0.0f), L(0.0f)};
  }
};

/// k1 = d, ∂/∂d = 1.
struct k1 {
  using category = kl_tag;
  static constexpr const char* name = "k1";
  static constexpr bool enabled = true;
  static constexpr unsigned reads = grpo::reads::ref;
  template <class C>
  GRPO_HD auto term(C& c) const {
    using L = typename C::lane;
    return term_value<L>{c.logp - c.ref, L(1.0f)};
  }
};

/// k2 = ½d², ∂/∂d = d (verl `mse`).
struct k2 {
  using category = kl_tag;
  static constexpr const char* name = "k2";
  static constexpr bool enabled = true;
  static constexpr unsigned reads = grpo::reads::ref;
  template <class C>
  GRPO_HD auto term(C& c) const {
    using L = typename C::lane;
    const L d = c.logp - c.ref;
    return term_value<L>{L(0.5f) * d * d, d};
  }
};

/// k3 ("low_var_kl") = e^{−d} + d − 1, ∂/∂d = 1 − e^{−d} (DeepSeekMath eq. 4), written as verl
/// and TRL write it, with x = ref − logp = −d: k = e^x − x − 1. x is first clamped to
/// [exp_min, exp_max] (verl: ±20; OpenRLHF: x ≤ 10, i.e. log ratio ≥ −10; TRL: none), the
/// derivative 0 where the clamp is active; with finite bounds the value stays finite in fp32.
struct k3 {
  using category = kl_tag;
  static constexpr const char* name = "k3";
  static constexpr bool enabled = true;
  static constexpr unsigned reads = grpo::reads::ref;
  double exp_min = -20.0;
  double exp_max = 20.0;
  template <class C>
  GRPO_HD auto term(C& c) const {
    using L = typename C::lane;
    typename C::mask inside;
    const L x = lane::clamp_to(c.ref - c.logp, exp_min, exp_max, inside);
    const L e = lane::exp(x), one(1.0f);
    return term_value<L>{e - x - one, lane::when(inside, one - e)};
  }
  const char* check() const {
    return exp_min <= 0 && exp_max >= 0 ? nullptr : "k3 needs exp_min <= 0 <= exp_max";
  }
};

/// abs = |d|, ∂/∂d = sign(d) (0 at d = 0).
struct abs {
  using category = kl_tag;
  static constexpr const char* name = "abs";
  static constexpr bool enabled = true;
  static constexpr unsigned reads = grpo::reads::ref;
  template <class C>
  GRPO_HD auto term(C& c) const {
    using L = typename C::lane;
    const L d = c.logp - c.ref, zero(0.0f);
    return term_value<L>{lane::abs(d), lane::select(d > zero, L(1.0f), lane::select(d < zero, L(-1.0f), zero))};
  }
};

/// An estimator whose value is clamped to [lo, hi] (verl low_var_kl: ±10; OpenRLHF: every
/// estimator ±10). Derivative 0 where the clamp is active.
template <class K>
struct clamped {
  static_assert(is_part_of<K, kl_tag>, "grpo::kl::clamped<K>: K must be a KL estimator such as grpo::kl::k3");
  using category = kl_tag;
  static constexpr const char* name = "clamped";
  static constexpr bool enabled = true;
  static constexpr unsigned reads = node_detail::reads_of<K>();
  K inner{};
  double lo = -10.0;
  double hi = 10.0;
  template <class C>
  GRPO_HD auto term(C& c) const {
    using L = typename C::lane;
    auto k = inner.term(c);
    typename C::mask inside;
    k.value = lane::clamp(k.value, L(lo), L(hi), inside);
    k.d_logp = lane::when(inside, k.d_logp);  // no 0·Inf where the clamp holds
    k.d_log_ratio = lane::when(inside, k.d_log_ratio);
    return k;
  }
  const char* check() const {
    if (!(lo <= hi)) return "kl::clamped needs lo <= hi";
    if constexpr (requires { inner.check(); }) return inner.check();
    return nullptr;
  }
};

/// Straight-through "k+": the value of K, the gradient of k2 (verl `k3+`: ½d² − sg(½d²) + sg(k)).
template <class K>
struct straight_through {
  static_assert(is_part_of<K, kl_tag>, "grpo::kl::straight_through<K>: K must be a KL estimator such as grpo::kl::k3");
  using category = kl_tag;
  static constexpr const char* name = "straight_through";
  static constexpr bool enabled = true;
  static constexpr unsigned reads = node_detail::reads_of<K>() | grpo::reads::ref;
  K inner{};
  template <class C>
  GRPO_HD auto term(C& c) const {
    using L = typename C::lane;
    return term_value<L>{inner.term(c).value, c.logp - c.ref};
  }
  const char* check() const {
    if constexpr (requires { inner.check(); }) return inner.check();
    return nullptr;
  }
};

/// IS-corrected k3 (DeepSeek-V3.2; TRL `use_bias_correction_kl`, its default): k3·ρ with the
/// ratio of the objective (not PPO-clipped; ρ keeps its gradient as in TRL): ∂/∂logp = k3'·ρ,
/// ∂/∂log ρ = k3·ρ. With a sequence ratio ρ = s_i (TRL at importance_sampling_level="sequence").
struct is_corrected_k3 {
  using category = kl_tag;
  static constexpr const char* name = "is_corrected_k3";
  static constexpr bool enabled = true;
  static constexpr unsigned reads = grpo::reads::ref;
  k3 base{};
  template <class C>
  GRPO_HD auto term(C& c) const {
    using L = typename C::lane;
    const auto k = base.term(c);
    return term_value<L>{k.value * c.ratio, k.d_logp * c.ratio, k.value * c.ratio};
  }
  const char* check() const { return base.check(); }
};

}  // namespace grpo::kl
