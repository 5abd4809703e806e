#include <catch2/catch.hpp>
#include <grpo/optim/adamw.hpp>
#include <grpo/optim/clip.hpp>
#include <grpo/optim/schedule.hpp>

#include <cmath>
#include <random>
#include <vector>

namespace go = grpo::optim;

namespace {

// Float64 AdamW written the way torch.optim.AdamW states it: θ ← θ(1 − ηλ), then
// step_size = η/(1 − β₁ᵗ), denom = √v/√(1 − β₂ᵗ) + ε, θ ← θ − step_size·m/denom.
struct reference_adamw {
  double lr, b1, b2, eps, wd;
  std::vector<double> m, v;
  int t = 0;
  void step(std::vector<double>& p, const std::vector<double>& g, const std::vector<int>& decay, double eta) {
    if (m.empty()) m.assign(p.size(), 0), v.assign(p.size(), 0);
    ++t;
    for (size_t k = 0; k < p.size(); ++k) {
      if (decay[k]) p[k] *= 1 - eta * wd;
      m[k] = b1 * m[k] + (1 - b1) * g[k];
      v[k] = b2 * v[k] + (1 - b2) * g[k] * g[k];
      const double step_size = eta / (1 - std::pow(b1, t));
      const double denom = std::sqrt(v[k]) / std::sqrt(1 - std::pow(b2, t)) + eps;
      p[k] -= step_size * m[k] / denom;
    }
  }
};

}  // namespace

TEST_CASE("AdamW matches the float64 reference over many steps", "[optim][adamw]") {
  go::adamw_config cfg;
  cfg.lr = 3e-3;
  cfg.beta1 = 0.85;
  cfg.beta2 = 0.98;
  cfg.eps = 1e-7;
  cfg.weight_decay = 0.1;
  go::adamw opt(cfg);
  opt.exclude_from_decay({{2, 3}});
  reference_adamw ref{cfg.lr, cfg.beta1, cfg.beta2, cfg.eps, cfg.weight_decay, {}, {}};
  std::mt19937_64 rng(1);
  std::normal_distribution<double> nd;
  std::vector<double> p(9), pr;
  for (auto& x : p) x = nd(rng);
  pr = p;
  const std::vector<int> decay{1, 1, 0, 0, 0, 1, 1, 1, 1};
  for (int s = 0; s < 50; ++s) {
    std::vector<double> g(9);
    for (auto& x : g) x = nd(rng) * (s % 3 + 0.1);
    const double eta = cfg.lr * (1.0 - s / 100.0);
    REQUIRE(opt.step(std::span<double>(p), std::span<const double>(g), eta).ok());
    ref.step(pr, g, decay, eta);
  }
  CHECK(opt.state().step == 50);
  for (size_t k = 0; k < p.size(); ++k) CHECK(p[k] == Approx(pr[k]).epsilon(1e-13));
}

TEST_CASE("AdamW first step moves every parameter by about lr against its gradient sign", "[optim][adamw]") {
  // t = 1: m̂ = g, v̂ = g², so Δθ = −η·g/(|g| + ε) ≈ −η·sign(g)
  go::adamw opt({.lr = 0.01, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.0});
  std::vector<float> p{1.0f, -2.0f, 0.5f}, g{3.0f, -0.001f, 1e-3f};
  REQUIRE(opt.step(std::span<float>(p), std::span<float>(g)).ok());
  CHECK(p[0] == Approx(0.99f).epsilon(1e-6));
  CHECK(p[1] == Approx(-1.99f).epsilon(1e-6));
  CHECK(p[2] == Approx(0.49f).epsilon(1e-5));
}

TEST_CASE("AdamW skips decay on blocks flagged decay == false", "[optim][adamw]") {
  struct blk {
    grpo::index_t offset, n;
    bool decay;
    grpo::index_t size() const { return n; }
  };
  go::adamw opt({.lr = 0.1, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.5});
  opt.exclude_blocks_without_decay(std::vector<blk>{{0, 1, true}, {1, 2, false}, {3, 1, true}});
  std::vector<double> p{1.0, 1.0, 1.0, 1.0}, g(4, 0.0);
  REQUIRE(opt.step(std::span<double>(p), std::span<double>(g)).ok());
  CHECK(p == std::vector<double>{0.95, 1.0, 1.0, 0.95});
}

TEST_CASE("AdamW decoupled weight decay with a zero gradient shrinks θ by (1 − ηλ)", "[optim][adamw]") {
  go::adamw opt({.lr = 0.1, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.5});
  std::vector<double> p{2.0, -4.0}, g{0.0, 0.0};
  REQUIRE(opt.step(std::span<double>(p), std::span<double>(g)).ok());
  CHECK(p[0] == Approx(2.0 * 0.95));
  CHECK(p[1] == Approx(-4.0 * 0.95));
}

TEST_CASE("AdamW refuses bad inputs without touching the parameters", "[optim][adamw][errors]") {
  go::adamw opt;
  std::vector<float> p{1, 2, 3}, g{0.1f, NAN, 0.3f}, short_g{1, 2};
  auto s = opt.step(std::span<float>(p), std::span<float>(g));
  CHECK(s.kind() == grpo::errc::non_finite);
  CHECK(s.index() == 1);
  CHECK(p == std::vector<float>{1, 2, 3});
  CHECK(opt.state().step == 0);
  CHECK(opt.step(std::span<float>(p), std::span<float>(short_g)).kind() == grpo::errc::shape_mismatch);
  std::vector<float> g_ok{0.1f, 0.2f, 0.3f};
  CHECK(opt.step(std::span<float>(p), std::span<float>(g_ok), -1.0).input() == "lr");
  opt.config().beta1 = 1.0;
  CHECK(opt.step(std::span<float>(p), std::span<float>(g_ok)).input() == "beta1");
  CHECK(go::validate(go::adamw_config{.lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 0, .weight_decay = 0}).input() == "eps");
}

TEST_CASE("gradient-norm clipping returns the pre-clip norm and scales to max_norm", "[optim][clip]") {
  std::vector<double> g{3.0, 4.0};
  CHECK(go::clip_grad_norm(std::span<double>(g), 1.0) == Approx(5.0));
  CHECK(g[0] == Approx(0.6).epsilon(1e-6));
  CHECK(g[1] == Approx(0.8).epsilon(1e-6));
  CHECK(go::global_norm(std::span<const double>(g)) == Approx(1.0).epsilon(1e-6));
  std::vector<float> small{0.1f, -0.2f};
  CHECK(go::clip_grad_norm(std::span<float>(small), 1.0) == Approx(std::sqrt(0.05)).epsilon(1e-6));
  CHECK(small == std::vector<float>{0.1f, -0.2f});  // below the bound: untouched
  std::vector<float> off{30.0f, 40.0f};
  CHECK(go::clip_grad_norm(std::span<float>(off), 0.0) == Approx(50.0));  // disabled
  CHECK(off[0] == 30.0f);
  std::vector<float> bad{1.0f, INFINITY};
  CHECK(std::isinf(go::clip_grad_norm(std::span<float>(bad), 1.0)));
  CHECK(bad[0] == 1.0f);  // non-finite norm: nothing scaled
}

TEST_CASE("learning-rate schedules: linear warmup, constant and cosine", "[optim][schedule]") {
  go::lr_schedule s{.peak_lr = 1.0, .warmup_steps = 4, .total_steps = 14, .decay = go::decay_kind::cosine, .min_ratio = 0.1};
  REQUIRE(go::validate(s).ok());
  CHECK(s(0) == Approx(0.25));
  CHECK(s(3) == Approx(1.0));
  CHECK(s(4) == Approx(1.0));                                    // cosine starts at the peak
  CHECK(s(9) == Approx(0.1 + 0.9 * 0.5));                        // half way: cos(π/2) = 0
  CHECK(s(6) == Approx(0.1 + 0.9 * 0.5 * (1 + std::cos(3.141592653589793 * 0.2))));
  CHECK(s(14) == Approx(0.1));
  CHECK(s(1000) == Approx(0.1));                                 // stays at the floor
  go::lr_schedule c{.peak_lr = 2e-3, .warmup_steps = 0, .total_steps = 0, .decay = go::decay_kind::constant, .min_ratio = 0};
  CHECK(c(0) == Approx(2e-3));
  CHECK(c(500) == Approx(2e-3));
  go::lr_schedule bad = s;
  bad.total_steps = 2;
  CHECK(go::validate(bad).input() == "total_steps");
  bad = s;
  bad.warmup_steps = -1;
  CHECK(go::validate(bad).input() == "warmup_steps");
}
