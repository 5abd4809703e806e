// Hot path 1: the GRPO token loss, forward + backward, at 524,288 tokens (N = 512, T = 1024).
//
//   fused/parallel   grpo::evaluate with exec::parallel (AVX2 row kernel, OpenMP threads)
//   fused/serial     the same on one thread
//   scalar/serial    the scalar body (exec::serial{false}): what the kernel replaces
//   naive            the library's own multi-pass path, written the way an eager framework runs
//                    it: one array per intermediate (ratio, clipped ratio, surrogate, KL, ...)
//   floor            the memory floor: read logp, old, ref and the mask, write dL/dlogp
//                    (13 B read + 4 B written per token), OpenMP threads
// `bench_token_loss --tool=token_loss_fwd_bwd --dir=D --tokens=N --hidden=T --reps=R` is the
// our-side worker of benchmarks/compare_torch.py: it reads D/{logp,old,ref,adv,mask}.bin, runs
// TRL's "grpo" loss (grpo::presets::trl::grpo(), k3 with β = 0.04) R times with exec::parallel,
// writes D/ours_loss.bin and D/ours_dlogp.bin, and prints {"op", "median_ms"} as JSON.
//
// Every case reports bytes_per_second for the same 17 B/token, so the ratio to `floor` is the
// fraction of the achievable bandwidth. The objective is TRL's dapo with the k3 KL (β = 0.04).
#include <grpo/exec/cpu.hpp>
#include <grpo/objective/presets.hpp>

#include <benchmark/benchmark.h>

#include "tool_io.hpp"

#include <stdexcept>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace {

constexpr grpo::index_t N = 512, T = 1024;

struct inputs {
  std::vector<float> logp, old, ref, adv, grad;
  std::vector<std::uint8_t> mask;
  inputs() {
    const std::size_t n = std::size_t(N * T);
    std::mt19937 rng(7);
    std::normal_distribution<float> g(0.f, 1.f);
    logp.resize(n);
    old.resize(n);
    ref.resize(n);
    mask.resize(n);
    grad.resize(n);
    for (std::size_t k = 0; k < n; ++k) {
      logp[k] = -std::abs(g(rng)) - 0.05f;
      old[k] = logp[k] + 0.1f * g(rng);
      ref[k] = logp[k] + 0.1f * g(rng);
      mask[k] = (k % std::size_t(T)) < std::size_t(T) - (k / std::size_t(T)) % 200;  // ragged tails
    }
    adv.resize(std::size_t(N));
    for (auto& a : adv) a = g(rng);
  }
  grpo::token_batch<float> batch() const {
    grpo::token_batch<float> b;
    b.N = N;
    b.T = T;
    b.logp = logp.data();
    b.old = old.data();
    b.ref = ref.data();
    b.mask = mask.data();
    b.advantages = adv.data();
    return b;
  }
};

inputs& data() {
  static inputs d;
  return d;
}

auto objective() {
  auto o = grpo::presets::trl::dapo();
  o.beta = 0.04;
  return o;
}

void set_bytes(benchmark::State& st) {
  st.SetBytesProcessed(std::int64_t(st.iterations()) * N * T * 17);
  st.counters["tokens"] = double(N * T);
}

template <class Exec>
void run_fused(benchmark::State& st, Exec exec) {
  auto& d = data();
  const auto obj = objective();
  const auto b = d.batch();
  std::vector<unsigned char> ws(grpo::workspace_bytes(obj, N));
  grpo::objective_result r;
  for (auto _ : st) {
    const auto s = grpo::evaluate(grpo::unchecked, obj, b, grpo::gradient_out<float>{d.grad.data()}, r,
                                  exec, grpo::local_reduction{}, {ws.data(), ws.size()});
    benchmark::DoNotOptimize(r.loss);
    if (!s.ok()) st.SkipWithError(s.message().c_str());
  }
  set_bytes(st);
}

void BM_token_loss_fused_parallel(benchmark::State& st) { run_fused(st, grpo::exec::parallel{}); }
void BM_token_loss_fused_serial(benchmark::State& st) { run_fused(st, grpo::exec::serial{}); }
void BM_token_loss_scalar_serial(benchmark::State& st) { run_fused(st, grpo::exec::serial{false}); }

/// The multi-pass formulation: every intermediate is a full [N, T] array, as in eager PyTorch.
struct naive_pass {
  std::vector<float> log_ratio, ratio, clipped, unclipped, surrogate, d, kl, loss_tok, dsur, dkl;
  std::vector<float> lengths;
  double operator()(const inputs& in, float* grad, double eps, double beta) {
    const std::size_t n = std::size_t(N * T);
    for (auto* v : {&log_ratio, &ratio, &clipped, &unclipped, &surrogate, &d, &kl, &loss_tok, &dsur, &dkl})
      v->resize(n);
    for (std::size_t k = 0; k < n; ++k) log_ratio[k] = std::fmin(std::fmax(in.logp[k] - in.old[k], -20.f), 20.f);
    for (std::size_t k = 0; k < n; ++k) ratio[k] = std::exp(log_ratio[k]);
    for (std::size_t k = 0; k < n; ++k) unclipped[k] = ratio[k] * in.adv[k / std::size_t(T)];
    for (std::size_t k = 0; k < n; ++k)
      clipped[k] = std::fmin(std::fmax(ratio[k], float(1 - eps)), float(1 + eps)) * in.adv[k / std::size_t(T)];
    for (std::size_t k = 0; k < n; ++k) surrogate[k] = -std::fmin(unclipped[k], clipped[k]);
    for (std::size_t k = 0; k < n; ++k) d[k] = std::fmin(std::fmax(in.logp[k] - in.ref[k], -20.f), 20.f);
    for (std::size_t k = 0; k < n; ++k) kl[k] = std::exp(-d[k]) + d[k] - 1.f;
    for (std::size_t k = 0; k < n; ++k) loss_tok[k] = (surrogate[k] + float(beta) * kl[k]) * in.mask[k];
    double tokens = 0, loss = 0;
    for (std::size_t k = 0; k < n; ++k) tokens += in.mask[k];
    for (std::size_t k = 0; k < n; ++k) loss += loss_tok[k];
    loss /= tokens;
    // backward, again one array at a time
    for (std::size_t k = 0; k < n; ++k) dsur[k] = unclipped[k] <= clipped[k] ? -unclipped[k] : 0.f;
    for (std::size_t k = 0; k < n; ++k) dkl[k] = 1.f - std::exp(-d[k]);
    for (std::size_t k = 0; k < n; ++k)
      grad[k] = float((dsur[k] + float(beta) * dkl[k]) * in.mask[k] / tokens);
    return loss;
  }
};

void BM_token_loss_naive(benchmark::State& st) {
  auto& d = data();
  naive_pass pass;
  for (auto _ : st) benchmark::DoNotOptimize(pass(d, d.grad.data(), 0.2, 0.04));
  set_bytes(st);
}

/// The floor: the bytes the fused pass must move, with nothing computed but a sum.
void floor_pass(inputs& d) {
  const std::int64_t n = N * T;
  double s = 0;
#pragma omp parallel for reduction(+ : s) schedule(static)
  for (std::int64_t k = 0; k < n; ++k) {
    const float x = d.logp[std::size_t(k)] + d.old[std::size_t(k)] + d.ref[std::size_t(k)];
    d.grad[std::size_t(k)] = x;
    s += d.mask[std::size_t(k)];
  }
  benchmark::DoNotOptimize(s);
}

void BM_token_loss_floor(benchmark::State& st) {
  for (auto _ : st) floor_pass(data());
  set_bytes(st);
}

/// The floor pass and the fused parallel pass, one after the other in every iteration, so that
/// both see the same state of a shared, noisy machine: reports the median over iterations of
/// time(fused) / time(floor). The time reported is the fused pass's alone.
void BM_token_loss_vs_floor(benchmark::State& st) {
  auto& d = data();
  const auto obj = objective();
  const auto b = d.batch();
  std::vector<unsigned char> ws(grpo::workspace_bytes(obj, N));
  grpo::objective_result r;
  std::vector<double> ratios;
  using clock = std::chrono::steady_clock;
  for (auto _ : st) {
    const auto t0 = clock::now();
    floor_pass(d);
    const auto t1 = clock::now();
    const auto s = grpo::evaluate(grpo::unchecked, obj, b, grpo::gradient_out<float>{d.grad.data()}, r,
                                  grpo::exec::parallel{}, grpo::local_reduction{}, {ws.data(), ws.size()});
    const auto t2 = clock::now();
    if (!s.ok()) st.SkipWithError(s.message().c_str());
    const double fused = std::chrono::duration<double>(t2 - t1).count();
    st.SetIterationTime(fused);
    ratios.push_back(fused / std::chrono::duration<double>(t1 - t0).count());
  }
  st.counters["floor_ratio"] = grpo_bench::median(ratios);
  set_bytes(st);
}

/// Once, before timing: the naive pass and the fused pass agree (else the comparison is moot).
bool agree() {
  auto& d = data();
  std::vector<float> g1(d.grad.size()), g2(d.grad.size());
  naive_pass pass;
  const double naive = pass(d, g1.data(), 0.2, 0.04);
  grpo::objective_result r;
  const auto s = grpo::evaluate(objective(), d.batch(), grpo::gradient_out<float>{g2.data()}, r,
                                grpo::exec::parallel{});
  // gradients compared relative to the largest one (a term can cancel to ~0 at a token)
  double worst = 0, largest = 0;
  for (std::size_t k = 0; k < g1.size(); ++k) largest = std::fmax(largest, std::abs(double(g2[k])));
  for (std::size_t k = 0; k < g1.size(); ++k)
    worst = std::fmax(worst, std::abs(double(g1[k]) - g2[k]) / largest);
  std::printf("token loss: fused %.9g, naive %.9g, worst gradient difference %.2e of the largest\n",
              r.loss, naive, worst);
  return s.ok() && std::abs(naive - r.loss) <= 1e-5 * std::abs(r.loss) + 1e-9 && worst < 1e-4;
}

}  // namespace

BENCHMARK(BM_token_loss_floor)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_token_loss_vs_floor)->Unit(benchmark::kMillisecond)->UseManualTime()->Iterations(400);
BENCHMARK(BM_token_loss_fused_parallel)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_token_loss_fused_serial)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_token_loss_scalar_serial)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_token_loss_naive)->Unit(benchmark::kMillisecond)->UseRealTime();

using grpo_bench::arg;
using grpo_bench::read_bin;
using grpo_bench::time_reps;
using grpo_bench::write_bin;

/// The worker of compare_torch.py (see the top of this file).
int run_tool(int argc, char** argv) {
  const std::string dir = arg(argc, argv, "dir", ".");
  const grpo::index_t n = std::stoll(arg(argc, argv, "tokens", "0"));
  const grpo::index_t t = std::stoll(arg(argc, argv, "hidden", "0"));
  const int reps = std::stoi(arg(argc, argv, "reps", "5"));
  const std::size_t size = std::size_t(n * t);
  const auto logp = read_bin<float>(dir + "/logp.bin", size), old = read_bin<float>(dir + "/old.bin", size),
             ref = read_bin<float>(dir + "/ref.bin", size), adv = read_bin<float>(dir + "/adv.bin", std::size_t(n));
  const auto mask = read_bin<std::uint8_t>(dir + "/mask.bin", size);
  grpo::token_batch<float> b{.N = n, .T = t, .logp = logp.data(), .old = old.data(), .ref = ref.data(),
                             .mask = mask.data(), .advantages = adv.data()};
  auto obj = grpo::presets::trl::grpo();
  obj.beta = 0.04;
  std::vector<float> dlogp(size);
  std::vector<unsigned char> ws(grpo::workspace_bytes(obj, n));
  grpo::objective_result r;
  // validated once; the timed calls skip validation, as PyTorch's side has none
  const auto checked = grpo::evaluate(obj, b, grpo::gradient_out<float>{dlogp.data()}, r);
  if (!checked.ok()) throw std::runtime_error(checked.message());
  std::vector<double> ms = time_reps(reps, [&] {
    const auto s = grpo::evaluate(grpo::unchecked, obj, b, grpo::gradient_out<float>{dlogp.data()}, r,
                                  grpo::exec::parallel{}, grpo::local_reduction{}, {ws.data(), ws.size()});
    if (!s.ok()) throw std::runtime_error(s.message());
  });
  write_bin(dir + "/ours_loss.bin", &r.loss, 1);
  write_bin(dir + "/ours_dlogp.bin", dlogp.data(), size);
  std::printf("{\"op\": \"token_loss_fwd_bwd\", \"median_ms\": %.6f}\n", grpo_bench::median(ms));
  return 0;
}

int main(int argc, char** argv) {
  if (arg(argc, argv, "tool", "") == "token_loss_fwd_bwd") {
    try {
      return run_tool(argc, argv);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "bench_token_loss tool: %s\n", e.what());
      return 1;
    }
  }
  if (!agree()) {
    std::fprintf(stderr, "token loss: the naive and fused passes disagree\n");
    return 1;
  }
  return grpo_bench::run_benchmarks(argc, argv);
}
