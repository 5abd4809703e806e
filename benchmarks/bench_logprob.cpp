// Selective log-softmax and fused-linear log-prob on the CPU: the fused paths against the
// library's own naive multi-pass paths, at the sizes of issue 3. Counters: bytes/s (logits read
// once forward; read + written backward) and FLOP/s for the fused-linear path.
//
//   bench_logprob --benchmark_repetitions=5 --benchmark_out=build/bench/bench_logprob.json
//
// Tool mode (used by benchmarks/compare_torch.py to time our side on the very inputs PyTorch
// sees, in its own process so its peak memory is its own):
//   bench_logprob --tool=<op> --dir=D --tokens=N --vocab=V [--hidden=H] [--reps=R] [--tau=T]
//   op: logsoftmax_fwd | logsoftmax_fwd_bwd | fused_linear_fwd_bwd
// It reads D/*.bin (raw little-endian arrays), writes its outputs there, and prints one JSON line
// {"op":..., "median_ms":..., "times_ms":[...]}.
#include <grpo/logprob/fused_linear.hpp>
#include <grpo/logprob/naive.hpp>
#include <grpo/logprob/selective_log_softmax.hpp>

#include <benchmark/benchmark.h>

#include "tool_io.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace lp = grpo::logprob;
using grpo::bf16;
using grpo::index_t;

namespace {

template <class T>
struct logits_data {
  std::vector<T> z;
  std::vector<std::int64_t> y;
  std::vector<float> logp, lse, g;
};

template <class T>
const logits_data<T>& data_for(index_t n, index_t v) {
  static logits_data<T> d;
  static index_t cached_n = -1, cached_v = -1;
  if (cached_n != n || cached_v != v) {
    d = {};
    std::mt19937 rng(1);
    std::normal_distribution<float> normal(0, 3);
    d.z.resize(static_cast<std::size_t>(n * v));
    for (auto& x : d.z) x = grpo::from_float<T>(normal(rng));
    std::uniform_int_distribution<std::int64_t> pick(0, v - 1);
    for (index_t t = 0; t < n; ++t) d.y.push_back(pick(rng));
    d.logp.resize(static_cast<std::size_t>(n));
    d.lse.resize(static_cast<std::size_t>(n));
    d.g.assign(static_cast<std::size_t>(n), 0.5f);
    cached_n = n;
    cached_v = v;
  }
  return d;
}

template <class T>
void BM_logsoftmax_fwd_fused(benchmark::State& st) {
  const index_t n = st.range(0), v = st.range(1);
  auto& d = const_cast<logits_data<T>&>(data_for<T>(n, v));
  for (auto _ : st) {
    grpo::throw_if_error(lp::selective_log_softmax_forward(d.z.data(), {n, v}, d.y.data(), 1.0f, d.logp.data(),
                                                           nullptr, d.lse.data()));
    benchmark::DoNotOptimize(d.logp.data());
  }
  st.SetBytesProcessed(st.iterations() * n * v * static_cast<index_t>(sizeof(T)));
}

/// Seconds to read `bytes` bytes at p once, on every thread (a wrapping sum of 32-bit words,
/// one vector add per 32 bytes, so memory is the limit): the one-read floor of the forward,
/// over the very buffer it reads.
double time_read(const void* p, std::size_t bytes) {
  const auto* w = static_cast<const std::uint32_t*>(p);
  const auto n = static_cast<std::int64_t>(bytes / sizeof(std::uint32_t));
  const auto t0 = std::chrono::steady_clock::now();
  std::uint32_t total = 0;
#pragma omp parallel for reduction(+ : total) schedule(static)
  for (std::int64_t k = 0; k < n; ++k) total += w[k];
  benchmark::DoNotOptimize(total);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

/// The forward and a read of its logits, one after the other in every iteration, so that both
/// see the same state of a shared, noisy machine. Reports the median over iterations of
/// time(forward) / time(read): the ratio to the one-read floor, measured in pairs.
template <class T>
void BM_logsoftmax_fwd_vs_read(benchmark::State& st) {
  const index_t n = st.range(0), v = st.range(1);
  auto& d = const_cast<logits_data<T>&>(data_for<T>(n, v));
  const std::size_t bytes = static_cast<std::size_t>(n * v) * sizeof(T);
  std::vector<double> ratios, read_bps;
  for (auto _ : st) {
    const double t_read = time_read(d.z.data(), bytes);
    const auto t0 = std::chrono::steady_clock::now();
    grpo::throw_if_error(lp::selective_log_softmax_forward(d.z.data(), {n, v}, d.y.data(), 1.0f, d.logp.data(),
                                                           nullptr, d.lse.data()));
    const double t_fwd = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    st.SetIterationTime(t_fwd);
    ratios.push_back(t_fwd / t_read);
    read_bps.push_back(static_cast<double>(bytes) / t_read);
  }
  st.counters["floor_ratio"] = grpo_bench::median(ratios);
  st.counters["read_bytes_per_second"] = grpo_bench::median(read_bps);
  st.SetBytesProcessed(st.iterations() * static_cast<index_t>(bytes));
}

template <class T>
void BM_logsoftmax_fwd_naive(benchmark::State& st) {
  const index_t n = st.range(0), v = st.range(1);
  auto& d = const_cast<logits_data<T>&>(data_for<T>(n, v));
  for (auto _ : st) {
    grpo::throw_if_error(lp::selective_log_softmax_naive_forward(d.z.data(), {n, v}, d.y.data(), 1.0f, d.logp.data()));
    benchmark::DoNotOptimize(d.logp.data());
  }
  st.SetBytesProcessed(st.iterations() * n * v * static_cast<index_t>(sizeof(T)));
}

template <class T>
void BM_logsoftmax_bwd_fused(benchmark::State& st) {  // read logits + write dlogits
  const index_t n = st.range(0), v = st.range(1);
  auto& d = const_cast<logits_data<T>&>(data_for<T>(n, v));
  grpo::throw_if_error(lp::selective_log_softmax_forward(d.z.data(), {n, v}, d.y.data(), 1.0f, d.logp.data(),
                                                         nullptr, d.lse.data()));
  std::vector<T> dz(d.z.size());
  for (auto _ : st) {
    grpo::throw_if_error(lp::selective_log_softmax_backward(d.z.data(), {n, v}, d.y.data(), 1.0f, d.lse.data(),
                                                            d.g.data(), dz.data()));
    benchmark::DoNotOptimize(dz.data());
  }
  st.SetBytesProcessed(st.iterations() * 2 * n * v * static_cast<index_t>(sizeof(T)));
}

template <class T>
void BM_logsoftmax_bwd_naive(benchmark::State& st) {
  const index_t n = st.range(0), v = st.range(1);
  auto& d = const_cast<logits_data<T>&>(data_for<T>(n, v));
  std::vector<T> dz(d.z.size());
  for (auto _ : st) {
    grpo::throw_if_error(lp::selective_log_softmax_naive_backward(d.z.data(), {n, v}, d.y.data(), 1.0f, d.g.data(),
                                                                  dz.data()));
    benchmark::DoNotOptimize(dz.data());
  }
  st.SetBytesProcessed(st.iterations() * 2 * n * v * static_cast<index_t>(sizeof(T)));
}

struct linear_data {
  std::vector<float> h, w, logp, lse, g, dh, dw;
  std::vector<std::int64_t> y;
};

linear_data make_linear(index_t n, index_t hdim, index_t v) {
  linear_data d;
  std::mt19937 rng(2);
  std::normal_distribution<float> normal(0, 1);
  d.h.resize(static_cast<std::size_t>(n * hdim));
  d.w.resize(static_cast<std::size_t>(v * hdim));
  for (auto& x : d.h) x = normal(rng);
  for (auto& x : d.w) x = normal(rng) * 0.03f;
  std::uniform_int_distribution<std::int64_t> pick(0, v - 1);
  for (index_t t = 0; t < n; ++t) d.y.push_back(pick(rng));
  d.logp.resize(static_cast<std::size_t>(n));
  d.lse.resize(static_cast<std::size_t>(n));
  d.g.assign(static_cast<std::size_t>(n), 1.0f / static_cast<float>(n));
  d.dh.resize(d.h.size());
  d.dw.resize(d.w.size());
  return d;
}

/// The FLOP/s counter: `per_call` flops a benchmark iteration, as a rate.
void set_flop_rate(benchmark::State& st, double per_call) {
  st.counters["FLOP/s"] =
      benchmark::Counter(per_call * static_cast<double>(st.iterations()), benchmark::Counter::kIsRate);
}

void BM_fused_linear_fwd(benchmark::State& st) {
  const index_t n = st.range(0), hdim = st.range(1), v = st.range(2);
  auto d = make_linear(n, hdim, v);
  lp::fused_linear_options o;
  for (auto _ : st) {
    grpo::throw_if_error(lp::fused_linear_forward(d.h.data(), d.w.data(), n, hdim, v, d.y.data(), o, d.logp.data(),
                                                  nullptr, d.lse.data()));
    benchmark::DoNotOptimize(d.logp.data());
  }
  set_flop_rate(st, 2.0 * static_cast<double>(n * hdim) * static_cast<double>(v));
}

void BM_fused_linear_fwd_bwd(benchmark::State& st) {
  const index_t n = st.range(0), hdim = st.range(1), v = st.range(2);
  auto d = make_linear(n, hdim, v);
  lp::fused_linear_options o;
  for (auto _ : st) {
    grpo::throw_if_error(lp::fused_linear_forward(d.h.data(), d.w.data(), n, hdim, v, d.y.data(), o, d.logp.data(),
                                                  nullptr, d.lse.data()));
    grpo::throw_if_error(lp::fused_linear_backward(d.h.data(), d.w.data(), n, hdim, v, d.y.data(), o, d.lse.data(),
                                                   d.g.data(), d.dh.data(), d.dw.data()));
    benchmark::DoNotOptimize(d.dw.data());
  }
  // useful work 6·N·H·V (the backward's recompute of the logits is not counted)
  set_flop_rate(st, 6.0 * static_cast<double>(n * hdim) * static_cast<double>(v));
}

void BM_fused_linear_loss(benchmark::State& st) {  // one sweep, no recompute
  const index_t n = st.range(0), hdim = st.range(1), v = st.range(2);
  auto d = make_linear(n, hdim, v);
  lp::fused_linear_options o;
  auto loss = [&](lp::token_chunk_io& io) {
    std::copy(d.g.begin() + io.first_token, d.g.begin() + io.first_token + static_cast<index_t>(io.dlogp.size()),
              io.dlogp.begin());
  };
  for (auto _ : st) {
    grpo::throw_if_error(
        lp::fused_linear_loss(d.h.data(), d.w.data(), n, hdim, v, d.y.data(), o, loss, d.dh.data(), d.dw.data()));
    benchmark::DoNotOptimize(d.dw.data());
  }
  set_flop_rate(st, 6.0 * static_cast<double>(n * hdim) * static_cast<double>(v));
}

/// The naive fused-linear: materialise logits [N, V] with one GEMM, then the naive log-softmax.
void BM_fused_linear_fwd_naive(benchmark::State& st) {
  const index_t n = st.range(0), hdim = st.range(1), v = st.range(2);
  auto d = make_linear(n, hdim, v);
  std::vector<float> z(static_cast<std::size_t>(n * v));
  using rm = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  for (auto _ : st) {
    Eigen::Map<rm>(z.data(), n, v).noalias() =
        Eigen::Map<const rm>(d.h.data(), n, hdim) * Eigen::Map<const rm>(d.w.data(), v, hdim).transpose();
    grpo::throw_if_error(lp::selective_log_softmax_naive_forward(z.data(), {n, v}, d.y.data(), 1.0f, d.logp.data()));
    benchmark::DoNotOptimize(d.logp.data());
  }
  set_flop_rate(st, 2.0 * static_cast<double>(n * hdim) * static_cast<double>(v));
}

/// One core's GEMM at the fused linear's chunk shapes (m = 1024, k = 1024, n = 8192): the three
/// products of a chunk, by grpo::gemm::sgemm (range(0) = 1) or Eigen (0), on one thread.
///   layout 0: z = h·Wᵀ,   1: dh += G·W,   2: dW += Gᵀ·h
void BM_gemm_one_core(benchmark::State& st) {
  const bool ours = st.range(0) == 1;
  const int layout = static_cast<int>(st.range(1));
  const index_t m = 1024, k = 1024, n = 8192;
  using rm = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const rm h = rm::Random(m, k), w = rm::Random(n, k), g = rm::Random(m, n);
  rm z(m, n), dh = rm::Zero(m, k), dw = rm::Zero(n, k);
  const int threads = Eigen::nbThreads();
  Eigen::setNbThreads(1);
#if GRPO_HAVE_X86_SIMD
  if (ours && !grpo::simd::has_avx2()) st.SkipWithError("no AVX2: sgemm is not used on this CPU");
#else
  if (ours) st.SkipWithError("not an x86-64 build: sgemm is not used");
#endif
  for (auto _ : st) {
    if (!ours) {
      if (layout == 0) z.noalias() = h * w.transpose();
      if (layout == 1) dh.noalias() += g * w;
      if (layout == 2) dw.noalias() += g.transpose() * h;
    }
#if GRPO_HAVE_X86_SIMD
    using grpo::gemm::cview;
    if (ours && layout == 0) grpo::gemm::sgemm(m, n, k, cview{h.data(), k, 1}, cview{w.data(), 1, k}, z.data(), n, false);
    if (ours && layout == 1) grpo::gemm::sgemm(m, k, n, cview{g.data(), n, 1}, cview{w.data(), k, 1}, dh.data(), k, true);
    if (ours && layout == 2) grpo::gemm::sgemm(n, k, m, cview{g.data(), 1, n}, cview{h.data(), k, 1}, dw.data(), k, true);
#endif
    benchmark::ClobberMemory();
  }
  Eigen::setNbThreads(threads);
  set_flop_rate(st, 2.0 * double(m) * double(k) * double(n));
}

void logits_sizes(benchmark::internal::Benchmark* b) {
  b->Args({1024, 151936})->Args({4096, 32768})->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(0.5);
}
void paired_sizes(benchmark::internal::Benchmark* b) {  // manual time: the forward's alone
  b->Args({1024, 151936})->Args({4096, 32768})->Unit(benchmark::kMillisecond)->UseManualTime()->Iterations(15);
}
void linear_sizes(benchmark::internal::Benchmark* b) {
  b->Args({4096, 1024, 32768})->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);
}

BENCHMARK(BM_logsoftmax_fwd_fused<float>)->Apply(logits_sizes);
BENCHMARK(BM_logsoftmax_fwd_naive<float>)->Apply(logits_sizes);
BENCHMARK(BM_logsoftmax_fwd_fused<bf16>)->Apply(logits_sizes);
BENCHMARK(BM_logsoftmax_fwd_vs_read<float>)->Apply(paired_sizes);
BENCHMARK(BM_logsoftmax_fwd_vs_read<bf16>)->Apply(paired_sizes);
BENCHMARK(BM_logsoftmax_bwd_fused<float>)->Apply(logits_sizes);
BENCHMARK(BM_logsoftmax_bwd_naive<float>)->Apply(logits_sizes);
BENCHMARK(BM_fused_linear_fwd)->Apply(linear_sizes);
BENCHMARK(BM_fused_linear_fwd_naive)->Apply(linear_sizes);
BENCHMARK(BM_fused_linear_fwd_bwd)->Apply(linear_sizes);
BENCHMARK(BM_fused_linear_loss)->Apply(linear_sizes);
BENCHMARK(BM_gemm_one_core)
    ->ArgNames({"sgemm", "layout"})
    ->ArgsProduct({{0, 1}, {0, 1, 2}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(1.0);

// ---- tool mode -----------------------------------------------------------------------------

using grpo_bench::arg;
using grpo_bench::read_bin;
using grpo_bench::time_reps;
using grpo_bench::write_bin;

int run_tool(int argc, char** argv) {
  const std::string op = arg(argc, argv, "tool", ""), dir = arg(argc, argv, "dir", ".");
  const index_t n = std::stoll(arg(argc, argv, "tokens", "0")), v = std::stoll(arg(argc, argv, "vocab", "0"));
  const index_t hdim = std::stoll(arg(argc, argv, "hidden", "0"));
  const int reps = std::stoi(arg(argc, argv, "reps", "5"));
  const float tau = std::stof(arg(argc, argv, "tau", "1"));
  const auto un = static_cast<std::size_t>(n);
  const auto y = read_bin<std::int64_t>(dir + "/targets.bin", un);
  std::vector<float> logp(un), lse(un);
  std::vector<double> ms;
  if (op == "logsoftmax_fwd" || op == "logsoftmax_fwd_bwd") {
    auto z = read_bin<float>(dir + "/logits.bin", un * static_cast<std::size_t>(v));
    if (op == "logsoftmax_fwd") {
      ms = time_reps(reps, [&] {
        grpo::throw_if_error(lp::selective_log_softmax_forward(z.data(), {n, v}, y.data(), tau, logp.data()));
      });
    } else {
      const auto g = read_bin<float>(dir + "/dlogp.bin", un);
      std::vector<float> dz(z.size());
      ms = time_reps(reps, [&] {
        grpo::throw_if_error(
            lp::selective_log_softmax_forward(z.data(), {n, v}, y.data(), tau, logp.data(), nullptr, lse.data()));
        grpo::throw_if_error(
            lp::selective_log_softmax_backward(z.data(), {n, v}, y.data(), tau, lse.data(), g.data(), dz.data()));
      });
      write_bin(dir + "/ours_dlogits_head.bin", dz.data(), static_cast<std::size_t>(std::min<index_t>(n, 8) * v));
    }
  } else if (op == "fused_linear_fwd_bwd") {
    const auto h = read_bin<float>(dir + "/hidden.bin", un * static_cast<std::size_t>(hdim));
    const auto w = read_bin<float>(dir + "/weight.bin", static_cast<std::size_t>(v * hdim));
    const auto g = read_bin<float>(dir + "/dlogp.bin", un);
    std::vector<float> dh(h.size()), dw(w.size());
    lp::fused_linear_options o;
    o.temperature = tau;
    // forward, dL/dlogp (here: the given upstream gradient), backward in one sweep
    auto loss = [&](lp::token_chunk_io& io) {
      std::copy(g.begin() + io.first_token, g.begin() + io.first_token + static_cast<index_t>(io.dlogp.size()),
                io.dlogp.begin());
    };
    ms = time_reps(reps, [&] {
      grpo::throw_if_error(lp::fused_linear_loss(h.data(), w.data(), n, hdim, v, y.data(), o, loss, dh.data(),
                                                 dw.data(), false, logp.data()));
    });
    write_bin(dir + "/ours_dhidden.bin", dh.data(), dh.size());
    write_bin(dir + "/ours_dweight.bin", dw.data(), dw.size());
  } else {
    std::fprintf(stderr, "unknown --tool=%s\n", op.c_str());
    return 2;
  }
  write_bin(dir + "/ours_logp.bin", logp.data(), un);
  std::printf("{\"op\": \"%s\", \"median_ms\": %.4f, \"times_ms\": [", op.c_str(), grpo_bench::median(ms));
  for (std::size_t i = 0; i < ms.size(); ++i) std::printf("%s%.4f", i ? ", " : "", ms[i]);
  std::printf("]}\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (std::strncmp(argv[i], "--tool=", 7) == 0) {
      try {
        return run_tool(argc, argv);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_logprob tool: %s\n", e.what());
        return 1;
      }
    }
  return grpo_bench::run_benchmarks(argc, argv);
}
