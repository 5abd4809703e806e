// Hot path 1: the GRPO token loss, forward + backward, at 524,288 tokens (N = 512, T = 1024).
//
//   fused/parallel   grpo::evaluate, the default: validated in the pass, exec::parallel (AVX2
//                    lanes, OpenMP threads)
//   unchecked/...    grpo::evaluate(grpo::unchecked, ...): no per-token checks
//   fused/serial     the default on one thread
//   scalar/serial    scalar float lanes (exec::serial{.vectorize = false})
//   naive            the library's own multi-pass path, written the way an eager framework runs
//                    it: one array per intermediate (ratio, clipped ratio, surrogate, KL, ...)
//   floor            the memory floor: read logp, old, ref and the mask, write dL/dlogp
//                    (13 B read + 4 B written per token), OpenMP threads
//   vs_floor/<preset>  the floor and a preset's default pass alternately in one loop: the median
//                    of time(pass) / time(floor), for one preset of every family
// `bench_token_loss --tool=token_loss_fwd_bwd --dir=D --tokens=N --hidden=T --reps=R
// [--preset=NAME]` is the our-side worker of benchmarks/compare_torch.py: it reads
// D/{logp,old,ref,adv,mask}.bin, runs a preset (with_preset below; default TRL's grpo with
// β = 0.04) R times with the default (validated) call and R times unchecked, alternately, writes
// D/ours_loss.bin and D/ours_dlogp.bin, and prints {"op", "preset", "median_ms",
// "unchecked_median_ms"} as JSON.
//
// Every case reports bytes_per_second for the same 17 B/token, so the ratio to `floor` is the
// fraction of the achievable bandwidth. The objective is TRL's dapo with its KL term (β = 0.04).
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
  std::vector<float> logp, old, ref, adv, grad, entropy;
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
    entropy.resize(n);
    for (std::size_t k = 0; k < n; ++k) {
      logp[k] = -std::abs(g(rng)) - 0.05f;
      old[k] = logp[k] + 0.1f * g(rng);
      ref[k] = logp[k] + 0.1f * g(rng);
      entropy[k] = std::abs(g(rng));
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

template <bool Validated, class Exec>
void run_fused(benchmark::State& st, Exec exec) {
  auto& d = data();
  const auto obj = objective();
  const auto b = d.batch();
  std::vector<unsigned char> ws(grpo::workspace_bytes(exec, obj, N, T));
  exec.ws = {ws.data(), ws.size()};
  grpo::objective_result r;
  for (auto _ : st) {
    const auto s = Validated ? grpo::evaluate(obj, b, grpo::gradient_out<float>{d.grad.data()}, r, exec)
                             : grpo::evaluate(grpo::unchecked, obj, b, grpo::gradient_out<float>{d.grad.data()}, r, exec);
    benchmark::DoNotOptimize(r.loss);
    if (!s.ok()) st.SkipWithError(s.message().c_str());
  }
  set_bytes(st);
}

void BM_token_loss_fused_parallel(benchmark::State& st) { run_fused<true>(st, grpo::exec::parallel{}); }
void BM_token_loss_unchecked_parallel(benchmark::State& st) { run_fused<false>(st, grpo::exec::parallel{}); }
void BM_token_loss_fused_serial(benchmark::State& st) { run_fused<true>(st, grpo::exec::serial{}); }
void BM_token_loss_scalar_serial(benchmark::State& st) { run_fused<true>(st, grpo::exec::serial{.vectorize = false}); }

/// The multi-pass formulation: every intermediate is a full [N, T] array, as in eager PyTorch.
/// TRL's dapo with β: no clamps, the KL bias-corrected (k3·ρ, TRL's use_bias_correction_kl).
struct naive_pass {
  std::vector<float> log_ratio, ratio, clipped, unclipped, surrogate, d, kl, loss_tok, dsur, dkl;
  double operator()(const inputs& in, float* grad, double eps, double beta) {
    const std::size_t n = std::size_t(N * T);
    for (auto* v : {&log_ratio, &ratio, &clipped, &unclipped, &surrogate, &d, &kl, &loss_tok, &dsur, &dkl})
      v->resize(n);
    for (std::size_t k = 0; k < n; ++k) log_ratio[k] = in.logp[k] - in.old[k];
    for (std::size_t k = 0; k < n; ++k) ratio[k] = std::exp(log_ratio[k]);
    for (std::size_t k = 0; k < n; ++k) unclipped[k] = ratio[k] * in.adv[k / std::size_t(T)];
    for (std::size_t k = 0; k < n; ++k)
      clipped[k] = std::fmin(std::fmax(ratio[k], float(1 - eps)), float(1 + eps)) * in.adv[k / std::size_t(T)];
    for (std::size_t k = 0; k < n; ++k) surrogate[k] = -std::fmin(unclipped[k], clipped[k]);
    for (std::size_t k = 0; k < n; ++k) d[k] = in.ref[k] - in.logp[k];
    for (std::size_t k = 0; k < n; ++k) kl[k] = std::exp(d[k]) - d[k] - 1.f;
    for (std::size_t k = 0; k < n; ++k) loss_tok[k] = (surrogate[k] + float(beta) * kl[k] * ratio[k]) * in.mask[k];
    double tokens = 0, loss = 0;
    for (std::size_t k = 0; k < n; ++k) tokens += in.mask[k];
    for (std::size_t k = 0; k < n; ++k) loss += loss_tok[k];
    loss /= tokens;
    // backward, again one array at a time: d(k3·ρ)/dlogp = ρ·(1 − e^d) + k3·ρ
    for (std::size_t k = 0; k < n; ++k) dsur[k] = unclipped[k] <= clipped[k] ? -unclipped[k] : 0.f;
    for (std::size_t k = 0; k < n; ++k) dkl[k] = ratio[k] * (1.f - std::exp(d[k]) + kl[k]);
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

/// The floor pass and a preset's pass, one after the other in every iteration, so that both see
/// the same state of a shared, noisy machine: reports the median over iterations of
/// time(pass) / time(floor). The time reported is the pass's alone. The batch carries the entropy
/// and sampler log-probs too, for the presets that read them (they are not counted in the 17 B).
template <bool Validated, class O>
void vs_floor(benchmark::State& st, O obj) {
  auto& d = data();
  auto b = d.batch();
  b.entropy = d.entropy.data();
  b.sampler_logp = d.old.data();
  grpo::exec::parallel exec;
  std::vector<unsigned char> ws(grpo::workspace_bytes(exec, obj, N, T));
  exec.ws = {ws.data(), ws.size()};
  grpo::objective_result r;
  std::vector<double> ratios;
  using clock = std::chrono::steady_clock;
  for (auto _ : st) {
    const auto t0 = clock::now();
    floor_pass(d);
    const auto t1 = clock::now();
    const auto s = Validated ? grpo::evaluate(obj, b, grpo::gradient_out<float>{d.grad.data()}, r, exec)
                             : grpo::evaluate(grpo::unchecked, obj, b, grpo::gradient_out<float>{d.grad.data()}, r, exec);
    const auto t2 = clock::now();
    if (!s.ok()) st.SkipWithError(s.message().c_str());
    const double fused = std::chrono::duration<double>(t2 - t1).count();
    st.SetIterationTime(fused);
    ratios.push_back(fused / std::chrono::duration<double>(t1 - t0).count());
  }
  st.counters["floor_ratio"] = grpo_bench::median(ratios);
  set_bytes(st);
}

void BM_token_loss_vs_floor(benchmark::State& st) { vs_floor<true>(st, objective()); }
void BM_token_loss_unchecked_vs_floor(benchmark::State& st) { vs_floor<false>(st, objective()); }

namespace p = grpo::presets;
void BM_vs_floor_trl_grpo(benchmark::State& st) { vs_floor<true>(st, p::trl::grpo()); }
void BM_vs_floor_trl_cispo(benchmark::State& st) { vs_floor<true>(st, p::trl::cispo()); }
void BM_vs_floor_trl_sapo(benchmark::State& st) { vs_floor<true>(st, p::trl::sapo()); }
void BM_vs_floor_trl_luspo(benchmark::State& st) { vs_floor<true>(st, p::trl::luspo()); }
void BM_vs_floor_verl_gspo(benchmark::State& st) { vs_floor<true>(st, p::verl::gspo()); }
void BM_vs_floor_verl_dual_clip(benchmark::State& st) { vs_floor<true>(st, p::verl::vanilla<grpo::aggregation::seq_mean_token_mean>(0.001)); }
void BM_vs_floor_verl_gpg(benchmark::State& st) { vs_floor<true>(st, p::verl::gpg()); }
void BM_vs_floor_openrlhf_ppo_k3(benchmark::State& st) { vs_floor<true>(st, p::openrlhf::ppo<grpo::kl::k3>(0.01)); }
void BM_vs_floor_liger_dapo(benchmark::State& st) { vs_floor<true>(st, p::liger::dapo()); }
void BM_vs_floor_entropy_corrections(benchmark::State& st) {
  auto o = grpo::objective<grpo::ratio::token, grpo::surrogate::ppo_clip, grpo::kl::k3, grpo::aggregation::token_mean,
                           grpo::correction::entropy_bonus, grpo::correction::sampler_mismatch>{};
  o.beta = 0.04;
  o.corrections.template get<grpo::correction::entropy_bonus>().coef = 0.01;
  vs_floor<true>(st, o);
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
BENCHMARK(BM_token_loss_unchecked_vs_floor)->Unit(benchmark::kMillisecond)->UseManualTime()->Iterations(400);
BENCHMARK(BM_token_loss_fused_parallel)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_token_loss_unchecked_parallel)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_token_loss_fused_serial)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_token_loss_scalar_serial)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_token_loss_naive)->Unit(benchmark::kMillisecond)->UseRealTime();
#define GRPO_VS_FLOOR(f) BENCHMARK(f)->Unit(benchmark::kMillisecond)->UseManualTime()->Iterations(100)
GRPO_VS_FLOOR(BM_vs_floor_trl_grpo);
GRPO_VS_FLOOR(BM_vs_floor_trl_cispo);
GRPO_VS_FLOOR(BM_vs_floor_trl_sapo);
GRPO_VS_FLOOR(BM_vs_floor_trl_luspo);
GRPO_VS_FLOOR(BM_vs_floor_verl_gspo);
GRPO_VS_FLOOR(BM_vs_floor_verl_dual_clip);
GRPO_VS_FLOOR(BM_vs_floor_verl_gpg);
GRPO_VS_FLOOR(BM_vs_floor_openrlhf_ppo_k3);
GRPO_VS_FLOOR(BM_vs_floor_liger_dapo);
GRPO_VS_FLOOR(BM_vs_floor_entropy_corrections);

using grpo_bench::arg;
using grpo_bench::read_bin;
using grpo_bench::time_reps;
using grpo_bench::write_bin;

/// The presets the PyTorch comparison times (benchmarks/compare_torch.py --presets), by name.
template <class F>
bool with_preset(const std::string& name, F&& f) {
  namespace p = grpo::presets;
  auto beta = [](auto o, double b) { o.beta = b; return o; };
  if (name == "trl_grpo") return f(beta(p::trl::grpo(), 0.04)), true;
  if (name == "trl_dapo") return f(beta(p::trl::dapo(), 0.04)), true;
  if (name == "trl_cispo") return f(p::trl::cispo(5.0)), true;
  if (name == "trl_sapo") return f(p::trl::sapo()), true;
  if (name == "verl_vanilla") return f(p::verl::vanilla()), true;
  if (name == "verl_gspo") return f(p::verl::gspo()), true;
  if (name == "openrlhf_ppo_k3") return f(p::openrlhf::ppo<grpo::kl::k3>(0.01)), true;
  return false;
}

/// The worker of compare_torch.py (see the top of this file): --preset=NAME (default trl_grpo).
int run_tool(int argc, char** argv) {
  const std::string dir = arg(argc, argv, "dir", ".");
  const grpo::index_t n = std::stoll(arg(argc, argv, "tokens", "0"));
  const grpo::index_t t = std::stoll(arg(argc, argv, "hidden", "0"));
  const int reps = std::stoi(arg(argc, argv, "reps", "5"));
  const std::string preset = arg(argc, argv, "preset", "trl_grpo");
  const std::size_t size = std::size_t(n * t);
  const auto logp = read_bin<float>(dir + "/logp.bin", size), old = read_bin<float>(dir + "/old.bin", size),
             ref = read_bin<float>(dir + "/ref.bin", size), adv = read_bin<float>(dir + "/adv.bin", std::size_t(n));
  const auto mask = read_bin<std::uint8_t>(dir + "/mask.bin", size);
  grpo::token_batch<float> b{.N = n, .T = t, .logp = logp.data(), .old = old.data(), .ref = ref.data(),
                             .mask = mask.data(), .advantages = adv.data()};
  std::vector<float> dlogp(size);
  double loss = 0;
  std::vector<double> ms, ms_unchecked;
  const bool known = with_preset(preset, [&](const auto& obj) {
    grpo::exec::parallel exec;
    std::vector<unsigned char> ws(grpo::workspace_bytes(exec, obj, n, t));
    exec.ws = {ws.data(), ws.size()};
    grpo::objective_result r;
    // the default call (validated in the pass) and, for reference, the unchecked one, alternately
    for (int rep = 0; rep < reps; ++rep) {
      const auto one = [&](auto&& call, std::vector<double>& out) {
        const auto v = time_reps(1, [&] {
          const grpo::status s = call();
          if (!s.ok()) throw std::runtime_error(s.message());
        });
        out.push_back(v[0]);
      };
      one([&] { return grpo::evaluate(obj, b, grpo::gradient_out<float>{dlogp.data()}, r, exec); }, ms);
      one([&] { return grpo::evaluate(grpo::unchecked, obj, b, grpo::gradient_out<float>{dlogp.data()}, r, exec); },
          ms_unchecked);
    }
    loss = r.loss;
  });
  if (!known) throw std::runtime_error("unknown --preset " + preset);
  write_bin(dir + "/ours_loss.bin", &loss, 1);
  write_bin(dir + "/ours_dlogp.bin", dlogp.data(), size);
  std::printf("{\"op\": \"token_loss_fwd_bwd\", \"preset\": \"%s\", \"median_ms\": %.6f, \"unchecked_median_ms\": %.6f}\n",
              preset.c_str(), grpo_bench::median(ms), grpo_bench::median(ms_unchecked));
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
