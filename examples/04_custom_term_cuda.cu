// The terms of 04_custom_term.hpp on a GPU: the same header, compiled by nvcc, through the CUDA
// backend (exec::cuda) asynchronously: evaluate() only enqueues; synchronize() returns the loss
// and statistics. Compared with the float64 CPU pass. Without a device it says so and exits 0.
#include "04_custom_term.hpp"

#include <grpo/exec/cpu.hpp>
#include <grpo/exec/cuda.cuh>

#include <cuda_runtime.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

template <class T>
T* upload(const std::vector<T>& h) {
  T* d = nullptr;
  if (cudaMalloc(&d, h.size() * sizeof(T)) != cudaSuccess) return nullptr;
  cudaMemcpy(d, h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice);
  return d;
}

int main() {
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    std::printf("no CUDA device: nothing to run\n");
    return 0;
  }
  const grpo::index_t N = 512, T = 300;
  std::mt19937 rng(3);
  std::normal_distribution<double> gauss(0.0, 1.0);
  std::vector<double> logp(N * T), old(N * T), ref(N * T), adv(N);
  std::vector<std::int32_t> lengths(N);
  for (grpo::index_t k = 0; k < N * T; ++k) {
    logp[k] = -std::abs(gauss(rng)) - 0.1;
    old[k] = logp[k] + 0.3 * gauss(rng);
    ref[k] = logp[k] + 0.1 * gauss(rng);
  }
  for (grpo::index_t i = 0; i < N; ++i) adv[i] = gauss(rng), lengths[i] = std::int32_t(1 + i % T);
  auto obj = my::make_objective();
  obj.corrections.get<my::length_penalty>().target = 128;

  // the float64 CPU pass: what the device result is compared with
  grpo::token_batch<double> b64{.N = N, .T = T, .logp = logp.data(), .old = old.data(), .ref = ref.data(),
                                .lengths = lengths.data(), .advantages = adv.data()};
  std::vector<double> g64(N * T);
  grpo::objective_result want;
  grpo::throw_if_error(grpo::evaluate(obj, b64, grpo::gradient_out<double>{g64.data()}, want));

  auto f32 = [](const std::vector<double>& v) { return std::vector<float>(v.begin(), v.end()); };
  grpo::token_batch<float> d{.N = N, .T = T, .logp = upload(f32(logp)), .old = upload(f32(old)),
                             .ref = upload(f32(ref)), .lengths = upload(lengths), .advantages = upload(f32(adv))};
  float* grad = nullptr;
  cudaMalloc(&grad, sizeof(float) * N * T);
  void* ws = nullptr;
  const std::size_t bytes = grpo::workspace_bytes(grpo::exec::cuda{}, obj, N, T);
  cudaMalloc(&ws, bytes);
  const grpo::exec::cuda exec{nullptr, {ws, bytes}};
  grpo::throw_if_error(grpo::evaluate(obj, d, grpo::gradient_out<float>{grad}, exec));  // enqueued
  grpo::objective_result got;
  grpo::throw_if_error(grpo::synchronize(obj, d, exec, got));
  std::vector<float> g(N * T);
  cudaMemcpy(g.data(), grad, sizeof(float) * N * T, cudaMemcpyDeviceToHost);
  double worst = 0;
  for (grpo::index_t k = 0; k < N * T; ++k)
    worst = std::fmax(worst, std::fabs(g[k] - g64[k]) / (1e-6 + std::fabs(g64[k])));
  std::printf("loss: CUDA %.8f, float64 CPU %.8f; saturated %.4f vs %.4f; dL/dlogp worst rel. error %.1e\n",
              got.loss, want.loss, got.stats["saturated"], want.stats["saturated"], worst);
  const bool ok = std::fabs(got.loss - want.loss) <= 1e-5 * std::fabs(want.loss) + 1e-7 && worst < 1e-3;
  return ok ? 0 : 1;
}
