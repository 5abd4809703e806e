#pragma once
// Host-only reflection of the estimators' hyper-parameters with Boost.Hana: print every field by
// name, visit them generically (to validate or parse a configuration). Never include this from
// device code; estimators.hpp stays free of Hana.
#include <grpo/advantage/estimators.hpp>

#include <boost/hana/adapt_struct.hpp>
#include <boost/hana/for_each.hpp>
#include <boost/hana/keys.hpp>
#include <boost/hana/accessors.hpp>
#include <boost/hana/tuple.hpp>
#include <boost/hana/type.hpp>

#include <sstream>
#include <string>

BOOST_HANA_ADAPT_STRUCT(grpo::group_normalized, convention, eps);
BOOST_HANA_ADAPT_STRUCT(grpo::mean_only);
BOOST_HANA_ADAPT_STRUCT(grpo::group_mean_batch_std, convention, eps);
BOOST_HANA_ADAPT_STRUCT(grpo::rloo);
BOOST_HANA_ADAPT_STRUCT(grpo::reinforce_pp, gamma, beta, whiten_eps);
BOOST_HANA_ADAPT_STRUCT(grpo::reinforce_pp_baseline, whiten_eps);
BOOST_HANA_ADAPT_STRUCT(grpo::remax);
BOOST_HANA_ADAPT_STRUCT(grpo::opo);
BOOST_HANA_ADAPT_STRUCT(grpo::gpg, scale_by_std, convention, eps);
BOOST_HANA_ADAPT_STRUCT(grpo::passk_grpo, scale_by_std, convention, eps);
BOOST_HANA_ADAPT_STRUCT(grpo::gdpo, convention, eps, batch_eps);
BOOST_HANA_ADAPT_STRUCT(grpo::process_supervision, convention, eps);

namespace grpo {

/// Every estimator type, for code that iterates over all of them (docs, demos, tests).
inline constexpr auto advantage_estimator_types =
    boost::hana::tuple_t<group_normalized, mean_only, group_mean_batch_std, rloo, reinforce_pp,
                         reinforce_pp_baseline, remax, opo, gpg, passk_grpo, gdpo,
                         process_supervision>;

/// Calls f(name, value) for each hyper-parameter of the estimator, in declaration order.
template <advantage_estimator E, class F>
void for_each_hyperparameter(const E& est, F&& f) {
  boost::hana::for_each(boost::hana::accessors<E>(), [&](auto pair) {
    f(boost::hana::to<const char*>(boost::hana::first(pair)), boost::hana::second(pair)(est));
  });
}

namespace advantage_detail {
inline void print_value(std::ostream& os, std_convention c) { os << to_string(c); }
inline void print_value(std::ostream& os, bool b) { os << (b ? "true" : "false"); }
inline void print_value(std::ostream& os, double d) { os << d; }
}  // namespace advantage_detail

/// "group_normalized{convention=bessel, eps=1e-06}"
template <advantage_estimator E>
std::string describe(const E& est) {
  std::ostringstream os;
  os << E::name << '{';
  bool first = true;
  for_each_hyperparameter(est, [&](const char* name, const auto& value) {
    os << (first ? "" : ", ") << name << '=';
    advantage_detail::print_value(os, value);
    first = false;
  });
  os << '}';
  return os.str();
}

}  // namespace grpo
