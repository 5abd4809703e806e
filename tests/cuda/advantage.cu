// The advantage layer's per-group math (grpo/advantage/group_kernels.hpp, GRPO_HD) run in a CUDA
// kernel, one thread per group, against the host entry point grpo::compute_advantages on the
// same rewards: group-normalised (both std conventions), mean-only and RLOO, ragged groups with
// NaN rewards and all-equal groups. Outputs poisoned with NaN first. Without a GPU: exit 77.
#include "cuda/support.cuh"
#include <grpo/advantage/compute.hpp>

#include <cuda_runtime.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

namespace {

enum class kind { normalized_bessel, normalized_population, mean_only, rloo };

__global__ void groups_kernel(kind k, const float* r, const grpo::index_t* offsets, grpo::index_t P,
                              float* A, int* degenerate) {
  const grpo::index_t g = grpo::index_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (g >= P) return;
  namespace d = grpo::advantage_detail;
  const grpo::index_t b = offsets[g], n = offsets[g + 1] - b;
  bool deg = false;
  switch (k) {
    case kind::normalized_bessel:
      deg = d::normalize_group(r + b, n, 1, true, grpo::std_convention::bessel, 1e-6, 1.0, A + b, 1);
      break;
    case kind::normalized_population:
      deg = d::normalize_group(r + b, n, 1, true, grpo::std_convention::population, 1e-4, 1.0, A + b, 1);
      break;
    case kind::mean_only:
      deg = d::normalize_group(r + b, n, 1, false, grpo::std_convention::bessel, 0.0, 1.0, A + b, 1);
      break;
    case kind::rloo:
      deg = d::rloo_group(r + b, n, A + b);
      break;
  }
  degenerate[g] = deg ? 1 : 0;
}

template <class E>
int check(const char* name, kind k, const E& estimator, const std::vector<float>& r,
          const std::vector<grpo::index_t>& offsets, int& failures) {
  const grpo::index_t N = grpo::index_t(r.size()), P = grpo::index_t(offsets.size()) - 1;
  std::vector<float> want(r.size());
  grpo::advantage_stats stats;
  grpo::reward_view view;
  view.rewards = r.data();
  view.num_sequences = N;
  const grpo::status s = grpo::compute_advantages(estimator, view, grpo::group_layout::ragged(N, P, offsets.data()),
                                                  want.data(), stats);
  if (!s.ok()) {
    std::printf("FAIL %s: host: %s\n", name, s.message().c_str());
    ++failures;
    return 0;
  }
  float *dr, *dA;
  grpo::index_t* doff;
  int* ddeg;
  CUDA_OK(cudaMalloc(&dr, r.size() * sizeof(float)));
  CUDA_OK(cudaMalloc(&dA, r.size() * sizeof(float)));
  CUDA_OK(cudaMalloc(&doff, offsets.size() * sizeof(grpo::index_t)));
  CUDA_OK(cudaMalloc(&ddeg, std::size_t(P) * sizeof(int)));
  CUDA_OK(cudaMemcpy(dr, r.data(), r.size() * sizeof(float), cudaMemcpyHostToDevice));
  CUDA_OK(cudaMemcpy(doff, offsets.data(), offsets.size() * sizeof(grpo::index_t), cudaMemcpyHostToDevice));
  const std::vector<float> poison(r.size(), std::nanf(""));
  CUDA_OK(cudaMemcpy(dA, poison.data(), r.size() * sizeof(float), cudaMemcpyHostToDevice));
  groups_kernel<<<unsigned((P + 127) / 128), 128>>>(k, dr, doff, P, dA, ddeg);
  CUDA_OK(cudaGetLastError());
  std::vector<float> got(r.size());
  std::vector<int> deg(static_cast<std::size_t>(P));
  CUDA_OK(cudaMemcpy(got.data(), dA, r.size() * sizeof(float), cudaMemcpyDeviceToHost));
  CUDA_OK(cudaMemcpy(deg.data(), ddeg, deg.size() * sizeof(int), cudaMemcpyDeviceToHost));
  int zero_std = 0;
  for (int x : deg) zero_std += x;
  bool ok = zero_std == stats.zero_std_groups;
  for (std::size_t i = 0; i < r.size(); ++i)
    if (!(std::abs(got[i] - want[i]) <= 1e-6f + 1e-5f * std::abs(want[i]))) ok = false;
  std::printf("%s %-24s N=%lld P=%lld zero-std groups %d (host %lld)\n", ok ? "ok  " : "FAIL", name,
              (long long)N, (long long)P, zero_std, (long long)stats.zero_std_groups);
  failures += ok ? 0 : 1;
  cudaFree(dr);
  cudaFree(dA);
  cudaFree(doff);
  cudaFree(ddeg);
  return 0;
}

}  // namespace

int main() {
  if (!cuda_device_present()) return skipped;
  std::mt19937 rng(3);
  std::vector<float> r;
  std::vector<grpo::index_t> offsets{0};
  for (int g = 0; g < 2000; ++g) {
    const int n = 2 + int(rng() % 63);
    const bool equal = g % 7 == 0;
    for (int i = 0; i < n; ++i) {
      float v = equal ? 0.5f : float(rng() % 3) * 0.5f;
      if (!equal && rng() % 17 == 0) v = std::nanf("");
      r.push_back(v);
    }
    offsets.push_back(grpo::index_t(r.size()));
  }
  int failures = 0;
  check("group_normalized/bessel", kind::normalized_bessel, grpo::group_normalized{}, r, offsets, failures);
  grpo::group_normalized pop;
  pop.convention = grpo::std_convention::population;
  pop.eps = 1e-4;
  check("group_normalized/population", kind::normalized_population, pop, r, offsets, failures);
  check("mean_only", kind::mean_only, grpo::mean_only{}, r, offsets, failures);
  check("rloo", kind::rloo, grpo::rloo{}, r, offsets, failures);
  std::printf("%d passed, %d failed\n", 4 - failures, failures);
  return failures == 0 ? 0 : 1;
}
