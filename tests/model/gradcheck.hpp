#pragma once
// Finite-difference check of a policy's backward in float64, shared by the model tests:
// L(θ) = Σ wl·logp + Σ wh·H at temperature tau; every parameter is perturbed by ±h.
#include <catch2/catch.hpp>
#include <grpo/model/policy.hpp>

#include <vector>

namespace grpo_test {

template <grpo::model::differentiable_policy P>
void check_policy_gradient(P& pol, const grpo::model::sequence_batch& b, const std::vector<double>& wl,
                           const std::vector<double>& wh, double tau, double h = 1e-6) {
  auto loss = [&] {
    std::vector<double> lp(wl.size()), ent(wl.size());
    REQUIRE(pol.logprobs(b, tau, lp, ent).ok());
    double s = 0;
    for (size_t k = 0; k < lp.size(); ++k) s += wl[k] * lp[k] + wh[k] * ent[k];
    return s;
  };
  pol.zero_grad();
  loss();
  REQUIRE(pol.backward(b, wl, wh).ok());
  const std::vector<double> g(pol.gradients().begin(), pol.gradients().end());
  for (size_t k = 0; k < g.size(); ++k) {
    const double keep = pol.parameters()[k];
    pol.parameters()[k] = keep + h;
    const double up = loss();
    pol.parameters()[k] = keep - h;
    const double dn = loss();
    pol.parameters()[k] = keep;
    INFO("parameter " << k);
    CHECK(g[k] == Approx((up - dn) / (2 * h)).epsilon(1e-6).margin(1e-9));
  }
}

}  // namespace grpo_test
