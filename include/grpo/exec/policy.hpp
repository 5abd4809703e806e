#pragma once
// Execution policies: tags that choose where the fused pass runs. The math is the same for all
// of them (grpo/objective/fused.hpp); only the loops and the reductions differ.
//   grpo::exec::serial    one CPU thread
//   grpo::exec::parallel  OpenMP threads (serial when OpenMP is not enabled); results are
//                         bitwise equal to serial for any thread count
// The CUDA and Thrust policies are declared by their backends.
#include <cstddef>

namespace grpo {

/// Caller-provided scratch memory (see objective_workspace_bytes). Empty => the CPU backend
/// allocates what it needs for the call.
struct workspace {
  void* data = nullptr;
  std::size_t bytes = 0;
};

/// Explicitly skips host-side validation: grpo::evaluate(grpo::unchecked, ...).
struct unchecked_t {
  explicit unchecked_t() = default;
};
inline constexpr unchecked_t unchecked{};

namespace exec {

struct serial {
  bool vectorize = true;  // false: the scalar body everywhere (grpo/exec/cpu_simd.hpp)
};

struct parallel {
  int num_threads = 0;    // 0 = OpenMP's default
  bool vectorize = true;  // false: the scalar body everywhere (grpo/exec/cpu_simd.hpp)
};

template <class E>
inline constexpr bool is_cpu_policy = false;
template <>
inline constexpr bool is_cpu_policy<serial> = true;
template <>
inline constexpr bool is_cpu_policy<parallel> = true;

}  // namespace exec
}  // namespace grpo
