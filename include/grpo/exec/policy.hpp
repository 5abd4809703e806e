#pragma once
// Execution policies: tags that choose where the fused pass runs. The math is the same for all
// of them (grpo/objective/pass.hpp) and so is the driver (grpo/exec/driver.hpp); only the loops
// and the reductions differ.
//   grpo::exec::serial            one CPU thread
//   grpo::exec::parallel          OpenMP threads (serial when OpenMP is not enabled)
//   grpo::exec::on_thrust(p, ws)  any Thrust execution policy (grpo/exec/thrust.hpp)
//   grpo::exec::cuda{stream, ws}  a CUDA stream (grpo/exec/cuda.cuh)
// serial, parallel and Thrust's cpp system give bitwise-equal results for any thread count.
// Every policy carries its scratch memory; grpo::workspace_bytes(exec, objective, N, T) says how
// much (the CPU policies allocate it when it is left empty).
#include <cstddef>

namespace grpo {

/// Caller-provided scratch memory.
struct workspace {
  void* data = nullptr;
  std::size_t bytes = 0;
};

/// Explicitly skips validation: grpo::evaluate(grpo::unchecked, ...).
struct unchecked_t {
  explicit unchecked_t() = default;
};
inline constexpr unchecked_t unchecked{};

namespace exec {

struct serial {
  bool vectorize = true;  // false: scalar lanes everywhere (grpo/core/lanes.hpp)
  workspace ws{};
};

struct parallel {
  int num_threads = 0;    // 0 = OpenMP's default
  bool vectorize = true;  // false: scalar lanes everywhere
  workspace ws{};
};

template <class E>
inline constexpr bool is_cpu_policy = false;
template <>
inline constexpr bool is_cpu_policy<serial> = true;
template <>
inline constexpr bool is_cpu_policy<parallel> = true;

}  // namespace exec
}  // namespace grpo
