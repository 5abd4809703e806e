// Distillation losses from logits (grpo/distill/): each divergence and its gradient against the
// float64 reference of reference.hpp (definitions, finite differences), the edge cases (-inf
// logits, a vocabulary of 262,144, top-k ties) and every error path.
#include "reference.hpp"

#include <catch2/catch.hpp>
#include <grpo/distill/logits.hpp>
#include <grpo/task/random.hpp>

#include <cmath>
#include <limits>
#include <vector>

namespace gd = grpo::distill;

namespace {

std::vector<float> random_logits(grpo::task::splitmix64& rng, std::size_t n, double spread) {
  std::vector<float> x(n);
  for (auto& v : x) v = static_cast<float>(spread * (2.0 * static_cast<double>(rng.below(1u << 30)) / (1u << 30) - 1.0));
  return x;
}

std::vector<double> as_double(const float* x, std::size_t n) { return {x, x + n}; }

}  // namespace

TEST_CASE("distill: every divergence and its gradient against the float64 definitions", "[distill]") {
  grpo::task::splitmix64 rng(3);
  const double betas[] = {0.0, 0.1, 0.5, 0.9, 1.0};
  const double temperatures[] = {0.7, 1.0, 2.0};
  const long top_ks[] = {0, 1, 5, 37};
  for (double beta : betas)
    for (double tau : temperatures)
      for (long k : top_ks) {
        const grpo::index_t N = 5, V = 37;
        const auto s = random_logits(rng, N * V, 4.0), t = random_logits(rng, N * V, 4.0);
        const gd::divergence d{beta, tau, k};
        std::vector<double> loss(N);
        std::vector<float> grad(N * V);
        std::vector<double> weight = {1.0, 0.5, 2.0, -1.0, 0.25};
        REQUIRE(gd::token_losses(d, s.data(), t.data(), {N, V}, nullptr, loss.data(), grad.data(), weight.data()).ok());
        const grpo_test::distill_case c{beta, tau, k};
        for (grpo::index_t r = 0; r < N; ++r) {
          INFO("beta " << beta << " tau " << tau << " top_k " << k << " row " << r);
          const auto sr = as_double(s.data() + r * V, V), tr = as_double(t.data() + r * V, V);
          const double want = grpo_test::divergence(c, sr, tr);
          CHECK(loss[r] == Approx(want).epsilon(1e-12).margin(1e-15));
          const auto fd = grpo_test::divergence_gradient_fd(c, sr, tr);
          for (grpo::index_t j = 0; j < V; ++j)
            CHECK(grad[r * V + j] == Approx(weight[r] * fd[j]).epsilon(1e-5).margin(1e-7));
        }
      }
}

TEST_CASE("distill: exact values where the mathematics gives them", "[distill]") {
  const grpo::index_t V = 4;
  const std::vector<float> same = {1.0f, -2.0f, 0.5f, 3.0f};
  std::vector<double> loss(1);
  std::vector<float> grad(V);
  for (double beta : {0.0, 0.3, 1.0}) {  // identical models: every divergence and gradient is 0
    REQUIRE(gd::token_losses(gd::jsd(beta, 1.3), same.data(), same.data(), {1, V}, nullptr, loss.data(), grad.data()).ok());
    CHECK(loss[0] == Approx(0).margin(1e-15));
    for (float g : grad) CHECK(g == Approx(0).margin(1e-7));
  }
  // two tokens, q = (1/2, 1/2), p = (3/4, 1/4): KL(p‖q) = (3/4)log(3/2) + (1/4)log(1/2)
  const std::vector<float> s = {0.0f, 0.0f}, t = {static_cast<float>(std::log(3.0)), 0.0f};
  REQUIRE(gd::token_losses(gd::forward_kl(), s.data(), t.data(), {1, 2}, nullptr, loss.data(), grad.data()).ok());
  CHECK(loss[0] == Approx(0.75 * std::log(1.5) + 0.25 * std::log(0.5)).epsilon(1e-7));
  CHECK(grad[0] == Approx(0.5 - 0.75).epsilon(1e-6));  // q − p
  CHECK(grad[1] == Approx(0.5 - 0.25).epsilon(1e-6));
  // JSD at β = 1/2 is bounded by log 2, reached when the supports are disjoint
  const float ninf = -std::numeric_limits<float>::infinity();
  const std::vector<float> a = {0.0f, ninf}, b = {ninf, 0.0f};
  REQUIRE(gd::token_losses(gd::jsd(0.5), a.data(), b.data(), {1, 2}, nullptr, loss.data(), grad.data()).ok());
  CHECK(loss[0] == Approx(std::log(2.0)).epsilon(1e-12));
}

TEST_CASE("distill: -inf logits, a 262,144-token vocabulary, top-k ties", "[distill][edge]") {
  grpo::task::splitmix64 rng(5);
  const float ninf = -std::numeric_limits<float>::infinity();
  // -inf where both are -inf, or only in the teacher (forward KL: fine), or only in the student (JSD: fine)
  {
    const grpo::index_t V = 16;
    auto s = random_logits(rng, V, 3.0), t = random_logits(rng, V, 3.0);
    s[2] = t[2] = ninf;
    t[5] = ninf;
    std::vector<double> loss(1);
    std::vector<float> grad(V);
    for (double beta : {0.0, 0.5}) {
      const grpo_test::distill_case c{beta, 1.0, 0};
      REQUIRE(gd::token_losses(gd::jsd(beta), s.data(), t.data(), {1, V}, nullptr, loss.data(), grad.data()).ok());
      CHECK(loss[0] == Approx(grpo_test::divergence(c, as_double(s.data(), V), as_double(t.data(), V))).epsilon(1e-12));
      CHECK(grad[2] == 0.0f);
      for (float g : grad) CHECK(std::isfinite(g));
    }
    s[7] = ninf;  // the student says 0 where the teacher does not
    const auto jsd_ok = gd::token_losses(gd::jsd(0.5), s.data(), t.data(), {1, V}, nullptr, loss.data(), grad.data());
    CHECK(jsd_ok.ok());
    CHECK(std::isfinite(loss[0]));
    const auto fwd = gd::token_losses(gd::forward_kl(), s.data(), t.data(), {1, V}, nullptr, loss.data(), grad.data());
    CHECK(fwd.kind() == grpo::errc::non_finite);
    CHECK(fwd.input() == "loss");
    CHECK(fwd.index() == 0);
  }
  // a 262,144-token vocabulary (Gemma's), JSD and top-k, against the reference
  {
    const grpo::index_t V = 262144;
    const auto s = random_logits(rng, 2 * V, 8.0), t = random_logits(rng, 2 * V, 8.0);
    for (long k : {0L, 64L}) {
      const gd::divergence d{0.5, 1.0, k};
      std::vector<double> loss(2);
      std::vector<float> grad(2 * V);
      REQUIRE(gd::token_losses(d, s.data(), t.data(), {2, V}, nullptr, loss.data(), grad.data()).ok());
      for (int r = 0; r < 2; ++r)
        CHECK(loss[r] == Approx(grpo_test::divergence({0.5, 1.0, k}, as_double(s.data() + r * V, V),
                                                      as_double(t.data() + r * V, V))).epsilon(1e-10));
      double sum = 0;  // the gradient of a softmax loss sums to zero over the support
      for (float g : grad) sum += g;
      CHECK(sum == Approx(0).margin(1e-6));
    }
  }
  // ties at the k-th teacher logit go to the lower index
  {
    const std::vector<float> t = {1.0f, 2.0f, 2.0f, 2.0f, 0.0f}, s = {0.3f, 0.1f, -0.2f, 0.4f, 0.0f};
    std::vector<double> loss(1);
    std::vector<float> grad(5);
    REQUIRE(gd::token_losses(gd::top_k(gd::forward_kl(), 2), s.data(), t.data(), {1, 5}, nullptr, loss.data(), grad.data()).ok());
    CHECK(grad[0] == 0.0f);
    CHECK(grad[3] == 0.0f);  // index 3 ties with 1 and 2 and loses
    CHECK(grad[4] == 0.0f);
    CHECK(grad[1] != 0.0f);
    CHECK(loss[0] == Approx(grpo_test::divergence({0.0, 1.0, 2}, as_double(s.data(), 5), as_double(t.data(), 5))).epsilon(1e-12));
  }
}

TEST_CASE("distill: the masked token mean, and a row stride", "[distill]") {
  grpo::task::splitmix64 rng(9);
  const grpo::index_t N = 6, V = 11, stride = 13;
  const auto s = random_logits(rng, N * stride, 3.0), t = random_logits(rng, N * stride, 3.0);
  const std::vector<std::uint8_t> mask = {1, 0, 1, 1, 0, 1};
  double loss = 0;
  std::vector<float> grad(N * stride, 7.0f);
  REQUIRE(gd::token_mean_loss(gd::jsd(0.3, 1.5), s.data(), t.data(), {N, V, stride}, mask.data(), loss, grad.data()).ok());
  double want = 0;
  for (grpo::index_t r = 0; r < N; ++r)
    if (mask[r]) want += grpo_test::divergence({0.3, 1.5, 0}, as_double(s.data() + r * stride, V), as_double(t.data() + r * stride, V));
  CHECK(loss == Approx(want / 4).epsilon(1e-12));
  for (grpo::index_t r = 0; r < N; ++r) {
    const auto fd = grpo_test::divergence_gradient_fd({0.3, 1.5, 0}, as_double(s.data() + r * stride, V), as_double(t.data() + r * stride, V));
    for (grpo::index_t j = 0; j < V; ++j) CHECK(grad[r * stride + j] == Approx(mask[r] ? fd[j] / 4 : 0.0).epsilon(1e-5).margin(1e-7));
    for (grpo::index_t j = V; j < stride; ++j) CHECK(grad[r * stride + j] == 7.0f);  // the padding is not written
  }
  const std::vector<std::uint8_t> none(N, 0);
  REQUIRE(gd::token_mean_loss(gd::forward_kl(), s.data(), t.data(), {N, V, stride}, none.data(), loss, grad.data()).ok());
  CHECK(loss == 0.0);
}

TEST_CASE("distill: errors name the input and the index", "[distill][errors]") {
  const grpo::index_t V = 4;
  std::vector<float> s = {0, 1, 2, 3, 0, 1, 2, 3}, t = s;
  std::vector<double> loss(2);
  std::vector<float> grad(8);
  auto run = [&](const gd::divergence& d) { return gd::token_losses(d, s.data(), t.data(), {2, V}, nullptr, loss.data(), grad.data()); };
  CHECK(run(gd::jsd(1.5)).input() == "beta");
  CHECK(run(gd::jsd(-0.1)).input() == "beta");
  CHECK(run(gd::forward_kl(0.0)).input() == "temperature");
  CHECK(run(gd::forward_kl(std::nan(""))).input() == "temperature");
  CHECK(run(gd::top_k(gd::forward_kl(), -1)).input() == "top_k");
  CHECK(gd::token_losses(gd::forward_kl(), static_cast<const float*>(nullptr), t.data(), {2, V}, nullptr, loss.data()).input() == "student_logits");
  CHECK(gd::token_losses(gd::forward_kl(), s.data(), static_cast<const float*>(nullptr), {2, V}, nullptr, loss.data()).input() == "teacher_logits");
  CHECK(gd::token_losses(gd::forward_kl(), s.data(), t.data(), {2, V}, nullptr, nullptr).input() == "loss");
  CHECK(gd::token_losses(gd::forward_kl(), s.data(), t.data(), {2, 0}, nullptr, loss.data()).input() == "vocab");
  s[6] = std::nanf("");
  auto e = run(gd::forward_kl());
  CHECK(e.kind() == grpo::errc::non_finite);
  CHECK(e.input() == "student_logits");
  CHECK(e.index() == 6);
  s[6] = 2;
  t[1] = std::numeric_limits<float>::infinity();
  e = run(gd::reverse_kl());
  CHECK(e.input() == "teacher_logits");
  CHECK(e.index() == 1);
  t[1] = 1;
  for (int j = 4; j < 8; ++j) t[j] = -std::numeric_limits<float>::infinity();
  e = run(gd::jsd(0.5));
  CHECK(e.kind() == grpo::errc::out_of_range);
  CHECK(e.input() == "teacher_logits");
  CHECK(e.index() == 4);
  const std::vector<double> bad_weight = {1.0, std::nan("")};
  CHECK(gd::token_losses(gd::forward_kl(), s.data(), s.data(), {2, V}, nullptr, loss.data(), grad.data(), bad_weight.data()).input() == "weight");
}
