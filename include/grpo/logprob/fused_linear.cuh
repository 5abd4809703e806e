#pragma once
// Fused-linear log-prob on a CUDA device (the CPU twin and the formulas: fused_linear.hpp).
// bf16 hidden [N, H] and weight [V, H] (row-major), fp32 accumulation and outputs. Per chunk of
// Tc tokens × Vc vocabulary rows: one cuBLAS GEMM (tensor cores, fp32 out) into the workspace,
// then a fused epilogue kernel: the forward folds the chunk into each token's online (m, s, w)
// statistics (one block per token, the row pass of selective_log_softmax.cuh); the backward turns
// the chunk into G = dL/dz (bf16) and two more GEMMs accumulate dL/dh += G·W_c and
// dL/dW_c += Gᵀ·h_c. [N, V] never exists: the workspace is Tc·Vc·6 bytes + 16 bytes a token of the
// chunk. Everything runs on the caller's stream with the caller's cuBLAS handle and workspace;
// nothing is allocated here.
//
//   grpo::logprob::cuda_fused_linear_options opt;  // temperature, token_chunk, vocab_chunk
//   std::size_t bytes = grpo::logprob::cuda_fused_linear_workspace_bytes(N, V, opt);
//   cudaMalloc(&ws, bytes);
//   GRPO_TRY(cuda_fused_linear_forward(handle, h, W, N, H, V, y, opt, logp, nullptr, lse, ws, bytes, stream));
//   GRPO_TRY(cuda_fused_linear_backward(handle, h, W, N, H, V, y, opt, lse, dlogp, nullptr, nullptr,
//                                       dh, dW, ws, bytes, stream));
#include <grpo/logprob/selective_log_softmax.cuh>

#include <cublas_v2.h>

#include <algorithm>
#include <limits>

namespace grpo::logprob {

struct cuda_fused_linear_options {
  float temperature = 1.0f;
  index_t token_chunk = 8192;   ///< Tc (need not divide N)
  index_t vocab_chunk = 16384;  ///< Vc (need not divide V)
};

namespace cuda_fused_detail {

inline constexpr std::size_t align256(std::size_t x) { return (x + 255) & ~std::size_t{255}; }

struct layout {
  index_t tc, vc;
  std::size_t z, g, stats, z_target, flags, total;
};

inline layout make_layout(index_t tokens, index_t vocab, const cuda_fused_linear_options& o) {
  layout l{};
  l.tc = std::max<index_t>(1, std::min(o.token_chunk, tokens));
  l.vc = std::max<index_t>(1, std::min(o.vocab_chunk, vocab));
  const auto cells = static_cast<std::size_t>(l.tc) * static_cast<std::size_t>(l.vc);
  l.z = 0;
  l.g = align256(cells * sizeof(float));
  l.stats = l.g + align256(cells * sizeof(__nv_bfloat16));
  l.z_target = l.stats + align256(static_cast<std::size_t>(l.tc) * sizeof(cuda_detail::stats2));
  l.flags = l.z_target + align256(static_cast<std::size_t>(l.tc) * sizeof(float));
  l.total = l.flags + align256(2 * sizeof(unsigned long long));
  return l;
}

inline status cublas_check(cublasStatus_t s, const char* what) {
  if (s != CUBLAS_STATUS_SUCCESS) return {errc::cuda_error, what, -1, cublasGetStatusString(s)};
  return {};
}

/// Folds one logits chunk Z [tc, vc] (fp32, row-major) into each token's running statistics.
template <bool Entropy>
__global__ void __launch_bounds__(cuda_detail::block_threads)
    chunk_stats_kernel(const float* __restrict__ z, index_t vc, index_t v0, const std::int64_t* __restrict__ targets,
                       float c, cuda_detail::stats2* stats, float* z_target, bool first_chunk) {
  const index_t i = blockIdx.x;
  const float* row = z + i * vc;
  const cuda_detail::stats2 st = cuda_detail::row_stats<float, Entropy>(row, vc, c);
  if (threadIdx.x != 0) return;
  stats[i] = first_chunk ? st : cuda_detail::combine(stats[i], st);
  const index_t y = targets[i] - v0;
  if (y >= 0 && y < vc) z_target[i] = row[y];
}

__global__ void finalize_kernel(index_t tc, index_t vocab, const std::int64_t* __restrict__ targets, float c,
                                const cuda_detail::stats2* __restrict__ stats, const float* __restrict__ z_target,
                                float* logp, float* entropy, float* lse, index_t t0, unsigned long long* flags) {
  const index_t i = static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= tc) return;
  const cuda_detail::stats2 st = stats[i];
  const float log2_s = log2f(st.s);
  const float l = (st.m + log2_s) * cuda_detail::ln2f;
  const std::int64_t y = targets[i];
  if (y < 0 || y >= vocab) atomicMin(&flags[0], static_cast<unsigned long long>(t0 + i));
  if (!isfinite(l)) atomicMin(&flags[1], static_cast<unsigned long long>(t0 + i));
  logp[i] = (z_target[i] * c - st.m - log2_s) * cuda_detail::ln2f;
  if (entropy) entropy[i] = (log2_s - st.w / st.s) * cuda_detail::ln2f;
  if (lse) lse[i] = l;
}

/// G = dL/dz for one chunk, from the recomputed logits Z (fp32) into bf16.
template <bool Entropy>
__global__ void __launch_bounds__(cuda_detail::block_threads)
    chunk_grad_kernel(const float* __restrict__ z, __nv_bfloat16* __restrict__ g_out, index_t vc, index_t v0,
                      const std::int64_t* __restrict__ targets, float c, float inv_tau, const float* __restrict__ lse,
                      const float* __restrict__ dlogp, const float* __restrict__ entropy,
                      const float* __restrict__ dentropy) {
  const index_t i = blockIdx.x;
  const float* row = z + i * vc;
  __nv_bfloat16* grow = g_out + i * vc;
  const float g = dlogp[i];
  const float lse2 = lse[i] * cuda_detail::log2ef;
  const float k0 = Entropy ? g + dentropy[i] * entropy[i] : g;
  const float k1 = Entropy ? dentropy[i] * cuda_detail::ln2f : 0.0f;
  const index_t y = targets[i] - v0;
  for (index_t v = threadIdx.x; v < vc; v += blockDim.x)
    grow[v] = __float2bfloat16_rn(
        cuda_detail::grad<Entropy>(row[v] * c, lse2, -inv_tau, g * inv_tau, k0, k1, v == y));
}

inline status check_args(cublasHandle_t handle, const void* h, const void* w, index_t tokens, index_t hidden,
                         index_t vocab, const void* targets, const cuda_fused_linear_options& o, const void* out,
                         const char* out_name, const void* ws, std::size_t ws_bytes) {
  if (tokens < 0) return {errc::shape_mismatch, "tokens", -1, "negative token count"};
  if (hidden <= 0 || hidden > std::numeric_limits<int>::max())
    return {errc::shape_mismatch, "hidden", -1, "hidden size must be in [1, 2^31)"};
  if (vocab <= 0) return {errc::shape_mismatch, "vocab", -1, "vocabulary size must be positive"};
  if (o.token_chunk <= 0 || o.token_chunk > std::numeric_limits<int>::max())
    return {errc::bad_config, "token_chunk", -1, "chunk sizes must be in [1, 2^31)"};
  if (o.vocab_chunk <= 0 || o.vocab_chunk > std::numeric_limits<int>::max())
    return {errc::bad_config, "vocab_chunk", -1, "chunk sizes must be in [1, 2^31)"};
  GRPO_TRY(detail::check_temperature(o.temperature));
  if (tokens == 0) return {};
  GRPO_TRY(detail::check_not_null(handle, "handle"));
  GRPO_TRY(detail::check_not_null(h, "hidden"));
  GRPO_TRY(detail::check_not_null(w, "weight"));
  GRPO_TRY(detail::check_not_null(targets, "targets"));
  GRPO_TRY(detail::check_not_null(out, out_name));
  GRPO_TRY(detail::check_not_null(ws, "workspace"));
  const std::size_t need = make_layout(tokens, vocab, o).total;
  if (ws_bytes < need)
    return {errc::out_of_memory, "workspace", -1,
            "needs " + std::to_string(need) + " bytes, got " + std::to_string(ws_bytes)};
  return {};
}

/// Z [tc, vc] = h[t0:t0+tc] · W[v0:v0+vc]ᵀ (row-major; column-major Zᵀ = W_c^T·h_cᵀ for cuBLAS).
inline status logits_gemm(cublasHandle_t handle, const __nv_bfloat16* h, const __nv_bfloat16* w, index_t hidden,
                          index_t t0, index_t tc, index_t v0, index_t vc, float* z) {
  const float one = 1.0f, zero = 0.0f;
  const int H = static_cast<int>(hidden);
  return cublas_check(cublasGemmEx(handle, CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(vc), static_cast<int>(tc), H,
                                   &one, w + v0 * hidden, CUDA_R_16BF, H, h + t0 * hidden, CUDA_R_16BF, H, &zero, z,
                                   CUDA_R_32F, static_cast<int>(vc), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
                      "cublasGemmEx (logits)");
}

}  // namespace cuda_fused_detail

/// Workspace bytes for cuda_fused_linear_forward / _backward with these options.
inline std::size_t cuda_fused_linear_workspace_bytes(index_t tokens, index_t vocab, const cuda_fused_linear_options& o) {
  return cuda_fused_detail::make_layout(tokens, vocab, o).total;
}

/// Forward: logp [N] (+ entropy, + lse for the backward, when non-null). Device pointers.
inline status cuda_fused_linear_forward(cublasHandle_t handle, const __nv_bfloat16* hidden,
                                        const __nv_bfloat16* weight, index_t tokens, index_t hidden_size,
                                        index_t vocab, const std::int64_t* targets,
                                        const cuda_fused_linear_options& o, float* logp, float* entropy, float* lse,
                                        void* workspace, std::size_t workspace_bytes, cudaStream_t stream,
                                        bool check = true) {
  using namespace cuda_fused_detail;
  GRPO_TRY(check_args(handle, hidden, weight, tokens, hidden_size, vocab, targets, o, logp, "logp", workspace,
                      workspace_bytes));
  if (tokens == 0) return {};
  const layout l = make_layout(tokens, vocab, o);
  auto* base = static_cast<unsigned char*>(workspace);
  auto* z = reinterpret_cast<float*>(base + l.z);
  auto* stats = reinterpret_cast<cuda_detail::stats2*>(base + l.stats);
  auto* z_target = reinterpret_cast<float*>(base + l.z_target);
  auto* flags = reinterpret_cast<unsigned long long*>(base + l.flags);
  GRPO_TRY(cublas_check(cublasSetStream(handle, stream), "cublasSetStream"));
  GRPO_TRY(cuda_check(cudaMemsetAsync(flags, 0xff, 2 * sizeof(unsigned long long), stream), "workspace"));
  const float c = cuda_detail::log2ef / o.temperature;
  for (index_t t0 = 0; t0 < tokens; t0 += l.tc) {
    const index_t tc = std::min(l.tc, tokens - t0);
    for (index_t v0 = 0; v0 < vocab; v0 += l.vc) {
      const index_t vc = std::min(l.vc, vocab - v0);
      GRPO_TRY(logits_gemm(handle, hidden, weight, hidden_size, t0, tc, v0, vc, z));
      if (entropy)
        chunk_stats_kernel<true><<<static_cast<unsigned>(tc), cuda_detail::block_threads, 0, stream>>>(
            z, vc, v0, targets + t0, c, stats, z_target, v0 == 0);
      else
        chunk_stats_kernel<false><<<static_cast<unsigned>(tc), cuda_detail::block_threads, 0, stream>>>(
            z, vc, v0, targets + t0, c, stats, z_target, v0 == 0);
      GRPO_TRY(cuda_detail::launch_check("chunk_stats_kernel"));
    }
    finalize_kernel<<<static_cast<unsigned>((tc + 255) / 256), 256, 0, stream>>>(
        tc, vocab, targets + t0, c, stats, z_target, logp + t0, entropy ? entropy + t0 : nullptr,
        lse ? lse + t0 : nullptr, t0, flags);
    GRPO_TRY(cuda_detail::launch_check("finalize_kernel"));
  }
  return check ? cuda_log_softmax_check(flags, stream) : status{};
}

/// Backward: dhidden [N, H] and dweight [V, H] (fp32, overwritten) from dlogp (and dentropy with
/// the forward's entropy, when non-null). Device pointers.
inline status cuda_fused_linear_backward(cublasHandle_t handle, const __nv_bfloat16* hidden,
                                         const __nv_bfloat16* weight, index_t tokens, index_t hidden_size,
                                         index_t vocab, const std::int64_t* targets,
                                         const cuda_fused_linear_options& o, const float* lse, const float* dlogp,
                                         const float* entropy, const float* dentropy, float* dhidden, float* dweight,
                                         void* workspace, std::size_t workspace_bytes, cudaStream_t stream) {
  using namespace cuda_fused_detail;
  GRPO_TRY(check_args(handle, hidden, weight, tokens, hidden_size, vocab, targets, o, dlogp, "dlogp", workspace,
                      workspace_bytes));
  GRPO_TRY(detail::check_not_null(dweight, "dweight"));
  if (tokens == 0)
    return cuda_check(cudaMemsetAsync(dweight, 0, static_cast<std::size_t>(vocab * hidden_size) * sizeof(float), stream),
                      "dweight");
  GRPO_TRY(detail::check_not_null(lse, "lse"));
  GRPO_TRY(detail::check_not_null(dhidden, "dhidden"));
  if (dentropy) GRPO_TRY(detail::check_not_null(entropy, "entropy"));
  const layout l = make_layout(tokens, vocab, o);
  auto* base = static_cast<unsigned char*>(workspace);
  auto* z = reinterpret_cast<float*>(base + l.z);
  auto* g = reinterpret_cast<__nv_bfloat16*>(base + l.g);
  GRPO_TRY(cublas_check(cublasSetStream(handle, stream), "cublasSetStream"));
  const float c = cuda_detail::log2ef / o.temperature, inv_tau = 1.0f / o.temperature;
  const float one = 1.0f, zero = 0.0f;
  const int H = static_cast<int>(hidden_size);
  for (index_t t0 = 0; t0 < tokens; t0 += l.tc) {
    const index_t tc = std::min(l.tc, tokens - t0);
    for (index_t v0 = 0; v0 < vocab; v0 += l.vc) {
      const index_t vc = std::min(l.vc, vocab - v0);
      GRPO_TRY(logits_gemm(handle, hidden, weight, hidden_size, t0, tc, v0, vc, z));
      if (dentropy)
        chunk_grad_kernel<true><<<static_cast<unsigned>(tc), cuda_detail::block_threads, 0, stream>>>(
            z, g, vc, v0, targets + t0, c, inv_tau, lse + t0, dlogp + t0, entropy + t0, dentropy + t0);
      else
        chunk_grad_kernel<false><<<static_cast<unsigned>(tc), cuda_detail::block_threads, 0, stream>>>(
            z, g, vc, v0, targets + t0, c, inv_tau, lse + t0, dlogp + t0, nullptr, nullptr);
      GRPO_TRY(cuda_detail::launch_check("chunk_grad_kernel"));
      // dh_c [tc, H] (+)= G [tc, vc] · W_c [vc, H]: column-major dh_cᵀ = W_cᵀ(H×vc) · Gᵀ(vc×tc)
      const float beta_h = v0 == 0 ? zero : one;
      GRPO_TRY(cublas_check(cublasGemmEx(handle, CUBLAS_OP_N, CUBLAS_OP_N, H, static_cast<int>(tc), static_cast<int>(vc),
                                         &one, weight + v0 * hidden_size, CUDA_R_16BF, H, g, CUDA_R_16BF,
                                         static_cast<int>(vc), &beta_h, dhidden + t0 * hidden_size, CUDA_R_32F, H,
                                         CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
                            "cublasGemmEx (dhidden)"));
      // dW_c [vc, H] (+)= Gᵀ [vc, tc] · h_c [tc, H]: column-major dW_cᵀ = h_cᵀ(H×tc) · G(tc×vc)
      const float beta_w = t0 == 0 ? zero : one;
      GRPO_TRY(cublas_check(cublasGemmEx(handle, CUBLAS_OP_N, CUBLAS_OP_T, H, static_cast<int>(vc), static_cast<int>(tc),
                                         &one, hidden + t0 * hidden_size, CUDA_R_16BF, H, g, CUDA_R_16BF,
                                         static_cast<int>(vc), &beta_w, dweight + v0 * hidden_size, CUDA_R_32F, H,
                                         CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
                            "cublasGemmEx (dweight)"));
    }
  }
  return {};
}

namespace cuda_fused_detail {

/// One token's row of the full logits [V] (fp32): statistics, logp, g = grad_fn(t, logp), then
/// G = dL/dz (bf16) from a second read of the row (from L2 when it fits).
template <class GradFn>
__global__ void __launch_bounds__(cuda_detail::block_threads)
    loss_row_kernel(const float* __restrict__ z, __nv_bfloat16* __restrict__ g_out, index_t vocab, index_t t0,
                    const std::int64_t* __restrict__ targets, float c, float inv_tau, GradFn grad_fn,
                    float* __restrict__ logp_out, unsigned long long* flags) {
  const index_t i = blockIdx.x;
  const float* row = z + i * vocab;
  const cuda_detail::stats2 st = cuda_detail::row_stats<float, false>(row, vocab, c);
  const float log2_s = log2f(st.s);
  const float l = (st.m + log2_s) * cuda_detail::ln2f;
  const std::int64_t y = targets[i];
  const bool bad_target = y < 0 || y >= vocab;
  const float lp = bad_target ? NAN : (row[y] * c - st.m - log2_s) * cuda_detail::ln2f;
  const float g = bad_target ? 0.0f : grad_fn(t0 + i, lp);  // every thread: a pure per-token function
  if (threadIdx.x == 0) {
    logp_out[i] = lp;
    if (bad_target) atomicMin(&flags[0], static_cast<unsigned long long>(t0 + i));
    if (!isfinite(l) || !isfinite(g)) atomicMin(&flags[1], static_cast<unsigned long long>(t0 + i));
  }
  const float lse2 = l * cuda_detail::log2ef;
  __nv_bfloat16* grow = g_out + i * vocab;
  for (index_t v = threadIdx.x; v < vocab; v += blockDim.x)
    grow[v] = __float2bfloat16_rn(cuda_detail::grad<false>(row[v] * c, lse2, -inv_tau, g * inv_tau, g, 0.0f, v == y));
}

inline cuda_fused_linear_options whole_vocab(cuda_fused_linear_options o, index_t vocab) {
  o.vocab_chunk = vocab;
  return o;
}

}  // namespace cuda_fused_detail

/// Workspace bytes for cuda_fused_linear_loss: Tc·V·6 bytes (a token chunk's full logits rows in
/// fp32 and their gradient in bf16) + 16 bytes a token of the chunk.
inline std::size_t cuda_fused_linear_loss_workspace_bytes(index_t tokens, index_t vocab,
                                                          const cuda_fused_linear_options& o) {
  return cuda_fused_detail::make_layout(tokens, vocab, cuda_fused_detail::whole_vocab(o, vocab)).total;
}

/// Forward + per-token loss + backward in one sweep over token chunks, no recompute of the logits
/// (6·N·H·V executed). `grad_fn` is a device-callable pure functor, `float operator()(index_t
/// token, float logp) const` (mark it GRPO_HD), returning dL/dlogp of that token: every
/// GRPO-family loss of docs/objective.md is one (its normalisers and advantages are inputs).
/// logp [N] receives every token's logp; dhidden [N, H] and dweight [V, H] (fp32) are overwritten.
/// Vocabulary sizes up to 2^31 − 1 (one GEMM spans the whole vocabulary).
template <class GradFn>
status cuda_fused_linear_loss(cublasHandle_t handle, const __nv_bfloat16* hidden, const __nv_bfloat16* weight,
                              index_t tokens, index_t hidden_size, index_t vocab, const std::int64_t* targets,
                              const cuda_fused_linear_options& options, GradFn grad_fn, float* logp, float* dhidden,
                              float* dweight, void* workspace, std::size_t workspace_bytes, cudaStream_t stream,
                              bool check = true) {
  using namespace cuda_fused_detail;
  if (vocab > std::numeric_limits<int>::max())
    return {errc::shape_mismatch, "vocab", -1, "cuda_fused_linear_loss takes V < 2^31 (one GEMM spans it)"};
  const cuda_fused_linear_options o = whole_vocab(options, vocab);
  GRPO_TRY(check_args(handle, hidden, weight, tokens, hidden_size, vocab, targets, o, logp, "logp", workspace,
                      workspace_bytes));
  GRPO_TRY(detail::check_not_null(dweight, "dweight"));
  GRPO_TRY(detail::check_not_null(dhidden, "dhidden"));
  if (tokens == 0)
    return cuda_check(cudaMemsetAsync(dweight, 0, static_cast<std::size_t>(vocab * hidden_size) * sizeof(float), stream),
                      "dweight");
  const layout l = make_layout(tokens, vocab, o);
  auto* base = static_cast<unsigned char*>(workspace);
  auto* z = reinterpret_cast<float*>(base + l.z);
  auto* g = reinterpret_cast<__nv_bfloat16*>(base + l.g);
  auto* flags = reinterpret_cast<unsigned long long*>(base + l.flags);
  GRPO_TRY(cublas_check(cublasSetStream(handle, stream), "cublasSetStream"));
  GRPO_TRY(cuda_check(cudaMemsetAsync(flags, 0xff, 2 * sizeof(unsigned long long), stream), "workspace"));
  const float c = cuda_detail::log2ef / o.temperature, inv_tau = 1.0f / o.temperature;
  const float one = 1.0f, zero = 0.0f;
  const int H = static_cast<int>(hidden_size), V = static_cast<int>(vocab);
  for (index_t t0 = 0; t0 < tokens; t0 += l.tc) {
    const index_t tc = std::min(l.tc, tokens - t0);
    GRPO_TRY(logits_gemm(handle, hidden, weight, hidden_size, t0, tc, 0, vocab, z));
    loss_row_kernel<<<static_cast<unsigned>(tc), cuda_detail::block_threads, 0, stream>>>(
        z, g, vocab, t0, targets + t0, c, inv_tau, grad_fn, logp + t0, flags);
    GRPO_TRY(cuda_detail::launch_check("loss_row_kernel"));
    // dh_c [tc, H] = G [tc, V] · W [V, H]
    GRPO_TRY(cublas_check(cublasGemmEx(handle, CUBLAS_OP_N, CUBLAS_OP_N, H, static_cast<int>(tc), V, &one, weight,
                                       CUDA_R_16BF, H, g, CUDA_R_16BF, V, &zero, dhidden + t0 * hidden_size, CUDA_R_32F,
                                       H, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
                          "cublasGemmEx (dhidden)"));
    // dW [V, H] (+)= Gᵀ [V, tc] · h_c [tc, H]
    const float beta_w = t0 == 0 ? zero : one;
    GRPO_TRY(cublas_check(cublasGemmEx(handle, CUBLAS_OP_N, CUBLAS_OP_T, H, V, static_cast<int>(tc), &one,
                                       hidden + t0 * hidden_size, CUDA_R_16BF, H, g, CUDA_R_16BF, V, &beta_w, dweight,
                                       CUDA_R_32F, H, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
                          "cublasGemmEx (dweight)"));
  }
  return check ? cuda_log_softmax_check(flags, stream) : status{};
}

}  // namespace grpo::logprob
