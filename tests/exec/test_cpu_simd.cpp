// The AVX2 row kernel (grpo/exec/cpu_simd.hpp) against the scalar body it replaces, and both
// against the float64 evaluation: every objective of the PPO family, ragged masks and lengths,
// T not a multiple of 8, write and accumulate modes, masked-out garbage, serial == parallel.
#include <catch2/catch.hpp>
#include <grpo/exec/cpu.hpp>
#include <grpo/objective/presets.hpp>

#include <cmath>
#include <initializer_list>
#include <limits>
#include <random>
#include <vector>

namespace {

struct batch_data {
  grpo::index_t N, T;
  std::vector<float> logp, old, ref, adv, entropy;
  std::vector<std::uint8_t> mask;
  std::vector<std::int32_t> lengths;

  template <class Real>
  struct typed {
    std::vector<Real> logp, old, ref, adv, entropy;
  };

  template <class Real>
  grpo::token_batch<Real> view(const typed<Real>& d, bool with_lengths) const {
    grpo::token_batch<Real> b;
    b.N = N;
    b.T = T;
    b.logp = d.logp.data();
    b.old = d.old.data();
    b.ref = d.ref.data();
    b.advantages = d.adv.data();
    b.entropy = d.entropy.data();
    b.mask = mask.data();
    if (with_lengths) b.lengths = lengths.data();
    return b;
  }
  template <class Real>
  typed<Real> as() const {
    auto c = [](const std::vector<float>& v) { return std::vector<Real>(v.begin(), v.end()); };
    return {c(logp), c(old), c(ref), c(adv), c(entropy)};
  }
};

batch_data make(grpo::index_t N, grpo::index_t T, unsigned seed, float spread) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0.f, 1.f);
  batch_data d{N, T, {}, {}, {}, {}, {}, {}, {}};
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (grpo::index_t k = 0; k < N * T; ++k) {
    const bool in = rng() % 6 != 0;
    d.mask.push_back(in);
    // garbage at masked-out positions must never reach the results
    d.logp.push_back(in ? -std::abs(g(rng)) - 0.05f : nan);
    d.old.push_back(in ? d.logp.back() + spread * g(rng) : -std::numeric_limits<float>::infinity());
    d.ref.push_back(in ? d.logp.back() + spread * g(rng) : nan);
    d.entropy.push_back(std::abs(g(rng)));
  }
  for (grpo::index_t i = 0; i < N; ++i) {
    d.adv.push_back(g(rng));
    d.lengths.push_back(std::int32_t(rng() % std::uint32_t(T + 1)));
  }
  return d;
}

bool close(double a, double b, double rel, double abs) {
  return std::abs(a - b) <= abs + rel * std::max(std::abs(a), std::abs(b));
}

// spreads: 30 puts log-ratios beyond the ±20 clamp; without a clamp keep them finite (0.6)
template <class O>
void check_parity(const O& obj, std::initializer_list<float> spreads = {0.05f, 0.6f, 30.f}) {
  for (auto [N, T] : {std::pair<grpo::index_t, grpo::index_t>{3, 1}, {5, 7}, {8, 8}, {13, 9},
                      {17, 33}, {64, 130}}) {
    for (float spread : spreads) {
      for (bool with_lengths : {false, true}) {
        const batch_data d = make(N, T, unsigned(N * 1000 + T + int(spread * 10)), spread);
        const auto f32 = d.as<float>();
        const auto f64 = d.as<double>();
        const std::size_t n = std::size_t(N * T);
        std::vector<float> g_simd(n, 7.f), g_scalar(n, 7.f), g_par(n, 7.f);
        std::vector<double> g64(n, 7.0);
        grpo::objective_result r_simd, r_scalar, r_par, r64;
        const auto b32 = d.view(f32, with_lengths);
        REQUIRE(grpo::evaluate(obj, b32, grpo::gradient_out<float>{g_simd.data()}, r_simd,
                               grpo::exec::serial{true}).ok());
        REQUIRE(grpo::evaluate(obj, b32, grpo::gradient_out<float>{g_scalar.data()}, r_scalar,
                               grpo::exec::serial{false}).ok());
        REQUIRE(grpo::evaluate(obj, b32, grpo::gradient_out<float>{g_par.data()}, r_par,
                               grpo::exec::parallel{3, true}).ok());
        REQUIRE(grpo::evaluate(obj, d.view(f64, with_lengths), grpo::gradient_out<double>{g64.data()},
                               r64).ok());
        INFO("N=" << N << " T=" << T << " spread=" << spread << " lengths=" << with_lengths);
        INFO("loss simd " << r_simd.loss << " scalar " << r_scalar.loss << " f64 " << r64.loss);
        CHECK(close(r_simd.loss, r_scalar.loss, 1e-5, 1e-8));
        CHECK(close(r_simd.loss, r64.loss, 1e-5, 1e-8));
        CHECK(r_simd.stats.token_count == r_scalar.stats.token_count);
        CHECK(r_simd.stats.clip_fraction_low == Approx(r_scalar.stats.clip_fraction_low).margin(1e-3));
        CHECK(r_simd.stats.clip_fraction_high == Approx(r_scalar.stats.clip_fraction_high).margin(1e-3));
        CHECK(close(r_simd.stats.kl_mean, r64.stats.kl_mean, 1e-5, 1e-7));
        CHECK(close(r_simd.stats.ratio_min, r64.stats.ratio_min, 1e-5, 1e-9));
        CHECK(close(r_simd.stats.ratio_max, r64.stats.ratio_max, 1e-5, 1e-9));
        CHECK(close(r_simd.stats.entropy_mean, r64.stats.entropy_mean, 1e-6, 1e-9));
        // serial and parallel: bit for bit
        CHECK(r_par.loss == r_simd.loss);
        CHECK(g_par == g_simd);
        int bad = 0;
        for (std::size_t k = 0; k < n; ++k) {
          if (!std::isfinite(g_simd[k])) ++bad;
          else if (!close(g_simd[k], g_scalar[k], 1e-5, 1e-9)) ++bad;
          else if (!close(g_simd[k], g64[k], 1e-4, 1e-8)) ++bad;
        }
        CHECK(bad == 0);
        CHECK(std::isfinite(r_simd.loss));
      }
    }
  }
}

}  // namespace

TEST_CASE("AVX2 row kernel == scalar body: TRL presets", "[exec][simd]") {
  auto grpo_k3 = grpo::presets::trl::grpo();
  grpo_k3.beta = 0.04;
  check_parity(grpo_k3);
  check_parity(grpo::presets::trl::bnpo());
  check_parity(grpo::presets::trl::dr_grpo(64));
  auto dapo = grpo::presets::trl::dapo();
  dapo.surrogate.eps_high = 0.28;
  dapo.beta = 0.001;
  check_parity(dapo);
}

TEST_CASE("AVX2 row kernel == scalar body: verl and OpenRLHF presets", "[exec][simd]") {
  check_parity(grpo::presets::verl::vanilla());
  check_parity(grpo::presets::verl::vanilla<grpo::aggregation::seq_mean_token_sum>());
  check_parity(grpo::presets::openrlhf::group_norm<grpo::kl::k1>(0.01));
  check_parity(grpo::presets::openrlhf::rloo<grpo::kl::k2>(0.01));
  check_parity(grpo::presets::openrlhf::reinforce_baseline<grpo::kl::k3>(0.01));
}

TEST_CASE("AVX2 row kernel == scalar body: clamps off or wide (the general exp)", "[exec][simd]") {
  // a clamp wider than simd::exp_bounded_limit (or none, TRL's own setting) takes the general
  // exp in the row kernel, for the ratio and for k3
  const double inf = std::numeric_limits<double>::infinity();
  auto no_clamp = grpo::presets::trl::grpo();
  no_clamp.beta = 0.04;
  no_clamp.ratio.log_clamp = inf;
  no_clamp.kl.d_clamp = inf;
  check_parity(no_clamp, {0.05f, 0.6f, 8.f});
  auto wide = grpo::presets::trl::dapo();
  wide.beta = 0.04;
  wide.ratio.log_clamp = 87.0;  // just past the bounded exp's range
  check_parity(wide, {0.05f, 0.6f, 8.f});
  auto narrow_ratio_wide_kl = wide;
  narrow_ratio_wide_kl.ratio.log_clamp = 20.0;
  narrow_ratio_wide_kl.kl.d_clamp = 100.0;
  check_parity(narrow_ratio_wide_kl, {0.05f, 0.6f, 15.f});
#if GRPO_HAVE_X86_SIMD
  CHECK_FALSE(grpo::detail::simd_row::exp_bounded(no_clamp));
  CHECK_FALSE(grpo::detail::simd_row::exp_bounded(wide));
  CHECK_FALSE(grpo::detail::simd_row::exp_bounded(narrow_ratio_wide_kl));
  auto trl = grpo::presets::trl::grpo();
  CHECK(grpo::detail::simd_row::exp_bounded(trl));  // the ±20 defaults: the bounded exp
#endif  // 15: ratios clamped, k3 exps up to ~e^60
}

TEST_CASE("AVX2 row kernel: accumulate mode adds and leaves masked-out positions alone",
          "[exec][simd]") {
  const batch_data d = make(9, 21, 5, 0.3f);
  const auto f32 = d.as<float>();
  auto obj = grpo::presets::trl::dapo();
  obj.beta = 0.04;
  std::vector<float> once(std::size_t(9 * 21)), twice(std::size_t(9 * 21), 0.f);
  grpo::objective_result r;
  REQUIRE(grpo::evaluate(obj, d.view(f32, true), grpo::gradient_out<float>{once.data()}, r).ok());
  for (int rep = 0; rep < 2; ++rep)
    REQUIRE(grpo::evaluate(obj, d.view(f32, true),
                           grpo::gradient_out<float>{twice.data(), grpo::grad_mode::accumulate}, r)
                .ok());
  for (std::size_t k = 0; k < once.size(); ++k) CHECK(twice[k] == 2.f * once[k]);
}

TEST_CASE("AVX2 row kernel: a NaN at a masked-in position is not hidden (unchecked)",
          "[exec][simd]") {
  batch_data d = make(4, 16, 9, 0.3f);
  std::fill(d.mask.begin(), d.mask.end(), 1);
  for (auto* v : {&d.logp, &d.old, &d.ref})
    for (float& x : *v)
      if (!std::isfinite(x)) x = -1.f;
  d.logp[21] = std::numeric_limits<float>::quiet_NaN();
  d.old[21] = -1.f;
  d.ref[21] = -1.f;
  const auto f32 = d.as<float>();
  auto obj = grpo::presets::trl::dapo();
  obj.beta = 0.04;
  std::vector<float> g(64);
  grpo::objective_result r;
  const auto s = grpo::evaluate(obj, d.view(f32, false), grpo::gradient_out<float>{g.data()}, r);
  CHECK(s.kind() == grpo::errc::non_finite);
  CHECK(s.index() == 21);
  REQUIRE(grpo::evaluate(grpo::unchecked, obj, d.view(f32, false), grpo::gradient_out<float>{g.data()}, r)
              .ok());
  CHECK(std::isnan(r.loss));
  CHECK(std::isnan(g[21]));
}
