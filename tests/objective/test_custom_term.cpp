// The user-defined terms of examples/04_custom_term.hpp (a surrogate and a correction written
// against the node protocol): the fused pass against a float64 reference written here from their
// formulas, in double and in float on the AVX2 and scalar lanes, and dL/dlogp against central
// differences of the fused loss.
#include "../../examples/04_custom_term.hpp"

#include <grpo/exec/cpu.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace {

struct batch {
  int N, T;
  std::vector<double> logp, old, ref, adv;
  std::vector<std::int32_t> lengths;
  std::vector<std::uint8_t> mask;
};

batch make(int N, int T, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> g(0, 1);
  batch b{N, T, {}, {}, {}, {}, {}, {}};
  for (int k = 0; k < N * T; ++k) {
    b.logp.push_back(-std::abs(g(rng)) - 0.1);
    b.old.push_back(b.logp.back() + 0.5 * g(rng));  // wide: both sides of the soft clip
    b.ref.push_back(b.logp.back() + 0.2 * g(rng));
    b.mask.push_back(rng() % 5 != 0);
  }
  for (int i = 0; i < N; ++i) b.adv.push_back(g(rng)), b.lengths.push_back(std::int32_t(rng() % (T + 1)));
  return b;
}

template <class Real>
grpo::token_batch<Real> view(const batch& b, const std::vector<Real>& lp, const std::vector<Real>& old,
                             const std::vector<Real>& ref, const std::vector<Real>& adv) {
  return {.N = b.N, .T = b.T, .logp = lp.data(), .old = old.data(), .ref = ref.data(), .mask = b.mask.data(),
          .lengths = b.lengths.data(), .advantages = adv.data()};
}

/// The objective from its formulas: per in-token ℓ = w_i·(−(1 + ε·tanh((ρ−1)/ε))·A_i) + β·k3,
/// k3 = e^{x} − x − 1 with x = clamp(ref − logp, −20, 20), ρ = e^{clamp(logp − old, −20, 20)},
/// w_i = 1/(1 + α·max(0, T_i − L)/L), the loss their sum over in-tokens ÷ the in-token count.
/// Returns the loss; fills dL/dlogp and the share of saturated tokens.
double reference(const my::objective& o, const batch& b, const std::vector<double>& lp, std::vector<double>* grad,
                 double* saturated) {
  const double eps = o.surrogate.eps, beta = o.beta;
  const auto& pen = o.corrections.get<my::length_penalty>();
  auto in = [&](int i, int t) { return b.mask[i * b.T + t] != 0 && t < b.lengths[i]; };
  double tokens = 0, sat = 0;
  for (int i = 0; i < b.N; ++i)
    for (int t = 0; t < b.T; ++t) tokens += in(i, t);
  const double D = std::max(tokens, 1.0);
  double loss = 0;
  if (grad) grad->assign(lp.size(), 0.0);
  for (int i = 0; i < b.N; ++i) {
    double len = 0;
    for (int t = 0; t < b.T; ++t) len += in(i, t);
    const double w = 1.0 / (1.0 + pen.alpha * std::max(0.0, len - pen.target) / pen.target);
    for (int t = 0; t < b.T; ++t) {
      if (!in(i, t)) continue;
      const int k = i * b.T + t;
      const double lr = std::clamp(lp[k] - b.old[k], -20.0, 20.0), rho = std::exp(lr);
      const double inside = std::abs(lp[k] - b.old[k]) <= 20 ? 1.0 : 0.0;
      const double u = (rho - 1) / eps, th = std::tanh(u);
      sat += std::abs(u) > 2;
      const double x = std::clamp(b.ref[k] - lp[k], -20.0, 20.0);
      const double x_inside = std::abs(b.ref[k] - lp[k]) <= 20 ? 1.0 : 0.0;
      loss += (w * (-(1 + eps * th) * b.adv[i]) + beta * (std::exp(x) - x - 1)) / D;
      if (grad)
        (*grad)[k] = (w * (-b.adv[i] * rho * (1 - th * th)) * inside + beta * (1 - std::exp(x)) * x_inside) / D;
    }
  }
  if (saturated) *saturated = tokens > 0 ? sat / tokens : 0;
  return loss;
}

}  // namespace

TEST_CASE("a user-defined surrogate and correction match their float64 reference", "[objective][custom]") {
  for (auto [N, T] : {std::pair{1, 1}, {7, 9}, {16, 33}, {40, 130}}) {
    const batch b = make(N, T, unsigned(N * 100 + T));
    my::objective o = my::make_objective();
    o.corrections.get<my::length_penalty>().target = std::max(1, T / 3);
    std::vector<double> want_g;
    double want_sat = 0;
    const double want = reference(o, b, b.logp, &want_g, &want_sat);
    INFO("N " << N << " T " << T);
    // double
    std::vector<double> g(want_g.size(), 7.0);
    grpo::objective_result r;
    REQUIRE(grpo::evaluate(o, view(b, b.logp, b.old, b.ref, b.adv), grpo::gradient_out<double>{g.data()}, r).ok());
    CHECK(r.loss == Approx(want).epsilon(1e-12).margin(1e-15));
    CHECK(r.stats["saturated"] == Approx(want_sat).margin(1e-15));
    for (std::size_t k = 0; k < g.size(); ++k) CHECK(g[k] == Approx(want_g[k]).epsilon(1e-11).margin(1e-15));
    // float: AVX2 lanes and scalar lanes
    auto f = [](const std::vector<double>& v) { return std::vector<float>(v.begin(), v.end()); };
    const auto lp = f(b.logp), old = f(b.old), ref = f(b.ref), adv = f(b.adv);
    for (bool vectorize : {true, false}) {
      std::vector<float> gf(want_g.size(), 7.f);
      grpo::objective_result rf;
      REQUIRE(grpo::evaluate(o, view(b, lp, old, ref, adv), grpo::gradient_out<float>{gf.data()}, rf,
                             grpo::exec::serial{.vectorize = vectorize}).ok());
      INFO("vectorize " << vectorize);
      CHECK(rf.loss == Approx(want).epsilon(2e-5).margin(1e-6));
      double gmax = 1e-3;
      for (double x : want_g) gmax = std::max(gmax, std::abs(x));
      for (std::size_t k = 0; k < gf.size(); ++k) CHECK(std::abs(gf[k] - want_g[k]) <= 1e-4 * gmax);
    }
  }
}

TEST_CASE("a user-defined surrogate and correction: dL/dlogp equals finite differences", "[objective][custom][gradient]") {
  const batch b = make(6, 7, 11);
  const my::objective o = my::make_objective();
  std::vector<double> g(b.logp.size());
  grpo::objective_result r;
  REQUIRE(grpo::evaluate(o, view(b, b.logp, b.old, b.ref, b.adv), grpo::gradient_out<double>{g.data()}, r).ok());
  std::vector<double> x = b.logp;
  auto loss_at = [&](const std::vector<double>& lp) {
    grpo::objective_result rr;
    REQUIRE(grpo::evaluate(o, view(b, lp, b.old, b.ref, b.adv), grpo::gradient_out<double>{}, rr).ok());
    return rr.loss;
  };
  const double h = 1e-6;
  for (std::size_t k = 0; k < x.size(); ++k) {
    x[k] = b.logp[k] + h;
    const double up = loss_at(x);
    x[k] = b.logp[k] - h;
    const double dn = loss_at(x);
    x[k] = b.logp[k];
    INFO("k " << k);
    CHECK(g[k] == Approx((up - dn) / (2 * h)).margin(1e-7));
  }
}

TEST_CASE("a user-defined term's check() names it", "[objective][custom][validation]") {
  const batch b = make(2, 3, 5);
  my::objective o = my::make_objective();
  o.surrogate.eps = 0;
  grpo::objective_result r;
  const grpo::status s = grpo::evaluate(o, view(b, b.logp, b.old, b.ref, b.adv), grpo::gradient_out<double>{}, r);
  CHECK(s.kind() == grpo::errc::bad_config);
  CHECK(s.input() == "surrogate");
  o = my::make_objective();
  o.corrections.get<my::length_penalty>().alpha = -1;
  const grpo::status s2 = grpo::evaluate(o, view(b, b.logp, b.old, b.ref, b.adv), grpo::gradient_out<double>{}, r);
  CHECK(s2.input() == "length_penalty");
}
