#pragma once
// Test support: random batches, the mapping from an objective type to the reference's run-time
// description, and a runner of the fused CPU pass.
#include "reference.hpp"

#include <grpo/exec/cpu.hpp>

#include <cstdint>
#include <random>
#include <type_traits>
#include <vector>

namespace objtest {

struct options {
  bool old = true, ref = true, mask = true, lengths = false, token_adv = false, entropy = false,
       sampler = false, truncated = false;
  double spread = 0.3;  // std of logp − old
};

/// A batch in double; `view<Real>()` converts it to the library's views over Real copies.
struct data {
  int N = 0, T = 0;
  options opt;
  std::vector<double> logp, old, ref, entropy, sampler, adv, token_adv;
  std::vector<std::uint8_t> mask, truncated;
  std::vector<std::int32_t> lengths;

  template <class Real>
  struct view {
    std::vector<Real> logp, old, ref, entropy, sampler, adv, token_adv;
    grpo::token_batch<Real> b;
  };

  template <class Real>
  view<Real> make() const {
    view<Real> v;
    auto cv = [](const std::vector<double>& x) { return std::vector<Real>(x.begin(), x.end()); };
    v.logp = cv(logp); v.old = cv(old); v.ref = cv(ref); v.entropy = cv(entropy);
    v.sampler = cv(sampler); v.adv = cv(adv); v.token_adv = cv(token_adv);
    auto p = [](const auto& x) { return x.empty() ? nullptr : x.data(); };
    v.b.N = N; v.b.T = T;
    v.b.logp = p(v.logp); v.b.old = p(v.old); v.b.ref = p(v.ref); v.b.entropy = p(v.entropy);
    v.b.sampler_logp = p(v.sampler); v.b.advantages = p(v.adv); v.b.token_advantages = p(v.token_adv);
    v.b.mask = p(mask); v.b.truncated = p(truncated); v.b.lengths = p(lengths);
    return v;
  }

  ref::batch reference() const {
    ref::batch b;
    b.N = N; b.T = T; b.old = old; b.ref = ref; b.entropy = entropy; b.sampler = sampler;
    b.adv = adv; b.token_adv = token_adv; b.mask = mask; b.truncated = truncated;
    b.lengths.assign(lengths.begin(), lengths.end());
    return b;
  }
};

inline data random_data(int N, int T, const options& o, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> nd(0.0, 1.0);
  std::uniform_real_distribution<double> ud(0.0, 1.0);
  data d;
  d.N = N; d.T = T; d.opt = o;
  const int NT = N * T;
  d.logp.resize(NT);
  for (auto& x : d.logp) x = -0.05 - 3.0 * ud(rng);
  if (o.old) {
    d.old.resize(NT);
    for (int k = 0; k < NT; ++k) d.old[k] = d.logp[k] + o.spread * nd(rng);
  }
  if (o.ref) {
    d.ref.resize(NT);
    for (int k = 0; k < NT; ++k) d.ref[k] = d.logp[k] + 0.5 * nd(rng);
  }
  if (o.entropy) {
    d.entropy.resize(NT);
    for (auto& x : d.entropy) x = 4.0 * ud(rng);
  }
  if (o.sampler) {
    d.sampler.resize(NT);
    for (int k = 0; k < NT; ++k) d.sampler[k] = (o.old ? d.old[k] : d.logp[k]) + 0.15 * nd(rng);
  }
  if (o.token_adv) {
    d.token_adv.resize(NT);
    for (auto& x : d.token_adv) x = nd(rng);
  } else {
    d.adv.resize(N);
    for (auto& x : d.adv) x = nd(rng);
  }
  if (o.mask) {
    d.mask.resize(NT);
    for (int i = 0; i < N; ++i) {
      const int len = 1 + static_cast<int>(ud(rng) * T);  // ragged: a prefix of random length
      for (int t = 0; t < T; ++t) d.mask[i * T + t] = t < len && ud(rng) > 0.1 ? 1 : 0;
    }
  }
  if (o.lengths || !o.mask) {
    d.lengths.resize(N);
    for (auto& l : d.lengths) l = static_cast<std::int32_t>(ud(rng) * (T + 1));
  }
  if (o.truncated) {
    d.truncated.resize(N);
    for (auto& x : d.truncated) x = ud(rng) < 0.3 ? 1 : 0;
  }
  return d;
}

// ---- objective type -> reference description ---------------------------------------------------

template <class K>
void describe_kl(ref::config& c, const K& k) {
  using namespace grpo::kl;
  if constexpr (std::is_same_v<K, none>) c.k = ref::kle::none;
  else if constexpr (std::is_same_v<K, k1>) c.k = ref::kle::k1;
  else if constexpr (std::is_same_v<K, k2>) c.k = ref::kle::k2;
  else if constexpr (std::is_same_v<K, k3>) { c.k = ref::kle::k3; c.exp_min = k.exp_min; c.exp_max = k.exp_max; }
  else if constexpr (std::is_same_v<K, grpo::kl::abs>) c.k = ref::kle::abs;
  else if constexpr (std::is_same_v<K, is_corrected_k3>) {
    describe_kl(c, k.base); c.kl_is_corrected = true;
  } else if constexpr (requires { k.lo; }) {
    describe_kl(c, k.inner); c.kl_value_clamp = true; c.kl_lo = k.lo; c.kl_hi = k.hi;
  } else {
    describe_kl(c, k.inner); c.kl_straight_through = true;
  }
}

template <class A>
ref::agg describe_agg(ref::config& c, const A& a) {
  namespace ag = grpo::aggregation;
  if constexpr (requires { a.over; }) c.over_nonempty = a.over == ag::count::nonempty;
  if constexpr (std::is_same_v<A, ag::seq_mean_token_mean>) return ref::agg::seq_mean_token_mean;
  else if constexpr (std::is_same_v<A, ag::token_mean>) return ref::agg::token_mean;
  else if constexpr (std::is_same_v<A, ag::bnpo>) return ref::agg::bnpo;
  else if constexpr (std::is_same_v<A, ag::constant>) {
    c.max_length = a.max_length; c.per_sequence = a.per_sequence;
    return ref::agg::constant;
  } else if constexpr (std::is_same_v<A, ag::seq_mean_token_sum>) return ref::agg::seq_mean_token_sum;
  else if constexpr (std::is_same_v<A, ag::token_sum>) return ref::agg::token_sum;
  else return ref::agg::luspo;
}

template <class T>
inline constexpr bool is_aggregated = false;
template <class T, class A>
inline constexpr bool is_aggregated<grpo::aggregated<T, A>> = true;

template <class O>
ref::config describe(const O& o) {
  ref::config c;
  using R = typename O::ratio_type;
  using S = typename O::surrogate_type;
  namespace su = grpo::surrogate;
  namespace co = grpo::correction;
  c.lvl = R::level == grpo::ratio_level::token      ? ref::level::token
          : R::level == grpo::ratio_level::sequence ? ref::level::sequence
                                                    : ref::level::gspo_token;
  c.log_min = o.ratio.log_min;
  c.log_max = o.ratio.log_max;
  if constexpr (requires { o.ratio.approx_kl_raw; }) c.approx_kl_raw = o.ratio.approx_kl_raw;
  if constexpr (std::is_same_v<S, su::ppo_clip>) {
    c.s = ref::surr::ppo; c.eps_low = o.surrogate.eps_low; c.eps_high = o.surrogate.eps_high;
    c.delta = o.surrogate.delta; c.dual_clip = o.surrogate.dual_clip;
  } else if constexpr (std::is_same_v<S, su::cispo_trl>) {
    c.s = ref::surr::cispo_trl; c.eps_max = o.surrogate.eps_max;
  } else if constexpr (std::is_same_v<S, su::cispo_clipped>) {
    c.s = ref::surr::cispo_clipped; c.eps_low = o.surrogate.eps_low; c.eps_high = o.surrogate.eps_high;
  } else if constexpr (std::is_same_v<S, su::sapo>) {
    c.s = ref::surr::sapo; c.tau_pos = o.surrogate.tau_pos; c.tau_neg = o.surrogate.tau_neg;
  } else if constexpr (std::is_same_v<S, su::gmpo>) {
    c.s = ref::surr::gmpo; c.gmpo_eps_low = o.surrogate.eps_low; c.gmpo_eps_high = o.surrogate.eps_high;
  } else if constexpr (std::is_same_v<S, su::gpg>) {
    c.s = ref::surr::gpg;
  } else {
    c.s = ref::surr::dro; c.dro_beta = o.surrogate.beta;
  }
  using K = typename O::kl_type;
  if constexpr (is_aggregated<K>) {
    describe_kl(c, static_cast<const typename K::base_type&>(o.kl));
  } else {
    describe_kl(c, o.kl);
  }
  c.beta = o.beta;
  c.a = describe_agg(c, o.aggregation);
  if constexpr (is_aggregated<K>) { ref::config tmp; c.kl_agg = describe_agg(tmp, o.kl.aggregation); }
  if constexpr (O::template has<co::entropy_bonus>) {
    c.entropy_bonus = true; c.entropy_coef = o.corrections.template get<co::entropy_bonus>().coef;
  }
  if constexpr (O::template has<grpo::aggregated<co::entropy_bonus, grpo::aggregation::token_mean>>) {
    c.entropy_bonus = true; c.entropy_agg = ref::agg::token_mean;
    c.entropy_coef = o.corrections.template get<grpo::aggregated<co::entropy_bonus, grpo::aggregation::token_mean>>().coef;
  }
  if constexpr (O::template has<co::top_entropy>) {
    const auto& te = o.corrections.template get<co::top_entropy>();
    c.top_entropy = true; c.keep_fraction = te.keep_fraction; c.entropy_threshold = te.threshold;
  }
  if constexpr (O::template has<co::truncated_mask>) c.truncated_mask = true;
  if constexpr (O::template has<co::sampler_mismatch>) {
    const auto& s = o.corrections.template get<co::sampler_mismatch>();
    c.sampler = true; c.sampler_token_level = s.level == co::is_level::token;
    c.sampler_truncate = s.mode == co::is_mode::truncate; c.c_min = s.c_min; c.c_max = s.c_max;
  }
  if constexpr (O::template has<co::off_policy_mask>) {
    c.off_policy = true; c.off_delta = o.corrections.template get<co::off_policy_mask>().delta;
  }
  return c;
}

/// What an objective needs in its batch.
template <class O>
options needs(const O& o, options base = {}) {
  base.ref = O::has_kl && o.beta != 0;
  base.entropy = base.entropy || O::needs_entropy;
  base.sampler = base.sampler || (O::reads & (grpo::reads::sampler | grpo::reads::sampler_if_given)) != 0;
  base.truncated = base.truncated || (O::reads & grpo::reads::truncated) != 0;
  if (O::level == grpo::ratio_level::sequence || (O::reads & grpo::reads::sequence_advantage) != 0)
    base.token_adv = false;
  return base;
}

template <class Real>
struct run_result {
  grpo::status st;
  grpo::objective_result r;
  std::vector<Real> grad;
};

template <class Real, class O, class Exec = grpo::exec::serial>
run_result<Real> run(const O& o, const data& d, Exec e = {}) {
  auto v = d.make<Real>();
  std::vector<Real> grad(static_cast<std::size_t>(d.N) * d.T, Real(7));  // poison: write mode must overwrite
  grpo::objective_result r;
  const grpo::status st = grpo::evaluate(o, v.b, grpo::gradient_out<Real>{grad.data()}, r, e);
  return {st, r, std::move(grad)};
}

/// Loss of the fused double pass with logp replaced (old/sampler/... fixed), for finite differences.
template <class O>
double fused_loss(const O& o, const data& d, const std::vector<double>& logp) {
  auto v = d.make<double>();
  v.logp = logp;
  v.b.logp = v.logp.data();
  grpo::objective_result r;
  if (!grpo::evaluate(grpo::unchecked, o, v.b, grpo::gradient_out<double>{}, r).ok()) return NAN;
  return r.loss;
}

/// Largest |a − b| / max(|b|, floor) over the statistics both report.
inline double stats_error(const grpo::objective_statistics& got, const ref::stats& want, double floor, std::string* worst = nullptr) {
  double e = 0;
  for (const auto& [k, v] : want) {
    if (!got.has(k)) continue;
    // NaN (the extrema of nothing) must meet NaN
    const double d = std::isnan(v) || std::isnan(got[k]) ? (std::isnan(v) && std::isnan(got[k]) ? 0.0 : INFINITY)
                                                         : std::fabs(got[k] - v) / std::max(std::fabs(v), floor);
    if (d > e) {
      e = d;
      if (worst) *worst = k + " got " + std::to_string(got[k]) + " want " + std::to_string(v);
    }
  }
  return e;
}

}  // namespace objtest
