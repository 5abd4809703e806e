#pragma once
// CPU backends of the fused objective pass: grpo::exec::serial and grpo::exec::parallel, the
// driver of grpo/exec/driver.hpp over plain loops and OpenMP. A sequence runs on one thread, eight
// tokens at a time where the CPU has AVX2 and the batch is float (the same formulas instantiated
// for lane::f8), one at a time otherwise.
#include <grpo/core/error.hpp>
#include <grpo/core/reduce.hpp>
#include <grpo/exec/driver.hpp>
#include <grpo/exec/policy.hpp>

#include <exception>
#include <type_traits>
#include <vector>

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace grpo {

namespace cpu_detail {

#if GRPO_HAVE_X86_SIMD
template <bool Check, class O>
GRPO_LANE_KERNEL sequence_summary<O> summarize_avx2(const O& obj, const token_batch<float>& b, index_t i) {
  return summarize_sequence<lane::f8, Check>(obj, b, i);
}
template <bool Check, class O>
GRPO_LANE_KERNEL void run_avx2(const O& obj, const token_batch<float>& b, const sequence_summary<O>& s,
                               const batch_totals& t, const gradient_out<float>& g, pass_partial<O>& p) {
  run_sequence<lane::f8, Check>(obj, b, s, t, g, p);
}
#endif

/// One sequence on a CPU thread: AVX2 lanes where they apply, scalar lanes otherwise.
struct rows {
  bool simd = false;
  template <bool Check, class O, class Real>
  sequence_summary<O> summarize(const O& obj, const token_batch<Real>& b, index_t i) const {
#if GRPO_HAVE_X86_SIMD
    if constexpr (std::is_same_v<Real, float>)
      if (simd) return summarize_avx2<Check>(obj, b, i);
#endif
    return summarize_sequence<Real, Check>(obj, b, i);
  }
  template <bool Check, class O, class Real>
  void run(const O& obj, const token_batch<Real>& b, const sequence_summary<O>& s, const batch_totals& t,
           const gradient_out<Real>& g, pass_partial<O>& p) const {
#if GRPO_HAVE_X86_SIMD
    if constexpr (std::is_same_v<Real, float>)
      if (simd) return run_avx2<Check>(obj, b, s, t, g, p);
#endif
    run_sequence<Real, Check>(obj, b, s, t, g, p);
  }
};

/// Host loops in index order (the totals and the combination are always serial and ordered).
struct host_loops {
  template <class O>
  batch_totals totals(const sequence_summary<O>* s, index_t n) const {
    batch_totals t;
    for (index_t i = 0; i < n; ++i) add_to_totals(t, s[i]);
    return t;
  }
  template <class O>
  pass_partial<O> combine(const pass_partial<O>* p, index_t n) const {
    pass_partial<O> all;
    for (index_t k = 0; k < n; ++k) grpo::combine(all, p[k]);
    return all;
  }
};

struct serial_loops : host_loops {
  template <class Pre, class Between, class MakeBody>
  void run(index_t n, const Pre& pre, Between&& between, index_t items, MakeBody&& make) const {
    for (index_t i = 0; i < n; ++i) pre(i);
    between();
    const auto body = make();
    for (index_t k = 0; k < items; ++k) body(k);
  }
};

/// One OpenMP region per call: the prepass, the serial step on one thread between two barriers
/// (an exception it throws is rethrown after the region), the token pass.
struct omp_loops : host_loops {
  int threads = 0;
  template <class Pre, class Between, class MakeBody>
  void run(index_t n, const Pre& pre, Between&& between, index_t items, MakeBody&& make) const {
#if defined(_OPENMP)
    const int nt = threads > 0 ? threads : omp_get_max_threads();
    std::exception_ptr failure;
#pragma omp parallel num_threads(nt)
    {
#pragma omp for schedule(static)
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
        const auto body = make();
#pragma omp for schedule(static)
        for (index_t k = 0; k < items; ++k) body(k);
      }
    }
    if (failure != nullptr) std::rethrow_exception(failure);
#else
    serial_loops{}.run(n, pre, between, items, make);
#endif
  }
};

inline serial_loops loops_of(const exec::serial&) { return {}; }
inline omp_loops loops_of(const exec::parallel& p) { return {{}, p.num_threads}; }

template <bool Check, class O, class Real, class Exec, class R>
status evaluate(const O& objective_in, const token_batch<Real>& b, const gradient_out<Real>& g,
                objective_result& out, const Exec& exec, const R& reduction) {
  O obj = objective_in;
  driver::prepare(obj, b);
  std::vector<unsigned char> own;
  void* mem = exec.ws.data;
  if (mem == nullptr || exec.ws.bytes < driver::layout<O>::bytes(b.N)) {
    own.resize(driver::layout<O>::bytes(b.N));
    mem = own.data();
  }
  const rows r{exec.vectorize && simd::has_avx2()};
  return driver::run<Check>(loops_of(exec), r, obj, b, g, reduction, mem, out);
}

}  // namespace cpu_detail

/// The local totals of a batch as the pass counts them (in-tokens after the nodes' drops,
/// sequences, non-empty sequences, width), from the prepass alone: a caller splitting a batch
/// into micro-batches sums these and hands the sum to each micro-batch's `evaluate` in place of a
/// reduction hook, so every micro-batch is normalised by the whole batch.
template <class O, class Real, class Exec = exec::serial>
  requires is_objective<O> && exec::is_cpu_policy<Exec>
batch_totals totals(const O& obj, const token_batch<Real>& b, Exec exec = {}) {
  const cpu_detail::rows r{exec.vectorize && simd::has_avx2()};
  batch_totals t;
  for (index_t i = 0; i < b.N; ++i) add_to_totals(t, r.template summarize<false>(obj, b, i));
  t.tokens = t.local_tokens;
  t.sequences = t.local_sequences;
  t.nonempty = t.local_nonempty;
  t.max_width = double(b.T);
  return t;
}

/// Bytes of workspace `evaluate` uses on this policy for N sequences (a smaller or absent
/// workspace makes the CPU backends allocate their own).
template <class Exec, class O>
  requires exec::is_cpu_policy<Exec> && is_objective<O>
std::size_t workspace_bytes(const Exec&, const O&, index_t N, index_t /*T*/) {
  return driver::layout<O>::bytes(N);
}

/// Evaluates without validating the values (shapes and hyper-parameters are still checked: they
/// cost nothing); a non-finite input then propagates as NaN into the loss and gradients.
template <class O, class Real, class Exec = exec::serial, driver::totals_source R = local_reduction>
  requires is_objective<O> && exec::is_cpu_policy<Exec>
status evaluate(unchecked_t, const O& obj, const token_batch<Real>& b, const gradient_out<Real>& grad,
                objective_result& out, Exec exec = {}, const R& reduction = {}) {
  GRPO_TRY(validate_shapes(obj, b));
  return cpu_detail::evaluate<false>(obj, b, grad, out, exec, reduction);
}

/// The loss, dL/dlogp into `grad` (written or accumulated, per grad.mode) and the statistics, in
/// one fused pass that also validates every value it reads (the first non-finite in-token value,
/// length outside [0, T] or non-finite advantage is returned as an error naming the input and
/// the index; so is an in-token whose loss or gradient overflows from finite inputs). In
/// accumulate mode a checking pass that stores nothing runs first (as on CUDA), so a failure
/// leaves the caller's gradient untouched; the accumulating pass is the checked one too, so the
/// validated call instantiates one pass body per lane type, not two.
template <class O, class Real, class Exec = exec::serial, driver::totals_source R = local_reduction>
  requires is_objective<O> && exec::is_cpu_policy<Exec>
status evaluate(const O& obj, const token_batch<Real>& b, const gradient_out<Real>& grad,
                objective_result& out, Exec exec = {}, const R& reduction = {}) {
  GRPO_TRY(validate_shapes(obj, b));
  if (grad.mode == grad_mode::accumulate && (grad.dlogp != nullptr || grad.dentropy != nullptr)) {
    objective_result probe;
    GRPO_TRY(cpu_detail::evaluate<true>(obj, b, gradient_out<Real>{}, probe, exec, reduction));
    return cpu_detail::evaluate<true>(obj, b, grad, out, exec, reduction);
  }
  return cpu_detail::evaluate<true>(obj, b, grad, out, exec, reduction);
}

}  // namespace grpo
