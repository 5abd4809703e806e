#pragma once
// Two terms of our own, written against the node protocol (grpo/objective/node.hpp), as
// docs/objective.md "Writing your own term" explains. Each is one small struct: its
// hyper-parameters, the hooks it needs, nothing else. Written once over the lane type L, the
// same code runs on the scalar CPU path, the AVX2 path (8 tokens at a time), Thrust and CUDA.
#include <grpo/objective/objective.hpp>

namespace my {

/// A soft clip: instead of PPO's hard clip of ρ to [1−ε, 1+ε], the ratio's pull saturates
/// smoothly, ρ̃ = 1 + ε·tanh((ρ − 1)/ε), and ℓ = −ρ̃·A. Near ρ = 1 it is the plain surrogate
/// (ρ̃ ≈ ρ); far away the gradient fades instead of stopping dead.
///   ∂ℓ/∂log ρ = −A·ρ·(1 − tanh²((ρ − 1)/ε))
/// Statistic "saturated": the share of tokens with |ρ − 1| > 2ε (where the pull is < 7%).
struct soft_clip {
  using category = grpo::surrogate_tag;  // the role: a surrogate has policy()
  static constexpr const char* name = "soft_clip";
  static constexpr grpo::stat_def stats[] = {{"saturated", grpo::stat::mean}};
  double eps = 0.2;

  template <class C>
  GRPO_HD auto policy(C& c) const {
    using L = typename C::lane;
    namespace lane = grpo::lane;
    const L e(eps), u = (c.ratio - L(1.0f)) / e;
    // tanh(u) = 1 − 2/(e^{2u} + 1), bounded: e^{2u} overflows to +inf for large u, and 2/inf = 0
    const L th = L(1.0f) - L(2.0f) / (lane::exp(L(2.0f) * u) + L(1.0f));
    c.count(0, lane::abs(u) > L(2.0f));
    const L value = -(L(1.0f) + e * th) * c.A;
    const L d_log_ratio = -c.A * c.ratio * (L(1.0f) - th * th);
    return grpo::policy_value<L>{value, d_log_ratio, L(0.0f)};  // no direct ∂/∂logp
  }
  const char* check() const { return eps > 0 ? nullptr : "soft_clip eps must be > 0"; }
};

/// A length penalty on the policy term (in the spirit of DAPO's overlong shaping): sequence i is
/// weighted by w_i = 1 / (1 + α·max(0, T_i − L)/L), so completions longer than L pull less.
/// The weight depends on the sequence only: `finish` computes it once per sequence (the pass
/// calls it after counting the sequence's tokens), `policy_weight` hands it to every token.
/// Statistic "weight": the token mean of w.
struct length_penalty {
  using category = grpo::correction_tag;
  static constexpr const char* name = "length_penalty";
  static constexpr grpo::stat_def stats[] = {{"weight", grpo::stat::mean}};
  double target = 256;  // L, in tokens
  double alpha = 1.0;   // α

  struct state {
    double w = 1;
  };
  template <class O>
  GRPO_HD state finish(const double* /*sums*/, const grpo::sequence_info& s, const O&) const {
    const double over = s.length > target ? (s.length - target) / target : 0.0;
    return {1.0 / (1.0 + alpha * over)};
  }
  template <class C>
  GRPO_HD auto policy_weight(C& c) const {
    using L = typename C::lane;
    const L w(c.state().w);
    c.mean(0, w);
    return w;
  }
  const char* check() const {
    if (!(target > 0)) return "length_penalty target must be > 0";
    return alpha >= 0 ? nullptr : "length_penalty alpha must be >= 0";
  }
};

/// Our objective: token ratio, our surrogate, DeepSeek-R1's k3 KL, a token mean, our penalty.
using objective = grpo::objective<grpo::ratio::token, soft_clip, grpo::kl::k3, grpo::aggregation::token_mean,
                                  length_penalty>;

inline objective make_objective() {
  objective o;
  o.surrogate.eps = 0.2;
  o.beta = 0.04;
  auto& lp = o.corrections.get<length_penalty>();
  lp.target = 6;  // the example's completions are short
  lp.alpha = 0.5;
  return o;
}

}  // namespace my
