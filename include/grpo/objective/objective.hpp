#pragma once
// An objective is composed at compile time from one node of each role:
//   objective<Ratio, Surrogate, Kl, Aggregation, Corrections...>
// The types choose the algorithms; their members (and `beta`) hold the hyper-parameters as
// run-time values with defaults. Every node follows the protocol of node.hpp; a part in the
// wrong position, or a part without the hook its role needs, fails to compile with a message
// saying what to write.
#include <grpo/core/error.hpp>
#include <grpo/objective/aggregated.hpp>
#include <grpo/objective/aggregation.hpp>
#include <grpo/objective/batch.hpp>
#include <grpo/objective/corrections.hpp>
#include <grpo/objective/kl.hpp>
#include <grpo/objective/node.hpp>
#include <grpo/objective/ratio.hpp>
#include <grpo/objective/surrogate.hpp>

#include <concepts>
#include <string>
#include <tuple>
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

// What a hook is tried with, to tell whether a node has it (the real pass uses the same context
// with the real objective).
template <class S>
struct probe_objective {
  using surrogate_type = S;
  S surrogate;
};
template <class N, class S>
using probe_context = token_context<float, probe_objective<S>, state_of<N, probe_objective<S>>>;
}  // namespace detail

template <class N, class S = surrogate::gpg>
concept ratio_node = requires(const N& n, detail::probe_context<N, S>& c) {
  { n.log_ratio(c) } -> std::convertible_to<float>;
};
template <class N>
concept surrogate_node = requires(const N& n, detail::probe_context<N, N>& c) {
  { n.policy(c) } -> std::same_as<policy_value<float>>;
};
template <class N>
concept term_node = requires(const N& n, detail::probe_context<N, surrogate::gpg>& c) {
  { n.term(c) } -> std::same_as<term_value<float>>;
};
template <class N>
concept weight_node = requires(const N& n, detail::probe_context<N, surrogate::gpg>& c) {
  { n.policy_weight(c) } -> std::convertible_to<float>;
};
template <class N>
concept aggregation_node = requires(const N& n, const sequence_info& s, const batch_totals& t) {
  { n.sequence_weight(s, t) } -> std::convertible_to<double>;
};
template <class N>
concept sequence_node = requires(const N& n, const sequence_info& s) {
  { n.keep_sequence(s) } -> std::convertible_to<bool>;
} || (node_detail::prepass_sums_of<N>() > 0);

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
                "grpo::objective: the 2nd parameter must be a surrogate (`using category = "
                "grpo::surrogate_tag;`), e.g. grpo::surrogate::ppo_clip");
  static_assert(is_part_of<Kl, kl_tag>,
                "grpo::objective: the 3rd parameter must be a KL estimator from grpo::kl "
                "(use grpo::kl::none for no KL term)");
  static_assert(is_part_of<Aggregation, aggregation_tag>,
                "grpo::objective: the 4th parameter must be an aggregation from grpo::aggregation");
  static_assert((is_part_of<Corrections, correction_tag> && ...),
                "grpo::objective: parameters after the aggregation must be corrections "
                "(`using category = grpo::correction_tag;`)");
  static_assert(detail::all_distinct<Corrections...>::value,
                "grpo::objective: each correction may appear only once");
  static_assert(ratio_node<Ratio, Surrogate>,
                "grpo::objective: the ratio has no log_ratio hook; write `template <class C> auto "
                "log_ratio(C& c) const` that sets c.log_ratio and c.ratio and returns "
                "d(log ratio)/d(logp) as a typename C::lane (grpo/objective/node.hpp)");
  static_assert(surrogate_node<Surrogate>,
                "grpo::objective: the surrogate has no policy hook; write `template <class C> auto "
                "policy(C& c) const` returning grpo::policy_value<typename C::lane>{loss, "
                "d loss/d log_ratio, d loss/d logp} (grpo/objective/node.hpp)");
  static_assert(term_node<Kl>,
                "grpo::objective: the KL estimator has no term hook; write `template <class C> auto "
                "term(C& c) const` returning grpo::term_value<typename C::lane>{k, dk/dlogp}");
  static_assert(aggregation_node<Aggregation>,
                "grpo::objective: the aggregation has no sequence_weight hook; write `double "
                "sequence_weight(const grpo::sequence_info&, const grpo::batch_totals&) const`");
  static_assert(((term_node<Corrections> || weight_node<Corrections> || sequence_node<Corrections>) && ...),
                "grpo::objective: a correction must have at least one of the hooks policy_weight "
                "(multiplies the policy term), term (adds a term), keep_sequence, or a prepass "
                "(grpo/objective/node.hpp)");
  static_assert(!detail::needs_sequence_ratio<Surrogate> || Ratio::level == ratio_level::sequence,
                "grpo::objective: GMPO is a geometric mean over the sequence; use "
                "grpo::ratio::sequence with grpo::surrogate::gmpo");

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

  /// The nodes in the order the pass folds over them: ratio, surrogate, kl, aggregation, then
  /// the corrections.
  static constexpr std::size_t node_count = 4 + sizeof...(Corrections);
  template <std::size_t I>
  GRPO_HD const auto& node() const {
    if constexpr (I == 0) return ratio;
    else if constexpr (I == 1) return surrogate;
    else if constexpr (I == 2) return kl;
    else if constexpr (I == 3) return aggregation;
    else return corrections.template get<typename nodes_list<I - 4, Corrections...>::type>();
  }
  template <std::size_t I>
  auto& node() {
    return const_cast<std::remove_cvref_t<decltype(std::as_const(*this).template node<I>())>&>(
        std::as_const(*this).template node<I>());
  }
  template <std::size_t I>
  using node_type = std::tuple_element_t<I, std::tuple<Ratio, Surrogate, Kl, Aggregation, Corrections...>>;

  /// Every input any node reads (grpo::reads).
  static constexpr unsigned reads = ((node_detail::reads_of<Ratio>() | node_detail::reads_of<Surrogate>() |
                                      (Kl::enabled ? node_detail::reads_of<Kl>() : 0u) |
                                      node_detail::reads_of<Aggregation>()) |
                                     ... | node_detail::reads_of<Corrections>());
  static constexpr bool needs_entropy = (reads & grpo::reads::entropy) != 0;

 private:
  template <std::size_t K, class... Ts>
  struct nodes_list;
  template <class T, class... Ts>
  struct nodes_list<0, T, Ts...> {
    using type = T;
  };
  template <std::size_t K, class T, class... Ts>
  struct nodes_list<K, T, Ts...> : nodes_list<K - 1, Ts...> {};
};

template <class O>
inline constexpr bool is_objective = false;
template <class R, class S, class K, class A, class... C>
inline constexpr bool is_objective<objective<R, S, K, A, C...>> = true;

/// The objective with one part swapped: the ratio, surrogate, KL estimator or aggregation whose
/// role `Part` has is replaced by `part`, a correction `Part` replaces the one of its type or is
/// added; everything else (β included) is kept. E.g. TRL without its KL bias correction:
///   auto o = grpo::with(grpo::presets::trl::grpo(), grpo::kl::k3{});
/// The type of a preset is spelled out by `grpo::describe(o)` (reflect.hpp), or decltype(o).
template <class R, class S, class K, class A, class... Cs, class Part>
auto with(const objective<R, S, K, A, Cs...>& o, const Part& part) {
  auto copy_corrections = [&](auto& to) {
    ((void)(to.corrections.template get<Cs>() = o.corrections.template get<Cs>()), ...);
  };
  if constexpr (is_part_of<Part, ratio_tag>) {
    objective<Part, S, K, A, Cs...> r;
    r.ratio = part, r.surrogate = o.surrogate, r.kl = o.kl, r.aggregation = o.aggregation, r.beta = o.beta;
    copy_corrections(r);
    return r;
  } else if constexpr (is_part_of<Part, surrogate_tag>) {
    objective<R, Part, K, A, Cs...> r;
    r.ratio = o.ratio, r.surrogate = part, r.kl = o.kl, r.aggregation = o.aggregation, r.beta = o.beta;
    copy_corrections(r);
    return r;
  } else if constexpr (is_part_of<Part, kl_tag>) {
    objective<R, S, Part, A, Cs...> r;
    r.ratio = o.ratio, r.surrogate = o.surrogate, r.kl = part, r.aggregation = o.aggregation, r.beta = o.beta;
    copy_corrections(r);
    return r;
  } else if constexpr (is_part_of<Part, aggregation_tag>) {
    objective<R, S, K, Part, Cs...> r;
    r.ratio = o.ratio, r.surrogate = o.surrogate, r.kl = o.kl, r.aggregation = part, r.beta = o.beta;
    copy_corrections(r);
    return r;
  } else {
    static_assert(is_part_of<Part, correction_tag>, "grpo::with: the part must be a ratio, surrogate, KL estimator, aggregation or correction");
    if constexpr (detail::one_of<Part, Cs...>) {
      auto r = o;
      r.corrections.template get<Part>() = part;
      return r;
    } else {
      objective<R, S, K, A, Cs..., Part> r;
      r.ratio = o.ratio, r.surrogate = o.surrogate, r.kl = o.kl, r.aggregation = o.aggregation, r.beta = o.beta;
      copy_corrections(r);
      r.corrections.template get<Part>() = part;
      return r;
    }
  }
}
/// with(o, Part{}) spelled with<Part>(o).
template <class Part, class O>
  requires is_objective<O>
auto with(const O& o) {
  return with(o, Part{});
}

/// Calls f(index_c<I>{}, node) for every node of the objective, in order.
template <class O, class F>
GRPO_HD void for_each_node(const O& obj, F&& f) {
  for_each_index([&](auto I) { f(I, obj.template node<decltype(I)::value>()); },
                 std::make_index_sequence<O::node_count>{});
}

namespace detail {

inline constexpr const char* roles[] = {"ratio", "surrogate", "kl", "aggregation"};

inline status config_error(const char* what, const char* msg) {
  return {errc::bad_config, what, -1, msg};
}

template <class N>
const char* check_node(const N& n) {
  if constexpr (requires { n.check(); }) return n.check();
  else return nullptr;
}

}  // namespace detail

/// The hyper-parameters of every part, and beta. A failing part is named by its role ("ratio",
/// "surrogate", "kl", "aggregation"), a correction by its name.
template <class O>
  requires is_objective<O>
status validate_config(const O& obj) {
  const char* who = nullptr;
  const char* what = nullptr;
  for_each_node(obj, [&](auto I, const auto& n) {
    if (what == nullptr && (what = detail::check_node(n)) != nullptr)
      who = decltype(I)::value < 4 ? detail::roles[decltype(I)::value] : std::remove_cvref_t<decltype(n)>::name;
  });
  if (what != nullptr) return detail::config_error(who, what);
  if (!(obj.beta >= 0 && obj.beta < lane::inf()))
    return detail::config_error("beta", "beta must be finite and >= 0");
  if constexpr (!O::has_kl) {
    if (obj.beta != 0)
      return detail::config_error(
          "beta", "beta is set but the objective has no KL term (grpo::kl::none); pick an estimator");
  }
  return {};
}

/// The checks that read no per-token values: hyper-parameters, pointers and shapes (lengths are
/// checked by the pass). Every backend runs these on the host.
template <class O, class Real>
  requires is_objective<O>
status validate_shapes(const O& obj, const token_batch<Real>& b) {
  GRPO_TRY(validate_config(obj));
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
  if (b.token_advantages != nullptr && (O::reads & reads::sequence_advantage) != 0)
    return {errc::shape_mismatch, "token_advantages", -1,
            "a node of this objective (e.g. the off-policy sequence mask) needs one advantage per "
            "sequence; use advantages [N]"};
  if constexpr (O::has_kl) {
    if (obj.beta != 0 && b.ref == nullptr)
      return {errc::null_pointer, "ref", -1, "beta != 0 (a KL term), so ref [N,T] is required"};
  }
  if constexpr (O::needs_entropy) {
    if (b.entropy == nullptr)
      return {errc::null_pointer, "entropy", -1,
              "the objective reads per-token entropies [N,T] (entropy_bonus, top_entropy)"};
  }
  if constexpr ((O::reads & reads::sampler) != 0) {
    if (b.sampler_logp == nullptr)
      return {errc::null_pointer, "sampler_logp", -1,
              "the objective reads the sampler's log-probs (sampler_mismatch): sampler_logp [N,T]"};
  }
  if constexpr ((O::reads & reads::truncated) != 0) {
    if (b.truncated == nullptr)
      return {errc::null_pointer, "truncated", -1, "truncated_mask needs truncated [N]"};
  }
  return {};
}

}  // namespace grpo
