// A surrogate and a correction of our own (04_custom_term.hpp), composed with built-in parts
// and run fused on every CPU backend: exec::serial (AVX2 lanes), the scalar lanes, exec::parallel
// and Thrust's host system. The CUDA build of the same header is 04_custom_term_cuda.cu.
// tests/objective/test_custom_term.cpp checks these two terms against a float64 reference
// written from their formulas and against finite differences.
#include "04_custom_term.hpp"

#include <grpo/exec/cpu.hpp>
#if __has_include(<thrust/version.h>)  // Thrust is optional (the CUDA toolkit or libthrust-dev)
#include <grpo/exec/thrust.hpp>

#include <thrust/system/cpp/execution_policy.h>
#define GRPO_EXAMPLE_THRUST 1
#endif

#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

int main() {
  const grpo::index_t N = 16, T = 12;
  std::mt19937 rng(3);
  std::normal_distribution<float> g(0.f, 1.f);
  std::vector<float> logp(N * T), old(N * T), ref(N * T), adv(N);
  std::vector<std::int32_t> lengths(N);
  for (grpo::index_t k = 0; k < N * T; ++k) {
    logp[k] = -std::abs(g(rng)) - 0.1f;
    old[k] = logp[k] + 0.3f * g(rng);
    ref[k] = logp[k] + 0.1f * g(rng);
  }
  for (grpo::index_t i = 0; i < N; ++i) adv[i] = g(rng), lengths[i] = std::int32_t(2 + i % (T - 1));
  const grpo::token_batch<float> batch{.N = N, .T = T, .logp = logp.data(), .old = old.data(), .ref = ref.data(),
                                       .lengths = lengths.data(), .advantages = adv.data()};

  const my::objective obj = my::make_objective();
  std::printf("%-22s %12s %10s %10s %10s\n", "backend", "loss", "saturated", "weight", "kl");
  std::vector<float> first;
  auto run = [&](const char* name, auto exec) {
    std::vector<float> grad(N * T);
    grpo::objective_result r;
    grpo::throw_if_error(grpo::evaluate(obj, batch, grpo::gradient_out<float>{grad.data()}, r, exec));
    std::printf("%-22s %12.8f %10.4f %10.4f %10.6f", name, r.loss, r.stats["saturated"], r.stats["weight"],
                r.stats["kl"]);
    if (first.empty()) first = grad;
    double diff = 0;
    for (std::size_t k = 0; k < grad.size(); ++k) diff = std::fmax(diff, std::fabs(double(grad[k]) - first[k]));
    std::printf("   max |dL/dlogp - serial| %.1e\n", diff);
  };
  run("exec::serial (AVX2)", grpo::exec::serial{});
  run("exec::serial (scalar)", grpo::exec::serial{.vectorize = false});
  run("exec::parallel", grpo::exec::parallel{});
#ifdef GRPO_EXAMPLE_THRUST
  std::vector<unsigned char> ws(grpo::workspace_bytes(grpo::exec::on_thrust(thrust::cpp::par, {}), obj, N, T));
  run("thrust::cpp", grpo::exec::on_thrust(thrust::cpp::par, {ws.data(), ws.size()}));
#endif

  // a bad hyper-parameter is refused by name, before anything runs
  my::objective bad = obj;
  bad.corrections.get<my::length_penalty>().target = 0;
  grpo::objective_result r;
  const grpo::status s = grpo::evaluate(bad, batch, grpo::gradient_out<float>{}, r);
  std::printf("target = 0: %s\n", s.message().c_str());
  return s.ok() ? 1 : 0;
}
