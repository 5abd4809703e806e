#pragma once
// §5-§6 Corrections that ride along with the policy term. Each is a small struct of run-time
// hyper-parameters; the fused pass asks the objective which ones it holds (at compile time).
//   entropy_bonus     loss −= coef·H per token, aggregated like ℓ (needs `entropy`)
//   top_entropy       keep ℓ only on tokens with H ≥ the (1 − keep_fraction) quantile (TRL
//                     `top_entropy_quantile`); the token count is unchanged (needs `entropy`)
//   truncated_mask    drop completions without EOS entirely, also from the token count
//   sampler_mismatch  multiply ℓ by the sampler/trainer importance weight w = exp(old − sampler),
//                     per token or per sequence (exp of the sum), truncated or masked
//   off_policy_mask   DeepSeek-V3.2: keep sequence i iff A_i ≥ 0 or mean_t(sampler − sg(logp)) ≤ δ
// None of them has a gradient of its own with respect to logp: their factors are constants
// (they depend on old, sampler, entropy, or on sg(logp)).
#include <grpo/objective/detail/math.hpp>
#include <grpo/objective/detail/tags.hpp>

#include <cstdint>

namespace grpo::correction {

struct entropy_bonus {
  using category = correction_tag;
  static constexpr const char* name = "entropy_bonus";
  double coef = 0.0;
  const char* check() const { return coef >= 0 ? nullptr : "entropy_bonus coef must be >= 0"; }
};

struct top_entropy {
  using category = correction_tag;
  static constexpr const char* name = "top_entropy";
  double keep_fraction = 0.2;  // ρ: the share of tokens kept (TRL top_entropy_quantile)
  /// Entropy threshold. NaN (default) => computed by the CPU entry point as the
  /// (1 − keep_fraction) quantile (linear interpolation, as torch.quantile) of the in-token
  /// entropies of the local batch. A data-parallel run sets it from the gathered entropies.
  double threshold = __builtin_nan("");
  template <class Real>
  GRPO_HD Real token_weight(Real H) const { return H >= Real(threshold) ? Real(1) : Real(0); }
  const char* check() const {
    return keep_fraction >= 0 && keep_fraction <= 1 ? nullptr
                                                     : "top_entropy keep_fraction must be in [0, 1]";
  }
};

struct truncated_mask {
  using category = correction_tag;
  static constexpr const char* name = "truncated_mask";
  const char* check() const { return nullptr; }
};

enum class is_level : std::uint8_t { token, sequence };
enum class is_mode : std::uint8_t { truncate, mask };

struct sampler_mismatch {
  using category = correction_tag;
  static constexpr const char* name = "sampler_mismatch";
  is_level level = is_level::sequence;  // TRL default "sequence_mask"
  is_mode mode = is_mode::mask;
  double c_min = 0.0;  // lower bound (0 = none)
  double c_max = 3.0;  // upper bound C_max

  /// The weight from its logarithm log w = Σ or per-token (old − sampler): truncate clamps w to
  /// [c_min, c_max], mask sets w = 0 outside. Computed in the log domain, so never Inf.
  template <class Real>
  GRPO_HD Real weight(Real log_w) const {
    const Real lo = grpo::detail::log_(Real(c_min)), hi = grpo::detail::log_(Real(c_max));
    if (mode == is_mode::truncate) {
      Real d;
      return grpo::detail::exp_(grpo::detail::clamp_d(log_w, lo, hi, d));
    }
    return (log_w < lo || log_w > hi) ? Real(0) : grpo::detail::exp_(log_w);
  }
  const char* check() const {
    if (!(c_min >= 0)) return "sampler_mismatch c_min must be >= 0";
    if (!(c_max > 0 && c_max >= c_min && c_max < grpo::detail::inf()))
      return "sampler_mismatch c_max must be finite and >= c_min";
    return nullptr;
  }
};

struct off_policy_mask {
  using category = correction_tag;
  static constexpr const char* name = "off_policy_mask";
  double delta = 0.5;  // TRL off_policy_mask_threshold has no default; its docs suggest 0.5
  GRPO_HD bool keep(double A, double mean_gap) const { return A >= 0 || mean_gap <= delta; }
  const char* check() const { return delta == delta ? nullptr : "off_policy_mask delta is NaN"; }
};

}  // namespace grpo::correction
