// Distillation from hidden states (grpo/distill/fused_linear.hpp) against a float64 reference
// that forms both models' full logits h·Wᵀ in double, takes reference.hpp's divergences, and
// gets dh and dW by the chain rule (∂L/∂q from the loss's definition, the softmax Jacobian, then
// the linear layer), itself checked against finite differences; every divergence, masks, chunks
// that do not divide the tokens, different hidden sizes, large logits, V = 262,144, the
// accumulation of dW, a caller workspace, and every error path with its input and index.
#include "reference.hpp"

#include <catch2/catch.hpp>
#include <grpo/distill/fused_linear.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

namespace gd = grpo::distill;
using grpo::index_t;

namespace {

struct problem {
  index_t n, hs, ht, v;
  std::vector<float> h_s, w_s, h_t, w_t;
};

/// Hidden states ~ N(0, 1) and output matrices ~ N(0, spread²/H), so the logits are about
/// N(0, spread²).
problem make(index_t n, index_t hs, index_t ht, index_t v, unsigned seed, double spread = 3.0) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0, 1);
  problem p{n, hs, ht, v, {}, {}, {}, {}};
  auto fill = [&](std::vector<float>& x, index_t count, double sd) {
    x.resize(static_cast<std::size_t>(count));
    for (auto& e : x) e = static_cast<float>(sd * normal(rng));
  };
  fill(p.h_s, n * hs, 1.0);
  fill(p.w_s, v * hs, spread / std::sqrt(static_cast<double>(hs)));
  fill(p.h_t, n * ht, 1.0);
  fill(p.w_t, v * ht, spread / std::sqrt(static_cast<double>(ht)));
  return p;
}

grpo_test::distill_case as_case(const gd::divergence& d) { return {d.beta, d.temperature, static_cast<long>(d.top_k)}; }

/// ∂divergence/∂student in double by the chain rule, written apart from the library: u_i =
/// q_i·∂L/∂q_i from the loss as defined (no term dropped), then the softmax Jacobian
/// ∂L/∂a_j = u_j − q_j Σ_i u_i, then 1/τ; zero off the support.
std::vector<double> divergence_gradient(const grpo_test::distill_case& c, const std::vector<double>& s,
                                        const std::vector<double>& t) {
  const auto S = grpo_test::support(t, c.top_k);
  const std::size_t k = S.size();
  std::vector<double> a(k), b(k);
  for (std::size_t i = 0; i < k; ++i) a[i] = s[S[i]] / c.temperature, b[i] = t[S[i]] / c.temperature;
  auto log_softmax = [](const std::vector<double>& x) {
    const double m = *std::max_element(x.begin(), x.end());
    double z = 0;
    for (double e : x) z += std::exp(e - m);
    std::vector<double> l(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) l[i] = x[i] - m - std::log(z);
    return l;
  };
  const auto lq = log_softmax(a), lp = log_softmax(b);
  const double beta = c.beta;
  std::vector<double> u(k);
  double sum_u = 0;
  for (std::size_t i = 0; i < k; ++i) {
    const double q = std::exp(lq[i]), p = std::exp(lp[i]);
    if (beta == 0) {
      u[i] = -p;  // q·(−p/q)
    } else if (beta == 1) {
      u[i] = q * (lq[i] + 1 - lp[i]);
    } else {
      const double m = beta * p + (1 - beta) * q;
      u[i] = q * (-beta * (1 - beta) * p / m + (1 - beta) * (lq[i] - std::log(m) + 1) - (1 - beta) * (1 - beta) * q / m);
    }
    sum_u += u[i];
  }
  std::vector<double> g(s.size(), 0.0);
  for (std::size_t i = 0; i < k; ++i) g[S[i]] = (u[i] - std::exp(lq[i]) * sum_u) / c.temperature;
  return g;
}

struct reference_result {
  double loss = 0;
  std::vector<double> dh, dw;
};

/// The token mean of the divergence over the kept tokens, with its gradients when `grads`, all
/// in double from double copies of the inputs.
reference_result reference(const grpo_test::distill_case& c, const std::vector<double>& h_s,
                           const std::vector<double>& w_s, index_t hs, const std::vector<double>& h_t,
                           const std::vector<double>& w_t, index_t ht, index_t n, index_t v,
                           const std::vector<std::uint8_t>& mask, bool grads) {
  reference_result r;
  if (grads) r.dh.assign(static_cast<std::size_t>(n * hs), 0.0), r.dw.assign(static_cast<std::size_t>(v * hs), 0.0);
  index_t kept = 0;
  for (index_t t = 0; t < n; ++t) kept += mask.empty() || mask[static_cast<std::size_t>(t)];
  std::vector<double> zs(static_cast<std::size_t>(v)), zt(static_cast<std::size_t>(v));
  for (index_t t = 0; t < n; ++t) {
    if (!mask.empty() && !mask[static_cast<std::size_t>(t)]) continue;
    for (index_t j = 0; j < v; ++j) {
      double a = 0, b = 0;
      for (index_t k = 0; k < hs; ++k) a += h_s[t * hs + k] * w_s[j * hs + k];
      for (index_t k = 0; k < ht; ++k) b += h_t[t * ht + k] * w_t[j * ht + k];
      zs[j] = a, zt[j] = b;
    }
    r.loss += grpo_test::divergence(c, zs, zt) / static_cast<double>(kept);
    if (!grads) continue;
    const auto g = divergence_gradient(c, zs, zt);
    for (index_t j = 0; j < v; ++j) {
      const double gj = g[j] / static_cast<double>(kept);
      if (gj == 0) continue;
      for (index_t k = 0; k < hs; ++k) {
        r.dh[t * hs + k] += gj * w_s[j * hs + k];
        r.dw[j * hs + k] += gj * h_s[t * hs + k];
      }
    }
  }
  return r;
}

std::vector<double> dbl(const std::vector<float>& x) { return {x.begin(), x.end()}; }

reference_result reference(const gd::divergence& d, const problem& p, const std::vector<std::uint8_t>& mask,
                           bool grads = true) {
  return reference(as_case(d), dbl(p.h_s), dbl(p.w_s), p.hs, dbl(p.h_t), dbl(p.w_t), p.ht, p.n, p.v, mask, grads);
}

/// max |x − want| / max |want|
template <class X>
double error_over_max(const std::vector<X>& x, const std::vector<double>& want) {
  double e = 0, m = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    e = std::max(e, std::fabs(static_cast<double>(x[i]) - want[i]));
    m = std::max(m, std::fabs(want[i]));
  }
  return m > 0 ? e / m : e;
}

struct fused_result {
  grpo::status s;
  double loss = std::nan("");
  std::vector<float> dh, dw;
};

/// One call, with dh pre-filled with NaN (it must be overwritten) and dW with `dw0` (added to).
fused_result run(const gd::divergence& d, const problem& p, const std::vector<std::uint8_t>& mask, index_t chunk,
                 const std::vector<float>& dw0, grpo::logprob::simd_path path = grpo::logprob::simd_path::automatic) {
  fused_result r;
  r.dh.assign(static_cast<std::size_t>(p.n * p.hs), std::nanf(""));
  r.dw = dw0;
  gd::fused_linear_distill_options o;
  o.token_chunk = chunk;
  o.path = path;
  r.s = gd::fused_linear_distill(d, p.h_s.data(), p.w_s.data(), p.hs, p.h_t.data(), p.w_t.data(), p.ht, p.n, p.v,
                                 mask.empty() ? nullptr : mask.data(), o, r.loss, r.dh.data(), r.dw.data());
  return r;
}

std::vector<double> minus(const std::vector<float>& a, const std::vector<float>& b) {
  std::vector<double> d(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) d[i] = static_cast<double>(a[i]) - static_cast<double>(b[i]);
  return d;
}

}  // namespace

TEST_CASE("fused distill: the test's chain-rule gradient matches finite differences", "[distill][fused]") {
  // per row: divergence_gradient against reference.hpp's central differences of the loss
  std::mt19937_64 rng(11);
  std::normal_distribution<double> normal(0, 3);
  for (const auto& c : {grpo_test::distill_case{0.0, 1.0, 0}, {1.0, 0.7, 0}, {0.5, 1.0, 0}, {0.1, 2.0, 0},
                        {0.5, 1.0, 5}, {0.0, 1.5, 3}, {0.9, 0.8, 7}}) {
    std::vector<double> s(19), t(19);
    for (auto& x : s) x = normal(rng);
    for (auto& x : t) x = normal(rng);
    const auto g = divergence_gradient(c, s, t), fd = grpo_test::divergence_gradient_fd(c, s, t);
    INFO("beta " << c.beta << " tau " << c.temperature << " top_k " << c.top_k);
    for (std::size_t j = 0; j < s.size(); ++j) CHECK(g[j] == Approx(fd[j]).margin(1e-8));
  }
  // through the linear layers: central differences of the whole masked token mean in h_s, W_s
  const auto p = make(5, 4, 6, 9, 12);
  const std::vector<std::uint8_t> mask = {1, 0, 1, 1, 1};
  auto hs = dbl(p.h_s), ws = dbl(p.w_s);
  const auto ht = dbl(p.h_t), wt = dbl(p.w_t);
  for (const gd::divergence d : {gd::forward_kl(), gd::reverse_kl(0.8), gd::jsd(0.3, 1.2), gd::top_k(gd::jsd(0.5), 4)}) {
    const auto c = as_case(d);
    INFO("beta " << c.beta << " tau " << c.temperature << " top_k " << c.top_k);
    const auto want = reference(c, hs, ws, p.hs, ht, wt, p.ht, p.n, p.v, mask, true);
    const auto fused = run(d, p, mask, 2, std::vector<float>(p.w_s.size(), 0.0f));
    REQUIRE(fused.s.ok());
    auto fd = [&](std::vector<double>& x, std::size_t i) {
      const double e = 1e-5, x0 = x[i];
      x[i] = x0 + e;
      const double up = reference(c, hs, ws, p.hs, ht, wt, p.ht, p.n, p.v, mask, false).loss;
      x[i] = x0 - e;
      const double down = reference(c, hs, ws, p.hs, ht, wt, p.ht, p.n, p.v, mask, false).loss;
      x[i] = x0;
      return (up - down) / (2 * e);
    };
    for (std::size_t i : {0u, 3u, 5u, 9u, 14u, 19u}) {  // token 1 (entries 4..7) is masked: 0
      INFO("h_s[" << i << "]");
      const double g = fd(hs, i);
      CHECK(want.dh[i] == Approx(g).margin(1e-8));
      CHECK(fused.dh[i] == Approx(g).epsilon(1e-4).margin(1e-6));
    }
    CHECK(fused.dh[5] == 0.0f);
    for (std::size_t i : {0u, 7u, 13u, 22u, 35u}) {
      INFO("W_s[" << i << "]");
      const double g = fd(ws, i);
      CHECK(want.dw[i] == Approx(g).margin(1e-8));
      CHECK(fused.dw[i] == Approx(g).epsilon(1e-4).margin(1e-6));
    }
  }
}

TEST_CASE("fused distill: every divergence, masks and chunks against the float64 reference", "[distill][fused]") {
  // different hidden sizes; 37 tokens: chunks of 8 leave a last one of 5, 64 is beyond N; the
  // mask drops tokens 8..15 (a whole chunk of 8, skipped) and every 5th
  const auto p = make(37, 12, 20, 53, 21);
  std::vector<std::uint8_t> mask(37, 1);
  for (index_t t = 0; t < 37; ++t) mask[t] = !((t >= 8 && t < 16) || t % 5 == 4);
  std::mt19937 rng(4);
  std::normal_distribution<float> normal(0, 1);
  std::vector<float> dw0(p.w_s.size());
  // dW is added to: a start of the gradient's own size keeps the float rounding of the sum small
  for (auto& x : dw0) x = 1e-3f * normal(rng);
  const gd::divergence cases[] = {gd::forward_kl(),
                                  gd::reverse_kl(),
                                  gd::jsd(0.5),
                                  gd::jsd(0.1),
                                  gd::jsd(0.9, 0.5),
                                  gd::forward_kl(2.0),
                                  gd::reverse_kl(0.7),
                                  gd::top_k(gd::jsd(0.5), 7),
                                  gd::top_k(gd::forward_kl(1.5), 5)};
  double worst_dh = 0, worst_dw = 0;
  for (const auto& d : cases)
    for (const bool masked : {false, true}) {
      const std::vector<std::uint8_t> m = masked ? mask : std::vector<std::uint8_t>{};
      const auto want = reference(d, p, m);
      for (const index_t chunk : {index_t{1}, index_t{8}, index_t{37}, index_t{64}}) {
        INFO("beta " << d.beta << " tau " << d.temperature << " top_k " << d.top_k << " masked " << masked
                     << " chunk " << chunk);
        const auto r = run(d, p, m, chunk, dw0);
        REQUIRE(r.s.ok());
        CHECK(r.loss == Approx(want.loss).epsilon(1e-5));
        const double eh = error_over_max(r.dh, want.dh), ew = error_over_max(minus(r.dw, dw0), want.dw);
        worst_dh = std::max(worst_dh, eh), worst_dw = std::max(worst_dw, ew);
        CHECK(eh <= 1e-5);
        CHECK(ew <= 1e-5);
        if (masked)
          for (index_t t = 0; t < p.n; ++t)
            if (!mask[t])
              for (index_t k = 0; k < p.hs; ++k) CHECK(r.dh[t * p.hs + k] == 0.0f);
      }
      // the scalar path (Eigen's GEMM) agrees too
      const auto r = run(d, p, m, 8, dw0, grpo::logprob::simd_path::scalar);
      REQUIRE(r.s.ok());
      CHECK(r.loss == Approx(want.loss).epsilon(1e-5));
      CHECK(error_over_max(r.dh, want.dh) <= 1e-5);
      CHECK(error_over_max(minus(r.dw, dw0), want.dw) <= 1e-5);
    }
  INFO("worst dh error/max " << worst_dh << ", dW " << worst_dw);
  CHECK(worst_dh < 1e-5);
  CHECK(worst_dw < 1e-5);
}

TEST_CASE("fused distill: large-magnitude logits (no -inf) stay finite and match", "[distill][fused][edge]") {
  // logits of about N(0, 60²) (|z| up to ~200: near one-hot softmaxes, forward KL in the
  // hundreds) on top of a common offset of +300 for the student and -200 for the teacher (the
  // last hidden column is 1): float logits carry ~1e-4 of absolute rounding, hence 1e-3
  auto p = make(10, 16, 8, 41, 31, 60.0);
  for (index_t t = 0; t < p.n; ++t) p.h_s[t * p.hs + p.hs - 1] = 1.0f, p.h_t[t * p.ht + p.ht - 1] = 1.0f;
  for (index_t j = 0; j < p.v; ++j) p.w_s[j * p.hs + p.hs - 1] = 300.0f, p.w_t[j * p.ht + p.ht - 1] = -200.0f;
  const std::vector<float> dw0(p.w_s.size(), 0.0f);
  for (const auto& d : {gd::forward_kl(), gd::reverse_kl(), gd::jsd(0.5), gd::jsd(0.1, 3.0), gd::top_k(gd::reverse_kl(), 3)}) {
    INFO("beta " << d.beta << " tau " << d.temperature << " top_k " << d.top_k);
    const auto want = reference(d, p, {});
    const auto r = run(d, p, {}, 4, dw0);
    REQUIRE(r.s.ok());
    CHECK(std::isfinite(r.loss));
    CHECK(r.loss == Approx(want.loss).epsilon(1e-4).margin(1e-6));
    // near-disjoint supports saturate JSD at its bound, where the gradient is ~1e-17 and only
    // rounding (in the reference too): an absolute floor of 1e-12
    double eh = 0, ew = 0, mh = 0, mw = 0;
    for (std::size_t i = 0; i < r.dh.size(); ++i)
      eh = std::max(eh, std::fabs(r.dh[i] - want.dh[i])), mh = std::max(mh, std::fabs(want.dh[i]));
    for (std::size_t i = 0; i < r.dw.size(); ++i)
      ew = std::max(ew, std::fabs(r.dw[i] - want.dw[i])), mw = std::max(mw, std::fabs(want.dw[i]));
    INFO("dh error " << eh << " of " << mh << ", dW error " << ew << " of " << mw);
    CHECK(eh <= 1e-3 * mh + 1e-12);
    CHECK(ew <= 1e-3 * mw + 1e-12);
    for (float x : r.dh) CHECK(std::isfinite(x));
  }
}

TEST_CASE("fused distill: a 262,144-token vocabulary with few tokens", "[distill][fused][edge]") {
  const auto p = make(3, 8, 8, 262144, 41, 4.0);
  const std::vector<float> dw0(p.w_s.size(), 0.0f);
  for (const auto& d : {gd::jsd(0.5), gd::top_k(gd::forward_kl(0.8), 64)}) {
    INFO("beta " << d.beta << " top_k " << d.top_k);
    const auto want = reference(d, p, {});
    const auto r = run(d, p, {}, 2, dw0);
    REQUIRE(r.s.ok());
    CHECK(r.loss == Approx(want.loss).epsilon(1e-5));
    CHECK(error_over_max(r.dh, want.dh) <= 1e-5);
    CHECK(error_over_max(r.dw, want.dw) <= 1e-5);
  }
  const gd::fused_linear_distill_options o{2};
  CHECK(gd::fused_linear_distill_workspace_bytes(3, 262144, o) >= std::size_t{3} * 2 * 262144 * sizeof(float));
  CHECK(gd::fused_linear_distill_workspace_bytes(3, 262144, o) < std::size_t{3} * 2 * 262144 * sizeof(float) + 512);
}

TEST_CASE("fused distill: dW accumulates, dh is overwritten, optional outputs, caller workspace", "[distill][fused]") {
  const auto p = make(11, 6, 9, 17, 51);
  const std::vector<std::uint8_t> mask = {1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 1};
  const auto d = gd::jsd(0.4, 1.3);
  gd::fused_linear_distill_options o;
  o.token_chunk = 4;
  const auto call = [&](float* dh, float* dw, grpo::logprob::workspace ws, double& loss) {
    return gd::fused_linear_distill(d, p.h_s.data(), p.w_s.data(), p.hs, p.h_t.data(), p.w_t.data(), p.ht, p.n, p.v,
                                    mask.data(), o, loss, dh, dw, ws);
  };
  double l1 = 0, l2 = 0, l3 = 0;
  std::vector<float> dh1(p.h_s.size(), 5.0f), dw(p.w_s.size(), 0.0f);
  REQUIRE(call(dh1.data(), dw.data(), {}, l1).ok());
  const auto once = dw;
  std::vector<float> dh2(p.h_s.size(), std::nanf(""));
  REQUIRE(call(dh2.data(), dw.data(), {}, l2).ok());  // dW += again: twice the gradient
  CHECK(l1 == l2);
  CHECK(dh1 == dh2);  // overwritten, whatever it held
  for (std::size_t i = 0; i < dw.size(); ++i) CHECK(dw[i] == Approx(2.0 * once[i]).epsilon(1e-6).margin(1e-9));
  for (index_t k = 0; k < p.hs; ++k) CHECK(dh1[2 * p.hs + k] == 0.0f);  // a masked token
  // either gradient alone, or none: the same values
  std::vector<float> dh3(p.h_s.size()), dw3(p.w_s.size(), 0.0f);
  REQUIRE(call(dh3.data(), nullptr, {}, l3).ok());
  CHECK(dh3 == dh1);
  REQUIRE(call(nullptr, dw3.data(), {}, l3).ok());
  CHECK(dw3 == once);
  l3 = 0;
  REQUIRE(call(nullptr, nullptr, {}, l3).ok());
  CHECK(l3 == l1);
  // a caller workspace gives the same result; too small is out_of_memory; without gradients one
  // [Tc, V] block less is enough
  const std::size_t bytes = gd::fused_linear_distill_workspace_bytes(p.n, p.v, o);
  std::vector<unsigned char> ws(bytes);
  std::fill(dw3.begin(), dw3.end(), 0.0f);
  REQUIRE(call(dh3.data(), dw3.data(), {ws.data(), ws.size()}, l3).ok());
  CHECK(l3 == l1);
  CHECK(dh3 == dh1);
  CHECK(dw3 == once);
  const auto small = call(dh3.data(), dw3.data(), {ws.data(), bytes - 65}, l3);
  CHECK(small.kind() == grpo::errc::out_of_memory);
  CHECK(small.input() == "workspace");
  const std::size_t block = (4 * 17 * sizeof(float) + 63) / 64 * 64;
  l3 = 0;
  REQUIRE(call(nullptr, nullptr, {ws.data(), bytes - block}, l3).ok());
  CHECK(l3 == l1);
  CHECK_FALSE(call(dh3.data(), nullptr, {ws.data(), bytes - block}, l3).ok());
  // the loss is token_mean_loss's on the materialised logits (float, computed here by a loop)
  std::vector<float> zs(static_cast<std::size_t>(p.n * p.v)), zt(zs.size());
  for (index_t t = 0; t < p.n; ++t)
    for (index_t j = 0; j < p.v; ++j) {
      double a = 0, b = 0;
      for (index_t k = 0; k < p.hs; ++k) a += double(p.h_s[t * p.hs + k]) * p.w_s[j * p.hs + k];
      for (index_t k = 0; k < p.ht; ++k) b += double(p.h_t[t * p.ht + k]) * p.w_t[j * p.ht + k];
      zs[t * p.v + j] = static_cast<float>(a), zt[t * p.v + j] = static_cast<float>(b);
    }
  double lm = 0;
  REQUIRE(gd::token_mean_loss(d, zs.data(), zt.data(), {p.n, p.v}, mask.data(), lm).ok());
  CHECK(l1 == Approx(lm).epsilon(1e-5));
}

TEST_CASE("fused distill: errors name the input and the index", "[distill][fused][errors]") {
  using grpo::errc;
  const auto base = make(37, 12, 20, 53, 61);
  const index_t N = 37, Hs = 12, Ht = 20, V = 53;
  std::vector<float> dh(static_cast<std::size_t>(N * Hs)), dw(static_cast<std::size_t>(V * Hs));
  gd::fused_linear_distill_options o;
  o.token_chunk = 8;
  double loss = 0;
  auto call = [&](const problem& p, const gd::divergence& d = gd::forward_kl(),
                  gd::fused_linear_distill_options oo = {8, grpo::logprob::simd_path::automatic},
                  const std::uint8_t* mask = nullptr, index_t n = 37) {
    return gd::fused_linear_distill(d, p.h_s.data(), p.w_s.data(), p.hs, p.h_t.data(), p.w_t.data(), p.ht, n, p.v,
                                    mask, oo, loss, dh.data(), dw.data());
  };
  REQUIRE(call(base).ok());
  // null pointers
  const float* S = base.h_s.data();
  const float* SW = base.w_s.data();
  const float* T = base.h_t.data();
  const float* TW = base.w_t.data();
  auto nulls = [&](const float* a, const float* b, const float* c, const float* e) {
    return gd::fused_linear_distill(gd::forward_kl(), a, b, Hs, c, e, Ht, N, V, nullptr, o, loss, dh.data(), dw.data());
  };
  for (const auto& [s, name] : {std::pair{nulls(nullptr, SW, T, TW), "student_hidden"},
                                {nulls(S, nullptr, T, TW), "student_weight"},
                                {nulls(S, SW, nullptr, TW), "teacher_hidden"},
                                {nulls(S, SW, T, nullptr), "teacher_weight"}}) {
    CHECK(s.kind() == errc::null_pointer);
    CHECK(s.input() == name);
  }
  // sizes and options
  auto sized = [&](index_t hs, index_t ht, index_t n, index_t v) {
    return gd::fused_linear_distill(gd::forward_kl(), S, SW, hs, T, TW, ht, n, v, nullptr, o, loss, dh.data(), dw.data());
  };
  CHECK(sized(Hs, Ht, -1, V).input() == "tokens");
  CHECK(sized(Hs, Ht, N, 0).input() == "vocab");
  CHECK(sized(0, Ht, N, V).input() == "student_hidden_size");
  CHECK(sized(Hs, -2, N, V).input() == "teacher_hidden_size");
  CHECK(sized(Hs, Ht, N, 0).kind() == errc::shape_mismatch);
  for (const index_t chunk : {index_t{0}, index_t{-3}}) {
    const auto s = call(base, gd::forward_kl(), {chunk, grpo::logprob::simd_path::automatic});
    CHECK(s.kind() == errc::bad_config);
    CHECK(s.input() == "token_chunk");
  }
  CHECK(call(base, gd::jsd(1.5)).input() == "beta");
  CHECK(call(base, gd::forward_kl(0.0)).input() == "temperature");
  CHECK(call(base, gd::top_k(gd::forward_kl(), -1)).input() == "top_k");
  // no kept token: a mask of zeros, or no tokens at all
  const std::vector<std::uint8_t> none(37, 0);
  auto s = call(base, gd::forward_kl(), o, none.data());
  CHECK(s.kind() == errc::out_of_range);
  CHECK(s.input() == "mask");
  CHECK(call(base, gd::forward_kl(), o, nullptr, 0).input() == "mask");
  // a NaN student hidden state at token 13 (the second chunk of 8), column 3
  auto p = base;
  p.h_s[13 * Hs + 3] = std::nanf("");
  s = call(p);
  CHECK(s.kind() == errc::non_finite);
  CHECK(s.input() == "student_hidden");
  CHECK(s.index() == 13 * Hs + 3);
  std::vector<std::uint8_t> mask(37, 1);
  mask[13] = 0;  // masked, it still goes through the GEMMs: still an error
  CHECK(call(p, gd::forward_kl(), o, mask.data()).input() == "student_hidden");
  // +inf in the teacher's output matrix at vocabulary row 41, column 2
  p = base;
  p.w_t[41 * Ht + 2] = std::numeric_limits<float>::infinity();
  s = call(p, gd::jsd(0.5));
  CHECK(s.kind() == errc::non_finite);
  CHECK(s.input() == "teacher_weight");
  CHECK(s.index() == 41 * Ht + 2);
  p = base;
  p.h_t[29 * Ht + 19] = -std::numeric_limits<float>::infinity();
  s = call(p);
  CHECK(s.input() == "teacher_hidden");
  CHECK(s.index() == 29 * Ht + 19);
  p = base;
  p.w_s[7] = std::nanf("");
  s = call(p);
  CHECK(s.input() == "student_weight");
  CHECK(s.index() == 7);
  // finite inputs whose logits overflow float: token_losses' errors, indexed over the whole batch.
  // Student token 13 = (1e38, 0, ...): z[13, j] = 1e38·W_s[j, 0], +inf at j = 5 only.
  p = base;
  for (index_t j = 0; j < V; ++j) p.w_s[j * Hs] = std::clamp(p.w_s[j * Hs], -1.0f, 1.0f);
  p.w_s[5 * Hs] = 10.0f;
  std::fill(p.h_s.begin() + 13 * Hs, p.h_s.begin() + 14 * Hs, 0.0f);
  p.h_s[13 * Hs] = 1e38f;
  s = call(p);
  CHECK(s.kind() == errc::non_finite);
  CHECK(s.input() == "student_logits");
  CHECK(s.index() == 13 * V + 5);
  CHECK(s.detail().find("token 13") != std::string::npos);
  CHECK(call(p, gd::forward_kl(), o, mask.data()).ok());  // masked: its logits are never read
  // student token 30 gets a -inf logit at j = 7 where the teacher has mass: forward KL is infinite
  p = base;
  for (index_t j = 0; j < V; ++j) p.w_s[j * Hs] = std::clamp(p.w_s[j * Hs], 0.0f, 1.0f);
  p.w_s[7 * Hs] = -10.0f;
  std::fill(p.h_s.begin() + 30 * Hs, p.h_s.begin() + 31 * Hs, 0.0f);
  p.h_s[30 * Hs] = 1e38f;
  s = call(p);
  CHECK(s.kind() == errc::non_finite);
  CHECK(s.input() == "loss");
  CHECK(s.index() == 30);
  CHECK(call(p, gd::jsd(0.5)).ok());  // JSD stays finite
  // teacher token 20 = (1e38, 0, ...) with W_t[:, 0] = -10: every teacher logit is -inf
  p = base;
  for (index_t j = 0; j < V; ++j) p.w_t[j * Ht] = -10.0f;
  std::fill(p.h_t.begin() + 20 * Ht, p.h_t.begin() + 21 * Ht, 0.0f);
  p.h_t[20 * Ht] = 1e38f;
  s = call(p, gd::jsd(0.5));
  CHECK(s.kind() == errc::out_of_range);
  CHECK(s.input() == "teacher_logits");
  CHECK(s.index() == 20 * V);
}
