// Host-side Hana reflection: every hyper-parameter by name, generic NaN check, statistics by name.
#include <grpo/objective/presets.hpp>
#include <grpo/objective/reflect.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <map>

TEST_CASE("hyper-parameters are reflected by name", "[objective][reflect]") {
  auto v = grpo::presets::verl::vanilla();
  std::map<std::string, double> f;
  grpo::for_each_hyperparameter(v, [&](const std::string& n, double x) { f[n] = x; });
  CHECK(f.at("surrogate.delta") == 3.0);
  CHECK(f.at("kl.lo") == -10.0);
  CHECK(f.at("kl.inner.d_clamp") == 20.0);
  CHECK(f.at("beta") == 0.001);
  CHECK(f.at("ratio.log_clamp") == 20.0);
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
  grpo::objective_statistics s;
  s.kl_mean = 0.5;
  s.clip_fraction_high = 0.25;
  CHECK(grpo::statistic(s, "kl_mean") == 0.5);
  CHECK(grpo::statistic(s, "clip_fraction_high") == 0.25);
  CHECK(std::isnan(grpo::statistic(s, "no_such_statistic")));
  int n = 0;
  grpo::for_each_statistic(s, [&](const std::string&, double) { ++n; });
  CHECK(n == 10);
}
