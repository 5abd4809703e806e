#pragma once
// CUDA backend of the fused objective pass: grpo::exec::cuda{stream}.
//
// Same math as the CPU backends (grpo/objective/fused.hpp), run as four small kernels on the
// caller's stream, over the caller's device pointers, with nothing allocated behind the caller's
// back: every scratch byte comes from an explicit workspace whose size `cuda_workspace_bytes`
// reports.
//
//   1. prepass   one block per sequence (grid x = N): the block reduces the sequence's
//                sequence_partial with cub::BlockReduce, thread 0 writes its sequence_summary.
//   2. totals    one block sums the T_i in a fixed order; the caller's device reduction hook
//                (an NCCL all-reduce, say) then globalises the batch totals in place.
//   3. tokens    every token on grid dimension x (no 65,535 limit; 64-bit indices), a fixed
//                grid of at most `max_token_blocks` blocks striding over the N·T tokens; each
//                thread writes dL/dlogp and accumulates a pass_partial, each block reduces its
//                own. Where T % 4 == 0 and the arrays are 16-byte aligned, a thread takes four
//                consecutive tokens with float4 loads and stores (token_kernel_vec4).
//   4. combine   one block combines the block partials in block order.
//
// Determinism: the grid is fixed by N·T alone, every thread visits its tokens in a fixed order
// and cub's block reductions are deterministic, so two runs give bitwise-equal results (on any
// card). They are not bitwise equal to the CPU backends, whose summation order differs; they
// agree to rounding (the tests check 1e-5 relative).
//
// Validation runs on the device too (grpo::evaluate validates by default): shapes, pointers and
// hyper-parameters on the host, then one kernel that finds the first non-finite value at a
// masked-in position and any length outside [0, T], and reports it with its input and index.
#include <grpo/core/error.hpp>
#include <grpo/core/reduce.hpp>
#include <grpo/exec/policy.hpp>
#include <grpo/objective/fused.hpp>

#include <cub/block/block_reduce.cuh>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>

namespace grpo {

namespace exec {
/// Run on a CUDA device, on `stream`, with the caller's device pointers.
struct cuda {
  cudaStream_t stream = nullptr;
  workspace ws{};  // device scratch of at least cuda_workspace_bytes(...) bytes
};
}  // namespace exec

/// A reduction hook for device-resident values: sum/max `n` doubles at a DEVICE pointer, in
/// place, ordered on `stream` (e.g. ncclAllReduce). The single-process default does nothing.
template <class R>
concept device_batch_reduction = requires(const R& r, double* values, index_t n, cudaStream_t s) {
  r.sum(values, n, s);
  r.max(values, n, s);
};

struct local_device_reduction {
  void sum(double*, index_t, cudaStream_t) const noexcept {}
  void max(double*, index_t, cudaStream_t) const noexcept {}
};

namespace cuda_detail {

inline constexpr int block_threads = 256;
inline constexpr index_t max_token_blocks = 4096;

inline status check(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return {};
  return {errc::cuda_error, what, -1, cudaGetErrorString(e)};
}

/// Launch-error check after a kernel launch.
inline status check_launch(const char* kernel) { return check(cudaGetLastError(), kernel); }

GRPO_HD index_t token_blocks(index_t tokens) {
  const index_t b = (tokens + block_threads - 1) / block_threads;
  return b < 1 ? 1 : (b > max_token_blocks ? max_token_blocks : b);
}

struct combine_sequence {
  __device__ sequence_partial operator()(sequence_partial a, const sequence_partial& b) const {
    combine(a, b);
    return a;
  }
};
struct combine_pass {
  __device__ pass_partial operator()(pass_partial a, const pass_partial& b) const {
    combine(a, b);
    return a;
  }
};

/// The workspace, carved in a fixed order (every piece 8-byte aligned: all are doubles).
struct layout {
  sequence_summary* summaries;  // [N]
  double* totals_raw;           // [4]: tokens, sequences, max width (what the hook sees), local tokens
  batch_totals* totals;         // [1]
  pass_partial* partials;       // [token_blocks]
  pass_partial* result;         // [1]
  unsigned long long* first_bad;  // [validation slots]

  static constexpr int validation_slots = 8;

  static std::size_t bytes(index_t N, index_t T) {
    return std::size_t(N) * sizeof(sequence_summary) + 4 * sizeof(double) + sizeof(batch_totals) +
           std::size_t(token_blocks(N * T) + 1) * sizeof(pass_partial) +
           validation_slots * sizeof(unsigned long long);
  }
  static layout carve(void* base, index_t N, index_t T) {
    auto* p = static_cast<unsigned char*>(base);
    layout l{};
    l.summaries = reinterpret_cast<sequence_summary*>(p);
    p += std::size_t(N) * sizeof(sequence_summary);
    l.totals_raw = reinterpret_cast<double*>(p);
    p += 4 * sizeof(double);
    l.totals = reinterpret_cast<batch_totals*>(p);
    p += sizeof(batch_totals);
    l.partials = reinterpret_cast<pass_partial*>(p);
    p += std::size_t(token_blocks(N * T)) * sizeof(pass_partial);
    l.result = reinterpret_cast<pass_partial*>(p);
    p += sizeof(pass_partial);
    l.first_bad = reinterpret_cast<unsigned long long*>(p);
    return l;
  }
};

template <class O, class Real>
__global__ void __launch_bounds__(block_threads)
    prepass_kernel(O obj, token_batch<Real> b, sequence_summary* summaries) {
  using reduce_t = cub::BlockReduce<sequence_partial, block_threads>;
  __shared__ typename reduce_t::TempStorage temp;
  const index_t i = blockIdx.x;
  sequence_partial p;
  const index_t end = b.row_end(i);
  for (index_t t = threadIdx.x; t < end; t += block_threads) prepass_token(obj, b, i, t, p);
  const sequence_partial total = reduce_t(temp).Reduce(p, combine_sequence{});
  if (threadIdx.x == 0) summaries[i] = finish_sequence(obj, b, i, total);
}

__global__ void __launch_bounds__(block_threads)
    totals_kernel(const sequence_summary* summaries, index_t N, index_t T, double* raw) {
  using reduce_t = cub::BlockReduce<double, block_threads>;
  __shared__ typename reduce_t::TempStorage temp;
  double tokens = 0;
  for (index_t i = threadIdx.x; i < N; i += block_threads) tokens += summaries[i].length;
  const double total = reduce_t(temp).Sum(tokens);
  if (threadIdx.x == 0) {
    raw[0] = total;
    raw[1] = double(N);
    raw[2] = double(T);
    raw[3] = total;
  }
}

/// raw[0..2] = the hook's globalised {tokens, sequences, max width}; raw[3] = local tokens.
__global__ void finish_totals_kernel(const double* raw, batch_totals* totals) {
  batch_totals t = local_totals(raw[0], index_t(raw[1]), index_t(raw[2]));
  t.local_tokens = raw[3];
  *totals = t;
}

template <class O, class Real>
__global__ void __launch_bounds__(block_threads)
    token_kernel(O obj, token_batch<Real> b, gradient_out<Real> g,
                 const sequence_summary* summaries, const batch_totals* totals_ptr,
                 pass_partial* partials) {
  using reduce_t = cub::BlockReduce<pass_partial, block_threads>;
  __shared__ typename reduce_t::TempStorage temp;
  const batch_totals totals = *totals_ptr;
  const index_t tokens = b.N * b.T;
  const index_t stride = index_t(gridDim.x) * block_threads;
  pass_partial acc;
  for (index_t k = index_t(blockIdx.x) * block_threads + threadIdx.x; k < tokens; k += stride) {
    const index_t i = k / b.T;
    const index_t t = k - i * b.T;
    const sequence_summary s = summaries[i];
    token_step(obj, b, i, t, s, obj.aggregation.weight(s.length, totals), g, acc);
  }
  const pass_partial block = reduce_t(temp).Reduce(acc, combine_pass{});
  if (threadIdx.x == 0) partials[blockIdx.x] = block;
}

/// The token pass with 16-byte loads: each thread takes four consecutive tokens of one row
/// (T % 4 == 0 and every array 16-byte aligned, checked by `vector_loads_apply`), loads each
/// input as one float4 (the mask as one uchar4), runs the shared token body four times and
/// stores the gradients as float4.
template <class O>
__global__ void __launch_bounds__(block_threads)
    token_kernel_vec4(O obj, token_batch<float> b, gradient_out<float> g,
                      const sequence_summary* summaries, const batch_totals* totals_ptr,
                      pass_partial* partials) {
  using reduce_t = cub::BlockReduce<pass_partial, block_threads>;
  __shared__ typename reduce_t::TempStorage temp;
  const batch_totals totals = *totals_ptr;
  const index_t quads = b.N * b.T / 4;
  const index_t stride = index_t(gridDim.x) * block_threads;
  const bool write = g.mode == grad_mode::write;
  const float4 zero4 = make_float4(0.f, 0.f, 0.f, 0.f);
  auto load4 = [](const float* p, index_t k) {
    return p != nullptr ? *reinterpret_cast<const float4*>(p + k) : make_float4(0.f, 0.f, 0.f, 0.f);
  };
  pass_partial acc;
  for (index_t q = index_t(blockIdx.x) * block_threads + threadIdx.x; q < quads; q += stride) {
    const index_t k0 = 4 * q;
    const index_t i = k0 / b.T;
    const index_t t0 = k0 - i * b.T;
    const sequence_summary s = summaries[i];
    const double w = obj.aggregation.weight(s.length, totals);
    const float4 lp = load4(b.logp, k0);
    const float4 old = b.old != nullptr ? load4(b.old, k0) : lp;
    const float4 ref = load4(b.ref, k0);
    const float4 ent = load4(b.entropy, k0);
    const float4 smp = b.sampler_logp != nullptr ? load4(b.sampler_logp, k0) : old;
    const float4 tadv = load4(b.token_advantages, k0);
    const uchar4 m = b.mask != nullptr ? *reinterpret_cast<const uchar4*>(b.mask + k0)
                                       : make_uchar4(1, 1, 1, 1);
    const index_t len = b.lengths != nullptr ? index_t(b.lengths[i]) : b.T;
    const float A = b.advantages != nullptr ? b.advantages[i] : 0.f;
    const float v_lp[4] = {lp.x, lp.y, lp.z, lp.w}, v_old[4] = {old.x, old.y, old.z, old.w},
                v_ref[4] = {ref.x, ref.y, ref.z, ref.w}, v_ent[4] = {ent.x, ent.y, ent.z, ent.w},
                v_smp[4] = {smp.x, smp.y, smp.z, smp.w}, v_ta[4] = {tadv.x, tadv.y, tadv.z, tadv.w};
    const unsigned char v_m[4] = {m.x, m.y, m.z, m.w};
    float d_lp[4], d_h[4];
    bool part[4];
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      token_inputs<float> v;
      v.logp = v_lp[j];
      v.old = v_old[j];
      v.ref = v_ref[j];
      v.entropy = v_ent[j];
      v.sampler = v_smp[j];
      v.advantage = b.token_advantages != nullptr ? v_ta[j] : A;
      v.in = v_m[j] != 0 && t0 + j < len;
      const token_gradient<float> d = token_body(obj, v, s, w, acc);
      d_lp[j] = d.dlogp;
      d_h[j] = d.dentropy;
      part[j] = s.length > 0 && v.in;
    }
    // write: every position (0 where a token takes no part); accumulate: add where it does
    if (g.dlogp != nullptr) {
      float4* out = reinterpret_cast<float4*>(g.dlogp + k0);
      const float4 base = write ? zero4 : *out;
      *out = make_float4(base.x + (part[0] || write ? d_lp[0] : 0.f), base.y + (part[1] || write ? d_lp[1] : 0.f),
                         base.z + (part[2] || write ? d_lp[2] : 0.f), base.w + (part[3] || write ? d_lp[3] : 0.f));
    }
    if (g.dentropy != nullptr) {
      float4* out = reinterpret_cast<float4*>(g.dentropy + k0);
      const float4 base = write ? zero4 : *out;
      *out = make_float4(base.x + (part[0] || write ? d_h[0] : 0.f), base.y + (part[1] || write ? d_h[1] : 0.f),
                         base.z + (part[2] || write ? d_h[2] : 0.f), base.w + (part[3] || write ? d_h[3] : 0.f));
    }
  }
  const pass_partial block = reduce_t(temp).Reduce(acc, combine_pass{});
  if (threadIdx.x == 0) partials[blockIdx.x] = block;
}

/// Whether the float4 token kernel applies: float, rows of a multiple of 4 tokens, every array
/// 16-byte aligned (the mask 4-byte aligned).
template <class Real>
bool vector_loads_apply(const token_batch<Real>& b, const gradient_out<Real>& g) {
  if constexpr (!std::is_same_v<Real, float>) {
    return false;
  } else {
    auto aligned = [](const void* p, std::uintptr_t a) {
      return p == nullptr || reinterpret_cast<std::uintptr_t>(p) % a == 0;
    };
    return b.T % 4 == 0 && aligned(b.logp, 16) && aligned(b.old, 16) && aligned(b.ref, 16) &&
           aligned(b.entropy, 16) && aligned(b.sampler_logp, 16) &&
           aligned(b.token_advantages, 16) && aligned(g.dlogp, 16) && aligned(g.dentropy, 16) &&
           aligned(b.mask, 4);
  }
}

__global__ void combine_kernel(const pass_partial* partials, index_t n, pass_partial* out) {
  pass_partial all;
  for (index_t k = 0; k < n; ++k) combine(all, partials[k]);
  *out = all;
}

// ---- device-side validation --------------------------------------------------------------------

enum slot : int { s_lengths, s_logp, s_old, s_ref, s_token_adv, s_entropy, s_sampler, s_adv };

__device__ inline void flag(unsigned long long* first_bad, int slot, index_t k) {
  atomicMin(first_bad + slot, static_cast<unsigned long long>(k));
}

template <class Real>
__device__ inline bool bad(const Real* x, index_t k) {
  return x != nullptr && !grpo::detail::isfinite_(x[k]);
}

template <class Real>
__global__ void validate_kernel(token_batch<Real> b, bool check_ref, bool check_entropy,
                                bool check_sampler, const std::uint8_t* keep_truncated,
                                unsigned long long* first_bad) {
  const index_t tokens = b.N * b.T;
  const index_t stride = index_t(gridDim.x) * blockDim.x;
  for (index_t k = index_t(blockIdx.x) * blockDim.x + threadIdx.x; k < tokens; k += stride) {
    const index_t i = k / b.T;
    const index_t t = k - i * b.T;
    if (t == 0) {
      if (b.lengths != nullptr && (b.lengths[i] < 0 || b.lengths[i] > b.T)) flag(first_bad, s_lengths, i);
      if (b.advantages != nullptr && (keep_truncated == nullptr || keep_truncated[i] == 0) &&
          bad(b.advantages, i))
        flag(first_bad, s_adv, i);
    }
    if (keep_truncated != nullptr && keep_truncated[i] != 0) continue;
    if (!b.in(i, t)) continue;
    if (bad(b.logp, k)) flag(first_bad, s_logp, k);
    if (bad(b.old, k)) flag(first_bad, s_old, k);
    if (check_ref && bad(b.ref, k)) flag(first_bad, s_ref, k);
    if (bad(b.token_advantages, k)) flag(first_bad, s_token_adv, k);
    if (check_entropy && bad(b.entropy, k)) flag(first_bad, s_entropy, k);
    if (check_sampler && bad(b.sampler_logp, k)) flag(first_bad, s_sampler, k);
  }
}

}  // namespace cuda_detail

/// Bytes of device workspace an evaluation of an [N, T] batch needs on the CUDA backend.
template <class O>
std::size_t cuda_workspace_bytes(const O&, index_t N, index_t T) {
  return cuda_detail::layout::bytes(N, T);
}

/// Evaluates without validating the inputs. Synchronises `exec.stream` once, to return the loss
/// and statistics on the host; dL/dlogp stays on the device.
template <class O, class Real, device_batch_reduction R = local_device_reduction>
  requires is_objective<O>
status evaluate(unchecked_t, const O& obj, const token_batch<Real>& b,
                const gradient_out<Real>& grad, objective_result& out, exec::cuda exec,
                const R& reduction = {}, double zero_std_fraction = 0.0) {
  if constexpr (O::template has<correction::top_entropy>) {
    const auto& te = obj.corrections.template get<correction::top_entropy>();
    if (te.threshold != te.threshold)
      return {errc::bad_config, "top_entropy", -1,
              "the CUDA backend needs an explicit entropy threshold (top_entropy::threshold); "
              "compute the quantile first"};
  }
  const index_t N = b.N, T = b.T;
  if (exec.ws.data == nullptr || exec.ws.bytes < cuda_workspace_bytes(obj, N, T))
    return {errc::out_of_range, "workspace", -1,
            "the CUDA backend needs " + std::to_string(cuda_workspace_bytes(obj, N, T)) +
                " bytes of device workspace (grpo::cuda_workspace_bytes), got " +
                std::to_string(exec.ws.bytes)};
  using namespace cuda_detail;
  const layout ws = layout::carve(exec.ws.data, N, T);
  const cudaStream_t stream = exec.stream;
  // the float4 kernel has a quarter as many work items; the grid (and so the partial count)
  // stays token_blocks(N·T), which bounds both
  const index_t blocks = token_blocks(N * T);

  prepass_kernel<<<unsigned(N), block_threads, 0, stream>>>(obj, b, ws.summaries);
  GRPO_TRY(check_launch("prepass_kernel"));
  totals_kernel<<<1, block_threads, 0, stream>>>(ws.summaries, N, T, ws.totals_raw);
  GRPO_TRY(check_launch("totals_kernel"));
  reduction.sum(ws.totals_raw, 2, stream);
  reduction.max(ws.totals_raw + 2, 1, stream);
  finish_totals_kernel<<<1, 1, 0, stream>>>(ws.totals_raw, ws.totals);
  GRPO_TRY(check_launch("finish_totals_kernel"));
  if (vector_loads_apply(b, grad)) {
    if constexpr (std::is_same_v<Real, float>) {
      token_kernel_vec4<<<unsigned(blocks), block_threads, 0, stream>>>(obj, b, grad, ws.summaries,
                                                                        ws.totals, ws.partials);
      GRPO_TRY(check_launch("token_kernel_vec4"));
    }
  } else {
    token_kernel<<<unsigned(blocks), block_threads, 0, stream>>>(obj, b, grad, ws.summaries,
                                                                 ws.totals, ws.partials);
    GRPO_TRY(check_launch("token_kernel"));
  }
  combine_kernel<<<1, 1, 0, stream>>>(ws.partials, blocks, ws.result);
  GRPO_TRY(check_launch("combine_kernel"));

  pass_partial all;
  batch_totals totals;
  GRPO_TRY(check(cudaMemcpyAsync(&all, ws.result, sizeof all, cudaMemcpyDeviceToHost, stream),
                 "cudaMemcpyAsync(result)"));
  GRPO_TRY(check(cudaMemcpyAsync(&totals, ws.totals, sizeof totals, cudaMemcpyDeviceToHost, stream),
                 "cudaMemcpyAsync(totals)"));
  GRPO_TRY(check(cudaStreamSynchronize(stream), "cudaStreamSynchronize"));
  out.loss = all.loss;
  out.stats = finalize_statistics(all, zero_std_fraction);
  out.totals = totals;
  return {};
}

/// Validates (hyper-parameters, pointers and shapes on the host; values on the device), then
/// evaluates: the loss, dL/dlogp into grad.dlogp (device memory) and the statistics.
template <class O, class Real, device_batch_reduction R = local_device_reduction>
  requires is_objective<O>
status evaluate(const O& obj, const token_batch<Real>& b, const gradient_out<Real>& grad,
                objective_result& out, exec::cuda exec, const R& reduction = {},
                double zero_std_fraction = 0.0) {
  GRPO_TRY(validate_shapes(obj, b));
  if (exec.ws.data == nullptr || exec.ws.bytes < cuda_workspace_bytes(obj, b.N, b.T))
    return evaluate(unchecked, obj, b, grad, out, exec, reduction, zero_std_fraction);
  using namespace cuda_detail;
  const layout ws = layout::carve(exec.ws.data, b.N, b.T);
  GRPO_TRY(check(cudaMemsetAsync(ws.first_bad, 0xff, layout::validation_slots * sizeof(unsigned long long),
                                 exec.stream),
                 "cudaMemsetAsync(validation)"));
  const std::uint8_t* truncated =
      O::template has<correction::truncated_mask> ? b.truncated : nullptr;
  const bool check_ref = O::has_kl && obj.beta != 0;
  const bool check_sampler = O::template has<correction::sampler_mismatch> ||
                             O::template has<correction::off_policy_mask>;
  validate_kernel<<<unsigned(token_blocks(b.N * b.T)), block_threads, 0, exec.stream>>>(
      b, check_ref, O::needs_entropy, check_sampler, truncated, ws.first_bad);
  GRPO_TRY(check_launch("validate_kernel"));
  unsigned long long first[layout::validation_slots];
  GRPO_TRY(check(cudaMemcpyAsync(first, ws.first_bad, sizeof first, cudaMemcpyDeviceToHost,
                                 exec.stream),
                 "cudaMemcpyAsync(validation)"));
  GRPO_TRY(check(cudaStreamSynchronize(exec.stream), "cudaStreamSynchronize"));
  constexpr const char* names[] = {"lengths", "logp",    "old",          "ref",
                                   "token_advantages", "entropy", "sampler_logp", "advantages"};
  constexpr unsigned long long none = ~0ull;
  for (int s = 0; s < layout::validation_slots; ++s) {
    if (first[s] == none) continue;
    if (s == s_lengths)
      return {errc::out_of_range, names[s], index_t(first[s]), "length outside [0, T]"};
    return {errc::non_finite, names[s], index_t(first[s]),
            s == s_adv ? "non-finite advantage" : "non-finite value at a masked-in position"};
  }
  return evaluate(unchecked, obj, b, grad, out, exec, reduction, zero_std_fraction);
}

}  // namespace grpo
