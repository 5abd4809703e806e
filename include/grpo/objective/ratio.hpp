#pragma once
// §2 Importance ratio. log ρ = logp − old per token; the sequence forms (GSPO) use the mean over
// the sequence's in-tokens, s_i = exp(Σ_t M·log ρ / T_i).
//
// Safety clamp: the log-ratio is clamped to [−log_clamp, log_clamp] before exp (verl and
// OpenRLHF use 20; TRL has none). Where the clamp is active the derivative is 0, as torch.clamp's.
// With the default 20, ρ ≤ 4.9e8, so products with advantages stay finite in fp32.
#include <grpo/objective/detail/math.hpp>
#include <grpo/objective/detail/tags.hpp>

namespace grpo {

enum class ratio_level {
  token,           // ρ_{i,t} = exp(logp − old)
  sequence,        // s_i for every token of sequence i; the gradient flows through the mean
  sequence_token,  // GSPO-token: same value s_i, log s_{i,t} = logp − sg(logp) + sg(log s_i)
};

namespace ratio {

namespace detail_ {
struct clamped_log {
  double log_clamp = 20.0;  // |log ρ| bound before exp; +inf disables (TRL)
  /// x clamped to ±log_clamp; d = d(result)/dx (0 or 1).
  template <class Real>
  GRPO_HD Real log_ratio(Real x, Real& d) const {
    return grpo::detail::clamp_d(x, Real(-log_clamp), Real(log_clamp), d);
  }
  const char* check() const {
    return log_clamp > 0 ? nullptr : "ratio log_clamp must be > 0 (use +inf to disable)";
  }
};
}  // namespace detail_

/// Token-level ratio ρ_{i,t} (PPO / GRPO).
struct token : detail_::clamped_log {
  using category = ratio_tag;
  static constexpr ratio_level level = ratio_level::token;
  static constexpr const char* name = "token";
};

/// Sequence-level ratio s_i (GSPO): log s_i = clamp(Σ_t M·log ρ / T_i). Every token of the
/// sequence sees s_i; d log s_i / d logp_t = 1/T_i, so a token's gradient gathers the surrogate
/// derivative of all tokens of its sequence (the fused pass does this with a per-sequence sum).
struct sequence : detail_::clamped_log {
  using category = ratio_tag;
  static constexpr ratio_level level = ratio_level::sequence;
  static constexpr const char* name = "sequence";
};

/// GSPO-token: the value of s_i with a per-token gradient (d log s_{i,t} / d logp_t = 1).
struct gspo_token : detail_::clamped_log {
  using category = ratio_tag;
  static constexpr ratio_level level = ratio_level::sequence_token;
  static constexpr const char* name = "gspo_token";
};

}  // namespace ratio
}  // namespace grpo
