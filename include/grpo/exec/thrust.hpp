#pragma once
// Thrust backend of the fused objective pass: grpo::exec::on_thrust(policy, ws), for any Thrust
// execution policy: thrust::cpp::par (one host thread), thrust::omp::par (OpenMP threads),
// thrust::cuda::par.on(stream) (a GPU, compiled by nvcc; the batch pointers and the workspace
// are then device memory). The driver of grpo/exec/driver.hpp over thrust::for_each and
// thrust::reduce; on the host a sequence runs as on exec::serial (AVX2 lanes where they apply),
// so thrust::cpp gives bitwise the results of exec::serial. Other systems reduce the work items
// in an order of their own: equal to rounding, and run-to-run deterministic as far as that
// system's reduce is.
#include <grpo/core/error.hpp>
#include <grpo/core/reduce.hpp>
#include <grpo/exec/cpu.hpp>
#include <grpo/exec/driver.hpp>
#include <grpo/exec/policy.hpp>

#include <thrust/for_each.h>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/reduce.h>
#include <thrust/transform_reduce.h>

#include <string>

namespace grpo {

namespace exec {
/// Run with a Thrust execution policy. `ws` must be memory the policy's system can address, of
/// at least grpo::workspace_bytes(exec, objective, N, T) bytes.
template <class Policy>
struct thrust_system {
  Policy policy;
  workspace ws{};
};
template <class Policy>
thrust_system<Policy> on_thrust(Policy p, workspace ws) {
  return {p, ws};
}
}  // namespace exec

namespace thrust_detail {

/// A sequence on a Thrust thread: as a CPU thread on the host, scalar lanes on a device.
struct rows {
  bool simd = false;
  template <bool Check, class O, class Real>
  GRPO_HD sequence_summary<O> summarize(const O& obj, const token_batch<Real>& b, index_t i) const {
#if GRPO_DEVICE
    return summarize_sequence<Real, Check>(obj, b, i);
#else
    return cpu_detail::rows{simd}.template summarize<Check>(obj, b, i);
#endif
  }
  template <bool Check, class O, class Real>
  GRPO_HD void run(const O& obj, const token_batch<Real>& b, const sequence_summary<O>& s, const batch_totals& t,
                   const gradient_out<Real>& g, pass_partial<O>& p) const {
#if GRPO_DEVICE
    run_sequence<Real, Check>(obj, b, s, t, g, p);
#else
    cpu_detail::rows{simd}.template run<Check>(obj, b, s, t, g, p);
#endif
  }
};

template <class Policy>
struct loops {
  Policy policy;
  template <class Pre, class Between, class MakeBody>
  void run(index_t n, const Pre& pre, Between&& between, index_t items, MakeBody&& make) const {
    const ::thrust::counting_iterator<index_t> first(0);
    ::thrust::for_each(policy, first, first + n, pre);
    between();
    ::thrust::for_each(policy, first, first + items, make());
  }
  template <class O>
  batch_totals totals(const sequence_summary<O>* s, index_t n) const {
    return ::thrust::transform_reduce(policy, s, s + n, driver::length_of<O>{}, batch_totals{}, driver::add_totals{});
  }
  template <class O>
  pass_partial<O> combine(const pass_partial<O>* p, index_t n) const {
    return ::thrust::reduce(policy, p, p + n, pass_partial<O>{}, driver::combine_partials<O>{});
  }
};

template <bool Check, class O, class Real, class Policy, class R>
status evaluate(const O& objective_in, const token_batch<Real>& b, const gradient_out<Real>& g,
                objective_result& out, const exec::thrust_system<Policy>& exec, const R& reduction) {
  O obj = objective_in;
  if (const char* who = driver::unprepared(obj))
    return {errc::bad_config, who, -1,
            "the Thrust backend needs this node's batch-wide value set (e.g. top_entropy::threshold)"};
  const std::size_t need = driver::layout<O>::bytes(b.N);
  if (exec.ws.data == nullptr || exec.ws.bytes < need)
    return {errc::out_of_range, "workspace", -1,
            "the Thrust backend needs " + std::to_string(need) +
                " bytes of workspace (grpo::workspace_bytes), got " + std::to_string(exec.ws.bytes)};
  return driver::run<Check>(loops<Policy>{exec.policy}, rows{simd::has_avx2()}, obj, b, g, reduction, exec.ws.data, out);
}

}  // namespace thrust_detail

template <class Policy, class O>
  requires is_objective<O>
std::size_t workspace_bytes(const exec::thrust_system<Policy>&, const O&, index_t N, index_t /*T*/) {
  return driver::layout<O>::bytes(N);
}

/// Evaluates without validating the values (shapes and hyper-parameters are checked).
template <class O, class Real, class Policy, batch_reduction R = local_reduction>
  requires is_objective<O>
status evaluate(unchecked_t, const O& obj, const token_batch<Real>& b, const gradient_out<Real>& grad,
                objective_result& out, exec::thrust_system<Policy> exec, const R& reduction = {}) {
  GRPO_TRY(validate_shapes(obj, b));
  return thrust_detail::evaluate<false>(obj, b, grad, out, exec, reduction);
}

/// The loss, dL/dlogp and the statistics, validating every value the pass reads as it goes, on
/// any Thrust system (device memory included). In accumulate mode on a host system the values are
/// checked first, so a failure leaves the gradient untouched; on a device system accumulate mode
/// needs the unchecked call (validate first with the CUDA backend).
template <class O, class Real, class Policy, batch_reduction R = local_reduction>
  requires is_objective<O>
status evaluate(const O& obj, const token_batch<Real>& b, const gradient_out<Real>& grad,
                objective_result& out, exec::thrust_system<Policy> exec, const R& reduction = {}) {
  GRPO_TRY(validate_shapes(obj, b));
  if (grad.mode == grad_mode::accumulate && (grad.dlogp != nullptr || grad.dentropy != nullptr))
    return {errc::bad_config, "grad.mode", -1,
            "accumulate mode with the Thrust backend needs grpo::unchecked (validate the batch first)"};
  return thrust_detail::evaluate<true>(obj, b, grad, out, exec, reduction);
}

}  // namespace grpo
