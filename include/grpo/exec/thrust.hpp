#pragma once
// Thrust backend of the fused objective pass: grpo::exec::thrust_system{policy}, for any Thrust
// execution policy: thrust::cpp::par (one host thread), thrust::omp::par (OpenMP threads),
// thrust::cuda::par.on(stream) (a GPU, compiled by nvcc; the batch pointers and the workspace
// are then device memory). The same body as every backend (grpo/objective/fused.hpp):
//   for_each sequence -> sequence_summary,  transform_reduce -> token count,
//   host batch_reduction hook -> totals,    for_each sequence -> pass_partial,
//   reduce(combine) -> loss and statistics.
// Determinism: with thrust::cpp the partials are combined in sequence order and the results are
// bitwise equal to grpo::exec::serial. Other systems reduce in an order of their own: equal to
// rounding, and run-to-run deterministic only as far as that system's reduce is.
#include <grpo/core/error.hpp>
#include <grpo/core/reduce.hpp>
#include <grpo/exec/policy.hpp>
#include <grpo/objective/fused.hpp>

#include <thrust/for_each.h>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/reduce.h>
#include <thrust/transform_reduce.h>

#include <string>

namespace grpo {

namespace exec {
/// Run with a Thrust execution policy. `ws` must be memory the policy's system can address,
/// of at least objective_workspace_bytes(N) bytes.
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

template <class O, class Real>
struct summarize {
  O obj;
  token_batch<Real> b;
  sequence_summary* out;
  GRPO_HD void operator()(index_t i) const { out[i] = summarize_sequence(obj, b, i); }
};

struct length_of {
  GRPO_HD double operator()(const sequence_summary& s) const { return s.length; }
};

template <class O, class Real>
struct sequence_pass {
  O obj;
  token_batch<Real> b;
  gradient_out<Real> g;
  const sequence_summary* summaries;
  batch_totals totals;
  pass_partial* out;
  GRPO_HD void operator()(index_t i) const {
    pass_partial p;
    const sequence_summary s = summaries[i];
    sequence_step(obj, b, i, s, obj.aggregation.weight(s.length, totals), g, p);
    out[i] = p;
  }
};

struct combine_partials {
  GRPO_HD pass_partial operator()(pass_partial a, const pass_partial& b) const {
    combine(a, b);
    return a;
  }
};

}  // namespace thrust_detail

/// Evaluates without validating the inputs (the caller vouches for them).
template <class O, class Real, class Policy, batch_reduction R = local_reduction>
  requires is_objective<O>
status evaluate(unchecked_t, const O& obj, const token_batch<Real>& b,
                const gradient_out<Real>& grad, objective_result& out,
                exec::thrust_system<Policy> exec, const R& reduction = {},
                double zero_std_fraction = 0.0) {
  if constexpr (O::template has<correction::top_entropy>) {
    const auto& te = obj.corrections.template get<correction::top_entropy>();
    if (te.threshold != te.threshold)
      return {errc::bad_config, "top_entropy", -1,
              "the Thrust backend needs an explicit entropy threshold (top_entropy::threshold)"};
  }
  const index_t N = b.N;
  if (exec.ws.data == nullptr || exec.ws.bytes < objective_workspace_bytes(N))
    return {errc::out_of_range, "workspace", -1,
            "the Thrust backend needs " + std::to_string(objective_workspace_bytes(N)) +
                " bytes of workspace (grpo::objective_workspace_bytes), got " +
                std::to_string(exec.ws.bytes)};
  auto* summaries = static_cast<sequence_summary*>(exec.ws.data);
  auto* partials = reinterpret_cast<pass_partial*>(summaries + N);
  const ::thrust::counting_iterator<index_t> first(0), last(N);

  ::thrust::for_each(exec.policy, first, last,
                     thrust_detail::summarize<O, Real>{obj, b, summaries});
  const double tokens = ::thrust::transform_reduce(exec.policy, summaries, summaries + N,
                                                   thrust_detail::length_of{}, 0.0,
                                                   ::thrust::plus<double>{});
  batch_totals totals = local_totals(tokens, N, b.T);
  reduce_totals(totals, reduction);
  ::thrust::for_each(exec.policy, first, last,
                     thrust_detail::sequence_pass<O, Real>{obj, b, grad, summaries, totals, partials});
  const pass_partial all = ::thrust::reduce(exec.policy, partials, partials + N, pass_partial{},
                                            thrust_detail::combine_partials{});
  out.loss = all.loss;
  out.stats = finalize_statistics(all, zero_std_fraction);
  out.totals = totals;
  return {};
}

/// Validates on the host (host-addressable systems only: for device memory validate the
/// values with the CUDA backend or call the unchecked overload), then evaluates.
template <class O, class Real, class Policy, batch_reduction R = local_reduction>
  requires is_objective<O>
status evaluate(const O& obj, const token_batch<Real>& b, const gradient_out<Real>& grad,
                objective_result& out, exec::thrust_system<Policy> exec,
                const R& reduction = {}, double zero_std_fraction = 0.0) {
  GRPO_TRY(validate(obj, b));
  return evaluate(unchecked, obj, b, grad, out, exec, reduction, zero_std_fraction);
}

}  // namespace grpo
