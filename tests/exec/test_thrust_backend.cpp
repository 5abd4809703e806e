// The Thrust backend on the host systems (cpp and omp) against the serial CPU backend: bitwise
// equal with thrust::cpp (sequence order), equal to rounding with thrust::omp.
#include <catch2/catch.hpp>
#include <grpo/exec/cpu.hpp>
#include <grpo/exec/thrust.hpp>
#include <grpo/objective/presets.hpp>

#include <thrust/system/cpp/execution_policy.h>
#include <thrust/system/omp/execution_policy.h>

#include <cmath>
#include <random>
#include <vector>

namespace {

template <class Real>
struct batch_data {
  grpo::index_t N, T;
  std::vector<Real> logp, old, ref, adv;
  std::vector<std::uint8_t> mask;
  grpo::token_batch<Real> view() const {
    grpo::token_batch<Real> b;
    b.N = N;
    b.T = T;
    b.logp = logp.data();
    b.old = old.data();
    b.ref = ref.data();
    b.advantages = adv.data();
    b.mask = mask.data();
    return b;
  }
};

template <class Real = double>
batch_data<Real> make(grpo::index_t N, grpo::index_t T, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<Real> g(0, 1);
  batch_data<Real> d{N, T, {}, {}, {}, {}, {}};
  for (grpo::index_t k = 0; k < N * T; ++k) {
    d.logp.push_back(-std::abs(g(rng)));
    d.old.push_back(d.logp.back() + 0.2 * g(rng));
    d.ref.push_back(d.logp.back() + 0.2 * g(rng));
    d.mask.push_back(rng() % 5 != 0);
  }
  for (grpo::index_t i = 0; i < N; ++i) d.adv.push_back(g(rng));
  return d;
}

template <class Real = double, class O, class Policy>
void compare(const O& obj, Policy policy, bool bitwise) {
  for (auto [N, T] : {std::pair<grpo::index_t, grpo::index_t>{1, 1}, {16, 9}, {67, 33}}) {
    const batch_data<Real> d = make<Real>(N, T, unsigned(N * 31 + T));
    std::vector<Real> g_serial(std::size_t(N * T)), g_thrust(std::size_t(N * T), Real(std::nan("")));
    grpo::objective_result want, got;
    REQUIRE(grpo::evaluate(obj, d.view(), grpo::gradient_out<Real>{g_serial.data()}, want).ok());
    std::vector<unsigned char> ws(grpo::workspace_bytes(grpo::exec::on_thrust(policy, {}), obj, N, T));
    REQUIRE(grpo::evaluate(obj, d.view(), grpo::gradient_out<Real>{g_thrust.data()}, got,
                           grpo::exec::on_thrust(policy, {ws.data(), ws.size()}))
                .ok());
    if (bitwise) {
      CHECK(got.loss == want.loss);
      CHECK(g_thrust == g_serial);
    } else {
      CHECK(got.loss == Approx(want.loss).epsilon(1e-12).margin(1e-15));
      for (std::size_t k = 0; k < g_serial.size(); ++k) CHECK(g_thrust[k] == g_serial[k]);
    }
    CHECK(got.stats.token_count == want.stats.token_count);
    REQUIRE(got.stats.size == want.stats.size);
    for (const auto& e : want.stats) {
      INFO(e.name());
      CHECK(got.stats[e.name()] == Approx(e.value).epsilon(1e-12).margin(1e-15));
    }
  }
}

}  // namespace

TEST_CASE("thrust::cpp backend is bitwise equal to exec::serial", "[thrust]") {
  auto dapo = grpo::presets::trl::dapo();
  dapo.beta = 0.04;
  compare(dapo, thrust::cpp::par, true);
  compare(grpo::presets::trl::luspo(), thrust::cpp::par, true);
  compare(grpo::presets::verl::vanilla(), thrust::cpp::par, true);
  compare(grpo::presets::openrlhf::ppo<grpo::kl::k3>(0.01), thrust::cpp::par, true);
  compare(grpo::presets::verl::gspo(), thrust::cpp::par, true);
}

TEST_CASE("thrust::cpp backend is bitwise equal to exec::serial in float (the same AVX2 lanes)", "[thrust]") {
  auto dapo = grpo::presets::trl::dapo();
  dapo.beta = 0.04;
  compare<float>(dapo, thrust::cpp::par, true);
  compare<float>(grpo::presets::trl::sapo(), thrust::cpp::par, true);
  compare<float>(grpo::presets::verl::gspo(), thrust::cpp::par, true);
}

TEST_CASE("thrust::omp backend matches exec::serial", "[thrust]") {
  // Per-token gradients are computed identically; only the loss sum's order may differ.
  compare(grpo::presets::trl::grpo(), thrust::omp::par, false);
  compare(grpo::presets::trl::sapo(), thrust::omp::par, false);
}

TEST_CASE("thrust backend reports a missing workspace", "[thrust]") {
  const auto d = make(4, 4, 1);
  grpo::objective_result r;
  const auto s = grpo::evaluate(grpo::presets::trl::grpo(), d.view(), grpo::gradient_out<double>{},
                                r, grpo::exec::on_thrust(thrust::cpp::par, {}));
  CHECK(s.kind() == grpo::errc::out_of_range);
  CHECK(s.input() == "workspace");
}
