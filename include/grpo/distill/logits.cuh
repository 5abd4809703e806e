#pragma once
// Distillation losses from logits on a CUDA device: the per-token divergences of divergence.hpp
// (forward KL, reverse KL, generalised JSD with β, temperature) and their gradient with respect
// to the student's logits, the CPU twin being logits.hpp's `token_losses`. One thread block per
// token row, all rows on grid dimension x; per row:
//   1. the online softmax statistics of both rows (selective_log_softmax.cuh's `row_stats`, base-2
//      units): log-normalisers lse_q (student) and lse_p (teacher);
//   2. one sweep for the loss Σ_j ℓ_j and, for the gradient, Σ_j q_j h_j (divergence.hpp's h);
//   3. one sweep writing scale·∂loss/∂s_j = scale/τ · (q_j − p_j) (forward KL) or
//      scale/τ · q_j (h_j − Σ q h).
// Arithmetic is fp32 (the CPU path is fp64); logits are float or __nv_bfloat16, the gradient has
// the logits' type and row stride. A masked token gets loss 0 and a zero gradient row.
//
// Like the log-softmax kernels, everything is enqueued on the caller's stream and the only memory
// besides inputs and outputs is the caller's workspace (cuda_distill_workspace_bytes()), where the
// kernel records the first bad row: a NaN or +inf logit, a row whose logits are all −inf, or an
// infinite divergence (one model gives a token probability 0 where the other does not). With
// `check = true` the call waits for the stream and reports them as a grpo::status naming the
// input and the row; with `check = false` it returns at once and `cuda_distill_check` reads them.
//
//   void* ws; cudaMalloc(&ws, grpo::distill::cuda_distill_workspace_bytes());
//   GRPO_TRY(grpo::distill::cuda_token_losses(grpo::distill::jsd(0.5), d_student, d_teacher, {N, V},
//                                             d_mask, d_loss, d_dstudent, 1.0f / kept, ws, stream));
//
// Top-k support (divergence::top_k > 0) is not implemented here: the call refuses it.
#include <grpo/distill/divergence.hpp>
#include <grpo/logprob/selective_log_softmax.cuh>

#include <cstdint>

namespace grpo::distill {

/// Three 64-bit words: the first row with a bad student row, a bad teacher row, an infinite loss.
inline constexpr std::size_t cuda_distill_workspace_bytes() { return 3 * sizeof(unsigned long long); }

namespace cuda_detail {

using logprob::cuda_detail::block_threads;
using logprob::cuda_detail::ln2f;
using logprob::cuda_detail::log2ef;
using logprob::cuda_detail::to_f;

struct pair_sum {
  float loss, mean_h;
};
struct pair_sum_op {
  __device__ pair_sum operator()(const pair_sum& a, const pair_sum& b) const { return {a.loss + b.loss, a.mean_h + b.mean_h}; }
};

// log(β p + (1 − β) q) from natural logs, −inf when both weights vanish
__device__ __forceinline__ float log_mixture(float lq, float lp, float log_beta, float log_1mb) {
  const float x = log_beta + lp, y = log_1mb + lq;
  const float hi = fmaxf(x, y), lo = fminf(x, y);
  return hi == -INFINITY ? -INFINITY : hi + log1pf(expf(lo - hi));
}

template <class T>
__global__ void __launch_bounds__(block_threads)
    distill_kernel(const T* __restrict__ student, const T* __restrict__ teacher, index_t vocab, index_t stride,
                   const std::uint8_t* __restrict__ mask, float beta, float inv_tau, float scale,
                   float* __restrict__ loss, T* __restrict__ dstudent, unsigned long long* flags) {
  const index_t row = blockIdx.x;
  const T* zs = student + row * stride;
  const T* zt = teacher + row * stride;
  T* g = dstudent ? dstudent + row * stride : nullptr;
  if (mask && !mask[row]) {
    if (threadIdx.x == 0) loss[row] = 0.0f;
    if (g)
      for (index_t j = threadIdx.x; j < vocab; j += blockDim.x) g[j] = logprob::cuda_detail::from_f<T>(0.0f);
    return;
  }
  const float c = log2ef * inv_tau;
  const auto sq = logprob::cuda_detail::row_stats<T, false>(zs, vocab, c);
  __syncthreads();  // row_stats' shared result is rewritten by the next call
  const auto sp = logprob::cuda_detail::row_stats<T, false>(zt, vocab, c);
  // natural-log normalisers of a = s/τ and b = t/τ; a NaN poisons s, +inf makes m infinite
  const float lse_q = (sq.m + log2f(sq.s)) * ln2f, lse_p = (sp.m + log2f(sp.s)) * ln2f;
  const bool bad_s = !isfinite(lse_q), bad_t = !isfinite(lse_p);
  if (bad_s || bad_t) {
    if (threadIdx.x == 0) {
      if (bad_s) atomicMin(&flags[0], static_cast<unsigned long long>(row));
      else atomicMin(&flags[1], static_cast<unsigned long long>(row));
      loss[row] = NAN;
    }
    return;
  }
  const bool forward = beta == 0.0f, reverse = beta == 1.0f;
  const float log_beta = beta > 0.0f ? logf(beta) : -INFINITY;
  const float log_1mb = beta < 1.0f ? log1pf(-beta) : -INFINITY;
  // h_j (up to a constant) as divergence.hpp: reverse KL log(q/p), JSD (1 − β) log(q/m)
  auto h_of = [&](float lq, float lp) { return reverse ? lq - lp : (1.0f - beta) * (lq - log_mixture(lq, lp, log_beta, log_1mb)); };
  pair_sum acc{0.0f, 0.0f};
  bool infinite = false;
  for (index_t j = threadIdx.x; j < vocab; j += blockDim.x) {
    const float lq = to_f(zs[j]) * inv_tau - lse_q, lp = to_f(zt[j]) * inv_tau - lse_p;
    const float q = expf(lq), p = expf(lp);
    if (forward) {
      if (p > 0.0f) {
        if (lq == -INFINITY) infinite = true;
        else acc.loss += p * (lp - lq);
      }
    } else if (reverse) {
      if (q > 0.0f) {
        if (lp == -INFINITY) infinite = true;
        else acc.loss += q * (lq - lp);
      }
    } else {
      const float lm = log_mixture(lq, lp, log_beta, log_1mb);
      if (p > 0.0f) acc.loss += beta * p * (lp - lm);
      if (q > 0.0f) acc.loss += (1.0f - beta) * q * (lq - lm);
    }
    if (!forward && q > 0.0f) acc.mean_h += q * h_of(lq, lp);
  }
  using reduce = cub::BlockReduce<pair_sum, block_threads>;
  __shared__ typename reduce::TempStorage tmp;
  __shared__ pair_sum total;
  __shared__ int any_infinite;
  if (threadIdx.x == 0) any_infinite = 0;
  __syncthreads();
  if (infinite) atomicOr(&any_infinite, 1);
  const pair_sum r = reduce(tmp).Reduce(acc, pair_sum_op{});
  if (threadIdx.x == 0) total = r;
  __syncthreads();
  if (any_infinite) {
    if (threadIdx.x == 0) {
      atomicMin(&flags[2], static_cast<unsigned long long>(row));
      loss[row] = INFINITY;
    }
    return;
  }
  if (threadIdx.x == 0) loss[row] = total.loss;
  if (!g) return;
  const float s = scale * inv_tau, mean_h = total.mean_h;
  for (index_t j = threadIdx.x; j < vocab; j += blockDim.x) {
    const float lq = to_f(zs[j]) * inv_tau - lse_q, lp = to_f(zt[j]) * inv_tau - lse_p;
    const float q = expf(lq);
    const float d = forward ? q - expf(lp) : (q > 0.0f ? q * (h_of(lq, lp) - mean_h) : 0.0f);
    g[j] = logprob::cuda_detail::from_f<T>(s * d);
  }
}

}  // namespace cuda_detail

/// Waits for `stream` and reports what the kernel recorded in the workspace since its launch.
inline status cuda_distill_check(void* workspace, cudaStream_t stream) {
  unsigned long long flags[3];
  GRPO_TRY(logprob::cuda_check(cudaMemcpyAsync(flags, workspace, sizeof(flags), cudaMemcpyDeviceToHost, stream), "workspace"));
  GRPO_TRY(logprob::cuda_check(cudaStreamSynchronize(stream), "stream"));
  if (flags[0] != ~0ull)
    return {errc::non_finite, "student_logits", static_cast<index_t>(flags[0]),
            "this row holds a NaN or +inf, or every logit is -inf (index is the row)"};
  if (flags[1] != ~0ull)
    return {errc::non_finite, "teacher_logits", static_cast<index_t>(flags[1]),
            "this row holds a NaN or +inf, or every logit is -inf (index is the row)"};
  if (flags[2] != ~0ull)
    return {errc::non_finite, "loss", static_cast<index_t>(flags[2]),
            "the divergence is infinite: one model gives a token probability 0 where the other does not"};
  return {};
}

/// Per-token losses on the device: loss[t] for every row (0 where mask[t] == 0; `mask` may be
/// null), and, when `dstudent` is not null, dstudent[t, :] = scale · ∂loss[t]/∂student[t, :]
/// (scale = 1/kept gives the gradient of the token mean). All pointers are device pointers; T is
/// float or __nv_bfloat16.
template <class T>
status cuda_token_losses(const divergence& d, const T* student, const T* teacher, const logprob::logits_shape& shape,
                         const std::uint8_t* mask, float* loss, T* dstudent, float scale, void* workspace,
                         cudaStream_t stream, bool check = true) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, __nv_bfloat16>, "logits must be float or bf16");
  GRPO_TRY(distill::check(d));
  if (d.top_k > 0)
    return {errc::bad_config, "top_k", -1, "the CUDA path has no top-k support: use token_losses on the host"};
  GRPO_TRY(logprob::detail::check_shape(shape));
  if (shape.tokens > 2147483647) return {errc::shape_mismatch, "tokens", -1, "more than 2^31 - 1 rows in one launch"};
  if (!std::isfinite(scale)) return {errc::non_finite, "scale", -1, "the gradient scale must be finite"};
  if (shape.tokens == 0) return {};
  GRPO_TRY(logprob::detail::check_not_null(student, "student_logits"));
  GRPO_TRY(logprob::detail::check_not_null(teacher, "teacher_logits"));
  GRPO_TRY(logprob::detail::check_not_null(loss, "loss"));
  GRPO_TRY(logprob::detail::check_not_null(workspace, "workspace"));
  GRPO_TRY(logprob::cuda_check(cudaMemsetAsync(workspace, 0xff, cuda_distill_workspace_bytes(), stream), "workspace"));
  cuda_detail::distill_kernel<T><<<dim3(static_cast<unsigned>(shape.tokens)), cuda_detail::block_threads, 0, stream>>>(
      student, teacher, shape.vocab, shape.stride(), mask, static_cast<float>(d.beta),
      static_cast<float>(1.0 / d.temperature), scale, loss, dstudent, static_cast<unsigned long long*>(workspace));
  GRPO_TRY(logprob::cuda_check(cudaGetLastError(), "distill_kernel"));
  return check ? cuda_distill_check(workspace, stream) : status{};
}

}  // namespace grpo::distill
