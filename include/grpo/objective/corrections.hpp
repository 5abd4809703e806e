#pragma once
// §5-§6 Corrections: nodes that ride along with the policy term (node.hpp has the protocol).
//   entropy_bonus     adds −coef·H per token, aggregated like ℓ (needs `entropy`)
//   top_entropy       keeps ℓ only on tokens with H ≥ the (1 − keep_fraction) quantile (TRL
//                     `top_entropy_quantile`); the token count is unchanged (needs `entropy`)
//   truncated_mask    drops completions without EOS entirely, also from the token count
//   sampler_mismatch  multiplies ℓ by the sampler/trainer importance weight w = exp(old − sampler),
//                     per token or per sequence (exp of the sum), truncated or masked
//   off_policy_mask   DeepSeek-V3.2: keeps sequence i iff A_i ≥ 0 or mean_t(sampler − sg(logp)) ≤ δ
// None of them has a gradient of its own with respect to logp: their factors are constants (they
// depend on old, sampler, entropy, or on sg(logp)).
#include <grpo/objective/detail/tags.hpp>
#include <grpo/objective/node.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace grpo::correction {

struct entropy_bonus {
  using category = correction_tag;
  static constexpr const char* name = "entropy_bonus";
  static constexpr unsigned reads = grpo::reads::entropy;
  double coef = 0.0;
  template <class C>
  GRPO_HD auto term(C& c) const {
    using L = typename C::lane;
    return term_value<L>{L(-coef) * c.entropy, L(0.0f), L(0.0f), L(-coef)};
  }
  const char* check() const { return coef >= 0 ? nullptr : "entropy_bonus coef must be >= 0"; }
};

struct top_entropy {
  using category = correction_tag;
  static constexpr const char* name = "top_entropy";
  static constexpr unsigned reads = grpo::reads::entropy;
  static constexpr stat_def stats[] = {{"entropy_kept", stat::mean}};
  double keep_fraction = 0.2;  // ρ: the share of tokens kept (TRL top_entropy_quantile)
  /// Entropy threshold. NaN (default) => computed by `prepare` on the host as the
  /// (1 − keep_fraction) quantile (linear interpolation, as torch.quantile) of the in-token
  /// entropies of the local batch. A data-parallel run sets it from the gathered entropies; the
  /// device backends need it set.
  double threshold = __builtin_nan("");

  template <class C>
  GRPO_HD auto policy_weight(C& c) const {
    using L = typename C::lane;
    const auto keep = c.entropy >= L(threshold);
    c.count(0, keep);
    return lane::select(keep, L(1.0f), L(0.0f));
  }
  bool needs_prepare() const { return threshold != threshold; }
  /// The quantile of the kept in-tokens' entropies; `in(i, t)` says which tokens count.
  template <class Real, class In>
  void prepare(const token_batch<Real>& b, In&& in) {
    if (!needs_prepare()) return;
    std::vector<double> v;
    for (index_t i = 0; i < b.N; ++i)
      for (index_t t = 0; t < b.row_end(i); ++t)
        if (in(i, t)) v.push_back(double(b.entropy[b.flat(i, t)]));
    if (v.empty()) {
      threshold = lane::inf();
      return;
    }
    std::sort(v.begin(), v.end());
    const double pos = (1.0 - keep_fraction) * double(v.size() - 1);
    const auto lo = std::size_t(std::floor(pos));
    const std::size_t hi = std::min(lo + 1, v.size() - 1);
    threshold = v[lo] + (pos - double(lo)) * (v[hi] - v[lo]);
  }
  const char* check() const {
    return keep_fraction >= 0 && keep_fraction <= 1 ? nullptr
                                                     : "top_entropy keep_fraction must be in [0, 1]";
  }
};

struct truncated_mask {
  using category = correction_tag;
  static constexpr const char* name = "truncated_mask";
  static constexpr unsigned reads = grpo::reads::truncated;
  GRPO_HD bool keep_sequence(const sequence_info& s) const { return !s.truncated; }
};

enum class is_level : std::uint8_t { token, sequence };
enum class is_mode : std::uint8_t { truncate, mask };

/// The sampler/trainer mismatch weight (TRL vllm_importance_sampling_mode, verl rollout IS):
/// log w = old − sampler per token, or its sum over the sequence; truncate clamps w to
/// [c_min, c_max], mask sets w = 0 outside. Computed in the log domain, so never Inf.
/// Statistics: is_weight (the weight's token mean) and is_masked (share of tokens set to 0).
struct sampler_mismatch {
  using category = correction_tag;
  static constexpr const char* name = "sampler_mismatch";
  static constexpr unsigned reads = grpo::reads::old | grpo::reads::sampler;
  static constexpr int prepass_sums = 1;
  static constexpr stat_def stats[] = {{"is_weight", stat::mean}, {"is_masked", stat::mean}};
  is_level level = is_level::sequence;  // TRL default "sequence_mask"
  is_mode mode = is_mode::mask;
  double c_min = 0.0;  // lower bound (0 = none)
  double c_max = 3.0;  // upper bound C_max

  struct state {
    double log_w = 0;  // Σ_t (old − sampler) over the sequence
  };
  template <class C, class L>
  GRPO_HD void prepass(C& c, L* sums) const {
    sums[0] += lane::when(c.in, c.old - c.sampler);
  }
  template <class O>
  GRPO_HD state finish(const double* sums, const sequence_info&, const O&) const {
    return {sums[0]};
  }
  template <class C>
  GRPO_HD auto policy_weight(C& c) const {
    using L = typename C::lane;
    const L log_w = level == is_level::token ? c.old - c.sampler : L(c.state().log_w);
    const L lo(lane::log(c_min)), hi(lane::log(c_max));
    typename C::mask inside;
    const L clamped = lane::clamp(log_w, lo, hi, inside);
    const L w = mode == is_mode::truncate ? lane::exp(clamped) : lane::when(inside, lane::exp(log_w));
    c.mean(0, w);
    c.count(1, w == L(0.0f));
    return w;
  }
  const char* check() const {
    if (!(c_min >= 0)) return "sampler_mismatch c_min must be >= 0";
    if (!(c_max > 0 && c_max >= c_min && c_max < lane::inf()))
      return "sampler_mismatch c_max must be finite and >= c_min";
    return nullptr;
  }
};

/// DeepSeek-V3.2's off-policy sequence mask (TRL off_policy_mask_threshold): keeps sequence i
/// iff A_i ≥ 0 or mean_t(sampler − sg(logp)) ≤ δ (sampler = old when absent). Statistic
/// off_policy_dropped: the share of tokens in dropped sequences.
struct off_policy_mask {
  using category = correction_tag;
  static constexpr const char* name = "off_policy_mask";
  static constexpr unsigned reads = grpo::reads::sampler_if_given | grpo::reads::sequence_advantage;
  static constexpr int prepass_sums = 1;
  static constexpr stat_def stats[] = {{"off_policy_dropped", stat::mean}};
  double delta = 0.5;  // TRL off_policy_mask_threshold has no default; its docs suggest 0.5

  struct state {
    double keep = 1;
  };
  template <class C, class L>
  GRPO_HD void prepass(C& c, L* sums) const {
    sums[0] += lane::when(c.in, c.sampler - c.logp);
  }
  template <class O>
  GRPO_HD state finish(const double* sums, const sequence_info& s, const O&) const {
    const double gap = sums[0] / (s.length > 1 ? s.length : 1.0);
    return {s.advantage >= 0 || gap <= delta ? 1.0 : 0.0};
  }
  template <class C>
  GRPO_HD auto policy_weight(C& c) const {
    using L = typename C::lane;
    const L keep(c.state().keep);
    c.count(0, keep == L(0.0f));
    return keep;
  }
  const char* check() const { return delta == delta ? nullptr : "off_policy_mask delta is NaN"; }
};

}  // namespace grpo::correction
