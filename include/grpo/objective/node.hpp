#pragma once
// The node protocol. Every part of an objective (ratio, surrogate, KL estimator, aggregation,
// each correction) is a node: a small struct of hyper-parameters whose hooks the fused pass
// calls. Every hook is optional except the one that makes a node what it is (below); the pass is
// a fold over the nodes and names none of them.
//
//   hook (all members)                              when                       default
//   static constexpr unsigned reads                 inputs it needs (grpo::reads::*)   none
//   const char* check() const                       host, before the pass      ok
//   void prepare(const token_batch<R>&, In in)      host, before the pass: batch-wide values
//   bool needs_prepare() const                      (in(i, t): token t of i counts)
//   static constexpr int prepass_sums = K           K per-sequence sums        0
//   void prepass(Ctx& c, L* sums) const             every in-token, before the token pass
//   state finish(const double* sums, const sequence_info&, const O&) const   per sequence
//   bool keep_sequence(const sequence_info&) const  drops a sequence entirely  true
//   static constexpr stat_def stats[]               its statistics             none
//
//   role hooks (what makes the node):
//   ratio        L log_ratio(Ctx& c) const          sets c.log_ratio, c.ratio; returns
//                                                   ∂log ρ/∂logp along the token's own path
//                L gather(Ctx& c) const             optional: the token's share of a
//                                                   sequence-wide ratio (see pass.hpp)
//   surrogate    policy_value<L> policy(Ctx& c) const     ℓ, ∂ℓ/∂log ρ, ∂ℓ/∂logp
//   kl           term_value<L> term(Ctx& c) const         k and its derivatives (× β by the pass)
//   aggregation  double sequence_weight(const sequence_info&, const batch_totals&) const
//   correction   any of: L policy_weight(Ctx& c) const (multiplies ℓ),
//                term_value<L> term(Ctx& c) const (adds a term), keep_sequence, prepass/finish
//
// `Ctx` is a token_context: the token's inputs (c.logp, c.old, c.ref, c.entropy, c.sampler,
// c.A, the in-mask c.in), the ratio (c.log_ratio, c.ratio), the node's own per-sequence state
// (c.state), the sequence (c.seq), the objective (c.objective()) and the node's statistics
// (c.mean(k, v), c.count(k, mask), c.extrema(k, v) for its stats[k]). The lane type L
// (grpo/core/lanes.hpp) is `typename Ctx::lane`: float, double or 8 AVX2 floats; a formula is
// written once over it with lane::select / min / max / clamp / exp.
#include <grpo/core/lanes.hpp>
#include <grpo/objective/batch.hpp>

#include <cstddef>
#include <type_traits>
#include <utility>

namespace grpo {

/// The inputs a node needs beyond logp, the mask and the advantages (which every pass reads).
namespace reads {
inline constexpr unsigned old = 1u << 0;        // [N,T] π_old (absent: old = sg(logp))
inline constexpr unsigned ref = 1u << 1;        // [N,T] π_ref (only while β ≠ 0 for the KL)
inline constexpr unsigned entropy = 1u << 2;    // [N,T]
inline constexpr unsigned sampler = 1u << 3;    // [N,T] the sampler's log-probs, required
inline constexpr unsigned sampler_if_given = 1u << 4;  // the same, = old when absent
inline constexpr unsigned truncated = 1u << 5;  // [N]
inline constexpr unsigned sequence_advantage = 1u << 6;  // needs advantages [N], not [N,T]
}  // namespace reads

/// What a sequence hook sees.
struct sequence_info {
  index_t index = 0;     // i
  index_t width = 0;     // T, the padded width
  double length = 0;     // T_i: in-tokens of the sequence (0 once a node dropped it)
  double advantage = 0;  // A_i (0 with token advantages)
  bool truncated = false;
};

/// The batch-wide totals an aggregation may divide by. The first three and `max_width` go
/// through the batch_reduction hook (sum, max), so every data-parallel rank sees global values;
/// the `local_` ones stay this rank's.
struct batch_totals {
  double tokens = 0;     // Σ_i T_i
  double sequences = 0;  // N
  double nonempty = 0;   // N⁺: sequences with at least one in-token
  double max_width = 0;  // padded width T
  double local_tokens = 0, local_sequences = 0, local_nonempty = 0;

  /// The totals of two disjoint sets of sequences (micro-batches, ranks): counts add, widths max.
  /// The local_* fields are left alone: they belong to the set being evaluated.
  batch_totals& operator+=(const batch_totals& o) {
    tokens += o.tokens;
    sequences += o.sequences;
    nonempty += o.nonempty;
    max_width = max_width < o.max_width ? o.max_width : max_width;
    return *this;
  }
};

template <class L>
struct policy_value {
  L value;        // ℓ
  L d_log_ratio;  // ∂ℓ/∂log ρ
  L d_logp;       // ∂ℓ/∂logp at fixed ρ (terms that multiply logp itself)
};

template <class L>
struct term_value {
  L value;
  L d_logp;               // ∂/∂logp at fixed ρ
  L d_log_ratio = L(0);   // ∂/∂log ρ (IS-corrected KL)
  L d_entropy = L(0);     // ∂/∂H (entropy bonus)
};

/// Statistics: each node lists quantities; the pass reduces each over the in-tokens and over
/// the sequences, as its flags ask. The reported names are `name` for the token mean and
/// `name` + "_min", "_max", "_seq_mean", "_seq_min", "_seq_max" (the seq_ forms reduce each
/// sequence's own token mean over the non-empty sequences).
namespace stat {
inline constexpr unsigned mean = 1u << 0, min = 1u << 1, max = 1u << 2, seq_mean = 1u << 3,
                          seq_min = 1u << 4, seq_max = 1u << 5;
}
struct stat_def {
  const char* name;
  unsigned flags;
};

struct no_state {};

namespace node_detail {
template <class N>
constexpr unsigned reads_of() {
  if constexpr (requires { N::reads; }) return N::reads;
  else return 0;
}
template <class N>
constexpr int prepass_sums_of() {
  if constexpr (requires { N::prepass_sums; }) return N::prepass_sums;
  else return 0;
}
template <class N>
constexpr int stat_count_of() {
  if constexpr (requires { N::stats; }) return int(sizeof(N::stats) / sizeof(stat_def));
  else return 0;
}
/// The flags of N's j-th statistic as a compile-time constant (device code may not read N::stats).
template <class N, int J>
inline constexpr unsigned stat_flags_of = N::stats[J].flags;
template <class N, class O>
auto state_of_impl() {
  if constexpr (requires(const N& n, const double* s, const sequence_info& i, const O& o) {
                  n.finish(s, i, o);
                })
    return decltype(std::declval<const N&>().finish(nullptr, std::declval<const sequence_info&>(),
                                                    std::declval<const O&>())){};
  else
    return no_state{};
}
}  // namespace node_detail

template <class N, class O>
using state_of = decltype(node_detail::state_of_impl<N, O>());

template <std::size_t I>
struct index_c {
  static constexpr std::size_t value = I;
};

/// A device-safe heterogeneous pack (one member per index), for the per-sequence states.
template <std::size_t I, class T>
struct pack_leaf {
  T value{};
};
template <class Seq, class... Ts>
struct pack_impl;
template <std::size_t... I, class... Ts>
struct pack_impl<std::index_sequence<I...>, Ts...> : pack_leaf<I, Ts>... {};
template <class... Ts>
struct pack : pack_impl<std::index_sequence_for<Ts...>, Ts...> {
  template <std::size_t I, class T>
  static GRPO_HD T& leaf(pack_leaf<I, T>& l) { return l.value; }
  template <std::size_t I, class T>
  static GRPO_HD const T& leaf(const pack_leaf<I, T>& l) { return l.value; }
  template <std::size_t I>
  GRPO_HD auto& get() { return leaf<I>(*this); }
  template <std::size_t I>
  GRPO_HD const auto& get() const { return leaf<I>(*this); }
};

/// Calls f(index_c<I>{}) for I = 0 .. n-1, in order.
template <class F, std::size_t... I>
GRPO_HD void for_each_index(F&& f, std::index_sequence<I...>) {
  (f(index_c<I>{}), ...);
}

/// One lane accumulator per statistic quantity of a row.
template <class L>
struct stat_lanes {
  L sum = L(-0.0f);  // −0: adding it changes nothing
  L lo = L(__builtin_huge_valf());
  L hi = L(-__builtin_huge_valf());
  index_t n = 0;  // counts (kept in a general register, not a lane)
};

/// What a token hook sees (see the table at the top).
template <class L>
struct token_args {
  using lane = L;
  using mask = grpo::lane::mask_of<L>;
  L logp, old, ref, entropy, sampler, A;
  L log_ratio, ratio;
  mask in;
};

template <class L, class O, class State, int K = 0>
struct token_context {
  using lane = L;
  using mask = grpo::lane::mask_of<L>;
  using objective_type = O;
  token_args<L>& args;
  const L &logp, &old, &ref, &entropy, &sampler, &A;
  L &log_ratio, &ratio;
  const mask& in;
  const O* obj;
  const sequence_info* seq;
  const State* st;
  /// This lane's statistics of the node, which the pass adds to the row's. A hook records each
  /// statistic at most once per call (a statistic it does not record adds nothing).
  stat_lanes<L> slots[K > 0 ? K : 1];

  GRPO_HD token_context(token_args<L>& a, const O* o, const sequence_info* s, const State* state)
      : args(a), logp(a.logp), old(a.old), ref(a.ref), entropy(a.entropy), sampler(a.sampler),
        A(a.A), log_ratio(a.log_ratio), ratio(a.ratio), in(a.in), obj(o), seq(s), st(state) {}

  GRPO_HD const O& objective() const { return *obj; }
  GRPO_HD const State& state() const { return *st; }
  /// Statistic k's token mean gets v at the in-tokens.
  GRPO_HD void mean(int k, const L& v) { slots[k].sum = grpo::lane::when(in, v); }
  /// Statistic k counts the in-tokens where m holds.
  GRPO_HD void count(int k, const mask& m) { slots[k].n = grpo::lane::popcount(in & m); }
  /// Statistic k gets v's token mean, minimum and maximum over the in-tokens.
  GRPO_HD void extrema(int k, const L& v) {
    mean(k, v);
    slots[k].lo = grpo::lane::select(in, v, L(__builtin_huge_valf()));
    slots[k].hi = grpo::lane::select(in, v, L(-__builtin_huge_valf()));
  }
};

}  // namespace grpo
