#pragma once
// CPU backends of the fused objective pass: grpo::exec::serial and grpo::exec::parallel.
//
// Determinism: the unit of work is one sequence. Each sequence's prepass summary and pass
// partials are computed by one thread, in token order, and stored in the workspace; the
// sequences' values are then combined by one thread in sequence order. Thread count and
// schedule therefore cannot change a single bit of the results.
#include <grpo/core/error.hpp>
#include <grpo/core/reduce.hpp>
#include <grpo/exec/cpu_simd.hpp>
#include <grpo/exec/policy.hpp>
#include <grpo/objective/fused.hpp>

#include <algorithm>
#include <cmath>
#include <exception>
#include <vector>

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace grpo {

namespace detail {

/// The two passes of the CPU backends over the N sequences with one serial step between them:
/// pre(i) for every i, then between() once, then body(i) for every i. On exec::parallel all
/// three run in one OpenMP region (one fork and join per call, not two), the step on one
/// thread between two barriers; an exception it throws is rethrown after the region.
template <class Pre, class Between, class Body>
void two_passes(exec::serial, index_t n, Pre&& pre, Between&& between, Body&& body) {
  for (index_t i = 0; i < n; ++i) pre(i);
  between();
  for (index_t i = 0; i < n; ++i) body(i);
}

template <class Pre, class Between, class Body>
void two_passes(exec::parallel p, index_t n, Pre&& pre, Between&& between, Body&& body) {
#if defined(_OPENMP)
  const int threads = p.num_threads > 0 ? p.num_threads : omp_get_max_threads();
  std::exception_ptr failure;
#pragma omp parallel num_threads(threads)
  {
#pragma omp for schedule(dynamic, 32)
    for (index_t i = 0; i < n; ++i) pre(i);
#pragma omp single
    {
      try {
        between();
      } catch (...) {
        failure = std::current_exception();
      }
    }
    if (failure == nullptr) {
#pragma omp for schedule(dynamic, 32)
      for (index_t i = 0; i < n; ++i) body(i);
    }
  }
  if (failure != nullptr) std::rethrow_exception(failure);
#else
  two_passes(exec::serial{}, n, pre, between, body);
  (void)p;
#endif
}

/// The (1 − keep_fraction) quantile of the in-token entropies, with linear interpolation
/// between order statistics (torch.quantile's default). NaN-free input assumed (validated).
template <class O, class Real>
double entropy_threshold(const O& obj, const token_batch<Real>& b, double keep_fraction) {
  std::vector<double> v;
  for (index_t i = 0; i < b.N; ++i) {
    if (!sequence_kept(obj, b, i)) continue;
    const index_t end = b.row_end(i);
    for (index_t t = 0; t < end; ++t)
      if (b.in(i, t)) v.push_back(double(b.entropy[b.flat(i, t)]));
  }
  if (v.empty()) return inf();
  std::sort(v.begin(), v.end());
  const double q = 1.0 - keep_fraction;
  const double pos = q * double(v.size() - 1);
  const std::size_t lo = std::size_t(std::floor(pos));
  const std::size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (pos - double(lo)) * (v[hi] - v[lo]);
}

}  // namespace detail

/// Bytes of workspace `evaluate` uses for N sequences (a smaller or absent workspace makes the
/// CPU backend allocate its own).
template <class O>
std::size_t workspace_bytes(const O&, index_t N) {
  return objective_workspace_bytes(N);
}

/// Evaluates the objective without validating the inputs (the caller vouches for them; a
/// non-finite input then propagates as NaN into the loss and gradients).
template <class O, class Real, class Exec = exec::serial, batch_reduction R = local_reduction>
  requires is_objective<O> && exec::is_cpu_policy<Exec>
status evaluate(unchecked_t, const O& objective_in, const token_batch<Real>& b,
                const gradient_out<Real>& grad, objective_result& out, Exec exec = {},
                const R& reduction = {}, workspace ws = {}, double zero_std_fraction = 0.0) {
  O obj = objective_in;
  if constexpr (O::template has<correction::top_entropy>) {
    auto& te = obj.corrections.template get<correction::top_entropy>();
    if (te.threshold != te.threshold) te.threshold = detail::entropy_threshold(obj, b, te.keep_fraction);
  }
  const index_t N = b.N;
  std::vector<unsigned char> own;
  void* mem = ws.data;
  if (mem == nullptr || ws.bytes < objective_workspace_bytes(N)) {
    own.resize(objective_workspace_bytes(N));
    mem = own.data();
  }
  auto* summaries = static_cast<sequence_summary*>(mem);
  auto* partials = reinterpret_cast<pass_partial*>(summaries + N);

  // (a) prepass, (b) totals in sequence order and the reduction hook, (c) the token body (eight
  // tokens at a time where grpo/exec/cpu_simd.hpp applies)
  const bool use_simd = exec.vectorize && detail::simd_row_applies<O>(b, grad);
  batch_totals totals;
  detail::two_passes(
      exec, N,
      [&](index_t i) { summaries[i] = detail::cpu_summarize_sequence(obj, b, i, use_simd); },
      [&] {
        double tokens = 0;
        for (index_t i = 0; i < N; ++i) tokens += summaries[i].length;
        totals = local_totals(tokens, N, b.T);
        reduce_totals(totals, reduction);
      },
      [&](index_t i) {
        pass_partial p;
        const double w = obj.aggregation.weight(summaries[i].length, totals);
        detail::cpu_sequence_step(obj, b, i, summaries[i], w, grad, p, use_simd);
        partials[i] = p;
      });
  // (d) combine in sequence order
  pass_partial all;
  for (index_t i = 0; i < N; ++i) combine(all, partials[i]);
  out.loss = all.loss;
  out.stats = finalize_statistics(all, zero_std_fraction);
  out.totals = totals;
  return {};
}

/// Validates the inputs (see grpo::validate), then evaluates the objective: the loss, dL/dlogp
/// into `grad` (written or accumulated, per grad.mode) and the statistics, in one fused pass.
template <class O, class Real, class Exec = exec::serial, batch_reduction R = local_reduction>
  requires is_objective<O> && exec::is_cpu_policy<Exec>
status evaluate(const O& obj, const token_batch<Real>& b, const gradient_out<Real>& grad,
                objective_result& out, Exec exec = {}, const R& reduction = {},
                workspace ws = {}, double zero_std_fraction = 0.0) {
  GRPO_TRY(validate(obj, b));
  return evaluate(unchecked, obj, b, grad, out, exec, reduction, ws, zero_std_fraction);
}

}  // namespace grpo
