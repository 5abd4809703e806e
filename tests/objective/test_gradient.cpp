// Float64 finite-difference check of the fused pass instantiated with Real = double: for every
// term combination of objectives.hpp and every preset, dL/dlogp from the fused body equals the
// central difference of the fused loss.
#include "objectives.hpp"
#include "support.hpp"

#include <grpo/objective/presets.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

namespace {

// Terms with a stop-gradient inside (CISPO's sg(weight), straight-through KL) have an analytic
// gradient that is not the derivative of their value; for those the difference is taken of the
// float64 reference, which keeps the stop-gradient copies fixed.
template <class K>
inline constexpr bool is_straight_through = false;
template <class K>
inline constexpr bool is_straight_through<grpo::kl::straight_through<K>> = true;
template <class O>
inline constexpr bool has_stop_gradient =
    std::is_same_v<typename O::surrogate_type, grpo::surrogate::cispo_trl> ||
    std::is_same_v<typename O::surrogate_type, grpo::surrogate::cispo_clipped> ||
    is_straight_through<typename O::kl_type>;

template <class O>
void fd_check(const O& o, std::uint64_t seed, int N = 6, int T = 5) {
  objtest::options opt;
  opt.old = true;  // the difference must move log ρ, so old is an explicit input here
  opt = objtest::needs(o, opt);
  const objtest::data d = objtest::random_data(N, T, opt, seed);
  const auto res = objtest::run<double>(o, d);
  REQUIRE(res.st.ok());
  const double h = 1e-6;
  std::vector<double> x = d.logp;
  double scale = 1e-3;
  std::vector<double> fd(x.size());
  if constexpr (has_stop_gradient<O>) {
    fd = ref::reference_grad(objtest::describe(o), d.reference(), d.logp, h);
    for (double g : fd) scale = std::max(scale, std::fabs(g));
  } else for (std::size_t k = 0; k < x.size(); ++k) {
    x[k] = d.logp[k] + h;
    const double up = objtest::fused_loss(o, d, x);
    x[k] = d.logp[k] - h;
    const double dn = objtest::fused_loss(o, d, x);
    x[k] = d.logp[k];
    fd[k] = (up - dn) / (2 * h);
    scale = std::max(scale, std::fabs(fd[k]));
  }
  for (std::size_t k = 0; k < x.size(); ++k) {
    INFO("k=" << k << " analytic=" << res.grad[k] << " fd=" << fd[k]);
    CHECK(std::fabs(res.grad[k] - fd[k]) <= 1e-6 * scale);
  }
}

}  // namespace

TEMPLATE_TEST_CASE("fused double gradient equals finite differences", "[objective][gradient]",
                   OBJTEST_ALL_TYPES) {
  const TestType o = objtest::types::configure<TestType>();
  for (std::uint64_t seed = 10; seed < 14; ++seed) fd_check(o, seed);
}

TEST_CASE("every preset: analytic gradient equals finite differences", "[objective][gradient][presets]") {
  namespace p = grpo::presets;
  namespace ag = grpo::aggregation;
  auto with_kl = [](auto o) { o.beta = 0.04; return o; };
  for (std::uint64_t seed = 20; seed < 23; ++seed) {
    fd_check(p::trl::grpo(), seed);
    fd_check(with_kl(p::trl::grpo()), seed);
    fd_check(with_kl(grpo::with<grpo::ratio::sequence>(p::trl::grpo())), seed);
    fd_check(p::trl::bnpo(), seed);
    fd_check(p::trl::dr_grpo(), seed);
    fd_check(with_kl(p::trl::dapo()), seed);
    fd_check(p::trl::cispo(), seed);
    fd_check(p::trl::cispo(5.0), seed);
    fd_check(p::trl::sapo(), seed);
    fd_check(with_kl(p::trl::luspo()), seed);
    fd_check(p::verl::vanilla(0.001), seed);
    fd_check(p::verl::vanilla<ag::seq_mean_token_mean>(0.04), seed);
    fd_check(p::verl::vanilla<ag::seq_mean_token_sum>(), seed);
    fd_check(p::verl::vanilla<ag::constant>(), seed);
    fd_check(p::verl::vanilla<ag::token_sum>(), seed);
    fd_check(p::verl::gspo(0.04), seed);
    fd_check(p::verl::sapo(), seed);
    fd_check(p::verl::gpg(), seed);
    fd_check(p::verl::geo_mean(), seed);
    fd_check(p::verl::cispo(), seed);
    fd_check(p::verl::dro(0.3), seed);
    fd_check(p::openrlhf::ppo(), seed);
    fd_check(p::openrlhf::ppo<grpo::kl::k3, ag::seq_mean_token_mean>(0.01), seed);
    fd_check(p::openrlhf::ppo<grpo::kl::k2>(0.01), seed);
    fd_check(p::openrlhf::gspo<grpo::kl::k3>(0.01), seed);
    fd_check(p::liger::grpo(), seed);
    fd_check(p::liger::dr_grpo(64), seed);
    fd_check(p::liger::cispo(), seed);
  }
}
