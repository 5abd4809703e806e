// Presets carry their peer's defaults (the numbers are checked against the peers' own code in
// test_peers.cpp), and grpo::with swaps one part of a preset.
#include "support.hpp"

#include <grpo/objective/presets.hpp>

#include <catch2/catch.hpp>

#include <cmath>

TEST_CASE("TRL presets carry TRL's defaults", "[objective][presets]") {
  namespace t = grpo::presets::trl;
  const auto g = t::grpo();
  CHECK(g.surrogate.eps_low == 0.2);
  CHECK(g.surrogate.eps_high == 0.2);
  CHECK(std::isinf(g.surrogate.delta));
  CHECK(std::isinf(g.surrogate.dual_clip));
  CHECK(g.beta == 0.0);
  CHECK(std::isinf(g.ratio.log_max));  // TRL clamps neither log ρ nor k3
  CHECK(std::isinf(g.kl.base.exp_max));
  CHECK(std::is_same_v<typename decltype(g)::kl_type, grpo::kl::is_corrected_k3>);  // use_bias_correction_kl = True
  CHECK(std::string(g.aggregation.name) == "seq_mean_token_mean");
  CHECK(g.aggregation.over == grpo::aggregation::count::all);
  CHECK(std::string(t::bnpo().aggregation.name) == "bnpo");
  CHECK(t::dr_grpo().aggregation.max_length == 512);
  CHECK(std::string(t::dapo().aggregation.name) == "token_mean");
  CHECK(t::cispo().surrogate.eps_max == 0.2);
  CHECK(t::cispo(5.0).surrogate.eps_max == 5.0);
  CHECK(t::sapo().surrogate.tau_pos == 1.0);
  CHECK(t::sapo().surrogate.tau_neg == 1.05);
  CHECK(t::luspo().level == grpo::ratio_level::sequence);
}

TEST_CASE("verl, OpenRLHF and Liger presets carry their defaults", "[objective][presets]") {
  const auto v = grpo::presets::verl::vanilla();
  CHECK(v.surrogate.dual_clip == 3.0);
  CHECK(std::isinf(v.surrogate.delta));
  CHECK(v.beta == 0.0);  // use_kl_loss = False
  CHECK(grpo::presets::verl::vanilla(0.001).beta == 0.001);
  CHECK(v.kl.lo == -10.0);
  CHECK(v.kl.hi == 10.0);
  CHECK(v.kl.inner.exp_min == -20.0);
  CHECK(v.ratio.log_max == 20.0);
  const auto gs = grpo::presets::verl::gspo();
  CHECK(gs.ratio.log_max == 10.0);
  CHECK(std::isinf(gs.ratio.log_min));
  CHECK(grpo::presets::verl::geo_mean().surrogate.eps_low == 0.2);
  const auto o = grpo::presets::openrlhf::ppo<grpo::kl::k3, grpo::aggregation::seq_mean_token_mean>(0.01);
  CHECK(std::isinf(o.surrogate.dual_clip));
  CHECK(o.kl.lo == -10.0);
  CHECK(o.kl.inner.exp_max == 10.0);
  CHECK(std::isinf(o.kl.inner.exp_min));
  CHECK(o.aggregation.over == grpo::aggregation::count::nonempty);
  CHECK(o.ratio.approx_kl_raw);
  CHECK(o.beta == 0.01);
  const auto l = grpo::presets::liger::dapo();
  CHECK(l.beta == 0.04);
  CHECK(std::is_same_v<typename decltype(l)::kl_type, grpo::kl::k3>);  // use_bias_correction_kl = False
}

TEST_CASE("grpo::with swaps one part and keeps the rest", "[objective][presets]") {
  auto g = grpo::presets::trl::grpo();
  g.beta = 0.04;
  g.surrogate.eps_high = 0.28;
  const auto k = grpo::with(g, grpo::kl::k3{});
  CHECK(std::is_same_v<typename decltype(k)::kl_type, grpo::kl::k3>);
  CHECK(k.beta == 0.04);
  CHECK(k.surrogate.eps_high == 0.28);
  const auto s = grpo::with<grpo::ratio::sequence>(g);
  CHECK(s.level == grpo::ratio_level::sequence);
  CHECK(std::isinf(g.ratio.log_max));  // the preset's clamp is replaced by the part's default
  CHECK(s.ratio.log_max == 20.0);
  grpo::correction::entropy_bonus bonus;
  bonus.coef = 0.01;
  const auto e = grpo::with(g, bonus);
  CHECK(e.template has<grpo::correction::entropy_bonus>);
  CHECK(e.corrections.template get<grpo::correction::entropy_bonus>().coef == 0.01);
  bonus.coef = 0.02;
  const auto e2 = grpo::with(e, bonus);  // replaces, does not add
  CHECK(std::is_same_v<decltype(e2), decltype(e)>);
  CHECK(e2.corrections.template get<grpo::correction::entropy_bonus>().coef == 0.02);
}

TEST_CASE("verl dual-clip caps the loss of a negative-advantage token at -c*A", "[objective][presets]") {
  // one token, ρ = e^2 ≈ 7.39 > c = 3, A = -1: vanilla loss = min(c·(−A), ...) = 3
  auto v = grpo::presets::verl::vanilla();
  float logp[1] = {-1.f}, old[1] = {-3.f}, adv[1] = {-1.f};
  std::uint8_t m[1] = {1};
  grpo::token_batch<float> b;
  b.N = 1; b.T = 1; b.logp = logp; b.old = old; b.mask = m; b.advantages = adv;
  float g[1];
  grpo::objective_result r;
  REQUIRE(grpo::evaluate(v, b, grpo::gradient_out<float>{g}, r).ok());
  CHECK(r.loss == Approx(3.0));
  CHECK(g[0] == 0.0f);  // the cap holds: no gradient
  CHECK(r.stats["clip_dual"] == 1.0);
  // OpenRLHF without dual clip: −min(ρA, clip(ρ)A) = ρ = e^2, gradient ρ
  auto o = grpo::presets::openrlhf::ppo();
  REQUIRE(grpo::evaluate(o, b, grpo::gradient_out<float>{g}, r).ok());
  CHECK(r.loss == Approx(std::exp(2.0)).epsilon(1e-6));
  CHECK(g[0] == Approx(std::exp(2.0)).epsilon(1e-6));
}
