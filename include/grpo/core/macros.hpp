#pragma once
// The one placement macro of the library. Every function that must run on both the host and a
// CUDA device is written once and marked GRPO_HD; outside nvcc it is plain `inline`.
//   GRPO_HD      host + device, inline
//   GRPO_DEVICE  true while compiling device code (inside a __device__ pass of nvcc)
//   GRPO_HD_DISPATCH  before a GRPO_HD template that calls its parameter's functions, which are
//                host-only for a host backend (the CPU rows under Thrust's host systems): nvcc
//                then checks the call only where it is instantiated for the device
#if defined(__CUDACC__)
#define GRPO_HD __host__ __device__ __forceinline__
#define GRPO_HD_DISPATCH _Pragma("nv_exec_check_disable")
#else
#define GRPO_HD inline
#define GRPO_HD_DISPATCH
#endif

#if defined(__CUDA_ARCH__)
#define GRPO_DEVICE 1
#else
#define GRPO_DEVICE 0
#endif

#include <cstdint>

namespace grpo {
/// Index type for every array position: 64-bit, so tensors of 2^31 elements and more index safely.
using index_t = std::int64_t;
}  // namespace grpo
