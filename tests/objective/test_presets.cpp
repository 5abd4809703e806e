// Presets: their hyper-parameters are the peers' defaults, and each preset's numbers equal the
// float64 reference configured from the peer's formulas.
#include "support.hpp"

#include <grpo/objective/presets.hpp>

#include <catch2/catch.hpp>

#include <cmath>

namespace {
template <class O>
void matches_reference(const O& o, std::uint64_t seed) {
  objtest::options opt = objtest::needs(o, {});
  const objtest::data d = objtest::random_data(12, 9, opt, seed);
  const auto res = objtest::run<float>(o, d);
  REQUIRE(res.st.ok());
  const double rl = ref::reference_loss(objtest::describe(o), d.reference(), d.logp, d.logp);
  CHECK(std::fabs(res.r.loss - rl) <= 1e-5 * std::max(std::fabs(rl), 0.1));
}
}  // namespace

TEST_CASE("TRL presets carry TRL's defaults", "[objective][presets]") {
  namespace t = grpo::presets::trl;
  const auto g = t::grpo();
  CHECK(g.surrogate.eps_low == 0.2);
  CHECK(g.surrogate.eps_high == 0.2);
  CHECK(std::isinf(g.surrogate.delta));
  CHECK(g.beta == 0.0);
  CHECK(std::string(g.aggregation.name) == "seq_mean_token_mean");
  CHECK(std::string(t::bnpo().aggregation.name) == "bnpo");
  CHECK(t::dr_grpo().aggregation.max_length == 512);
  CHECK(std::string(t::dapo().aggregation.name) == "token_mean");
  CHECK(t::cispo().surrogate.eps_max == 0.2);
  CHECK(t::cispo(5.0).surrogate.eps_max == 5.0);
  CHECK(t::sapo().surrogate.tau_pos == 1.0);
  CHECK(t::sapo().surrogate.tau_neg == 1.05);
  CHECK(t::luspo().level == grpo::ratio_level::sequence);
}

TEST_CASE("verl and OpenRLHF presets carry their defaults", "[objective][presets]") {
  const auto v = grpo::presets::verl::vanilla();
  CHECK(v.surrogate.delta == 3.0);
  CHECK(v.beta == 0.001);
  CHECK(v.kl.lo == -10.0);
  CHECK(v.kl.hi == 10.0);
  CHECK(v.kl.inner.d_clamp == 20.0);
  CHECK(v.ratio.log_clamp == 20.0);
  const auto o = grpo::presets::openrlhf::group_norm<grpo::kl::k3>(0.01);
  CHECK(std::isinf(o.surrogate.delta));
  CHECK(o.kl.lo == -10.0);
  CHECK(std::isinf(o.kl.inner.d_clamp));
  CHECK(o.beta == 0.01);
}

TEST_CASE("every preset matches the float64 reference", "[objective][presets]") {
  namespace p = grpo::presets;
  auto kl = [](auto o) { o.beta = 0.04; return o; };
  for (std::uint64_t seed = 40; seed < 43; ++seed) {
    matches_reference(p::trl::grpo(), seed);
    matches_reference(kl(p::trl::grpo()), seed);
    matches_reference(p::trl::bnpo(), seed);
    matches_reference(p::trl::dr_grpo(), seed);
    matches_reference(p::trl::dapo(), seed);
    matches_reference(p::trl::cispo(), seed);
    matches_reference(p::trl::sapo(), seed);
    matches_reference(p::trl::luspo(), seed);
    matches_reference(p::verl::vanilla(), seed);
    matches_reference(p::verl::vanilla<grpo::aggregation::seq_mean_token_mean>(), seed);
    matches_reference(p::verl::vanilla<grpo::aggregation::seq_mean_token_sum>(), seed);
    matches_reference(p::verl::vanilla<grpo::aggregation::constant>(), seed);
    matches_reference(p::verl::vanilla<grpo::aggregation::token_sum>(), seed);
    matches_reference(p::openrlhf::group_norm<grpo::kl::k1>(0.01), seed);
    matches_reference(p::openrlhf::dr_grpo<grpo::kl::k2>(0.01), seed);
    matches_reference(p::openrlhf::rloo<grpo::kl::k3>(0.01), seed);
    matches_reference(p::openrlhf::reinforce_baseline(), seed);
  }
}

TEST_CASE("verl dual-clip caps the loss of a negative-advantage token at -c*A", "[objective][presets]") {
  // one token, ρ = e^2 ≈ 7.39 > c = 3, A = -1: vanilla loss = -min(c·A, ...) = 3
  auto v = grpo::presets::verl::vanilla();
  v.beta = 0;
  float logp[1] = {-1.f}, old[1] = {-3.f}, adv[1] = {-1.f};
  std::uint8_t m[1] = {1};
  grpo::token_batch<float> b;
  b.N = 1; b.T = 1; b.logp = logp; b.old = old; b.mask = m; b.advantages = adv;
  float g[1];
  grpo::objective_result r;
  REQUIRE(grpo::evaluate(v, b, grpo::gradient_out<float>{g}, r).ok());
  CHECK(r.loss == Approx(3.0));
  CHECK(g[0] == 0.0f);  // the cap holds: no gradient
  // OpenRLHF without dual clip: −min(ρA, clip(ρ)A) = ρ = e^2, gradient ρ
  auto o = grpo::presets::openrlhf::group_norm();
  REQUIRE(grpo::evaluate(o, b, grpo::gradient_out<float>{g}, r).ok());
  CHECK(r.loss == Approx(std::exp(2.0)).epsilon(1e-6));
  CHECK(g[0] == Approx(std::exp(2.0)).epsilon(1e-6));
}
