#pragma once
// Host-only reflection of objectives with Boost.Hana: every hyper-parameter field of every part
// is visited by name ("surrogate.eps_high", "corrections.top_entropy.keep_fraction", ...), which
// gives printing, generic validation (no NaN field) and statistics by name. Never included by
// device code.
#include <grpo/objective/pass.hpp>

#include <boost/hana/accessors.hpp>
#include <boost/hana/adapt_struct.hpp>
#include <boost/hana/for_each.hpp>
#include <boost/hana/second.hpp>
#include <boost/hana/first.hpp>
#include <boost/hana/string.hpp>

#include <cmath>
#include <sstream>
#include <string>
#include <type_traits>

BOOST_HANA_ADAPT_STRUCT(grpo::ratio::token, log_min, log_max, approx_kl_raw);
BOOST_HANA_ADAPT_STRUCT(grpo::ratio::sequence, log_min, log_max);
BOOST_HANA_ADAPT_STRUCT(grpo::ratio::gspo_token, log_min, log_max);
BOOST_HANA_ADAPT_STRUCT(grpo::surrogate::ppo_clip, eps_low, eps_high, delta, dual_clip);
BOOST_HANA_ADAPT_STRUCT(grpo::surrogate::cispo_trl, eps_max);
BOOST_HANA_ADAPT_STRUCT(grpo::surrogate::cispo_clipped, eps_low, eps_high);
BOOST_HANA_ADAPT_STRUCT(grpo::surrogate::sapo, tau_pos, tau_neg);
BOOST_HANA_ADAPT_STRUCT(grpo::surrogate::gmpo, eps_low, eps_high);
BOOST_HANA_ADAPT_STRUCT(grpo::surrogate::gpg);
BOOST_HANA_ADAPT_STRUCT(grpo::surrogate::dro, beta);
BOOST_HANA_ADAPT_STRUCT(grpo::kl::none);
BOOST_HANA_ADAPT_STRUCT(grpo::kl::k1);
BOOST_HANA_ADAPT_STRUCT(grpo::kl::k2);
BOOST_HANA_ADAPT_STRUCT(grpo::kl::k3, exp_min, exp_max);
BOOST_HANA_ADAPT_STRUCT(grpo::kl::abs);
BOOST_HANA_ADAPT_STRUCT(grpo::kl::is_corrected_k3, base);
BOOST_HANA_ADAPT_STRUCT(grpo::aggregation::seq_mean_token_mean, over);
BOOST_HANA_ADAPT_STRUCT(grpo::aggregation::token_mean);
BOOST_HANA_ADAPT_STRUCT(grpo::aggregation::bnpo);
BOOST_HANA_ADAPT_STRUCT(grpo::aggregation::constant, max_length, per_sequence);
BOOST_HANA_ADAPT_STRUCT(grpo::aggregation::seq_mean_token_sum, over);
BOOST_HANA_ADAPT_STRUCT(grpo::aggregation::token_sum);
BOOST_HANA_ADAPT_STRUCT(grpo::aggregation::luspo);
BOOST_HANA_ADAPT_STRUCT(grpo::correction::entropy_bonus, coef);
BOOST_HANA_ADAPT_STRUCT(grpo::correction::top_entropy, keep_fraction, threshold);
BOOST_HANA_ADAPT_STRUCT(grpo::correction::truncated_mask);
BOOST_HANA_ADAPT_STRUCT(grpo::correction::sampler_mismatch, level, mode, c_min, c_max);
BOOST_HANA_ADAPT_STRUCT(grpo::correction::off_policy_mask, delta);

namespace grpo {

namespace detail {

template <class T, class F>
void visit_fields(const T& x, const std::string& prefix, F& f);

template <class V, class F>
void visit_value(const V& v, const std::string& name, F& f) {
  if constexpr (std::is_arithmetic_v<V>) f(name, double(v));
  else if constexpr (std::is_enum_v<V>) f(name, double(static_cast<int>(v)));
  else visit_fields(v, name + ".", f);
}

template <class K, class F>
void visit_fields(const kl::clamped<K>& x, const std::string& prefix, F& f) {
  visit_value(x.lo, prefix + "lo", f);
  visit_value(x.hi, prefix + "hi", f);
  visit_fields(x.inner, prefix + "inner.", f);
}
template <class K, class F>
void visit_fields(const kl::straight_through<K>& x, const std::string& prefix, F& f) {
  visit_fields(x.inner, prefix + "inner.", f);
}
template <class T, class A, class F>
void visit_fields(const aggregated<T, A>& x, const std::string& prefix, F& f) {
  visit_fields(static_cast<const T&>(x), prefix, f);
  visit_fields(x.aggregation, prefix + "aggregation.", f);
}

template <class T, class F>
void visit_fields(const T& x, const std::string& prefix, F& f) {
  boost::hana::for_each(boost::hana::accessors<T>(), [&](auto pair) {
    const std::string name = boost::hana::to<const char*>(boost::hana::first(pair));
    visit_value(boost::hana::second(pair)(x), prefix + name, f);
  });
}

}  // namespace detail

/// Calls f(name, value) for every hyper-parameter of the objective, e.g.
/// ("surrogate.eps_high", 0.28); enums are passed as their integer value.
template <class O, class F>
  requires is_objective<O>
void for_each_hyperparameter(const O& o, F&& f) {
  detail::visit_fields(o.ratio, "ratio.", f);
  detail::visit_fields(o.surrogate, "surrogate.", f);
  detail::visit_fields(o.kl, "kl.", f);
  detail::visit_fields(o.aggregation, "aggregation.", f);
  f(std::string("beta"), o.beta);
  [&]<class... Cs>(const correction_set<Cs...>& cs) {
    (detail::visit_fields(cs.template get<Cs>(), std::string("corrections.") + Cs::name + ".", f), ...);
  }(o.corrections);
}

/// "ratio=token surrogate=ppo_clip kl=k3 aggregation=token_mean" plus one "name = value" line
/// per hyper-parameter.
template <class O>
  requires is_objective<O>
std::string describe(const O& o) {
  std::ostringstream s;
  s << "ratio=" << O::ratio_type::name << " surrogate=" << O::surrogate_type::name
    << " kl=" << O::kl_type::name << " aggregation=" << O::aggregation_type::name << "\n";
  for_each_hyperparameter(o, [&](const std::string& n, double v) { s << "  " << n << " = " << v << "\n"; });
  return s.str();
}

/// Generic check of every field: none may be NaN (except a top-entropy threshold, where NaN
/// means "computed from the batch"); then the parts' own domain checks (grpo::validate) apply.
template <class O>
  requires is_objective<O>
status check_hyperparameters(const O& o) {
  status st;
  for_each_hyperparameter(o, [&](const std::string& n, double v) {
    if (st.ok() && std::isnan(v) && n.find("threshold") == std::string::npos)
      st = status{errc::bad_config, n, -1, "hyper-parameter is NaN"};
  });
  return st;
}

/// Calls f(name, value) for each statistic ("kl", "clip_high", "ratio_min", ...).
template <class F>
void for_each_statistic(const objective_statistics& s, F&& f) {
  for (const auto& e : s) f(e.name(), e.value);
}

}  // namespace grpo
