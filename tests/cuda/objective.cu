// The CUDA backend of the fused objective, against the CPU backend evaluated in float64 (which
// tests/objective checks against the naive float64 reference). Every preset and a few composed
// objectives; fresh random inputs; gradients poisoned with NaN before the call, so a position
// the kernel forgets shows up. Then the token-loss timing at 4M+ tokens against a
// device-to-device copy measured in the same run. Without a GPU: exit 77 (skipped).
#include "cuda/support.cuh"
#include <grpo/exec/cpu.hpp>
#include <grpo/exec/cuda.cuh>
#include <grpo/exec/thrust.hpp>
#include <grpo/objective/presets.hpp>

#include <cuda_runtime.h>
#include <thrust/system/cuda/execution_policy.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

namespace {

int failures = 0;
int checks = 0;

template <class T>
T* to_device(const std::vector<T>& h) {
  T* d = nullptr;
  CUDA_OK(cudaMalloc(&d, h.size() * sizeof(T)));
  CUDA_OK(cudaMemcpy(d, h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice));
  return d;
}

struct host_batch {
  grpo::index_t N, T;
  std::vector<float> logp, old, ref, adv, entropy;
  std::vector<std::uint8_t> mask;
  std::vector<std::int32_t> lengths;
};

host_batch random_batch(grpo::index_t N, grpo::index_t T, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> gauss(0.f, 1.f);
  std::uniform_int_distribution<int> len(0, int(T));
  host_batch h{N, T, {}, {}, {}, {}, {}, {}, {}};
  const std::size_t n = std::size_t(N * T);
  h.logp.resize(n);
  h.old.resize(n);
  h.ref.resize(n);
  h.entropy.resize(n);
  h.mask.resize(n);
  for (std::size_t k = 0; k < n; ++k) {
    h.logp[k] = -std::abs(gauss(rng)) - 0.1f;
    h.old[k] = h.logp[k] + 0.3f * gauss(rng);
    h.ref[k] = h.logp[k] + 0.3f * gauss(rng);
    h.entropy[k] = std::abs(gauss(rng));
    h.mask[k] = (rng() % 8) != 0;
  }
  h.adv.resize(std::size_t(N));
  h.lengths.resize(std::size_t(N));
  for (grpo::index_t i = 0; i < N; ++i) {
    h.adv[std::size_t(i)] = gauss(rng);
    h.lengths[std::size_t(i)] = len(rng);
  }
  return h;
}

template <class Real>
grpo::token_batch<Real> view(const host_batch& h, const std::vector<Real>& logp,
                             const std::vector<Real>& old, const std::vector<Real>& ref,
                             const std::vector<Real>& adv, const std::vector<Real>& ent) {
  grpo::token_batch<Real> b;
  b.N = h.N;
  b.T = h.T;
  b.logp = logp.data();
  b.old = old.data();
  b.ref = ref.data();
  b.advantages = adv.data();
  b.entropy = ent.data();
  b.mask = h.mask.data();
  b.lengths = h.lengths.data();
  return b;
}

bool close(double a, double b, double rel = 2e-5, double abs = 1e-6) {
  return std::abs(a - b) <= abs + rel * std::max(std::abs(a), std::abs(b));
}

template <class O>
void check_objective(const char* name, const O& obj, grpo::index_t N, grpo::index_t T,
                     std::uint64_t seed) {
  const host_batch h = random_batch(N, T, seed);
  // float64 on the CPU: the reference for the device result
  auto up = [](const std::vector<float>& v) { return std::vector<double>(v.begin(), v.end()); };
  const auto lp64 = up(h.logp), old64 = up(h.old), ref64 = up(h.ref), adv64 = up(h.adv),
             ent64 = up(h.entropy);
  std::vector<double> g64(h.logp.size());
  grpo::objective_result want;
  grpo::status s = grpo::evaluate(obj, view(h, lp64, old64, ref64, adv64, ent64),
                                  grpo::gradient_out<double>{g64.data()}, want);
  if (!s.ok()) {
    std::printf("FAIL %s: CPU reference: %s\n", name, s.message().c_str());
    ++failures;
    return;
  }

  // the same batch on the device, gradients poisoned
  grpo::token_batch<float> d;
  d.N = N;
  d.T = T;
  d.logp = to_device(h.logp);
  d.old = to_device(h.old);
  d.ref = to_device(h.ref);
  d.advantages = to_device(h.adv);
  d.entropy = to_device(h.entropy);
  d.mask = to_device(h.mask);
  d.lengths = to_device(h.lengths);
  float* dgrad = to_device(std::vector<float>(h.logp.size(), std::nanf("")));
  const std::size_t ws_bytes = grpo::cuda_workspace_bytes(obj, N, T);
  void* ws = nullptr;
  CUDA_OK(cudaMalloc(&ws, ws_bytes));
  grpo::objective_result got;
  s = grpo::evaluate(obj, d, grpo::gradient_out<float>{dgrad}, got,
                     grpo::exec::cuda{nullptr, {ws, ws_bytes}});
  std::vector<float> g(h.logp.size());
  CUDA_OK(cudaMemcpy(g.data(), dgrad, g.size() * sizeof(float), cudaMemcpyDeviceToHost));
  // the Thrust backend on the CUDA system, same inputs, its own poisoned gradient
  float* dgrad_thrust = to_device(std::vector<float>(h.logp.size(), std::nanf("")));
  grpo::objective_result got_thrust;
  const grpo::status st = grpo::evaluate(
      grpo::unchecked, obj, d, grpo::gradient_out<float>{dgrad_thrust}, got_thrust,
      grpo::exec::on_thrust(thrust::cuda::par.on(nullptr), {ws, ws_bytes}));
  std::vector<float> gt(h.logp.size());
  CUDA_OK(cudaMemcpy(gt.data(), dgrad_thrust, gt.size() * sizeof(float), cudaMemcpyDeviceToHost));
  CUDA_OK(cudaFree(dgrad_thrust));
  bool ok = s.ok() && close(got.loss, want.loss) &&
            close(got.stats.token_count, want.stats.token_count) &&
            close(got.stats.clip_fraction_low, want.stats.clip_fraction_low) &&
            close(got.stats.clip_fraction_high, want.stats.clip_fraction_high) &&
            close(got.stats.kl_mean, want.stats.kl_mean, 1e-4) &&
            close(got.stats.ratio_max, want.stats.ratio_max, 1e-4);
  ok = ok && st.ok() && close(got_thrust.loss, want.loss);
  double worst = 0;
  for (std::size_t k = 0; k < g.size(); ++k) {
    if (!(gt[k] == g[k])) ok = false;  // the per-token math is the same code on both paths
    const double err = std::abs(double(g[k]) - g64[k]) / (1e-6 + std::abs(g64[k]));
    if (!(err <= 2e-4) && !(std::abs(double(g[k]) - g64[k]) <= 1e-7)) ok = false;
    if (std::isnan(g[k])) ok = false;
    worst = std::max(worst, err);
  }
  std::printf("%s %-34s N=%-5lld T=%-5lld loss %.9g vs %.9g, grad worst rel %.2e%s\n",
              ok ? "ok  " : "FAIL", name, (long long)N, (long long)T, got.loss, want.loss, worst,
              s.ok() ? "" : (" status: " + s.message()).c_str());
  ++checks;
  failures += ok ? 0 : 1;
  for (const void* p : {(const void*)d.logp, (const void*)d.old, (const void*)d.ref,
                        (const void*)d.advantages, (const void*)d.entropy, (const void*)d.mask,
                        (const void*)d.lengths, (const void*)dgrad, (const void*)ws})
    CUDA_OK(cudaFree(const_cast<void*>(p)));
}

/// A NaN at a masked-in position must be reported with its input and index.
void check_validation() {
  host_batch h = random_batch(4, 8, 99);
  std::fill(h.mask.begin(), h.mask.end(), 1);
  std::fill(h.lengths.begin(), h.lengths.end(), 8);
  h.old[13] = std::nanf("");
  grpo::token_batch<float> d;
  d.N = 4;
  d.T = 8;
  d.logp = to_device(h.logp);
  d.old = to_device(h.old);
  d.advantages = to_device(h.adv);
  d.mask = to_device(h.mask);
  const auto obj = grpo::presets::trl::grpo();
  void* ws = nullptr;
  const std::size_t bytes = grpo::cuda_workspace_bytes(obj, 4, 8);
  CUDA_OK(cudaMalloc(&ws, bytes));
  grpo::objective_result r;
  const grpo::status s =
      grpo::evaluate(obj, d, grpo::gradient_out<float>{}, r, grpo::exec::cuda{nullptr, {ws, bytes}});
  const bool ok = s.kind() == grpo::errc::non_finite && s.input() == "old" && s.index() == 13;
  std::printf("%s validation reports %s\n", ok ? "ok  " : "FAIL", s.message().c_str());
  ++checks;
  failures += ok ? 0 : 1;
}

void time_token_loss(grpo::index_t N, grpo::index_t T) {
  const std::size_t n = std::size_t(N * T);
  std::vector<float> logp(n, -1.f), old(n, -1.1f), ref(n, -0.9f), adv(std::size_t(N), 0.5f);
  std::vector<std::uint8_t> mask(n, 1);
  grpo::token_batch<float> d;
  d.N = N;
  d.T = T;
  d.logp = to_device(logp);
  d.old = to_device(old);
  d.ref = to_device(ref);
  d.advantages = to_device(adv);
  d.mask = to_device(mask);
  float* grad = nullptr;
  CUDA_OK(cudaMalloc(&grad, n * sizeof(float)));
  auto obj = grpo::presets::trl::dapo();
  obj.beta = 0.04;
  const std::size_t bytes = grpo::cuda_workspace_bytes(obj, N, T);
  void* ws = nullptr;
  CUDA_OK(cudaMalloc(&ws, bytes));
  grpo::objective_result r;
  const grpo::exec::cuda ex{nullptr, {ws, bytes}};
  const float loss_ms = median_ms(50, [&] {
    (void)grpo::evaluate(grpo::unchecked, obj, d, grpo::gradient_out<float>{grad}, r, ex);
  });
  // the floor: reading logp, old, ref (12 B), the mask (1 B) and writing dL/dlogp (4 B)
  const double bytes_moved = double(n) * 17.0;
  float* a = nullptr;
  float* b = nullptr;
  CUDA_OK(cudaMalloc(&a, 4 * n * sizeof(float)));
  CUDA_OK(cudaMalloc(&b, 4 * n * sizeof(float)));
  const float copy_ms = median_ms(
      50, [&] { CUDA_OK(cudaMemcpyAsync(b, a, 4 * n * sizeof(float), cudaMemcpyDeviceToDevice)); });
  const double copy_bw = 2.0 * 4.0 * double(n) * 4.0 / (copy_ms * 1e-3);
  const double loss_bw = bytes_moved / (loss_ms * 1e-3);
  std::printf("token loss fwd+bwd (dapo + k3), %lld tokens: %.3f ms, %.2f TB/s = %.0f%% of the "
              "measured copy bandwidth %.2f TB/s (evaluate() includes one host sync)\n",
              (long long)n, loss_ms, loss_bw / 1e12, 100.0 * loss_bw / copy_bw, copy_bw / 1e12);
}

}  // namespace

int main() {
  if (!cuda_device_present()) return skipped;
  namespace P = grpo::presets;
  // T % 4 == 0 takes the float4 kernel, the others the scalar one
  for (auto [N, T] : {std::pair<grpo::index_t, grpo::index_t>{8, 1}, {64, 37}, {64, 36}, {300, 128}, {33, 129}}) {
    check_objective("trl::grpo", P::trl::grpo(), N, T, 1);
    check_objective("trl::bnpo", P::trl::bnpo(), N, T, 2);
    check_objective("trl::dr_grpo", P::trl::dr_grpo(), N, T, 3);
    auto dapo = P::trl::dapo();
    dapo.beta = 0.04;
    check_objective("trl::dapo + k3", dapo, N, T, 4);
    check_objective("trl::cispo", P::trl::cispo(5.0), N, T, 5);
    check_objective("trl::sapo", P::trl::sapo(), N, T, 6);
    check_objective("trl::luspo", P::trl::luspo(), N, T, 7);
    check_objective("verl::vanilla<token_mean>", P::verl::vanilla(), N, T, 8);
    check_objective("verl::vanilla<seq_mean_token_sum>",
                    P::verl::vanilla<grpo::aggregation::seq_mean_token_sum>(), N, T, 9);
    check_objective("openrlhf::group_norm<k3>", P::openrlhf::group_norm<grpo::kl::k3>(0.01), N, T, 10);
    using gspo = grpo::objective<grpo::ratio::sequence, grpo::surrogate::ppo_clip, grpo::kl::none,
                                 grpo::aggregation::seq_mean_token_mean>;
    check_objective("gspo (sequence ratio)", gspo{}, N, T, 11);
    using gmpo = grpo::objective<grpo::ratio::sequence, grpo::surrogate::gmpo, grpo::kl::none,
                                 grpo::aggregation::seq_mean_token_mean>;
    check_objective("gmpo", gmpo{}, N, T, 12);
    using ent = grpo::objective<grpo::ratio::token, grpo::surrogate::ppo_clip, grpo::kl::k2,
                                grpo::aggregation::token_mean, grpo::correction::entropy_bonus>;
    ent e;
    e.beta = 0.1;
    check_objective("ppo + k2 + entropy bonus", e, N, T, 13);
  }
  check_validation();
  time_token_loss(2048, 2048);  // 4.2M tokens
  time_token_loss(4096, 4096);  // 16.8M tokens
  std::printf("%d passed, %d failed\n", checks - failures, failures);
  return failures == 0 ? 0 : 1;
}
