#include <catch2/catch.hpp>
#include <grpo/model/sampler.hpp>
#include <grpo/model/tabular.hpp>
#include <grpo/model/tempered_softmax.hpp>

#include "gradcheck.hpp"
#include "reference_transformer.hpp"  // reference_tempered

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

using grpo::index_t;
namespace gm = grpo::model;

namespace {

std::vector<double> softmax(const std::vector<double>& z, double tau) {
  std::vector<double> p(z.size());
  double m = *std::max_element(z.begin(), z.end()) / tau, s = 0;
  for (size_t v = 0; v < z.size(); ++v) s += (p[v] = std::exp(z[v] / tau - m));
  for (auto& x : p) x /= s;
  return p;
}

// Draws n tokens and returns the empirical frequencies; also checks each recorded logp.
std::vector<double> frequencies(const std::vector<double>& z, const gm::sampler_config& cfg, index_t n,
                                std::uint64_t seed) {
  gm::rng_type rng(seed);
  gm::sampler_workspace<double> ws;
  std::vector<double> f(z.size(), 0.0);
  const double tau = cfg.temperature == 0 ? 1.0 : cfg.temperature;
  for (index_t k = 0; k < n; ++k) {
    const auto d = gm::sample_token<double>(z.data(), static_cast<index_t>(z.size()), cfg, rng, ws);
    f[static_cast<size_t>(d.token)] += 1.0;
    if (k < 50) {
      // the recorded logp is always that of the FULL tempered distribution
      CHECK(d.logp == Approx(grpo_test::reference_tempered(z, d.token, tau).first).margin(1e-12));
    }
  }
  for (auto& x : f) x /= double(n);
  return f;
}

// |f − p| within 5 standard errors (plus a hair): fails for a wrong distribution, not by chance.
void check_frequencies(const std::vector<double>& f, const std::vector<double>& p, index_t n) {
  for (size_t v = 0; v < p.size(); ++v) {
    INFO("token " << v << " expected " << p[v] << " got " << f[v]);
    CHECK(std::abs(f[v] - p[v]) <= 5.0 * std::sqrt(p[v] * (1 - p[v]) / double(n)) + 1e-9);
  }
}

}  // namespace

TEST_CASE("tempered softmax backward matches finite differences on the logits", "[model][softmax][gradcheck]") {
  std::mt19937_64 rng(3);
  std::normal_distribution<double> nd(0, 1.5);
  for (double tau : {1.0, 0.6, 2.5}) {
    std::vector<double> z(9);
    for (auto& v : z) v = nd(rng);
    const index_t y = 4;
    const double gl = 0.7, gh = -1.3;
    std::vector<double> p(z.size()), dz(z.size());
    const auto r = gm::tempered_softmax_row<double>(z.data(), 9, y, tau, p.data());
    const auto [lp, h] = grpo_test::reference_tempered(z, y, tau);
    CHECK(r.logp == Approx(lp).margin(1e-13));
    CHECK(r.entropy == Approx(h).margin(1e-13));
    gm::tempered_softmax_row_backward<double>(p.data(), 9, y, tau, r.entropy, gl, gh, dz.data());
    for (size_t v = 0; v < z.size(); ++v) {
      auto zz = z;
      zz[v] += 1e-6;
      const auto up = grpo_test::reference_tempered(zz, y, tau);
      zz[v] -= 2e-6;
      const auto dn = grpo_test::reference_tempered(zz, y, tau);
      const double fd = (gl * (up.first - dn.first) + gh * (up.second - dn.second)) / 2e-6;
      CHECK(dz[v] == Approx(fd).epsilon(1e-6).margin(1e-9));
    }
  }
}

TEST_CASE("sampler frequencies match softmax(z/tau)", "[model][sampler][stats]") {
  const std::vector<double> z{1.0, -0.5, 2.0, 0.3, -2.0, 0.0};
  const index_t n = 200000;
  for (double tau : {1.0, 0.5, 2.0}) {
    gm::sampler_config cfg;
    cfg.temperature = tau;
    check_frequencies(frequencies(z, cfg, n, 17), softmax(z, tau), n);
  }
}

TEST_CASE("top-k keeps exactly k tokens and samples them in proportion", "[model][sampler][stats]") {
  const std::vector<double> z{0.1, 1.5, -0.3, 2.2, 0.9, 0.9, -1.0, 0.4};
  const index_t n = 100000;
  for (index_t k : {1, 3, 5}) {
    gm::sampler_config cfg;
    cfg.temperature = 0.8;
    cfg.top_k = k;
    const auto p = softmax(z, 0.8);
    std::vector<index_t> order;
    gm::filter_candidates(p, k, 1.0, order);
    CHECK(static_cast<index_t>(order.size()) == k);
    // the kept tokens are the k most probable
    std::vector<double> sorted = p;
    std::sort(sorted.rbegin(), sorted.rend());
    for (index_t v : order) CHECK(p[static_cast<size_t>(v)] >= sorted[static_cast<size_t>(k - 1)]);
    std::vector<double> q(p.size(), 0.0);
    double mass = 0;
    for (index_t v : order) mass += p[static_cast<size_t>(v)];
    for (index_t v : order) q[static_cast<size_t>(v)] = p[static_cast<size_t>(v)] / mass;
    check_frequencies(frequencies(z, cfg, n, 23 + static_cast<std::uint64_t>(k)), q, n);
  }
}

TEST_CASE("top-p keeps the smallest set whose mass reaches p (brute force over subsets)", "[model][sampler][stats]") {
  std::mt19937_64 rng(5);
  std::normal_distribution<double> nd(0, 1.2);
  for (int trial = 0; trial < 40; ++trial) {
    std::vector<double> z(8);
    for (auto& v : z) v = nd(rng);
    const auto p = softmax(z, 1.0);
    for (double top_p : {0.1, 0.5, 0.8, 0.95, 0.999}) {
      std::vector<index_t> order;
      const double mass = gm::filter_candidates(p, 0, top_p, order);
      // brute force: the smallest size of any subset with mass >= top_p
      int best = 9;
      for (unsigned s = 1; s < 256; ++s) {
        double m = 0;
        for (int v = 0; v < 8; ++v)
          if (s >> v & 1) m += p[static_cast<size_t>(v)];
        if (m >= top_p) best = std::min(best, __builtin_popcount(s));
      }
      INFO("trial " << trial << " p " << top_p);
      CHECK(static_cast<int>(order.size()) == best);
      CHECK(mass >= top_p * (1 - 1e-12));
      double kept = 0;
      for (index_t v : order) kept += p[static_cast<size_t>(v)];
      CHECK(kept == Approx(mass));
    }
  }
  // and the draws follow the renormalised kept set
  const std::vector<double> z{2.0, 1.0, 0.5, 0.0, -1.0};
  gm::sampler_config cfg;
  cfg.top_p = 0.7;
  const auto p = softmax(z, 1.0);
  std::vector<index_t> order;
  const double mass = gm::filter_candidates(p, 0, 0.7, order);
  std::vector<double> q(p.size(), 0.0);
  for (index_t v : order) q[static_cast<size_t>(v)] = p[static_cast<size_t>(v)] / mass;
  check_frequencies(frequencies(z, cfg, 100000, 99), q, 100000);
}

TEST_CASE("greedy sampling and config validation", "[model][sampler]") {
  const std::vector<double> z{0.1, 3.0, 3.0, -1.0};
  gm::sampler_config cfg;
  cfg.temperature = 0;
  const auto f = frequencies(z, cfg, 100, 1);
  CHECK(f[1] == 1.0);  // ties go to the lowest id
  gm::sampler_config bad;
  bad.temperature = -1;
  CHECK(gm::validate(bad).input() == "temperature");
  bad = {};
  bad.top_k = -2;
  CHECK(gm::validate(bad).input() == "top_k");
  bad = {};
  bad.top_p = 1.5;
  CHECK(gm::validate(bad).input() == "top_p");
  bad = {};
  bad.max_new_tokens = 0;
  CHECK(gm::validate(bad).input() == "max_new_tokens");
}

TEST_CASE("tabular policy: gradient matches finite differences", "[model][tabular][gradcheck]") {
  gm::tabular_policy<double> pol(3, 4, 2);
  std::mt19937_64 rng(8);
  std::normal_distribution<double> nd;
  for (auto& t : pol.parameters()) t = nd(rng);
  gm::sequence_batch b;
  b.add(std::vector<gm::token_t>{0}, std::vector<gm::token_t>{2, 1});
  b.add(std::vector<gm::token_t>{3, 2}, std::vector<gm::token_t>{3});
  b.add(std::vector<gm::token_t>{1}, std::vector<gm::token_t>{0, 0});
  const std::vector<double> wl{0.3, -1.0, 2.0, 0.0, 0.5, 1.5}, wh{1.0, 0.2, -0.7, 0.0, 0.4, -0.1};
  grpo_test::check_policy_gradient(pol, b, wl, wh, 0.7);
}

TEST_CASE("tabular policy: exact expectations and sampling", "[model][tabular]") {
  gm::tabular_policy<double> pol(2, 3, 1);
  pol.logits(0, 0)[0] = 1.0;
  pol.logits(0, 0)[2] = -1.0;
  const auto p = pol.probabilities(0);
  const auto ref = softmax({1.0, 0.0, -1.0}, 1.0);
  for (int a = 0; a < 3; ++a) CHECK(p[static_cast<size_t>(a)] == Approx(ref[static_cast<size_t>(a)]).margin(1e-15));
  const std::vector<double> reward{1.0, 0.0, 0.5};
  double expected = 0;
  for (int a = 0; a < 3; ++a) expected += p[static_cast<size_t>(a)] * reward[static_cast<size_t>(a)];
  // many one-token rollouts from state 0: the mean reward approaches the exact expectation
  std::vector<std::vector<gm::token_t>> prompts{{0}};
  gm::rng_type rng(4);
  gm::rollout r;
  REQUIRE(pol.sample(prompts, 20000, {}, rng, r).ok());
  REQUIRE(r.width == 1);
  double mean = 0;
  for (index_t i = 0; i < r.size(); ++i) {
    CHECK(r.batch.completion_length(i) == 1);
    const auto a = r.batch.sequence(i)[1];
    mean += reward[static_cast<size_t>(a)];
    CHECK(r.old_logp[static_cast<size_t>(i)] == Approx(std::log(p[static_cast<size_t>(a)])).margin(1e-6));
  }
  mean /= double(r.size());
  CHECK(std::abs(mean - expected) < 5 * 0.5 / std::sqrt(20000.0));
  // errors
  std::vector<std::vector<gm::token_t>> bad{{5}};
  CHECK(pol.sample(bad, 2, {}, rng, r).kind() == grpo::errc::out_of_range);
  gm::sequence_batch too_long;
  too_long.add(std::vector<gm::token_t>{0}, std::vector<gm::token_t>{1, 1});
  std::vector<double> lp(2);
  CHECK(pol.logprobs(too_long, 1.0, lp, {}).kind() == grpo::errc::out_of_range);
}
