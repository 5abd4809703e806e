#pragma once
// The one pass driver, written once over a small set of backend primitives:
//
//   loops.run(N, prepass, between, items, pass)   prepass(i) for every sequence, between() once
//                                                 (the totals and the reduction hook), then
//                                                 pass(k) for every work item, in any order or
//                                                 thread
//   loops.totals(summaries, N)                    the local batch totals, in sequence order
//   loops.combine(partials, items)                the work items' partials, in item order
//
// and a `Rows` policy that runs one sequence's prepass or token pass (AVX2 or scalar lanes on a
// CPU thread, scalar lanes on a device thread). A work item is a fixed run of consecutive
// sequences whose length depends on N alone, so neither the partials nor the order in which they
// are combined depend on the thread count: exec::serial, exec::parallel and Thrust's cpp system
// give bitwise-equal results. The CUDA backend (cuda.cuh) runs the same phases as kernels.
#include <grpo/core/error.hpp>
#include <grpo/core/reduce.hpp>
#include <grpo/exec/policy.hpp>
#include <grpo/objective/pass.hpp>

#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace grpo {

namespace driver {

/// Sequences per work item: a function of N only.
GRPO_HD constexpr index_t rows_per_item(index_t N) {
  const index_t r = N / 64;
  return r < 1 ? 1 : (r > 32 ? 32 : r);
}
GRPO_HD constexpr index_t work_items(index_t N) { return (N + rows_per_item(N) - 1) / rows_per_item(N); }

inline constexpr std::size_t align_up(std::size_t n) { return (n + 63) / 64 * 64; }

/// The workspace of the host-driven backends: [N] summaries, then [items] partials.
template <class O>
struct layout {
  sequence_summary<O>* summaries;
  pass_partial<O>* partials;
  static std::size_t bytes(index_t N) {
    return 64 + align_up(std::size_t(N) * sizeof(sequence_summary<O>)) +
           std::size_t(work_items(N)) * sizeof(pass_partial<O>);
  }
  static layout carve(void* base, index_t N) {
    auto p = (reinterpret_cast<std::uintptr_t>(base) + 63) / 64 * 64;
    layout l{};
    l.summaries = reinterpret_cast<sequence_summary<O>*>(p);
    l.partials = reinterpret_cast<pass_partial<O>*>(p + align_up(std::size_t(N) * sizeof(sequence_summary<O>)));
    return l;
  }
};

template <bool Check, class Rows, class O, class Real>
struct prepass_fn {
  O obj;
  token_batch<Real> b;
  sequence_summary<O>* out;
  Rows rows;
  GRPO_HD_DISPATCH
  GRPO_HD void operator()(index_t i) const { out[i] = rows.template summarize<Check>(obj, b, i); }
};

template <bool Check, class Rows, class O, class Real>
struct pass_fn {
  O obj;
  token_batch<Real> b;
  gradient_out<Real> g;
  const sequence_summary<O>* summaries;
  batch_totals totals;
  pass_partial<O>* out;
  Rows rows;
  GRPO_HD_DISPATCH
  GRPO_HD void operator()(index_t item) const {
    const index_t r = rows_per_item(b.N), i0 = item * r, i1 = i0 + r < b.N ? i0 + r : b.N;
    pass_partial<O> p;
    for (index_t i = i0; i < i1; ++i) rows.template run<Check>(obj, b, summaries[i], totals, g, p);
    out[item] = p;
  }
};

template <class O>
struct length_of {
  GRPO_HD batch_totals operator()(const sequence_summary<O>& s) const {
    batch_totals t;
    add_to_totals(t, s);
    return t;
  }
};
struct add_totals {
  GRPO_HD batch_totals operator()(batch_totals a, const batch_totals& b) const {
    a.local_tokens += b.local_tokens;
    a.local_sequences += b.local_sequences;
    a.local_nonempty += b.local_nonempty;
    return a;
  }
};
template <class O>
struct combine_partials {
  GRPO_HD pass_partial<O> operator()(pass_partial<O> a, const pass_partial<O>& b) const {
    combine(a, b);
    return a;
  }
};

/// Nodes with a host-side `prepare` (top-entropy's quantile) run it on the objective's copy.
template <class O, class Real>
void prepare(O& obj, const token_batch<Real>& b) {
  for_each_index(
      [&](auto I) {
        auto& n = obj.template node<decltype(I)::value>();
        if constexpr (requires { n.prepare(b, [](index_t, index_t) { return true; }); })
          n.prepare(b, [&](index_t i, index_t t) { return kept(obj, sequence_of(obj, b, i)) && b.in(i, t); });
      },
      std::make_index_sequence<O::node_count>{});
}

/// The first node that still needs its host-side `prepare` (a device backend cannot run it).
template <class O>
const char* unprepared(const O& obj) {
  const char* who = nullptr;
  for_each_node(obj, [&](auto, const auto& n) {
    if constexpr (requires { n.needs_prepare(); })
      if (who == nullptr && n.needs_prepare()) who = std::remove_cvref_t<decltype(n)>::name;
  });
  return who;
}

/// The batch-wide totals through the hook, or, when the caller passes them as a batch_totals
/// (its own sum over micro-batches, say), those (the local counts stay this batch's).
template <class R>
void globalise(batch_totals& t, index_t width, const R& reduction) {
  if constexpr (std::is_same_v<R, batch_totals>) {
    t.tokens = reduction.tokens;
    t.sequences = reduction.sequences;
    t.nonempty = reduction.nonempty;
    t.max_width = reduction.max_width;
  } else {
    reduce_totals(t, width, reduction);
  }
}

template <class R>
concept totals_source = batch_reduction<R> || std::is_same_v<R, batch_totals>;

/// The driver. `ws` holds at least layout<O>::bytes(N) bytes the loops can address.
template <bool Check, class Loops, class Rows, class O, class Real, totals_source R>
status run(const Loops& loops, Rows rows, const O& obj, const token_batch<Real>& b,
           const gradient_out<Real>& g, const R& reduction, void* ws, objective_result& out) {
  const index_t N = b.N, items = work_items(N);
  const layout<O> mem = layout<O>::carve(ws, N);
  batch_totals totals;
  loops.run(
      N, prepass_fn<Check, Rows, O, Real>{obj, b, mem.summaries, rows},
      [&] {
        totals = loops.totals(mem.summaries, N);
        globalise(totals, b.T, reduction);
      },
      items, [&] { return pass_fn<Check, Rows, O, Real>{obj, b, g, mem.summaries, totals, mem.partials, rows}; });
  const pass_partial<O> all = loops.combine(mem.partials, items);
  if constexpr (Check) GRPO_TRY(pass_status(all, b.T));
  out = finalize(obj, b, all, totals);
  return {};
}

}  // namespace driver

/// Runs the host-side `prepare` of every node that has one (top-entropy's batch quantile) on the
/// caller's copy of the objective, from a host copy of the batch. The CPU backends do this
/// themselves; a device backend refuses an objective that still needs it.
template <class O, class Real>
  requires is_objective<O>
void prepare(O& obj, const token_batch<Real>& host_batch) {
  driver::prepare(obj, host_batch);
}

/// The host-side checks of every value the pass reads (what a checked pass tests as it goes):
/// for callers who validate once and then call the unchecked pass, and for accumulate mode,
/// which must not touch the caller's gradient before the values are known to be good.
template <class O, class Real>
  requires is_objective<O>
status validate(const O& obj, const token_batch<Real>& b) {
  GRPO_TRY(validate_shapes(obj, b));
  const pass_flags f = flags_of(obj, b);
  pass_partial<O> p;
  for (index_t i = 0; i < b.N; ++i) {
    const sequence_summary<O> s = finish_sequence<true>(obj, b, i, prepass_sums<O>{});
    if (s.bad) keep_first(p.bad_sequence, p.sequence_code, i, s.bad);
    if (s.bad || !kept(obj, s.info)) continue;
    for (index_t t = 0; t < b.row_end(i) && p.bad_token < 0; ++t) {
      const token_args<Real> a = load_token<Real, O>(b, i, t, 1, f);
      if (bad_values<Real, O>(b, a, f)) keep_first(p.bad_token, p.bad_code, b.flat(i, t), bad_input_at<O>(b, b.flat(i, t), f));
    }
  }
  return pass_status(p, b.T);
}

}  // namespace grpo
