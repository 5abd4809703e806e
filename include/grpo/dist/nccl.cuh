#pragma once
// Data parallelism on GPUs over NCCL: the device reduction hook of the CUDA backend
// (grpo::device_batch_reduction, exec/cuda.cuh) as ncclAllReduce on the caller's stream, and the
// gradient all-reduce. Everything is enqueued on the stream; nothing waits for the host.
//
//   ncclComm_t comm;  ncclCommInitRank(&comm, ranks, id, rank);     // the caller's communicator
//   const grpo::dist::nccl_reduction red{comm};
//   GRPO_TRY(grpo::evaluate(objective, device_batch, grpo::gradient_out<float>{d_dlogp}, exec, red));
//   ... backward into d_grad ...
//   GRPO_TRY(grpo::dist::nccl_allreduce_sum(d_grad, n, comm, exec.stream));
//   GRPO_TRY(grpo::dist::nccl_status(red));   // the first NCCL error the hook met, if any
//
// The hook's calls cannot return a status (the concept's sum/max are void), so a failed
// ncclAllReduce is recorded in the reduction and reported by `nccl_status`.
#include <grpo/core/error.hpp>
#include <grpo/exec/cuda.cuh>

#include <nccl.h>

#include <memory>
#include <string>
#include <type_traits>

namespace grpo::dist {

inline status nccl_check(ncclResult_t r, const char* what) {
  if (r == ncclSuccess) return {};
  return {errc::cuda_error, what, -1, std::string("NCCL: ") + ncclGetErrorString(r)};
}

/// The device reduction hook: in-place ncclAllReduce of doubles at a device pointer on `stream`.
struct nccl_reduction {
  ncclComm_t comm = nullptr;
  std::shared_ptr<ncclResult_t> first_error = std::make_shared<ncclResult_t>(ncclSuccess);

  void sum(double* v, index_t n, cudaStream_t s) const { record(ncclAllReduce(v, v, static_cast<size_t>(n), ncclDouble, ncclSum, comm, s)); }
  void max(double* v, index_t n, cudaStream_t s) const { record(ncclAllReduce(v, v, static_cast<size_t>(n), ncclDouble, ncclMax, comm, s)); }

 private:
  void record(ncclResult_t r) const {
    if (r != ncclSuccess && *first_error == ncclSuccess) *first_error = r;
  }
};
static_assert(device_batch_reduction<nccl_reduction>);

/// The first error the hook's all-reduces returned (ok when none).
inline status nccl_status(const nccl_reduction& r) { return nccl_check(*r.first_error, "ncclAllReduce"); }

/// In-place sum of `n` device values (float, double, or __nv_bfloat16 gradients) on `stream`.
template <class S>
status nccl_allreduce_sum(S* device_values, index_t n, ncclComm_t comm, cudaStream_t stream) {
  static_assert(std::is_same_v<S, float> || std::is_same_v<S, double> || std::is_same_v<S, __nv_bfloat16>,
                "float, double or __nv_bfloat16");
  if (n < 0) return {errc::shape_mismatch, "n", -1, "negative count"};
  if (n > 0 && device_values == nullptr) return {errc::null_pointer, "device_values", -1, "null"};
  const ncclDataType_t t = std::is_same_v<S, float> ? ncclFloat : std::is_same_v<S, double> ? ncclDouble : ncclBfloat16;
  return nccl_check(ncclAllReduce(device_values, device_values, static_cast<size_t>(n), t, ncclSum, comm, stream),
                    "ncclAllReduce(gradients)");
}

}  // namespace grpo::dist
