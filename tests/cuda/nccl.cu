// The NCCL hooks (grpo/dist/nccl.cuh) on a one-GPU communicator: the fused objective evaluated
// with nccl_reduction equals the single-process hook bit for bit (an all-reduce over one rank is
// the identity, so any difference is the hook's doing: a wrong count, type, stream or pointer),
// the gradient all-reduce leaves the values unchanged, and the argument errors. Several ranks need
// several GPUs: the two-rank equality is tests/mpi's job on the CPU. Without a GPU: exit 77.
#include "cuda/support.cuh"

#include <grpo/dist/nccl.cuh>
#include <grpo/objective/presets.hpp>

#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

namespace {
int failures = 0;
void expect(bool ok, const std::string& what) {
  if (!ok) {
    ++failures;
    std::printf("FAIL %s\n", what.c_str());
  }
}
template <class T>
T* upload(const std::vector<T>& h) {
  T* p = nullptr;
  CUDA_OK(cudaMalloc(&p, h.size() * sizeof(T)));
  CUDA_OK(cudaMemcpy(p, h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice));
  return p;
}
template <class T>
std::vector<T> download(const T* p, std::size_t n) {
  std::vector<T> h(n);
  CUDA_OK(cudaMemcpy(h.data(), p, n * sizeof(T), cudaMemcpyDeviceToHost));
  return h;
}
}  // namespace

int main() {
  if (!cuda_device_present()) return skipped;
  ncclComm_t comm;
  int dev = 0;
  if (const auto s = grpo::dist::nccl_check(ncclCommInitAll(&comm, 1, &dev), "ncclCommInitAll"); !s.ok()) {
    std::printf("FAIL %s\n", s.message().c_str());
    return 1;
  }
  cudaStream_t stream;
  CUDA_OK(cudaStreamCreate(&stream));

  // a random batch: N = 24 sequences of T = 50 with ragged lengths
  const int N = 24, T = 50;
  std::mt19937_64 rng(7);
  std::normal_distribution<float> n01;
  std::vector<float> logp(N * T), old(N * T), A(N);
  std::vector<std::uint8_t> mask(N * T, 0);
  std::vector<std::int32_t> len(N);
  for (int i = 0; i < N; ++i) {
    len[i] = 1 + static_cast<int>(rng() % T);
    A[i] = n01(rng);
    for (int t = 0; t < T; ++t) {
      logp[i * T + t] = -std::abs(n01(rng)) - 0.01f;
      old[i * T + t] = logp[i * T + t] + 0.05f * n01(rng);
      mask[i * T + t] = t < len[i];
    }
  }
  float *d_logp = upload(logp), *d_old = upload(old), *d_A = upload(A), *d_g1, *d_g2;
  std::uint8_t* d_mask = upload(mask);
  std::int32_t* d_len = upload(len);
  CUDA_OK(cudaMalloc(&d_g1, N * T * sizeof(float)));
  CUDA_OK(cudaMalloc(&d_g2, N * T * sizeof(float)));
  grpo::token_batch<float> b;
  b.N = N;
  b.T = T;
  b.logp = d_logp;
  b.old = d_old;
  b.mask = d_mask;
  b.lengths = d_len;
  b.advantages = d_A;
  for (const auto& [name, run] : {std::pair<const char*, int>{"token mean", 0}, {"Dr. GRPO", 1}}) {
    auto go = [&](auto objective) {
      const std::size_t bytes = grpo::workspace_bytes(grpo::exec::cuda{}, objective, N, T);
      void* ws;
      CUDA_OK(cudaMalloc(&ws, bytes));
      const grpo::exec::cuda exec{stream, {ws, bytes}};
      grpo::objective_result r1, r2;
      const grpo::dist::nccl_reduction red{comm};
      const auto s1 = grpo::evaluate(objective, b, grpo::gradient_out<float>{d_g1}, r1, exec);
      const auto s2 = grpo::evaluate(objective, b, grpo::gradient_out<float>{d_g2}, r2, exec, red);
      expect(s1.ok() && s2.ok(), std::string(name) + ": evaluate: " + s1.message() + " / " + s2.message());
      expect(grpo::dist::nccl_status(red).ok(), std::string(name) + ": the hook's all-reduces");
      expect(r1.loss == r2.loss && r1.totals.tokens == r2.totals.tokens && r1.totals.max_width == r2.totals.max_width,
             std::string(name) + ": loss and normalisers through NCCL");
      expect(download(d_g1, N * T) == download(d_g2, N * T), std::string(name) + ": dL/dlogp through NCCL");
      cudaFree(ws);
    };
    if (run == 0) go(grpo::presets::trl::dapo());
    else go(grpo::presets::trl::dr_grpo(T));
  }
  // the gradient all-reduce over one rank is the identity
  std::vector<float> g(1000);
  for (auto& x : g) x = n01(rng);
  float* d = upload(g);
  expect(grpo::dist::nccl_allreduce_sum(d, static_cast<grpo::index_t>(g.size()), comm, stream).ok(), "allreduce_sum");
  CUDA_OK(cudaStreamSynchronize(stream));
  expect(download(d, g.size()) == g, "the sum over one rank leaves the gradient unchanged");
  expect(grpo::dist::nccl_allreduce_sum(static_cast<float*>(nullptr), 5, comm, stream).kind() == grpo::errc::null_pointer,
         "a null gradient is refused");
  expect(grpo::dist::nccl_allreduce_sum(d, -1, comm, stream).kind() == grpo::errc::shape_mismatch, "a negative count");
  for (void* p : {static_cast<void*>(d), static_cast<void*>(d_logp), static_cast<void*>(d_old), static_cast<void*>(d_A),
                  static_cast<void*>(d_g1), static_cast<void*>(d_g2), static_cast<void*>(d_mask), static_cast<void*>(d_len)})
    cudaFree(p);
  ncclCommDestroy(comm);
  std::printf("nccl: %s (%d failures)\n", failures == 0 ? "all passed" : "FAILED", failures);
  return failures == 0 ? 0 : 1;
}
