#pragma once
// CUDA backend of the fused objective pass: grpo::exec::cuda{stream, ws}.
//
// The phases of grpo/exec/driver.hpp as kernels on the caller's stream, over the caller's device
// pointers, with nothing allocated behind the caller's back (every scratch byte comes from the
// workspace whose size `workspace_bytes(exec, objective, N, T)` reports) and no host
// synchronisation: `evaluate` only enqueues work, the result stays in the workspace (and is
// copied to `exec.pinned_result` when given), and `synchronize` waits and returns the loss, the
// statistics and the validation status.
//
//   prepass   one block per sequence: each thread runs the shared prepass over tokens tid,
//             tid + 256, … (scalar lanes), cub::BlockReduce combines, thread 0 finishes.
//   totals    one block sums the summaries in a fixed order; the caller's device reduction hook
//             (an NCCL all-reduce, say) then globalises them in place.
//   pass      one block per sequence: the shared token pass, a block reduction of the row's sums,
//             and for sequence ratios the gather over the row; thread 0 writes the row's partial.
//   combine   a fixed two-level tree: 256 threads × `combine_blocks` blocks over the rows, then
//             one block over those blocks.
// Launch shapes depend on N alone, cub's block reductions are deterministic, so two runs give
// bitwise-equal results on any card. They are not bitwise equal to the CPU backends (the
// summation order differs); they agree to rounding.
//
// Validation rides along as on the CPU. In accumulate mode a checking pass that writes nothing
// runs first, and the accumulating pass skips every row once the check has failed (decided on the
// device), so a failure leaves the caller's gradient untouched. The checks cost nothing
// measurable in these memory-bound kernels, so `unchecked` runs the same kernels and drops the
// verdict (half the device code to compile); a length outside [0, T] is then still clamped.
#include <grpo/core/error.hpp>
#include <grpo/core/reduce.hpp>
#include <grpo/exec/driver.hpp>
#include <grpo/exec/policy.hpp>

#include <climits>
#include <cub/block/block_reduce.cuh>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace grpo {

namespace exec {
/// Run on a CUDA device, on `stream`, with the caller's device pointers.
struct cuda {
  cudaStream_t stream = nullptr;
  workspace ws{};                // device scratch of at least workspace_bytes(...) bytes
  void* pinned_result = nullptr;  // optional host pinned buffer of cuda_result_bytes(objective)
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

// Tuning constants, in one place.
inline constexpr int block_threads = 256;
inline constexpr index_t combine_blocks = 64;

inline status check(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return {};
  return {errc::cuda_error, what, -1, cudaGetErrorString(e)};
}
inline status check_launch(const char* kernel) { return check(cudaGetLastError(), kernel); }

/// What a pass leaves on the device: its combined partial and the totals it used.
template <class O>
struct device_result {
  pass_partial<O> partial;
  batch_totals totals;
};

/// The workspace, carved in a fixed order (every piece 256-byte aligned).
template <class O>
struct layout {
  sequence_summary<O>* summaries;  // [N]
  pass_partial<O>* rows;           // [N]
  pass_partial<O>* blocks;         // [combine_blocks]
  device_result<O>* result;        // [1]
  device_result<O>* check;         // [1] accumulate mode: the checking pass
  double* raw;                     // [8] totals as the hook sees them, then the local ones

  static constexpr std::size_t up(std::size_t n) { return (n + 255) / 256 * 256; }
  static std::size_t bytes(index_t N) {
    return 256 + up(std::size_t(N) * sizeof(sequence_summary<O>)) + up(std::size_t(N) * sizeof(pass_partial<O>)) +
           up(std::size_t(combine_blocks) * sizeof(pass_partial<O>)) + 2 * up(sizeof(device_result<O>)) +
           up(8 * sizeof(double));
  }
  static layout carve(void* base, index_t N) {
    std::uintptr_t p = (reinterpret_cast<std::uintptr_t>(base) + 255) / 256 * 256;
    auto take = [&](std::size_t n) {
      const std::uintptr_t at = p;
      p += up(n);
      return at;
    };
    layout l{};
    l.summaries = reinterpret_cast<sequence_summary<O>*>(take(std::size_t(N) * sizeof(sequence_summary<O>)));
    l.rows = reinterpret_cast<pass_partial<O>*>(take(std::size_t(N) * sizeof(pass_partial<O>)));
    l.blocks = reinterpret_cast<pass_partial<O>*>(take(std::size_t(combine_blocks) * sizeof(pass_partial<O>)));
    l.result = reinterpret_cast<device_result<O>*>(take(sizeof(device_result<O>)));
    l.check = reinterpret_cast<device_result<O>*>(take(sizeof(device_result<O>)));
    l.raw = reinterpret_cast<double*>(take(8 * sizeof(double)));
    return l;
  }
};

template <class T>
struct combine_op {
  __device__ T operator()(T a, const T& b) const {
    combine(a, b);
    return a;
  }
};

template <class O, class Real>
__global__ void __launch_bounds__(block_threads)
    prepass_kernel(O obj, token_batch<Real> b, sequence_summary<O>* summaries) {
  using reduce_t = cub::BlockReduce<prepass_sums<O>, block_threads>;
  __shared__ typename reduce_t::TempStorage temp;
  const index_t i = blockIdx.x;
  prepass_lanes<O, Real> acc;
  init(acc);
  if (kept(obj, sequence_of(obj, b, i)))
    prepass_tokens<Real>(obj, b, i, threadIdx.x, block_threads, flags_of(obj, b), acc);
  const prepass_sums<O> total = reduce_t(temp).Reduce(reduce(acc), combine_op<prepass_sums<O>>{});
  if (threadIdx.x == 0) summaries[i] = finish_sequence<true>(obj, b, i, total);
}

/// raw[0..2] = local tokens, sequences, non-empty (what the hook globalises), raw[3] = width,
/// raw[4..6] = the local values again (the hook leaves those alone).
template <class O>
__global__ void __launch_bounds__(block_threads)
    totals_kernel(const sequence_summary<O>* summaries, index_t N, index_t T, double* raw) {
  using reduce_t = cub::BlockReduce<batch_totals, block_threads>;
  __shared__ typename reduce_t::TempStorage temp;
  batch_totals t;
  for (index_t i = threadIdx.x; i < N; i += block_threads) add_to_totals(t, summaries[i]);
  const batch_totals all = reduce_t(temp).Reduce(t, driver::add_totals{});
  if (threadIdx.x == 0) {
    raw[0] = raw[4] = all.local_tokens;
    raw[1] = raw[5] = all.local_sequences;
    raw[2] = raw[6] = all.local_nonempty;
    raw[3] = double(T);
  }
}

__device__ inline batch_totals totals_of(const double* raw) {
  batch_totals t;
  t.tokens = raw[0];
  t.sequences = raw[1];
  t.nonempty = raw[2];
  t.max_width = raw[3];
  t.local_tokens = raw[4];
  t.local_sequences = raw[5];
  t.local_nonempty = raw[6];
  return t;
}

/// One block per sequence. `guard` (accumulate mode): skip the row when the checking pass failed.
template <bool KL, class O, class Real>
__global__ void __launch_bounds__(block_threads)
    pass_kernel(O obj, token_batch<Real> b, gradient_out<Real> g, const sequence_summary<O>* summaries,
                const double* raw, pass_partial<O>* rows, const device_result<O>* guard) {
  using reduce_t = cub::BlockReduce<row_result<O>, block_threads>;
  __shared__ typename reduce_t::TempStorage temp;
  __shared__ double gather_total;
  if (guard != nullptr && (guard->partial.bad_token >= 0 || guard->partial.bad_sequence >= 0)) return;
  const index_t i = blockIdx.x;
  const sequence_summary<O> s = summaries[i];
  const batch_totals totals = totals_of(raw);
  const pass_flags f = flags_of(obj, b);
  const row_weights<O> w = weights_of(obj, s, totals);
  row_lanes<O, Real> acc;
  pass_tokens<Real, true, KL>(obj, b, s, w, g, threadIdx.x, block_threads, f, acc);
  const row_result<O> r = reduce_t(temp).Reduce(reduce(acc), combine_op<row_result<O>>{});
  __shared__ long long gather_bad;  // the first in-token whose gathered gradient overflows
  if constexpr (pass_layout<O>::gathers) {
    if (threadIdx.x == 0) gather_total = r.gather, gather_bad = LLONG_MAX;
    __syncthreads();
    const index_t over = gather_tokens<Real, true>(obj, b, s, gather_total, g, threadIdx.x, block_threads, f);
    if (over >= 0) atomicMin(&gather_bad, static_cast<long long>(over));
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    pass_partial<O> p;
    row_result<O> rr = r;
    check_row_sums(b, s, rr);
    if constexpr (pass_layout<O>::gathers)
      if (gather_bad != LLONG_MAX) keep_first(rr.first_bad, rr.bad_code, index_t(gather_bad), overflow_code);
    add_row(p, s, rr);
    rows[i] = p;
  }
}

/// The rows' partials in a fixed tree: block k takes rows k, k + K, … per thread (K = gridDim.x),
/// then one block combines the K block partials (out != nullptr on that second launch).
template <class O>
__global__ void __launch_bounds__(block_threads)
    combine_kernel(const pass_partial<O>* in, index_t n, pass_partial<O>* blocks, device_result<O>* out,
                   const double* raw, const device_result<O>* failed_check, bool verdict) {
  using reduce_t = cub::BlockReduce<pass_partial<O>, block_threads>;
  __shared__ typename reduce_t::TempStorage temp;
  pass_partial<O> acc;
  const index_t stride = index_t(gridDim.x) * block_threads;
  for (index_t k = index_t(blockIdx.x) * block_threads + threadIdx.x; k < n; k += stride) combine(acc, in[k]);
  const pass_partial<O> all = reduce_t(temp).Reduce(acc, combine_op<pass_partial<O>>{});
  if (threadIdx.x != 0) return;
  if (out == nullptr) {
    blocks[blockIdx.x] = all;
    return;
  }
  out->partial = all;
  out->totals = totals_of(raw);
  if (!verdict) out->partial.bad_token = out->partial.bad_sequence = -1;  // unchecked: no verdict
  if (failed_check != nullptr && (failed_check->partial.bad_token >= 0 || failed_check->partial.bad_sequence >= 0))
    out->partial = failed_check->partial;  // the accumulating pass did not run
}

/// Enqueues prepass, totals (+ hook), pass and combine; the result lands in `result`.
template <class O, class Real, class R>
status enqueue(const O& obj, const token_batch<Real>& b, const gradient_out<Real>& g, const exec::cuda& exec,
               const R& reduction, const layout<O>& ws, device_result<O>* result,
               std::type_identity_t<const device_result<O>*> guard, bool verdict) {
  const index_t N = b.N;
  const cudaStream_t stream = exec.stream;
  prepass_kernel<<<unsigned(N), block_threads, 0, stream>>>(obj, b, ws.summaries);
  GRPO_TRY(check_launch("prepass_kernel"));
  totals_kernel<O><<<1, block_threads, 0, stream>>>(ws.summaries, N, b.T, ws.raw);
  GRPO_TRY(check_launch("totals_kernel"));
  reduction.sum(ws.raw, 3, stream);
  reduction.max(ws.raw + 3, 1, stream);
  if (O::has_kl && obj.beta != 0) {
    if constexpr (O::has_kl)
      pass_kernel<true><<<unsigned(N), block_threads, 0, stream>>>(obj, b, g, ws.summaries, ws.raw, ws.rows, guard);
  } else {
    pass_kernel<false><<<unsigned(N), block_threads, 0, stream>>>(obj, b, g, ws.summaries, ws.raw, ws.rows, guard);
  }
  GRPO_TRY(check_launch("pass_kernel"));
  combine_kernel<O><<<unsigned(combine_blocks), block_threads, 0, stream>>>(ws.rows, N, ws.blocks, nullptr, ws.raw, nullptr,
                                                                            verdict);
  GRPO_TRY(check_launch("combine_kernel"));
  combine_kernel<O><<<1, block_threads, 0, stream>>>(ws.blocks, combine_blocks, nullptr, result, ws.raw, guard, verdict);
  return check_launch("combine_kernel");
}

template <bool Check, class O, class Real, class R>
status evaluate(const O& obj, const token_batch<Real>& b, const gradient_out<Real>& g, const exec::cuda& exec,
                const R& reduction) {
  if (const char* who = driver::unprepared(obj))
    return {errc::bad_config, who, -1,
            "the CUDA backend needs this node's batch-wide value set (e.g. top_entropy::threshold)"};
  if (exec.ws.data == nullptr || exec.ws.bytes < layout<O>::bytes(b.N))
    return {errc::out_of_range, "workspace", -1,
            "the CUDA backend needs " + std::to_string(layout<O>::bytes(b.N)) +
                " bytes of device workspace (grpo::workspace_bytes), got " + std::to_string(exec.ws.bytes)};
  const layout<O> ws = layout<O>::carve(exec.ws.data, b.N);
  const bool accumulate = g.mode == grad_mode::accumulate && (g.dlogp != nullptr || g.dentropy != nullptr);
  if (Check && accumulate) {  // check first (no stores), then accumulate only if that passed
    GRPO_TRY(enqueue(obj, b, gradient_out<Real>{}, exec, reduction, ws, ws.check, nullptr, true));
    GRPO_TRY(enqueue(obj, b, g, exec, reduction, ws, ws.result, ws.check, true));
  } else {
    GRPO_TRY(enqueue(obj, b, g, exec, reduction, ws, ws.result, nullptr, Check));
  }
  if (exec.pinned_result != nullptr)
    GRPO_TRY(check(cudaMemcpyAsync(exec.pinned_result, ws.result, sizeof(device_result<O>), cudaMemcpyDeviceToHost,
                                   exec.stream),
                   "cudaMemcpyAsync(result)"));
  return {};
}

}  // namespace cuda_detail

/// Bytes of device workspace an evaluation of an [N, T] batch needs on the CUDA backend.
template <class O>
  requires is_objective<O>
std::size_t workspace_bytes(const exec::cuda&, const O&, index_t N, index_t /*T*/) {
  return cuda_detail::layout<O>::bytes(N);
}

/// Bytes of the pinned host buffer `exec::cuda::pinned_result` receives.
template <class O>
  requires is_objective<O>
constexpr std::size_t cuda_result_bytes(const O&) {
  return sizeof(cuda_detail::device_result<O>);
}

/// Enqueues the pass on exec.stream without validating the values (shapes and hyper-parameters
/// are checked on the host). dL/dlogp goes to grad (device memory); the loss and statistics stay
/// in the workspace until `synchronize`.
template <class O, class Real, device_batch_reduction R = local_device_reduction>
  requires is_objective<O>
status evaluate(unchecked_t, const O& obj, const token_batch<Real>& b, const gradient_out<Real>& grad,
                exec::cuda exec, const R& reduction = {}) {
  GRPO_TRY(validate_shapes(obj, b));
  return cuda_detail::evaluate<false>(obj, b, grad, exec, reduction);
}

/// Enqueues the checked pass: every value it reads is validated on the device, and the verdict
/// comes back with the result from `synchronize`.
template <class O, class Real, device_batch_reduction R = local_device_reduction>
  requires is_objective<O>
status evaluate(const O& obj, const token_batch<Real>& b, const gradient_out<Real>& grad, exec::cuda exec,
                const R& reduction = {}) {
  GRPO_TRY(validate_shapes(obj, b));
  return cuda_detail::evaluate<true>(obj, b, grad, exec, reduction);
}

/// Turns a device result (copied to the host) into the loss, the statistics and the status.
template <class O, class Real>
  requires is_objective<O>
status finish(const O& obj, const token_batch<Real>& b, const void* host_result, objective_result& out) {
  const auto& r = *static_cast<const cuda_detail::device_result<O>*>(host_result);
  GRPO_TRY(pass_status(r.partial, b.T));
  out = finalize(obj, b, r.partial, r.totals);
  return {};
}

/// Waits for the last evaluation on exec.stream and returns its loss, statistics and status
/// (read from exec.pinned_result when given, else copied from the workspace).
template <class O, class Real>
  requires is_objective<O>
status synchronize(const O& obj, const token_batch<Real>& b, const exec::cuda& exec, objective_result& out) {
  cuda_detail::device_result<O> host;
  const void* src = exec.pinned_result;
  if (src == nullptr) {
    const auto ws = cuda_detail::layout<O>::carve(exec.ws.data, b.N);
    GRPO_TRY(cuda_detail::check(cudaMemcpyAsync(&host, ws.result, sizeof host, cudaMemcpyDeviceToHost, exec.stream),
                                "cudaMemcpyAsync(result)"));
    src = &host;
  }
  GRPO_TRY(cuda_detail::check(cudaStreamSynchronize(exec.stream), "cudaStreamSynchronize"));
  return finish(obj, b, src, out);
}

/// evaluate, then synchronize: the loss and statistics on return (one stream synchronisation).
template <class O, class Real, device_batch_reduction R = local_device_reduction>
  requires is_objective<O>
status evaluate(const O& obj, const token_batch<Real>& b, const gradient_out<Real>& grad, objective_result& out,
                exec::cuda exec, const R& reduction = {}) {
  GRPO_TRY(evaluate(obj, b, grad, exec, reduction));
  return synchronize(obj, b, exec, out);
}
template <class O, class Real, device_batch_reduction R = local_device_reduction>
  requires is_objective<O>
status evaluate(unchecked_t, const O& obj, const token_batch<Real>& b, const gradient_out<Real>& grad,
                objective_result& out, exec::cuda exec, const R& reduction = {}) {
  GRPO_TRY(evaluate(unchecked, obj, b, grad, exec, reduction));
  return synchronize(obj, b, exec, out);
}

}  // namespace grpo
