#pragma once
// §2 Importance ratio. log ρ = logp − old per token; the sequence forms (GSPO, Zheng et al. 2025,
// arXiv 2507.18071) use the mean over the sequence's in-tokens, log s_i = Σ_t M·log ρ / T_i.
//
// Safety clamp: log ρ (or log s_i) is clamped to [log_min, log_max] before exp (verl's
// core_algos.py and OpenRLHF's loss.py use ±20, verl's GSPO only log s ≤ 10; TRL has none: ±inf).
// Where the clamp is active the derivative is 0, as torch.clamp's (the bounds themselves count
// as inside). With the default ±20, ρ ≤ 4.9e8: products with advantages stay finite in fp32.
//
// Statistics: `ratio` (the ratio used: ρ, or s_i; mean, min, max) and `approx_kl`, the token mean
// of old − logp (verl's actor/ppo_kl): of the clamped log ρ for the token ratio (verl's vanilla),
// of the raw one with `approx_kl_raw` (OpenRLHF) and for the sequence ratios (verl's GSPO).
#include <grpo/objective/node.hpp>
#include <grpo/objective/detail/tags.hpp>

namespace grpo {

enum class ratio_level {
  token,           // ρ_{i,t} = exp(logp − old)
  sequence,        // s_i for every token of sequence i; the gradient flows through the mean
  sequence_token,  // GSPO-token: same value s_i, log s_{i,t} = logp − sg(logp) + sg(log s_i)
};

/// Surrogates whose sequence-level ratio sums a transformed per-token term (GMPO): the hook
/// `L sequence_term(L x, L A, mask& inside) const` gives the term of log ρ = x and where its
/// derivative is 1 (elsewhere 0).
template <class S>
concept has_sequence_term = requires(const S& s, float x, bool& m) { s.sequence_term(x, x, m); };

namespace ratio {

namespace detail_ {
inline constexpr stat_def ratio_stats[] = {{"ratio", stat::mean | stat::min | stat::max},
                                           {"approx_kl", stat::mean}};

struct clamped_log {
  using category = ratio_tag;
  static constexpr unsigned reads = grpo::reads::old;
  static constexpr auto& stats = ratio_stats;
  double log_min = -20.0;  // bounds of log ρ before exp; ±inf disable them (TRL)
  double log_max = 20.0;
  const char* check() const {
    return log_min <= 0 && log_max >= 0 ? nullptr : "ratio needs log_min <= 0 <= log_max (use ±inf to disable)";
  }
};

/// The sequence forms: one sum per sequence, Σ_t x_t (x_t = logp − old, or the surrogate's
/// sequence_term of it), and the clamped mean as the state.
struct sequence_mean : clamped_log {
  static constexpr int prepass_sums = 1;
  struct state {
    double log_s = 0;   // clamp(Σ_t x_t / max(T_i, 1))
    double s = 1;       // exp(log_s), once per sequence (every token of the row shares it)
    double d_clamp = 1; // its clamp derivative
    double inv_n = 1;   // 1 / max(T_i, 1)
  };
  template <class C>
  GRPO_HD static auto term(const C& c, typename C::mask& inside) {
    using L = typename C::lane;
    const L x = c.logp - c.old;
    if constexpr (has_sequence_term<typename C::objective_type::surrogate_type>)
      return c.objective().surrogate.sequence_term(x, c.A, inside);
    else {
      inside = lane::all_lanes<typename C::lane>();
      return x;
    }
  }
  template <class C, class L>
  GRPO_HD void prepass(C& c, L* sums) const {
    typename C::mask inside;
    sums[0] += lane::when(c.in, term(c, inside));
  }
  template <class O>
  GRPO_HD state finish(const double* sums, const sequence_info& s, const O&) const {
    state st;
    st.inv_n = 1.0 / (s.length > 1.0 ? s.length : 1.0);
    bool inside;
    st.log_s = lane::clamp(sums[0] * st.inv_n, log_min, log_max, inside);
    st.d_clamp = inside ? 1.0 : 0.0;
    st.s = lane::exp(st.log_s);
    return st;
  }
  template <class C>
  GRPO_HD auto set_ratio(C& c) const {
    using L = typename C::lane;
    c.log_ratio = L(c.state().log_s);
    c.ratio = L(c.state().s);
    c.extrema(0, c.ratio);
    c.mean(1, c.old - c.logp);
  }
};
}  // namespace detail_

/// Token-level ratio ρ_{i,t} (PPO / GRPO).
struct token : detail_::clamped_log {
  static constexpr ratio_level level = ratio_level::token;
  static constexpr const char* name = "token";
  bool approx_kl_raw = false;  // approx_kl from log ρ before the clamp (OpenRLHF's ppo_kl)
  template <class C>
  GRPO_HD auto log_ratio(C& c) const {
    using L = typename C::lane;
    typename C::mask inside;
    const L x = c.logp - c.old;
    c.log_ratio = lane::clamp_to(x, log_min, log_max, inside);
    c.ratio = lane::exp(c.log_ratio);
    c.extrema(0, c.ratio);
    c.mean(1, -(approx_kl_raw ? x : c.log_ratio));
    return lane::when(inside, L(1.0f));
  }
};

/// Sequence-level ratio s_i (GSPO): every token of sequence i sees s_i, and
/// ∂log s_i/∂logp_t = clamp'·dx_t/T_i (dx_t = 1, or GMPO's clamp derivative). A token's own path
/// is therefore 0 and its gradient is its share of the whole sequence's: the pass sums
/// G_i = Σ_t' ∂L/∂log s over the sequence and adds G_i·gather_t to every token (pass.hpp).
struct sequence : detail_::sequence_mean {
  static constexpr ratio_level level = ratio_level::sequence;
  static constexpr const char* name = "sequence";
  template <class C>
  GRPO_HD auto log_ratio(C& c) const {
    set_ratio(c);
    return typename C::lane(0.0f);
  }
  template <class C>
  GRPO_HD auto gather(C& c) const {
    using L = typename C::lane;
    typename C::mask inside;
    (void)term(c, inside);
    return lane::select(inside, L(c.state().d_clamp * c.state().inv_n), L(0.0f));
  }
};

/// GSPO-token: the value of s_i with a per-token gradient, log s_{i,t} = logp − sg(logp) +
/// sg(log s_i): ∂log s_{i,t}/∂logp_t = 1 (0 where the clamp of the mean holds).
struct gspo_token : detail_::sequence_mean {
  static constexpr ratio_level level = ratio_level::sequence_token;
  static constexpr const char* name = "gspo_token";
  template <class C>
  GRPO_HD auto log_ratio(C& c) const {
    set_ratio(c);
    return typename C::lane(c.state().d_clamp);
  }
};

}  // namespace ratio
}  // namespace grpo
