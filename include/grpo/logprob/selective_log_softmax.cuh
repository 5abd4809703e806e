#pragma once
// Selective log-softmax on a CUDA device (the CPU twin and the formulas: selective_log_softmax.hpp).
// One thread block per row, all rows on grid dimension x (2^31 − 1 rows, no 65,535 limit), 16-byte
// loads (4 fp32 or 8 bf16 per thread per step), one online pass per row in base-2 units:
//   t = z·c with c = log2(e)/τ, per thread a running (m, s = Σ 2^(t−m), w = Σ 2^(t−m)·(t−m)),
//   merged across the block by a CUB block reduction with the rescaling rule of softmax_stats.hpp.
// The backward writes dL/dz (optionally over the logits) in one read + one write per element.
// Everything is enqueued on the caller's stream; the only memory used besides inputs and outputs
// is the caller's workspace (cuda_log_softmax_workspace_bytes()), where the kernels record the
// first bad row (a target outside [0, V), or a row whose statistics are not finite). With
// `check = true` the call waits for the stream and turns those records into a grpo::status;
// with `check = false` it returns at once and `cuda_log_softmax_check` reads them later.
//
//   void* ws; cudaMalloc(&ws, grpo::logprob::cuda_log_softmax_workspace_bytes());
//   GRPO_TRY(grpo::logprob::cuda_selective_log_softmax_forward(d_logits, {N, V}, d_targets, tau,
//                                                               d_logp, nullptr, d_lse, ws, stream));
//   GRPO_TRY(grpo::logprob::cuda_selective_log_softmax_backward(d_logits, {N, V}, d_targets, tau, d_lse,
//                                                                d_dlogp, d_logits /*in place*/, nullptr,
//                                                                nullptr, ws, stream));
#include <grpo/core/error.hpp>
#include <grpo/logprob/shape.hpp>

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cub/block/block_reduce.cuh>

#include <cstdint>
#include <string>
#include <type_traits>

namespace grpo::logprob {

inline status cuda_check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) return {errc::cuda_error, what, -1, cudaGetErrorString(e)};
  return {};
}

/// The workspace of the CUDA log-softmax calls: two 64-bit words recording the first bad row.
inline constexpr std::size_t cuda_log_softmax_workspace_bytes() { return 2 * sizeof(unsigned long long); }

namespace cuda_detail {

inline constexpr float ln2f = 0.693147180559945309f;
inline constexpr float log2ef = 1.442695040888963407f;
inline constexpr int block_threads = 512;

/// Online statistics in base-2 units: m = max t, s = Σ 2^(t−m), w = Σ 2^(t−m)·(t−m).
struct stats2 {
  float m, s, w;
};

GRPO_HD stats2 combine(const stats2& a, const stats2& b) {
  const float M = fmaxf(a.m, b.m);
  if (M == -INFINITY) return {M, a.s + b.s, 0.0f};  // both empty (or NaN-poisoned sums)
  const float ka = a.s == 0.0f ? 0.0f : exp2f(a.m - M);
  const float kb = b.s == 0.0f ? 0.0f : exp2f(b.m - M);
  const float s = a.s * ka + b.s * kb;
  const float wa = a.s == 0.0f ? 0.0f : ka * (a.w + a.s * (a.m - M));
  const float wb = b.s == 0.0f ? 0.0f : kb * (b.w + b.s * (b.m - M));
  return {M, s, wa + wb};
}

struct combine_op {
  GRPO_HD stats2 operator()(const stats2& a, const stats2& b) const { return combine(a, b); }
};

template <class T>
GRPO_HD float to_f(T x) {
  if constexpr (std::is_same_v<T, float>) return x;
  else return __bfloat162float(x);
}

/// Elements per 16-byte access.
template <class T>
inline constexpr int per16 = 16 / static_cast<int>(sizeof(T));

/// Loads 16 bytes at p (16-byte aligned) as floats; through the read-only cache unless the
/// kernel also writes that memory (in-place backward).
template <class T, bool ReadOnly = true>
__device__ __forceinline__ void load16(const T* p, float (&x)[per16<T>]) {
  const uint4 raw = ReadOnly ? __ldg(reinterpret_cast<const uint4*>(p)) : *reinterpret_cast<const uint4*>(p);
  if constexpr (std::is_same_v<T, float>) {
    x[0] = __uint_as_float(raw.x);
    x[1] = __uint_as_float(raw.y);
    x[2] = __uint_as_float(raw.z);
    x[3] = __uint_as_float(raw.w);
  } else {
    const unsigned int words[4] = {raw.x, raw.y, raw.z, raw.w};
#pragma unroll
    for (int i = 0; i < 4; ++i) {  // bf16 -> fp32 is a 16-bit shift of the bits
      x[2 * i] = __uint_as_float(words[i] << 16);
      x[2 * i + 1] = __uint_as_float(words[i] & 0xffff0000u);
    }
  }
}

template <class T>
__device__ __forceinline__ void store16(T* p, const float (&x)[per16<T>]) {
  if constexpr (std::is_same_v<T, float>) {
    *reinterpret_cast<float4*>(p) = make_float4(x[0], x[1], x[2], x[3]);
  } else {
    uint4 raw;
    unsigned int words[4];
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const __nv_bfloat162 h = __floats2bfloat162_rn(x[2 * i], x[2 * i + 1]);
      words[i] = *reinterpret_cast<const unsigned int*>(&h);
    }
    raw.x = words[0];
    raw.y = words[1];
    raw.z = words[2];
    raw.w = words[3];
    *reinterpret_cast<uint4*>(p) = raw;
  }
}

template <class T>
__device__ __forceinline__ T from_f(float x) {
  if constexpr (std::is_same_v<T, float>) return x;
  else return __float2bfloat16_rn(x);
}

/// Adds n scaled values t[i] (= z·c) to a thread's statistics.
template <bool Entropy, int N>
__device__ __forceinline__ void add_values(stats2& st, const float (&t)[N]) {
  float vm = t[0];
  bool has_nan = t[0] != t[0];
#pragma unroll
  for (int i = 1; i < N; ++i) {
    vm = fmaxf(vm, t[i]);  // fmaxf skips NaN: record it apart
    has_nan |= t[i] != t[i];
  }
  if (has_nan) {
    st.s = NAN;
    return;
  }
  if (vm > st.m) {
    if (st.s != 0.0f) {
      const float k = exp2f(st.m - vm);
      st.w = k * (st.w + st.s * (st.m - vm));
      st.s *= k;
    }
    st.m = vm;
  }
  if (vm == -INFINITY) return;  // all masked
#pragma unroll
  for (int i = 0; i < N; ++i) {
    const float d = t[i] - st.m;
    const float e = exp2f(d);
    st.s += e;
    if constexpr (Entropy) st.w += e * fmaxf(d, -127.0f);  // masked: e = 0 and d = −inf
  }
}

/// Number of leading elements before the first 16-byte boundary of p.
template <class T>
__device__ __forceinline__ index_t head_count(const T* p, index_t n) {
  const auto misalign = static_cast<index_t>(reinterpret_cast<std::uintptr_t>(p) % 16);
  const index_t head = misalign == 0 ? 0 : (16 - misalign) / static_cast<index_t>(sizeof(T));
  return head < n ? head : n;
}

/// Accumulates the statistics of one row of scaled logits over the whole block.
template <class T, bool Entropy>
__device__ stats2 row_stats(const T* z, index_t vocab, float c) {
  constexpr int E = per16<T>;
  stats2 st{-INFINITY, 0.0f, 0.0f};
  const index_t head = head_count(z, vocab);
  for (index_t i = threadIdx.x; i < head; i += blockDim.x) {
    const float t[1] = {to_f(z[i]) * c};
    add_values<Entropy>(st, t);
  }
  const index_t nvec = (vocab - head) / E;
  const T* body = z + head;
  for (index_t j = threadIdx.x; j < nvec; j += blockDim.x) {
    float t[E];
    load16(body + j * E, t);
#pragma unroll
    for (int k = 0; k < E; ++k) t[k] *= c;
    add_values<Entropy>(st, t);
  }
  for (index_t i = head + nvec * E + threadIdx.x; i < vocab; i += blockDim.x) {
    const float t[1] = {to_f(z[i]) * c};
    add_values<Entropy>(st, t);
  }
  using reduce = cub::BlockReduce<stats2, block_threads>;
  __shared__ typename reduce::TempStorage tmp;
  __shared__ stats2 total;
  const stats2 r = reduce(tmp).Reduce(st, combine_op{});
  if (threadIdx.x == 0) total = r;
  __syncthreads();
  return total;
}

template <class T, bool Entropy>
__global__ void __launch_bounds__(block_threads) forward_kernel(const T* __restrict__ logits, index_t vocab,
                                                               index_t stride, const std::int64_t* __restrict__ targets,
                                                               float c, float* __restrict__ logp,
                                                               float* __restrict__ entropy, float* __restrict__ lse,
                                                               unsigned long long* flags) {
  const index_t row = blockIdx.x;
  const T* z = logits + row * stride;
  const stats2 st = row_stats<T, Entropy>(z, vocab, c);
  if (threadIdx.x != 0) return;
  const std::int64_t y = targets[row];
  const float log2_s = log2f(st.s);
  const float l = (st.m + log2_s) * ln2f;
  const bool bad_target = y < 0 || y >= vocab;
  if (bad_target) atomicMin(&flags[0], static_cast<unsigned long long>(row));
  if (!isfinite(l)) atomicMin(&flags[1], static_cast<unsigned long long>(row));
  logp[row] = bad_target ? NAN : (to_f(z[y]) * c - st.m - log2_s) * ln2f;
  if (Entropy) entropy[row] = (log2_s - st.w / st.s) * ln2f;
  if (lse) lse[row] = l;
}

/// dL/dz for one element in base-2 units: t = z·c − lse·log2(e), p = 2^t.
template <bool Entropy>
__device__ __forceinline__ float grad(float zc, float lse2, float neg_inv_tau, float g_over_tau, float k0, float k1,
                                      bool is_target) {
  const float t = zc - lse2;
  const float p = exp2f(t);
  const float k = Entropy ? fmaf(k1, fmaxf(t, -200.0f), k0) : k0;
  return fmaf(p * k, neg_inv_tau, is_target ? g_over_tau : 0.0f);
}

template <class T, bool Entropy>
__global__ void __launch_bounds__(block_threads) backward_kernel(const T* logits, T* dlogits, index_t vocab,
                                                                index_t stride, const std::int64_t* __restrict__ targets,
                                                                float c, float inv_tau, const float* __restrict__ lse,
                                                                const float* __restrict__ dlogp,
                                                                const float* __restrict__ entropy,
                                                                const float* __restrict__ dentropy) {
  constexpr int E = per16<T>;
  const index_t row = blockIdx.x;
  const T* z = logits + row * stride;
  T* dz = dlogits + row * stride;
  const index_t y = targets[row];
  const float g = dlogp[row];
  const float lse2 = lse[row] * log2ef;
  // k = g + g_H·(log p + H) = (g + g_H·H) + (g_H·ln2)·t
  const float k0 = Entropy ? g + dentropy[row] * entropy[row] : g;
  const float k1 = Entropy ? dentropy[row] * ln2f : 0.0f;
  const float neg_inv_tau = -inv_tau, g_over_tau = g * inv_tau;
  const index_t head = head_count(z, vocab);
  const bool same_alignment = head_count(dz, vocab) == head;
  const index_t nvec = same_alignment ? (vocab - head) / E : 0;
  const index_t scalar_from = same_alignment ? head + nvec * E : 0;
  for (index_t i = threadIdx.x; i < (same_alignment ? head : 0); i += blockDim.x)
    dz[i] = from_f<T>(grad<Entropy>(to_f(z[i]) * c, lse2, neg_inv_tau, g_over_tau, k0, k1, i == y));
  for (index_t j = threadIdx.x; j < nvec; j += blockDim.x) {
    float x[E];
    const index_t v0 = head + j * E;
    load16<T, false>(z + v0, x);
#pragma unroll
    for (int k = 0; k < E; ++k) x[k] = grad<Entropy>(x[k] * c, lse2, neg_inv_tau, g_over_tau, k0, k1, v0 + k == y);
    store16(dz + v0, x);
  }
  for (index_t i = scalar_from + threadIdx.x; i < vocab; i += blockDim.x)
    dz[i] = from_f<T>(grad<Entropy>(to_f(z[i]) * c, lse2, neg_inv_tau, g_over_tau, k0, k1, i == y));
}

inline status launch_check(const char* what) { return cuda_check(cudaGetLastError(), what); }

}  // namespace cuda_detail

/// Waits for `stream` and reports what the kernels recorded in the workspace since it was reset.
inline status cuda_log_softmax_check(void* workspace, cudaStream_t stream) {
  unsigned long long flags[2];
  GRPO_TRY(cuda_check(cudaMemcpyAsync(flags, workspace, sizeof(flags), cudaMemcpyDeviceToHost, stream), "workspace"));
  GRPO_TRY(cuda_check(cudaStreamSynchronize(stream), "stream"));
  if (flags[0] != ~0ull)
    return {errc::out_of_range, "targets", static_cast<index_t>(flags[0]), "target outside [0, vocab)"};
  if (flags[1] != ~0ull)
    return {errc::non_finite, "logits", static_cast<index_t>(flags[1]),
            "this row holds a NaN or +inf, or every logit is -inf (index is the row)"};
  return {};
}

namespace cuda_detail {
inline status check_host_args(const void* logits, const logits_shape& shape, const void* targets, float temperature,
                              const void* out, const char* out_name, const void* workspace) {
  GRPO_TRY(detail::check_shape(shape));
  GRPO_TRY(detail::check_temperature(temperature));
  if (shape.tokens > 2147483647)
    return {errc::shape_mismatch, "tokens", -1, "more than 2^31 - 1 rows in one launch"};
  if (shape.tokens == 0) return {};
  GRPO_TRY(detail::check_not_null(logits, "logits"));
  GRPO_TRY(detail::check_not_null(targets, "targets"));
  GRPO_TRY(detail::check_not_null(out, out_name));
  return detail::check_not_null(workspace, "workspace");
}
}  // namespace cuda_detail

/// Forward on the device: logp [tokens] (+ entropy, + lse for the backward, when non-null).
/// T is float or __nv_bfloat16. All pointers are device pointers.
template <class T>
status cuda_selective_log_softmax_forward(const T* logits, const logits_shape& shape, const std::int64_t* targets,
                                          float temperature, float* logp, float* entropy, float* lse,
                                          void* workspace, cudaStream_t stream, bool check = true) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, __nv_bfloat16>, "logits must be float or bf16");
  GRPO_TRY(cuda_detail::check_host_args(logits, shape, targets, temperature, logp, "logp", workspace));
  if (shape.tokens == 0) return {};
  GRPO_TRY(cuda_check(cudaMemsetAsync(workspace, 0xff, cuda_log_softmax_workspace_bytes(), stream), "workspace"));
  const float c = cuda_detail::log2ef / temperature;
  const dim3 grid(static_cast<unsigned>(shape.tokens));
  auto* flags = static_cast<unsigned long long*>(workspace);
  if (entropy)
    cuda_detail::forward_kernel<T, true><<<grid, cuda_detail::block_threads, 0, stream>>>(
        logits, shape.vocab, shape.stride(), targets, c, logp, entropy, lse, flags);
  else
    cuda_detail::forward_kernel<T, false><<<grid, cuda_detail::block_threads, 0, stream>>>(
        logits, shape.vocab, shape.stride(), targets, c, logp, entropy, lse, flags);
  GRPO_TRY(cuda_detail::launch_check("forward_kernel"));
  return check ? cuda_log_softmax_check(workspace, stream) : status{};
}

/// Backward on the device: dlogits = dL/dz from dlogp (and dentropy with the forward's entropy,
/// when non-null). dlogits may be logits (in place). Targets are assumed checked by the forward.
template <class T>
status cuda_selective_log_softmax_backward(const T* logits, const logits_shape& shape, const std::int64_t* targets,
                                           float temperature, const float* lse, const float* dlogp, T* dlogits,
                                           const float* entropy, const float* dentropy, void* workspace,
                                           cudaStream_t stream) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, __nv_bfloat16>, "logits must be float or bf16");
  GRPO_TRY(cuda_detail::check_host_args(logits, shape, targets, temperature, dlogp, "dlogp", workspace));
  if (shape.tokens == 0) return {};
  GRPO_TRY(detail::check_not_null(lse, "lse"));
  GRPO_TRY(detail::check_not_null(dlogits, "dlogits"));
  if (dentropy) GRPO_TRY(detail::check_not_null(entropy, "entropy"));
  const auto bytes = static_cast<std::size_t>((shape.tokens - 1) * shape.stride() + shape.vocab) * sizeof(T);
  GRPO_TRY(detail::check_alias(logits, dlogits, bytes, "dlogits"));
  const float inv_tau = 1.0f / temperature;
  const float c = cuda_detail::log2ef * inv_tau;
  const dim3 grid(static_cast<unsigned>(shape.tokens));
  if (dentropy)
    cuda_detail::backward_kernel<T, true><<<grid, cuda_detail::block_threads, 0, stream>>>(
        logits, dlogits, shape.vocab, shape.stride(), targets, c, inv_tau, lse, dlogp, entropy, dentropy);
  else
    cuda_detail::backward_kernel<T, false><<<grid, cuda_detail::block_threads, 0, stream>>>(
        logits, dlogits, shape.vocab, shape.stride(), targets, c, inv_tau, lse, dlogp, entropy, dentropy);
  return cuda_detail::launch_check("backward_kernel");
}

}  // namespace grpo::logprob
