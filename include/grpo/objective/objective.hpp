#pragma once
// An objective is composed at compile time from one part of each kind:
//   objective<Ratio, Surrogate, Kl, Aggregation, Corrections...>
// The types choose the algorithms; their members (and `beta`) hold the hyper-parameters as
// run-time values with defaults. Combinations that make no sense fail to compile with a message
// saying what to do. `validate(objective, batch)` checks the inputs on the host.
#include <grpo/core/error.hpp>
#include <grpo/objective/aggregation.hpp>
#include <grpo/objective/batch.hpp>
#include <grpo/objective/corrections.hpp>
#include <grpo/objective/kl.hpp>
#include <grpo/objective/ratio.hpp>
#include <grpo/objective/surrogate.hpp>

#include <string>
#include <type_traits>

namespace grpo {

namespace detail {
template <class T, class... Ts>
inline constexpr bool one_of = (std::is_same_v<T, Ts> || ...);

template <class... Ts>
struct all_distinct : std::true_type {};
template <class T, class... Ts>
struct all_distinct<T, Ts...>
    : std::bool_constant<!one_of<T, Ts...> && all_distinct<Ts...>::value> {};

template <class P>
inline constexpr bool needs_sequence_ratio = requires { P::needs_sequence_ratio; };
template <class P>
inline constexpr bool needs_token_ratio = requires { P::needs_token_ratio; };
}  // namespace detail

/// The corrections of an objective: a struct that inherits each one (all distinct), so that
/// device code reaches them without a tuple: `obj.corrections.template get<C>()`.
template <class... Cs>
struct correction_set : Cs... {
  template <class C>
  static constexpr bool has = detail::one_of<C, Cs...>;
  template <class C>
  GRPO_HD const C& get() const { return static_cast<const C&>(*this); }
  template <class C>
  C& get() { return static_cast<C&>(*this); }
};

template <class Ratio, class Surrogate, class Kl, class Aggregation, class... Corrections>
struct objective {
  static_assert(is_part_of<Ratio, ratio_tag>,
                "grpo::objective: the 1st parameter must be a ratio: grpo::ratio::token, "
                "grpo::ratio::sequence or grpo::ratio::gspo_token");
  static_assert(!is_part_of<Surrogate, kl_tag>,
                "grpo::objective: a KL estimator was given as the surrogate; put the surrogate "
                "(e.g. grpo::surrogate::ppo_clip) 2nd and the KL estimator 3rd");
  static_assert(is_part_of<Surrogate, surrogate_tag>,
                "grpo::objective: the 2nd parameter must be a surrogate from grpo::surrogate "
                "(ppo_clip, cispo_trl, cispo_clipped, sapo, gmpo, gpg, dro)");
  static_assert(is_part_of<Kl, kl_tag>,
                "grpo::objective: the 3rd parameter must be a KL estimator from grpo::kl "
                "(use grpo::kl::none for no KL term)");
  static_assert(is_part_of<Aggregation, aggregation_tag>,
                "grpo::objective: the 4th parameter must be an aggregation from grpo::aggregation");
  static_assert((is_part_of<Corrections, correction_tag> && ...),
                "grpo::objective: parameters after the aggregation must be corrections from "
                "grpo::correction");
  static_assert(detail::all_distinct<Corrections...>::value,
                "grpo::objective: each correction may appear only once");
  static_assert(!detail::needs_sequence_ratio<Surrogate> || Ratio::level == ratio_level::sequence,
                "grpo::objective: GMPO is a geometric mean over the sequence; use "
                "grpo::ratio::sequence with grpo::surrogate::gmpo");
  static_assert(!detail::needs_sequence_ratio<Aggregation> || Ratio::level == ratio_level::sequence,
                "grpo::objective: LUSPO scales a sequence-level loss by its length; use "
                "grpo::ratio::sequence with grpo::aggregation::luspo");
  static_assert(!detail::needs_token_ratio<Kl> || Ratio::level == ratio_level::token,
                "grpo::objective: IS-corrected k3 weights each token by its own ratio; use "
                "grpo::ratio::token with grpo::kl::is_corrected_k3");

  using ratio_type = Ratio;
  using surrogate_type = Surrogate;
  using kl_type = Kl;
  using aggregation_type = Aggregation;
  using corrections_type = correction_set<Corrections...>;

  Ratio ratio{};
  Surrogate surrogate{};
  Kl kl{};
  Aggregation aggregation{};
  double beta = 0.0;  // KL coefficient: ℓ += β·k
  corrections_type corrections{};

  template <class C>
  static constexpr bool has = corrections_type::template has<C>;
  static constexpr ratio_level level = Ratio::level;
  static constexpr bool has_kl = Kl::enabled;
  static constexpr bool needs_entropy =
      has<correction::entropy_bonus> || has<correction::top_entropy>;
};

template <class O>
inline constexpr bool is_objective = false;
template <class R, class S, class K, class A, class... C>
inline constexpr bool is_objective<objective<R, S, K, A, C...>> = true;

namespace detail {

inline status config_error(const char* what, const char* msg) {
  return {errc::bad_config, what, -1, msg};
}

template <class Real>
status check_finite_at_in(const token_batch<Real>& b, const Real* x, const char* name,
                          bool (*keep_seq)(const token_batch<Real>&, index_t)) {
  for (index_t i = 0; i < b.N; ++i) {
    if (keep_seq != nullptr && !keep_seq(b, i)) continue;
    const index_t end = b.row_end(i);
    for (index_t t = 0; t < end; ++t)
      if (b.in(i, t) && !isfinite_(x[b.flat(i, t)]))
        return {errc::non_finite, name, b.flat(i, t),
                x[b.flat(i, t)] != x[b.flat(i, t)] ? "NaN at a masked-in position"
                                                   : "Inf at a masked-in position"};
  }
  return {};
}

}  // namespace detail

/// The checks that read no array contents: hyper-parameters, pointers and shapes. Device
/// backends run these on the host and check the values on the device.
template <class O, class Real>
  requires is_objective<O>
status validate_shapes(const O& obj, const token_batch<Real>& b) {
  // hyper-parameters
  if (const char* m = obj.ratio.check()) return detail::config_error("ratio", m);
  if (const char* m = obj.surrogate.check()) return detail::config_error("surrogate", m);
  if (const char* m = obj.kl.check()) return detail::config_error("kl", m);
  if (const char* m = obj.aggregation.check()) return detail::config_error("aggregation", m);
  if (!(obj.beta >= 0 && obj.beta < detail::inf()))
    return detail::config_error("beta", "beta must be finite and >= 0");
  if constexpr (!O::has_kl) {
    if (obj.beta != 0)
      return detail::config_error(
          "beta", "beta is set but the objective has no KL term (grpo::kl::none); pick an estimator");
  }
  const char* cm = nullptr;
  const char* cn = nullptr;
  [&]<class... Cs>(const correction_set<Cs...>& cs) {
    (void)((cm == nullptr && (cm = cs.template get<Cs>().check(), cn = Cs::name, cm != nullptr)) ||
           ...);
  }(obj.corrections);
  if (cm != nullptr) return detail::config_error(cn, cm);

  // shapes and pointers
  if (b.N <= 0) return {errc::shape_mismatch, "N", -1, "N must be positive, got " + std::to_string(b.N)};
  if (b.T <= 0) return {errc::shape_mismatch, "T", -1, "T must be positive, got " + std::to_string(b.T)};
  if (b.logp == nullptr) return {errc::null_pointer, "logp", -1, "logp [N,T] is required"};
  if (b.mask == nullptr && b.lengths == nullptr)
    return {errc::null_pointer, "mask", -1, "give a mask [N,T], lengths [N], or both"};
  if ((b.advantages == nullptr) == (b.token_advantages == nullptr))
    return {errc::null_pointer, "advantages", -1,
            "give exactly one of advantages [N] and token_advantages [N,T]"};
  if (b.token_advantages != nullptr && O::level == ratio_level::sequence)
    return {errc::shape_mismatch, "token_advantages", -1,
            "a sequence-level ratio needs one advantage per sequence; use advantages [N] or "
            "a token-level ratio"};
  if (b.token_advantages != nullptr && O::template has<correction::off_policy_mask>)
    return {errc::shape_mismatch, "token_advantages", -1,
            "the off-policy sequence mask needs one advantage per sequence"};
  if constexpr (O::has_kl) {
    if (obj.beta != 0 && b.ref == nullptr)
      return {errc::null_pointer, "ref", -1, "beta != 0 (a KL term), so ref [N,T] is required"};
  }
  if constexpr (O::needs_entropy) {
    if (b.entropy == nullptr)
      return {errc::null_pointer, "entropy", -1,
              "entropy_bonus / top_entropy need per-token entropies [N,T]"};
  }
  if constexpr (O::template has<correction::sampler_mismatch>) {
    if (b.sampler_logp == nullptr)
      return {errc::null_pointer, "sampler_logp", -1, "sampler_mismatch needs sampler_logp [N,T]"};
  }
  if constexpr (O::template has<correction::truncated_mask>) {
    if (b.truncated == nullptr)
      return {errc::null_pointer, "truncated", -1, "truncated_mask needs truncated [N]"};
  }
  return {};
}

/// Checks the hyper-parameters of every part and the batch against what the objective needs:
/// null pointers, shapes, lengths in [0, T], finite logp/old/ref/advantages/entropy/sampler
/// values at masked-in positions. Returns the first problem found.
template <class O, class Real>
  requires is_objective<O>
status validate(const O& obj, const token_batch<Real>& b) {
  GRPO_TRY(validate_shapes(obj, b));
  if (b.lengths != nullptr) {
    for (index_t i = 0; i < b.N; ++i) {
      if (b.lengths[i] < 0)
        return {errc::out_of_range, "lengths", i,
                "negative length " + std::to_string(b.lengths[i])};
      if (b.lengths[i] > b.T)
        return {errc::out_of_range, "lengths", i,
                "length " + std::to_string(b.lengths[i]) + " > T = " + std::to_string(b.T)};
    }
  }
  // values at masked-in positions (sequences dropped by truncated_mask are not looked at)
  bool (*keep)(const token_batch<Real>&, index_t) = nullptr;
  if constexpr (O::template has<correction::truncated_mask>)
    keep = [](const token_batch<Real>& bb, index_t i) { return bb.truncated[i] == 0; };
  GRPO_TRY(detail::check_finite_at_in(b, b.logp, "logp", keep));
  if (b.old != nullptr) GRPO_TRY(detail::check_finite_at_in(b, b.old, "old", keep));
  if constexpr (O::has_kl)
    if (obj.beta != 0) GRPO_TRY(detail::check_finite_at_in(b, b.ref, "ref", keep));
  if (b.token_advantages != nullptr)
    GRPO_TRY(detail::check_finite_at_in(b, b.token_advantages, "token_advantages", keep));
  if (b.advantages != nullptr)
    for (index_t i = 0; i < b.N; ++i)
      if ((keep == nullptr || keep(b, i)) && !detail::isfinite_(b.advantages[i]))
        return {errc::non_finite, "advantages", i, "non-finite advantage"};
  if constexpr (O::needs_entropy) GRPO_TRY(detail::check_finite_at_in(b, b.entropy, "entropy", keep));
  if (b.sampler_logp != nullptr &&
      (O::template has<correction::sampler_mismatch> || O::template has<correction::off_policy_mask>))
    GRPO_TRY(detail::check_finite_at_in(b, b.sampler_logp, "sampler_logp", keep));
  return {};
}

}  // namespace grpo
