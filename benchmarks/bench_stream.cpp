// The memory floors of this machine, measured in the same `make bench` run as the kernels:
// a STREAM-like read (sum of a 1 GiB float array, every thread its own slice) and a copy
// (read + write). bytes_per_second is the figure the other benchmarks are compared with
// (performance.md: "one read of the logits is the floor forward; read + write backward").
#include <Eigen/Core>
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace {

std::vector<float>& buffer(std::size_t n) {
  static std::vector<float> b;
  if (b.size() != n) b.assign(n, 1.0f);
  return b;
}

void BM_stream_read(benchmark::State& st) {
  const auto n = static_cast<std::int64_t>(st.range(0));
  const auto& a = buffer(static_cast<std::size_t>(n));
  for (auto _ : st) {
    double total = 0;
#pragma omp parallel reduction(+ : total)
    {
      std::int64_t nt = 1, id = 0;
#if defined(_OPENMP)
      nt = omp_get_num_threads();
      id = omp_get_thread_num();
#endif
      const std::int64_t lo = n * id / nt, hi = n * (id + 1) / nt;
      total += Eigen::Map<const Eigen::ArrayXf>(a.data() + lo, hi - lo).sum();
    }
    benchmark::DoNotOptimize(total);
  }
  st.SetBytesProcessed(st.iterations() * n * static_cast<std::int64_t>(sizeof(float)));
}

void BM_stream_copy(benchmark::State& st) {
  const auto n = static_cast<std::int64_t>(st.range(0));
  const auto& a = buffer(static_cast<std::size_t>(n));
  std::vector<float> b(static_cast<std::size_t>(n), 0.0f);
  for (auto _ : st) {
#pragma omp parallel for schedule(static)
    for (std::int64_t i = 0; i < n; ++i) b[static_cast<std::size_t>(i)] = a[static_cast<std::size_t>(i)];
    benchmark::DoNotOptimize(b.data());
  }
  st.SetBytesProcessed(st.iterations() * 2 * n * static_cast<std::int64_t>(sizeof(float)));
}

BENCHMARK(BM_stream_read)->Arg(std::int64_t{1} << 28)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(0.5);
BENCHMARK(BM_stream_copy)->Arg(std::int64_t{1} << 27)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(0.5);

}  // namespace

BENCHMARK_MAIN();
