#pragma once
// The "--tool" worker mode shared by the benchmark programs that benchmarks/compare_torch.py
// drives: command-line values, raw .bin inputs and outputs, and repeated timing; and the
// Google Benchmark main both programs fall through to.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace grpo_bench {

/// Google Benchmark's own main: parse its flags, run, report.
inline int run_benchmarks(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

/// The value of --key=value, or `fallback`.
inline std::string arg(int argc, char** argv, const std::string& key, const std::string& fallback) {
  const std::string k = "--" + key + "=";
  for (int i = 1; i < argc; ++i)
    if (std::strncmp(argv[i], k.c_str(), k.size()) == 0) return argv[i] + k.size();
  return fallback;
}

template <class T>
std::vector<T> read_bin(const std::string& path, std::size_t count) {
  std::vector<T> v(count);
  std::ifstream f(path, std::ios::binary);
  if (!f.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(count * sizeof(T))))
    throw std::runtime_error("cannot read " + std::to_string(count) + " elements from " + path);
  return v;
}

template <class T>
void write_bin(const std::string& path, const T* p, std::size_t count) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(p), static_cast<std::streamsize>(count * sizeof(T)));
}

/// The median of x (the upper one of the middle two for an even count; 0 for none).
inline double median(std::vector<double> x) {
  if (x.empty()) return 0.0;
  std::sort(x.begin(), x.end());
  return x[x.size() / 2];
}

/// Wall time of each of `reps` calls of f, in ms.
template <class F>
std::vector<double> time_reps(int reps, F&& f) {
  std::vector<double> ms;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  return ms;
}

}  // namespace grpo_bench
