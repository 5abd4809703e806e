// Host-side Hana reflection: every hyper-parameter by name, generic NaN check, statistics by name.
#include <grpo/exec/cpu.hpp>
#include <grpo/objective/presets.hpp>
#include <grpo/objective/reflect.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <map>

TEST_CASE("hyper-parameters are reflected by name", "[objective][reflect]") {
  auto v = grpo::presets::verl::vanilla(0.001);
  std::map<std::string, double> f;
  grpo::for_each_hyperparameter(v, [&](const std::string& n, double x) { f[n] = x; });
  CHECK(f.at("surrogate.dual_clip") == 3.0);
  CHECK(std::isinf(f.at("surrogate.delta")));
  CHECK(f.at("kl.lo") == -10.0);
  CHECK(f.at("kl.inner.exp_max") == 20.0);
  CHECK(f.at("beta") == 0.001);
  CHECK(f.at("ratio.log_max") == 20.0);
  auto r = grpo::presets::openrlhf::ppo<grpo::kl::k3, grpo::aggregation::seq_mean_token_mean>(0.01);
  f.clear();
  grpo::for_each_hyperparameter(r, [&](const std::string& n, double x) { f[n] = x; });
  CHECK(f.at("kl.inner.exp_max") == 10.0);
  CHECK(f.at("aggregation.over") == 1.0);     // OpenRLHF's sample mode: the non-empty sequences
  CHECK(grpo::describe(v).find("surrogate=ppo_clip") != std::string::npos);

  grpo::objective<grpo::ratio::token, grpo::surrogate::sapo, grpo::kl::none, grpo::aggregation::token_mean,
                  grpo::correction::top_entropy, grpo::correction::sampler_mismatch> o;
  f.clear();
  grpo::for_each_hyperparameter(o, [&](const std::string& n, double x) { f[n] = x; });
  CHECK(f.at("corrections.top_entropy.keep_fraction") == 0.2);
  CHECK(f.at("corrections.sampler_mismatch.c_max") == 3.0);
  CHECK(grpo::check_hyperparameters(o).ok());  // NaN threshold = "from the batch" is allowed
  o.surrogate.tau_neg = std::nan("");
  const auto st = grpo::check_hyperparameters(o);
  CHECK(st.kind() == grpo::errc::bad_config);
  CHECK(st.input() == "surrogate.tau_neg");
}

TEST_CASE("statistics by name", "[objective][reflect]") {
  float lp[4] = {-1, -2, -0.5f, -1}, old[4] = {-1.3f, -1.9f, -0.5f, -1}, adv[2] = {1, -1};
  std::uint8_t m[4] = {1, 1, 1, 0};
  grpo::token_batch<float> b;
  b.N = 2, b.T = 2, b.logp = lp, b.old = old, b.mask = m, b.advantages = adv;
  grpo::objective_result r;
  REQUIRE(grpo::evaluate(grpo::presets::trl::dapo(), b, grpo::gradient_out<float>{}, r).ok());
  std::map<std::string, double> s;
  grpo::for_each_statistic(r.stats, [&](const std::string& n, double x) { s[n] = x; });
  CHECK(s.at("clip_high") == Approx(1.0 / 3));  // ρ = e^{0.3} > 1.2 with A > 0: one token of three
  CHECK(s.at("ratio_max") == Approx(std::exp(0.3)).epsilon(1e-6));
  CHECK(r.stats["clip_high"] == s.at("clip_high"));
  CHECK(std::isnan(r.stats["no_such_statistic"]));
  CHECK_FALSE(r.stats.has("kl"));  // β = 0
  // under the peer's names
  std::map<std::string, double> trl;
  grpo::presets::trl::metrics(grpo::presets::trl::dapo(), r.stats, [&](std::string_view n, double x) { trl[std::string(n)] = x; });
  CHECK(trl.at("clip_ratio/high_mean") == s.at("clip_high"));
  CHECK(trl.at("clip_ratio/region_mean") == s.at("clip_region"));
}
