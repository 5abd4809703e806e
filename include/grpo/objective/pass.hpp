#pragma once
// The fused pass: what every backend runs to evaluate an objective in one sweep over the tokens.
// It is a fold over the objective's nodes (node.hpp) and names none of them. Every function here
// is GRPO_HD and written over a lane type L (grpo/core/lanes.hpp), so a CPU thread runs it eight
// tokens at a time (AVX2) or one at a time, and a CUDA thread one token at a time.
//
// For a batch of N sequences:
//   (a) prepass, per sequence i: the in-tokens are counted and every node's prepass sums formed
//       (prepass_tokens over the row's tokens, lanes combined into doubles); then each node's
//       `finish` makes its per-sequence state: sequence_summary<O>.
//   (b) batch totals: Σ over the summaries (tokens, sequences, non-empty sequences), then the
//       batch_reduction hook (a data-parallel all-reduce).
//   (c) token pass, per sequence: w_i = aggregation.sequence_weight(summary_i, totals); every
//       token runs the fold (token_terms) and writes dL/dlogp; the row's sums go to a
//       row_result. A ratio with a `gather` hook (the sequence ratios) then adds its share
//       G_i·gather_t to every token of the row (gather_tokens).
//   (d) the row results are combined in a fixed order into a pass_partial, and finalize()
//       makes the loss and the named statistics.
//
// The loss of one token, with c_t the product of the corrections' policy weights and ℓ the
// surrogate:   w_i·( c_t·ℓ + β·k + Σ terms )
// and its gradient, with log ρ's derivative along the token's own path d_t (the ratio's
// log_ratio hook) and ∂/∂log ρ collected from every node:
//   w_i·( c_t·∂ℓ/∂logp + β·∂k/∂logp + Σ ∂term/∂logp + d_t·(c_t·∂ℓ/∂log ρ + β·∂k/∂log ρ + …) )
// For a sequence ratio log s_i = Σ_t x_t/T_i every token sees the same s_i, so d_t = 0 and
// token t gets G_i·∂log s_i/∂logp_t with G_i = Σ_t' ∂(c_t'·ℓ_t')/∂log s (summed in the pass).
//
// Validation rides along: with Check = true every value the pass loads at an in-position is
// tested for finiteness, and the first bad token (and sequence: lengths outside [0, T], a
// non-finite advantage) is carried to the end, where the caller turns it into a status.
#include <grpo/core/reduce.hpp>
#include <grpo/objective/objective.hpp>

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace grpo {

// ---- compile-time layout of an objective ------------------------------------------------------

/// The pass's own statistics: the KL term's value (while β ≠ 0) and the entropy (when given).
inline constexpr stat_def pass_stats[] = {{"kl", stat::mean | stat::max}, {"entropy", stat::mean}};

template <class O>
struct pass_layout {
  static constexpr std::size_t K = O::node_count;
  template <std::size_t I>
  using node = typename O::template node_type<I>;

  template <std::size_t... I>
  static constexpr std::array<int, K + 1> prefix(std::index_sequence<I...>, bool stats) {
    std::array<int, K + 1> a{};
    int k = 0;
    ((a[I] = k, k += stats ? node_detail::stat_count_of<node<I>>() : node_detail::prepass_sums_of<node<I>>()), ...);
    a[K] = k;
    return a;
  }
  static constexpr auto sum_at = prefix(std::make_index_sequence<K>{}, false);
  /// Statistics: two of the pass itself (kl, entropy), then every node's.
  static constexpr int own_stats = 2;
  static constexpr auto stat_at = prefix(std::make_index_sequence<K>{}, true);
  static constexpr int sums = sum_at[K];
  static constexpr int stats = own_stats + stat_at[K];
  /// Each statistic's stat:: flags, so that the reductions form only the extrema and sequence
  /// means a statistic reports.
  template <std::size_t I>
  static constexpr void node_flags(std::array<unsigned, stats>& a) {
    if constexpr (node_detail::stat_count_of<node<I>>() > 0)
      for (int j = 0; j < node_detail::stat_count_of<node<I>>(); ++j)
        a[own_stats + stat_at[I] + j] = node<I>::stats[j].flags;
  }
  template <std::size_t... I>
  static constexpr std::array<unsigned, stats> flags(std::index_sequence<I...>) {
    std::array<unsigned, stats> a{};
    for (int j = 0; j < own_stats; ++j) a[j] = pass_stats[j].flags;
    (node_flags<I>(a), ...);
    return a;
  }
  static constexpr auto stat_flags = flags(std::make_index_sequence<K>{});
  static constexpr bool gathers = requires(const typename O::ratio_type& r,
                                           token_context<float, O, state_of<typename O::ratio_type, O>>& c) {
    r.gather(c);
  };

  template <std::size_t... I>
  static auto states_type(std::index_sequence<I...>) -> pack<state_of<node<I>, O>...>;
  using states = decltype(states_type(std::make_index_sequence<K>{}));
};

/// What the token pass needs to know about a sequence.
template <class O>
struct sequence_summary {
  sequence_info info;
  index_t end = 0;  // one past the last token that can be in (active_end)
  typename pass_layout<O>::states states;
  int bad = 0;  // checked passes: 1 negative length, 2 length > T, 3 non-finite advantage
};

// ---- loading a token ------------------------------------------------------------------------

/// The run-time choices of one pass.
struct pass_flags {
  bool kl = false;       // the KL term is used (β ≠ 0)
  bool entropy = false;  // the batch has entropies (loaded for the objective or the statistic)
};

template <class O, class Real>
GRPO_HD pass_flags flags_of(const O& obj, const token_batch<Real>& b) {
  pass_flags f;
  f.kl = O::has_kl && obj.beta != 0;
  f.entropy = b.entropy != nullptr;
  return f;
}

/// The in-mask of the lane of tokens t .. t+n−1 of sequence i (mask byte and t < length).
template <class L, class Real>
GRPO_HD lane::mask_of<L> load_in(const token_batch<Real>& b, index_t i, index_t t, int n) {
  auto in = n < lane::traits<L>::width ? lane::first_lanes<L>(n) : lane::all_lanes<L>();
  if (b.mask != nullptr) in = in & lane::load_mask<L>(b.mask + b.flat(i, t), n);
  if (b.lengths != nullptr) in = in & lane::first_lanes<L>(index_t(b.lengths[i]) - t);
  return in;
}

/// The values of that lane of tokens that the objective reads.
template <class L, class O, class Real>
GRPO_HD void load_values(const token_batch<Real>& b, index_t i, index_t t, int n, const pass_flags& f,
                         token_args<L>& a) {
  constexpr unsigned reads = O::reads;
  const index_t k = b.flat(i, t);
  a.logp = lane::load<L>(b.logp + k, n);
  a.old = b.old != nullptr ? lane::load<L>(b.old + k, n) : a.logp;
  a.ref = L(0.0f);
  if constexpr (O::has_kl)
    if (f.kl) a.ref = lane::load<L>(b.ref + k, n);
  a.entropy = f.entropy ? lane::load<L>(b.entropy + k, n) : L(0.0f);
  a.sampler = a.old;
  if constexpr ((reads & (reads::sampler | reads::sampler_if_given)) != 0)
    if (b.sampler_logp != nullptr) a.sampler = lane::load<L>(b.sampler_logp + k, n);
  a.A = b.token_advantages != nullptr ? lane::load<L>(b.token_advantages + k, n) : L(b.advantages[i]);
  a.log_ratio = L(0.0f);
  a.ratio = L(1.0f);
}

template <class L, class O, class Real>
GRPO_HD token_args<L> load_token(const token_batch<Real>& b, index_t i, index_t t, int n,
                                 const pass_flags& f) {
  token_args<L> a;
  a.in = load_in<L>(b, i, t, n);
  load_values<L, O>(b, i, t, n, f, a);
  return a;
}

/// In-tokens whose loaded values are not all finite.
template <class L, class O, class Real>
GRPO_HD lane::mask_of<L> bad_values(const token_batch<Real>& b, const token_args<L>& a,
                                    const pass_flags& f) {
  auto ok = lane::isfinite(a.logp);
  if (b.old != nullptr) ok = ok & lane::isfinite(a.old);
  if constexpr (O::has_kl)
    if (f.kl) ok = ok & lane::isfinite(a.ref);
  if (f.entropy) ok = ok & lane::isfinite(a.entropy);
  if constexpr ((O::reads & (reads::sampler | reads::sampler_if_given)) != 0)
    if (b.sampler_logp != nullptr) ok = ok & lane::isfinite(a.sampler);
  if (b.token_advantages != nullptr) ok = ok & lane::isfinite(a.A);
  return a.in & !ok;
}

// ---- (a) prepass --------------------------------------------------------------------------------

/// Lane sums of one sequence's prepass: the in-token count and every node's sums.
template <class O, class L>
struct prepass_lanes {
  L tokens = L(0.0f);
  index_t count = 0;  // in-tokens counted without lanes
  index_t end = -1;   // one past the last in-token this thread saw (-1: none, or not tracked)
  L sums[pass_layout<O>::sums > 0 ? pass_layout<O>::sums : 1];
};

/// The same in doubles: what the threads of one row combine.
template <class O>
struct prepass_sums {
  double tokens = 0;
  index_t end = -1;  // as prepass_lanes::end
  double sums[pass_layout<O>::sums > 0 ? pass_layout<O>::sums : 1] = {};
};

template <class O>
GRPO_HD void combine(prepass_sums<O>& a, const prepass_sums<O>& b) {
  a.tokens += b.tokens;
  a.end = b.end > a.end ? b.end : a.end;
  for (int k = 0; k < pass_layout<O>::sums; ++k) a.sums[k] += b.sums[k];
}

/// The sequence's facts before its tokens: index, width, advantage, truncation, and whether a
/// node drops it.
template <class O, class Real>
GRPO_HD sequence_info sequence_of(const O&, const token_batch<Real>& b, index_t i) {
  sequence_info s;
  s.index = i;
  s.width = b.T;
  s.advantage = b.advantages != nullptr ? double(b.advantages[i]) : 0.0;
  s.truncated = b.truncated != nullptr && b.truncated[i] != 0;
  return s;
}

template <class O>
GRPO_HD bool kept(const O& obj, const sequence_info& s) {
  bool keep = true;
  for_each_node(obj, [&](auto, const auto& n) {
    if constexpr (requires { n.keep_sequence(s); }) keep = keep && n.keep_sequence(s);
  });
  return keep;
}

/// Tokens t = t0, t0 + step, … (each a lane of L::width consecutive tokens) of sequence i.
template <class L, class O, class Real>
GRPO_HD void prepass_tokens(const O& obj, const token_batch<Real>& b, index_t i, index_t t0,
                            index_t step, const pass_flags& f, prepass_lanes<O, L>& acc) {
  constexpr int W = lane::traits<L>::width;
  const index_t end = b.row_end(i);
  if constexpr (pass_layout<O>::sums == 0) {  // only the count
    index_t n = 0;
    const std::uint8_t* m = b.mask != nullptr ? b.mask + b.flat(i, 0) : nullptr;
    if (m == nullptr) {
      for (index_t t = t0; t < end; t += step) n += end - t < W ? end - t : W;
    } else if (step == W) {  // contiguous (a CPU thread): the count and the row's last in-token
      const lane::extent e = t0 < end ? lane::mask_extent<L>(m + t0, end - t0) : lane::extent{};
      n = e.count;
      acc.end = e.count > 0 ? t0 + e.end : 0;
    } else {
      for (index_t t = t0; t < end; t += step)
        for (index_t j = t; j < t + W && j < end; ++j) n += m[j] != 0;
    }
    acc.count += n;
  } else {
    for (index_t t = t0; t < end; t += step) {
      const int n = end - t < W ? int(end - t) : W;
      token_args<L> a;
      a.in = load_in<L>(b, i, t, n);
      acc.tokens += lane::when(a.in, L(1.0f));
      if (!lane::any(a.in)) continue;
      acc.end = t + lane::last(a.in) + 1;  // t grows: the last one set is this thread's last in-token
      load_values<L, O>(b, i, t, n, f, a);
      const sequence_info s = sequence_of(obj, b, i);
      for_each_node(obj, [&](auto I, const auto& node) {
        constexpr int off = pass_layout<O>::sum_at[decltype(I)::value];
        if constexpr (node_detail::prepass_sums_of<std::remove_cvref_t<decltype(node)>>() > 0) {
          token_context<L, O, no_state> c(a, &obj, &s, nullptr);
          node.prepass(c, acc.sums + off);
        }
      });
    }
  }
}

template <class O, class L>
GRPO_HD prepass_sums<O> reduce(const prepass_lanes<O, L>& acc) {
  prepass_sums<O> p;
  p.tokens = lane::reduce_sum(acc.tokens) + double(acc.count);
  p.end = acc.end;
  for (int k = 0; k < pass_layout<O>::sums; ++k) p.sums[k] = lane::reduce_sum(acc.sums[k]);
  return p;
}

template <class O, class L>
GRPO_HD void init(prepass_lanes<O, L>& acc) {
  acc.tokens = L(0.0f);
  acc.count = 0;
  acc.end = -1;
  for (int k = 0; k < (pass_layout<O>::sums > 0 ? pass_layout<O>::sums : 1); ++k) acc.sums[k] = L(0.0f);
}

/// One past the last token of sequence i that can be in: its length, and its last non-zero mask
/// byte (the padding after it is never read).
template <class Real>
GRPO_HD index_t active_end(const token_batch<Real>& b, index_t i) {
  index_t end = b.row_end(i);
  if (b.mask != nullptr) {
    const std::uint8_t* m = b.mask + i * b.T;
    for (std::uint64_t w = 0; end >= 8; end -= 8) {  // eight bytes at a time, then one
      __builtin_memcpy(&w, m + end - 8, 8);
      if (w != 0) break;
    }
    while (end > 0 && m[end - 1] == 0) --end;
  }
  return end;
}

/// The summary of sequence i from its combined prepass sums (the nodes' `finish`).
template <bool Check, class O, class Real>
GRPO_HD sequence_summary<O> finish_sequence(const O& obj, const token_batch<Real>& b, index_t i,
                                            const prepass_sums<O>& p) {
  sequence_summary<O> s;
  s.info = sequence_of(obj, b, i);
  if constexpr (Check) {
    if (b.lengths != nullptr && b.lengths[i] < 0) s.bad = 1;
    else if (b.lengths != nullptr && b.lengths[i] > b.T) s.bad = 2;
    else if (b.advantages != nullptr && !lane::isfinite(b.advantages[i]) && kept(obj, s.info)) s.bad = 3;
  }
  if (!kept(obj, s.info)) return s;  // dropped: length 0, default states
  s.info.length = p.tokens;
  s.end = !(s.info.length > 0) ? 0 : (p.end >= 0 ? p.end : active_end(b, i));
  for_each_node(obj, [&](auto I, const auto& node) {
    constexpr std::size_t k = decltype(I)::value;
    constexpr int off = pass_layout<O>::sum_at[k];
    if constexpr (requires { node.finish(p.sums, s.info, obj); })
      s.states.template get<k>() = node.finish(p.sums + off, s.info, obj);
  });
  return s;
}

/// The whole prepass of sequence i on one thread (lanes of L).
template <class L, bool Check, class O, class Real>
GRPO_HD sequence_summary<O> summarize_sequence(const O& obj, const token_batch<Real>& b, index_t i) {
  prepass_lanes<O, L> acc;
  init(acc);
  if (kept(obj, sequence_of(obj, b, i)))
    prepass_tokens<L>(obj, b, i, 0, lane::traits<L>::width, flags_of(obj, b), acc);
  return finish_sequence<Check>(obj, b, i, reduce(acc));
}

// ---- (b) totals ---------------------------------------------------------------------------------

template <class O>
GRPO_HD void add_to_totals(batch_totals& t, const sequence_summary<O>& s) {
  t.local_tokens += s.info.length;
  t.local_sequences += 1;
  t.local_nonempty += s.info.length > 0 ? 1 : 0;
}

/// Hands the batch-spanning totals to the reduction hook (one sum of three values, one max).
template <batch_reduction R>
void reduce_totals(batch_totals& t, index_t width, const R& reduction) {
  double sums[3] = {t.local_tokens, t.local_sequences, t.local_nonempty};
  reduction.sum(sums, 3);
  double maxes[1] = {double(width)};
  reduction.max(maxes, 1);
  t.tokens = sums[0];
  t.sequences = sums[1];
  t.nonempty = sums[2];
  t.max_width = maxes[0];
}

// ---- (c) token pass -----------------------------------------------------------------------------

/// Lane accumulators of one row in the token pass.
template <class O, class L>
struct row_lanes {
  L loss = L(0.0f);    // Σ_t (c_t·ℓ + β·k + terms), before w_i
  L gather = L(0.0f);  // Σ_t ∂/∂log ρ (sequence ratios)
  stat_lanes<L> stats[pass_layout<O>::stats];
  index_t first_bad = -1;  // flat index of the first in-token with a non-finite value
  int bad_code = 0;        // which input, see bad_input_at
};

/// Adds node N's lane statistics (its token_context's) to the row's: the sums and counts, and
/// the minima and maxima it reports.
template <class N, class L, int K>
GRPO_HD void merge_stats(stat_lanes<L>* row, const stat_lanes<L> (&c)[K]) {
  if constexpr (node_detail::stat_count_of<N>() > 0)
    for_each_index(
        [&](auto J) {
          constexpr int j = int(decltype(J)::value);
          constexpr unsigned flags = node_detail::stat_flags_of<N, j>;
          row[j].sum += c[j].sum;
          row[j].n += c[j].n;
          if constexpr ((flags & stat::min) != 0) row[j].lo = lane::min(row[j].lo, c[j].lo);
          if constexpr ((flags & stat::max) != 0) row[j].hi = lane::max(row[j].hi, c[j].hi);
        },
        std::make_index_sequence<std::size_t(node_detail::stat_count_of<N>())>{});
}

/// The weight each node's contribution gets in a row: the aggregation's w_i, or the node's own
/// for a term with its own aggregation (grpo::aggregated).
template <class O>
struct row_weights {
  double w[O::node_count];
};

template <class O>
GRPO_HD row_weights<O> weights_of(const O& obj, const sequence_summary<O>& s, const batch_totals& t) {
  row_weights<O> r;
  const bool live = s.info.length > 0;
  const double w = live ? obj.aggregation.sequence_weight(s.info, t) : 0.0;
  for_each_node(obj, [&](auto I, const auto& n) {
    constexpr std::size_t k = decltype(I)::value;
    if constexpr (k != 3 && aggregation_node<std::remove_cvref_t<decltype(n)>>)
      r.w[k] = live ? n.sequence_weight(s.info, t) : 0.0;
    else
      r.w[k] = w;
  });
  return r;
}

/// A token lane's gradient, already weighted: dL/dlogp, dL/dH, and ∂L/∂log ρ (for the gather).
template <class L>
struct token_gradient {
  L dlogp, d_entropy, d_log_ratio;
};

/// The fold over the nodes for one lane of tokens: adds the weighted loss and the statistics to
/// `acc` and returns the weighted gradients. `wl[k]` is node k's row weight as a lane.
template <bool KL, class L, class O, int K>
GRPO_HD token_gradient<L> token_terms(const O& obj, token_args<L>& a, const sequence_summary<O>& s,
                                      const L (&wl)[K], row_lanes<O, L>& acc) {
  using layout = pass_layout<O>;
  // Calls hook(node, context) for node I with its state and statistics, then adds them to the row.
  auto with = [&](auto I, auto&& hook) {
    constexpr std::size_t k = decltype(I)::value;
    using N = typename O::template node_type<k>;
    constexpr int S = node_detail::stat_count_of<N>();
    constexpr int off = layout::own_stats + layout::stat_at[k];
    token_context<L, O, state_of<N, O>, S> c(a, &obj, &s.info, &s.states.template get<k>());
    auto r = hook(obj.template node<k>(), c);
    merge_stats<N>(acc.stats + off, c.slots);
    return r;
  };
  // the ratio first: it sets a.log_ratio and a.ratio for everyone else
  const L d_own = with(index_c<0>{}, [](const auto& n, auto& c) { return n.log_ratio(c); });

  L scale(1.0f), value(0.0f), direct(0.0f), d_lr(0.0f), d_ent(0.0f);
  for_each_index(
      [&](auto I) {
        if constexpr (decltype(I)::value >= 4 && weight_node<typename O::template node_type<decltype(I)::value>>)
          scale = scale * with(I, [](const auto& n, auto& c) { return n.policy_weight(c); });
      },
      std::make_index_sequence<O::node_count>{});
  {
    const policy_value<L> p = with(index_c<1>{}, [](const auto& n, auto& c) { return n.policy(c); });
    const L ws = wl[1] * scale;
    value = ws * p.value;
    direct = ws * p.d_logp;
    d_lr = ws * p.d_log_ratio;
  }
  if constexpr (KL) {
    const term_value<L> k = with(index_c<2>{}, [](const auto& n, auto& c) { return n.term(c); });
    const L wb = wl[2] * L(obj.beta);
    value = value + wb * k.value;
    direct = direct + wb * k.d_logp;
    d_lr = d_lr + wb * k.d_log_ratio;
    acc.stats[0].sum += lane::when(a.in, k.value);
    acc.stats[0].hi = lane::max(acc.stats[0].hi, lane::select(a.in, k.value, L(-__builtin_huge_valf())));
  }
  for_each_index(
      [&](auto I) {
        constexpr std::size_t k = decltype(I)::value;
        if constexpr (k >= 4 && term_node<typename O::template node_type<k>>) {
          const term_value<L> t = with(I, [](const auto& n, auto& c) { return n.term(c); });
          value = value + wl[k] * t.value;
          direct = direct + wl[k] * t.d_logp;
          d_lr = d_lr + wl[k] * t.d_log_ratio;
          d_ent = d_ent + wl[k] * t.d_entropy;
        }
      },
      std::make_index_sequence<O::node_count>{});
  acc.loss += lane::when(a.in, value);
  if constexpr (layout::gathers) acc.gather += lane::when(a.in, d_lr);
  return {lane::when(a.in, direct + d_lr * d_own), lane::when(a.in, d_ent), d_lr};
}

/// Writes (or adds) one lane of gradients: write mode sets every position (0 where a token takes
/// no part), accumulate mode adds at the in-tokens and leaves the others untouched.
template <class L, class Real>
GRPO_HD void store_gradient(Real* __restrict out, index_t k, int n, const L& g, const lane::mask_of<L>& in, grad_mode mode) {
  if (out == nullptr) return;
  if (mode == grad_mode::write) lane::store(out + k, g, n);
  else {
    const L prev = lane::load<L>(out + k, n);
    lane::store(out + k, lane::select(in, prev + g, prev), n);
  }
}

/// The bad code of a token whose inputs are finite but whose loss or gradient is not.
inline constexpr int overflow_code = 2 * 7;

/// Which input holds the first non-finite value at flat index k, as 2·input + (NaN ? 1 : 0)
/// with input 1 logp, 2 old, 3 ref, 4 entropy, 5 sampler_logp, 6 token_advantages (0: none).
/// Called once, for the first bad token of a row, on any backend.
template <class O, class Real>
GRPO_HD int bad_input_at(const token_batch<Real>& b, index_t k, const pass_flags& f) {
  const index_t i = k / b.T, t = k - i * b.T;
  const token_args<Real> a = load_token<Real, O>(b, i, t, 1, f);
  const Real v[] = {a.logp, b.old != nullptr ? a.old : Real(0), f.kl ? a.ref : Real(0),
                    f.entropy ? a.entropy : Real(0), a.sampler,
                    b.token_advantages != nullptr ? a.A : Real(0)};
  for (int j = 0; j < 6; ++j)
    if (!lane::isfinite(v[j])) return 2 * (j + 1) + (v[j] != v[j] ? 1 : 0);
  return 0;
}

/// The token pass over tokens t = t0, t0 + step, … of the row of summary s.
template <class L, bool Check, bool KL, class O, class Real>
GRPO_HD void pass_tokens(const O& obj, const token_batch<Real>& b_in, const sequence_summary<O>& s_in,
                         const row_weights<O>& w, const gradient_out<Real>& g_in, index_t t0, index_t step,
                         const pass_flags& f_in, row_lanes<O, L>& acc) {
  constexpr int W = lane::traits<L>::width;
  // local copies: the compiler then knows the pointers and per-sequence values are invariants
  const token_batch<Real> b = b_in;
  const sequence_summary<O> s = s_in;
  const gradient_out<Real> g = g_in;
  const pass_flags f = f_in;
  const index_t i = s.info.index, T = b.T;
  L wl[O::node_count];
  for (std::size_t k = 0; k < O::node_count; ++k) wl[k] = L(w.w[k]);
  // restrict: the compiler may keep the hyper-parameters in registers across the stores
  Real* __restrict const dlogp = g.dlogp;
  Real* __restrict const dentropy = g.dentropy;
  auto zeros = [&](index_t k, int n) {
    if (g.mode == grad_mode::write) {
      if (dlogp != nullptr) lane::store(dlogp + k, L(0.0f), n);
      if (dentropy != nullptr) lane::store(dentropy + k, L(0.0f), n);
    }
  };
  auto chunk = [&](index_t t, int n) {
    const index_t k = b.flat(i, t);
    token_args<L> a;
    a.in = load_in<L>(b, i, t, n);
    load_values<L, O>(b, i, t, n, f, a);
    if constexpr (Check) {
      const auto bad = bad_values<L, O>(b, a, f);
      if (lane::any(bad) && acc.first_bad < 0) {
        acc.first_bad = k + lane::first(bad);
        acc.bad_code = bad_input_at<O>(b, acc.first_bad, f);
      }
    }
    if (f.entropy) acc.stats[1].sum += lane::when(a.in, a.entropy);
    const token_gradient<L> d = token_terms<KL>(obj, a, s, wl, acc);
    if constexpr (Check) {
      // finite inputs can still overflow the working precision (an unclamped ratio e^(logp-old),
      // a huge advantage times logp): the stored gradient must be finite too. The token's loss
      // and ∂/∂log ρ go into the row's sums, which check_row_sums tests once per row.
      const auto over = a.in & !lane::isfinite(d.dlogp);
      if (lane::any(over) && acc.first_bad < 0) {
        acc.first_bad = k + lane::first(over);
        acc.bad_code = bad_input_at<O>(b, acc.first_bad, f);
        if (acc.bad_code == 0) acc.bad_code = overflow_code;
      }
    }
    store_gradient(dlogp, k, n, d.dlogp, a.in, g.mode);
    store_gradient(dentropy, k, n, d.d_entropy, a.in, g.mode);
  };
  // tokens up to the last that can be in (whole lanes first: n = W is a constant there), then
  // zeros for the padding
  const index_t end = s.end;
  const index_t full = end < T - W + 1 ? end : T - W + 1;
  index_t t = t0;
  for (; t < full; t += step) chunk(t, W);
  for (; t < end; t += step) chunk(t, T - t < W ? int(T - t) : W);
  for (; t < T; t += step) zeros(b.flat(i, t), T - t < W ? int(T - t) : W);
}

/// The sequence ratio's gather: dL/dlogp_t += G_i·gather_t at the in-tokens (G_i = Σ_t ∂L/∂log s,
/// weighted). Checked (Check = true), it returns the flat index of the first in-token whose
/// gathered gradient is not finite (G_i or the sum overflowing float), else -1.
template <class L, bool Check = false, class O, class Real>
GRPO_HD index_t gather_tokens(const O& obj, const token_batch<Real>& b, const sequence_summary<O>& s,
                              double G, const gradient_out<Real>& g, index_t t0, index_t step,
                              const pass_flags& f) {
  index_t bad = -1;
  if constexpr (pass_layout<O>::gathers) {
    constexpr int W = lane::traits<L>::width;
    if (g.dlogp == nullptr || !(s.info.length > 0)) return bad;
    const index_t i = s.info.index, end = b.row_end(i);
    const L wG(G);
    for (index_t t = t0; t < end; t += step) {
      const int n = end - t < W ? int(end - t) : W;
      token_args<L> a;
      a.in = load_in<L>(b, i, t, n);
      if (!lane::any(a.in)) continue;
      load_values<L, O>(b, i, t, n, f, a);
      token_context<L, O, state_of<typename O::ratio_type, O>> c(a, &obj, &s.info, &s.states.template get<0>());
      const index_t k = b.flat(i, t);
      const L prev = lane::load<L>(g.dlogp + k, n);
      const L next = prev + wG * obj.ratio.gather(c);
      if constexpr (Check) {
        const auto over = a.in & !lane::isfinite(next);
        if (bad < 0 && lane::any(over)) bad = k + lane::first(over);
      }
      lane::store(g.dlogp + k, lane::select(a.in, next, prev), n);
    }
  }
  return bad;
}

// ---- (d) results --------------------------------------------------------------------------------

/// Calls f(index_c<k>{}, flag_c) for every statistic k of O, where decltype(flag_c)::value are
/// its stat:: flags: the reductions below form only the extrema and sequence means a statistic
/// reports (the others stay ±inf), which matters on short rows.
template <class O, class F>
GRPO_HD void for_each_stat(F&& f) {
  for_each_index(
      [&](auto K) {
        f(K, std::integral_constant<unsigned, pass_layout<O>::stat_flags[decltype(K)::value]>{});
      },
      std::make_index_sequence<pass_layout<O>::stats>{});
}

/// One row's sums in double (what the threads of a row combine).
template <class O>
struct row_result {
  static constexpr int S = pass_layout<O>::stats;
  double loss = 0, gather = 0;
  double sum[S] = {}, lo[S], hi[S];
  index_t first_bad = -1;
  int bad_code = 0;
  GRPO_HD row_result() {
    for (int k = 0; k < S; ++k) {
      lo[k] = __builtin_huge_val();
      hi[k] = -__builtin_huge_val();
    }
  }
};

template <class O, class L>
GRPO_HD row_result<O> reduce(const row_lanes<O, L>& acc) {
  row_result<O> r;
  r.loss = lane::reduce_sum(acc.loss);
  r.gather = lane::reduce_sum(acc.gather);
  for_each_stat<O>([&](auto K, auto F) {
    constexpr int k = int(decltype(K)::value);
    r.sum[k] = lane::reduce_sum(acc.stats[k].sum) + double(acc.stats[k].n);
    if constexpr ((F.value & stat::min) != 0) r.lo[k] = lane::reduce_min(acc.stats[k].lo);
    if constexpr ((F.value & stat::max) != 0) r.hi[k] = lane::reduce_max(acc.stats[k].hi);
  });
  r.first_bad = acc.first_bad;
  r.bad_code = acc.bad_code;
  return r;
}

/// The first of two (index, code) pairs (index -1 = none).
GRPO_HD void keep_first(index_t& k, int& code, index_t k2, int code2) {
  if (k2 >= 0 && (k < 0 || k2 < k)) {
    k = k2;
    code = code2;
  }
}

/// Checked passes: a row whose loss or ∂/∂log ρ sum is not finite although its inputs are (a
/// token's loss overflowing float, or finite losses whose sum does) is an overflow reported at the
/// row's first in-token (unless the row already has a bad input).
template <class O, class Real>
GRPO_HD void check_row_sums(const token_batch<Real>& b, const sequence_summary<O>& s, row_result<O>& r) {
  if (r.first_bad >= 0 || (lane::isfinite(r.loss) && lane::isfinite(r.gather))) return;
  const index_t i = s.info.index;
  for (index_t t = 0; t < b.row_end(i); ++t)
    if (b.in(i, t)) return keep_first(r.first_bad, r.bad_code, b.flat(i, t), overflow_code);
}

template <class O>
GRPO_HD void combine(row_result<O>& a, const row_result<O>& b) {
  a.loss += b.loss;
  a.gather += b.gather;
  for_each_stat<O>([&](auto K, auto F) {
    constexpr int k = int(decltype(K)::value);
    a.sum[k] += b.sum[k];
    if constexpr ((F.value & stat::min) != 0) a.lo[k] = b.lo[k] < a.lo[k] ? b.lo[k] : a.lo[k];
    if constexpr ((F.value & stat::max) != 0) a.hi[k] = b.hi[k] > a.hi[k] ? b.hi[k] : a.hi[k];
  });
  keep_first(a.first_bad, a.bad_code, b.first_bad, b.bad_code);
}

/// The pass's sums over rows: combinable in any grouping, combined in a fixed order.
template <class O>
struct pass_partial {
  static constexpr int S = pass_layout<O>::stats;
  double loss = 0, tokens = 0, sequences = 0, nonempty = 0;
  double sum[S] = {}, seq_sum[S] = {};
  double lo[S], hi[S], seq_lo[S], seq_hi[S];
  index_t bad_token = -1, bad_sequence = -1;
  int bad_code = 0, sequence_code = 0;
  GRPO_HD pass_partial() {
    for (int k = 0; k < S; ++k) {
      lo[k] = seq_lo[k] = __builtin_huge_val();
      hi[k] = seq_hi[k] = -__builtin_huge_val();
    }
  }
};

/// Adds the finished row of summary s (its loss already weighted) to the pass partial.
template <class O>
GRPO_HD void add_row(pass_partial<O>& p, const sequence_summary<O>& s, const row_result<O>& r) {
  const double n = s.info.length;
  p.loss += r.loss;
  p.tokens += n;
  p.sequences += 1;
  p.nonempty += n > 0 ? 1 : 0;
  for_each_stat<O>([&](auto K, auto F) {
    constexpr int k = int(decltype(K)::value);
    constexpr unsigned fl = F.value;
    p.sum[k] += r.sum[k];
    if constexpr ((fl & stat::min) != 0) p.lo[k] = r.lo[k] < p.lo[k] ? r.lo[k] : p.lo[k];
    if constexpr ((fl & stat::max) != 0) p.hi[k] = r.hi[k] > p.hi[k] ? r.hi[k] : p.hi[k];
    if constexpr ((fl & (stat::seq_mean | stat::seq_min | stat::seq_max)) != 0)
      if (n > 0) {
        const double v = r.sum[k] / n;
        p.seq_sum[k] += v;
        p.seq_lo[k] = v < p.seq_lo[k] ? v : p.seq_lo[k];
        p.seq_hi[k] = v > p.seq_hi[k] ? v : p.seq_hi[k];
      }
  });
  keep_first(p.bad_token, p.bad_code, r.first_bad, r.bad_code);
  if (s.bad) keep_first(p.bad_sequence, p.sequence_code, s.info.index, s.bad);
}

template <class O>
GRPO_HD void combine(pass_partial<O>& a, const pass_partial<O>& b) {
  a.loss += b.loss;
  a.tokens += b.tokens;
  a.sequences += b.sequences;
  a.nonempty += b.nonempty;
  for_each_stat<O>([&](auto K, auto F) {
    constexpr int k = int(decltype(K)::value);
    constexpr unsigned fl = F.value;
    a.sum[k] += b.sum[k];
    if constexpr ((fl & stat::min) != 0) a.lo[k] = b.lo[k] < a.lo[k] ? b.lo[k] : a.lo[k];
    if constexpr ((fl & stat::max) != 0) a.hi[k] = b.hi[k] > a.hi[k] ? b.hi[k] : a.hi[k];
    if constexpr ((fl & (stat::seq_mean | stat::seq_min | stat::seq_max)) != 0) {
      a.seq_sum[k] += b.seq_sum[k];
      a.seq_lo[k] = b.seq_lo[k] < a.seq_lo[k] ? b.seq_lo[k] : a.seq_lo[k];
      a.seq_hi[k] = b.seq_hi[k] > a.seq_hi[k] ? b.seq_hi[k] : a.seq_hi[k];
    }
  });
  keep_first(a.bad_token, a.bad_code, b.bad_token, b.bad_code);
  keep_first(a.bad_sequence, a.sequence_code, b.bad_sequence, b.sequence_code);
}

/// One sequence on one thread: its token pass, the gather, and its row result added to `p`.
template <class L, bool Check, class O, class Real>
GRPO_HD void run_sequence(const O& obj_in, const token_batch<Real>& b, const sequence_summary<O>& s,
                          const batch_totals& totals, const gradient_out<Real>& g, pass_partial<O>& p) {
  const O obj = obj_in;  // a local copy: its hyper-parameters are loop invariants the compiler hoists
  const pass_flags f = flags_of(obj, b);
  const row_weights<O> w = weights_of(obj, s, totals);
  row_lanes<O, L> acc;
  constexpr index_t W = lane::traits<L>::width;
  if (f.kl) {
    if constexpr (O::has_kl) pass_tokens<L, Check, true>(obj, b, s, w, g, 0, W, f, acc);
  } else {
    pass_tokens<L, Check, false>(obj, b, s, w, g, 0, W, f, acc);
  }
  row_result<O> r = reduce(acc);
  if constexpr (Check) check_row_sums(b, s, r);
  const index_t over = gather_tokens<L, Check>(obj, b, s, r.gather, g, 0, W, f);
  if constexpr (Check) keep_first(r.first_bad, r.bad_code, over, overflow_code);
  add_row(p, s, r);
}

// ---- the KL estimators alone ---------------------------------------------------------------------

/// The per-token KL of any estimator and its derivative in logp, over n tokens, without a policy
/// term: value[k] = k(logp[k], ref[k]), dvalue[k] = ∂/∂logp[k] (the estimator's straight-through
/// or IS-corrected gradient included; `old`, when given, sets the ratio ρ = exp(logp − old) an
/// IS-corrected estimator weights by, else ρ = 1). Every input must be finite.
template <class K, class Real>
  requires is_part_of<K, kl_tag>
status kl_terms(const K& kl, const Real* logp, const Real* ref, index_t n, Real* value, Real* dvalue,
                const Real* old = nullptr) {
  if (n < 0) return {errc::shape_mismatch, "n", -1, "n must be >= 0"};
  if (logp == nullptr || ref == nullptr || value == nullptr)
    return {errc::null_pointer, logp == nullptr ? "logp" : (ref == nullptr ? "ref" : "value"), -1, "required"};
  if constexpr (requires { kl.check(); })
    if (const char* m = kl.check()) return {errc::bad_config, "kl", -1, m};
  using probe = detail::probe_objective<surrogate::gpg>;
  const probe obj{};
  const sequence_info seq{};
  for (index_t k = 0; k < n; ++k) {
    const Real o = old != nullptr ? old[k] : logp[k];
    if (!lane::isfinite(logp[k]) || !lane::isfinite(ref[k]) || !lane::isfinite(o))
      return {errc::non_finite, !lane::isfinite(logp[k]) ? "logp" : (!lane::isfinite(ref[k]) ? "ref" : "old"), k,
              "non-finite input"};
    token_args<Real> a{};
    a.logp = logp[k], a.ref = ref[k], a.old = o, a.in = true;
    a.log_ratio = logp[k] - o, a.ratio = lane::exp(a.log_ratio);
    token_context<Real, probe, state_of<K, probe>> c(a, &obj, &seq, nullptr);
    const term_value<Real> t = kl.term(c);
    value[k] = t.value;
    if (dvalue != nullptr) dvalue[k] = t.d_logp + t.d_log_ratio;
  }
  return {};
}

// ---- statistics -------------------------------------------------------------------------------

/// The named statistics of one evaluation (over this rank's in-tokens and sequences). Look one up
/// with stats["clip_high"] (NaN when absent), or iterate: for (const auto& e : stats).
struct objective_statistics {
  struct entry {
    const char* base = "";
    const char* suffix = "";
    double value = 0;
    [[nodiscard]] std::string name() const { return std::string(base) + suffix; }
  };
  static constexpr int capacity = 96;
  double token_count = 0;  // in-tokens (after dropped sequences)
  double sequences = 0, nonempty_sequences = 0;
  entry items[capacity];
  int size = 0;

  [[nodiscard]] const entry* begin() const { return items; }
  [[nodiscard]] const entry* end() const { return items + size; }
  [[nodiscard]] bool has(std::string_view name) const { return find(name) != nullptr; }
  [[nodiscard]] double operator[](std::string_view name) const {
    const entry* e = find(name);
    return e != nullptr ? e->value : __builtin_nan("");
  }
  [[nodiscard]] const entry* find(std::string_view name) const {
    for (const entry& e : *this) {
      const std::string_view b(e.base);
      if (name.size() == b.size() + std::string_view(e.suffix).size() && name.substr(0, b.size()) == b &&
          name.substr(b.size()) == e.suffix)
        return &e;
    }
    return nullptr;
  }
  void add(const char* base, const char* suffix, double v) {
    if (size < capacity) items[size++] = {base, suffix, v};
  }
};

struct objective_result {
  double loss = 0;  // this rank's share of the global loss
  objective_statistics stats;
  batch_totals totals;  // the normalisers used (after the reduction hook)
};

namespace pass_detail {
template <class O>
void add_stats(objective_statistics& out, const pass_partial<O>& p, int k, const stat_def& d) {
  // a mean over nothing is 0 (the peers' masked means clamp the count at 1); the extrema of
  // nothing are NaN (TRL's nanmin/nanmax over rows without tokens)
  const double n = p.tokens, m = p.nonempty, none = __builtin_nan("");
  if (d.flags & stat::mean) out.add(d.name, "", n > 0 ? p.sum[k] / n : 0.0);
  if (d.flags & stat::min) out.add(d.name, "_min", n > 0 ? p.lo[k] : none);
  if (d.flags & stat::max) out.add(d.name, "_max", n > 0 ? p.hi[k] : none);
  if (d.flags & stat::seq_mean) out.add(d.name, "_seq_mean", m > 0 ? p.seq_sum[k] / m : 0.0);
  if (d.flags & stat::seq_min) out.add(d.name, "_seq_min", m > 0 ? p.seq_lo[k] : none);
  if (d.flags & stat::seq_max) out.add(d.name, "_seq_max", m > 0 ? p.seq_hi[k] : none);
}
}  // namespace pass_detail

/// The loss and the named statistics from the combined partial.
template <class O, class Real>
objective_result finalize(const O& obj, const token_batch<Real>& b, const pass_partial<O>& p,
                          const batch_totals& totals) {
  objective_result r;
  r.loss = p.loss;
  r.totals = totals;
  r.stats.token_count = p.tokens;
  r.stats.sequences = p.sequences;
  r.stats.nonempty_sequences = p.nonempty;
  const pass_flags f = flags_of(obj, b);
  if (f.kl) pass_detail::add_stats(r.stats, p, 0, pass_stats[0]);
  if (f.entropy) pass_detail::add_stats(r.stats, p, 1, pass_stats[1]);
  for_each_node(obj, [&](auto I, const auto& node) {
    using N = std::remove_cvref_t<decltype(node)>;
    if constexpr (node_detail::stat_count_of<N>() > 0)
      for (int j = 0; j < node_detail::stat_count_of<N>(); ++j)
        pass_detail::add_stats(r.stats, p, pass_layout<O>::own_stats + pass_layout<O>::stat_at[decltype(I)::value] + j,
                               N::stats[j]);
  });
  return r;
}

/// The status of a checked pass: the first bad sequence (a length outside [0, T], a non-finite
/// advantage), else the first in-token with a non-finite value, named by its input. Reads only
/// the partial, so it serves device backends too.
template <class O>
status pass_status(const pass_partial<O>& p, index_t T) {
  if (p.bad_sequence >= 0) {
    const index_t i = p.bad_sequence;
    if (p.sequence_code == 1) return {errc::out_of_range, "lengths", i, "negative length"};
    if (p.sequence_code == 2) return {errc::out_of_range, "lengths", i, "length > T = " + std::to_string(T)};
    return {errc::non_finite, "advantages", i, "non-finite advantage"};
  }
  if (p.bad_token >= 0 && p.bad_code == overflow_code)
    return {errc::non_finite, "loss", p.bad_token,
            "the gradient at this in-token, or the loss of the sequence whose first in-token it is, "
            "overflows from "
            "finite inputs (an unclamped ratio exp(logp - old), or a huge logp or advantage); check "
            "the inputs' range or clamp the log-ratio"};
  if (p.bad_token >= 0) {
    static constexpr const char* names[] = {"?", "logp", "old", "ref", "entropy", "sampler_logp",
                                            "token_advantages"};
    const int which = p.bad_code / 2 <= 6 ? p.bad_code / 2 : 0;
    return {errc::non_finite, names[which], p.bad_token,
            p.bad_code % 2 ? "NaN at a masked-in position" : "Inf at a masked-in position"};
  }
  return {};
}

}  // namespace grpo
