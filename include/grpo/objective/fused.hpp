#pragma once
// The fused pass body: everything an execution backend needs to evaluate an objective in one
// sweep over the tokens. All per-token and per-sequence functions are GRPO_HD, use no std::
// containers and no exceptions, so a CUDA kernel calls them exactly as the CPU loops do.
//
// The pass, for a batch of N sequences:
//   (a) prepass, per sequence i:  partial_i = Σ_t prepass_token(...)        (sequence_partial)
//                                 summary_i = finish_sequence(partial_i)    (sequence_summary)
//   (b) batch totals:             totals = Σ_i add_to_totals(summary_i); then the host hands
//                                 them to the batch_reduction hook (reduce_totals)
//   (c) token body, per token:    token_step(..., summary_i, w_i = aggregation.weight(T_i,
//                                 totals), grad, acc) writes dL/dlogp and adds to acc
//   (d) combine partials:         combine(pass_partial&, const pass_partial&), then
//                                 finalize_statistics on the host.
// Loss and statistics accumulate in double; per-token math runs in Real (float or double).
#include <grpo/core/reduce.hpp>
#include <grpo/objective/objective.hpp>

#include <cstddef>

namespace grpo {

// ---- (a) per-sequence prepass -----------------------------------------------------------------

/// Sums over the in-tokens of one sequence; combinable, so a GPU block may split a row.
struct sequence_partial {
  double length = 0;        // in-tokens
  double term_sum = 0;      // Σ_t log ρ (GSPO) or Σ_t c_t (GMPO's clamped terms)
  double coef_sum = 0;      // Σ_t token correction weight (top-entropy × token sampler weight)
  double sampler_gap = 0;   // Σ_t (old − sampler)            (sampler_mismatch, sequence level)
  double off_policy_gap = 0;  // Σ_t (sampler − sg(logp))     (off_policy_mask)
};

GRPO_HD void combine(sequence_partial& a, const sequence_partial& b) {
  a.length += b.length;
  a.term_sum += b.term_sum;
  a.coef_sum += b.coef_sum;
  a.sampler_gap += b.sampler_gap;
  a.off_policy_gap += b.off_policy_gap;
}

/// What the token body needs to know about its sequence.
struct sequence_summary {
  double length = 0;       // T_i (0 when the sequence is dropped, e.g. truncated)
  double log_ratio = 0;    // log s_i after the ratio clamp (sequence-level ratios)
  double d_log_ratio = 1;  // derivative of that clamp: 1 or 0
  double coef_sum = 0;     // Σ_t c_t over the sequence's in-tokens
  double factor = 1;       // sequence-level correction factor (sampler weight × off-policy keep)
};

/// The inputs of one token, read from the batch by `load_token` (or gathered by a backend from
/// vector loads): the body below works on values, so every backend shares it whatever its
/// memory access pattern.
template <class Real>
struct token_inputs {
  Real logp;
  Real old;        // = logp when the batch has no `old` (sg(logp): ratio 1)
  Real ref;        // 0 when the batch has no `ref`
  Real entropy;    // 0 when the batch has no `entropy`
  Real sampler;    // = old when the batch has no `sampler_logp`
  Real advantage;  // A_i, or A_{i,t} for token advantages
  bool in;         // mask != 0 and t < length
};

template <class Real>
GRPO_HD token_inputs<Real> load_token(const token_batch<Real>& b, index_t i, index_t t) {
  const index_t k = b.flat(i, t);
  token_inputs<Real> v;
  v.logp = b.logp[k];
  v.old = b.old != nullptr ? b.old[k] : v.logp;
  v.ref = b.ref != nullptr ? b.ref[k] : Real(0);
  v.entropy = b.entropy != nullptr ? b.entropy[k] : Real(0);
  v.sampler = b.sampler_logp != nullptr ? b.sampler_logp[k] : v.old;
  v.advantage = b.advantage(i, t);
  v.in = b.in(i, t);
  return v;
}

/// Product of the per-token correction weights c_t applied to the policy term.
template <class O, class Real>
GRPO_HD Real token_weight(const O& obj, const token_inputs<Real>& v) {
  Real c = Real(1);
  if constexpr (O::template has<correction::top_entropy>)
    c *= obj.corrections.template get<correction::top_entropy>().token_weight(v.entropy);
  if constexpr (O::template has<correction::sampler_mismatch>) {
    const auto& sm = obj.corrections.template get<correction::sampler_mismatch>();
    if (sm.level == correction::is_level::token) c *= sm.weight(v.old - v.sampler);
  }
  return c;
}

template <class O, class Real>
GRPO_HD bool sequence_kept(const O&, const token_batch<Real>& b, index_t i) {
  if constexpr (O::template has<correction::truncated_mask>) return b.truncated[i] == 0;
  (void)b;
  (void)i;
  return true;
}

/// Adds token (i, t) to the prepass sums of its sequence (no-op for a masked-out token).
template <class O, class Real>
GRPO_HD void prepass_token(const O& obj, const token_batch<Real>& b, index_t i, index_t t,
                           sequence_partial& p) {
  if (!b.in(i, t)) return;
  const index_t k = b.flat(i, t);
  p.length += 1.0;
  const Real lp = b.logp[k];
  const Real old = b.old != nullptr ? b.old[k] : lp;
  if constexpr (O::level != ratio_level::token) {
    const Real x = lp - old;
    if constexpr (has_sequence_term<typename O::surrogate_type, Real>) {
      Real dx;
      p.term_sum += double(obj.surrogate.sequence_term(x, b.advantages[i], dx));
    } else {
      p.term_sum += double(x);
    }
  }
  p.coef_sum += double(token_weight(obj, load_token(b, i, t)));
  if constexpr (O::template has<correction::sampler_mismatch>)
    p.sampler_gap += double(old) - double(b.sampler_logp[k]);
  if constexpr (O::template has<correction::off_policy_mask>) {
    const Real sampler = b.sampler_logp != nullptr ? b.sampler_logp[k] : old;
    p.off_policy_gap += double(sampler) - double(lp);
  }
}

template <class O, class Real>
GRPO_HD sequence_summary finish_sequence(const O& obj, const token_batch<Real>& b, index_t i,
                                         const sequence_partial& p) {
  sequence_summary s;
  s.length = sequence_kept(obj, b, i) ? p.length : 0.0;
  const double n = p.length > 1.0 ? p.length : 1.0;
  if constexpr (O::level != ratio_level::token) {
    double d;
    s.log_ratio = obj.ratio.log_ratio(p.term_sum / n, d);
    s.d_log_ratio = d;
  }
  s.coef_sum = p.coef_sum;
  if constexpr (O::template has<correction::sampler_mismatch>) {
    const auto& sm = obj.corrections.template get<correction::sampler_mismatch>();
    if (sm.level == correction::is_level::sequence) s.factor *= sm.weight(p.sampler_gap);
  }
  if constexpr (O::template has<correction::off_policy_mask>) {
    const auto& om = obj.corrections.template get<correction::off_policy_mask>();
    if (!om.keep(double(b.advantages[i]), p.off_policy_gap / n)) s.factor = 0.0;
  }
  return s;
}

/// The whole prepass of sequence i, serially over t.
template <class O, class Real>
GRPO_HD sequence_summary summarize_sequence(const O& obj, const token_batch<Real>& b, index_t i) {
  sequence_partial p;
  const index_t end = b.row_end(i);
  for (index_t t = 0; t < end; ++t) prepass_token(obj, b, i, t, p);
  return finish_sequence(obj, b, i, p);
}

// ---- (b) batch totals -------------------------------------------------------------------------

GRPO_HD void add_to_totals(batch_totals& tot, const sequence_summary& s) { tot.tokens += s.length; }

/// Local totals of a batch whose summaries were summed into `tokens`.
GRPO_HD batch_totals local_totals(double tokens, index_t N, index_t T) {
  batch_totals t;
  t.tokens = tokens;
  t.local_tokens = tokens;
  t.sequences = double(N);
  t.max_width = double(T);
  return t;
}

/// Hands the batch-spanning totals to the reduction hook (host side; the CUDA backend passes
/// device pointers to its own hook instead).
template <batch_reduction R>
void reduce_totals(batch_totals& t, const R& reduction) {
  double sums[2] = {t.tokens, t.sequences};
  reduction.sum(sums, 2);
  double maxes[1] = {t.max_width};
  reduction.max(maxes, 1);
  t.tokens = sums[0];
  t.sequences = sums[1];
  t.max_width = maxes[0];
}

// ---- (c) token body ---------------------------------------------------------------------------

/// Partial sums of the pass (loss already weighted by w_i). Combinable in any grouping; the CPU
/// backend combines them in sequence order, which makes it deterministic.
struct pass_partial {
  double loss = 0;
  double tokens = 0;
  double clipped_low = 0;
  double clipped_high = 0;
  double kl_sum = 0;
  double kl_max = -grpo::detail::inf();
  double ratio_sum = 0;
  double ratio_min = grpo::detail::inf();
  double ratio_max = -grpo::detail::inf();
  double entropy_sum = 0;
};

GRPO_HD void combine(pass_partial& a, const pass_partial& b) {
  a.loss += b.loss;
  a.tokens += b.tokens;
  a.clipped_low += b.clipped_low;
  a.clipped_high += b.clipped_high;
  a.kl_sum += b.kl_sum;
  a.kl_max = b.kl_max > a.kl_max ? b.kl_max : a.kl_max;
  a.ratio_sum += b.ratio_sum;
  a.ratio_min = b.ratio_min < a.ratio_min ? b.ratio_min : a.ratio_min;
  a.ratio_max = b.ratio_max > a.ratio_max ? b.ratio_max : a.ratio_max;
  a.entropy_sum += b.entropy_sum;
}

/// dL/dlogp and dL/dH of one token (both 0 for a token that takes no part).
template <class Real>
struct token_gradient {
  Real dlogp = Real(0);
  Real dentropy = Real(0);
};

/// The token body: adds w_i·(its loss terms) and its statistics to `acc` and returns
/// dL/dlogp[i,t] and dL/dH[i,t] (0 for a token that takes no part).
///
/// Gradient, with c_t the token correction weight, f_i the sequence factor, ℓ the surrogate:
///   token ratio:      w_i·f_i·c_t·(∂ℓ/∂log ρ · dlogρ/dlogp + ∂ℓ/∂logp) + w_i·β·∂k/∂logp
///   GSPO-token:       same with log ρ := log s_i and dlogρ/dlogp = clamp'(mean)
///   sequence (GSPO):  every token t' of the sequence sees s_i, and ∂log s_i/∂logp_t =
///                     clamp'·dx_t/T_i (dx_t = 1, or GMPO's clamp derivative), so
///                     Σ_t' w_i f_i c_t' ∂ℓ/∂log s · ∂log s/∂logp_t
///                       = w_i f_i ∂ℓ/∂log s · clamp' · dx_t · (Σ_t' c_t')/T_i
///                     (∂ℓ/∂log s is the same for every t': one advantage per sequence).
template <class O, class Real>
GRPO_HD token_gradient<Real> token_body(const O& obj, const token_inputs<Real>& v,
                                        const sequence_summary& s, double w_i, pass_partial& acc) {
  token_gradient<Real> out;
  if (!(s.length > 0 && v.in)) return out;
  const Real lp = v.logp;
  // old = sg(logp) when absent: x = logp − logp is 0 for finite logp and NaN otherwise, so a
  // non-finite logp is never hidden.
  const Real x = lp - v.old;
  const Real A = v.advantage;

  Real lr, dlr, dx = Real(1);
  if constexpr (O::level == ratio_level::token) {
    lr = obj.ratio.log_ratio(x, dlr);
  } else {
    lr = Real(s.log_ratio);
    dlr = Real(s.d_log_ratio);
    if constexpr (O::level == ratio_level::sequence &&
                  has_sequence_term<typename O::surrogate_type, Real>) {
      (void)obj.surrogate.sequence_term(x, A, dx);
    }
  }
  const Real rho = grpo::detail::exp_(lr);
  const surrogate_value<Real> sv = obj.surrogate(lr, rho, A, lp);
  const Real c = token_weight(obj, v);
  const Real f = Real(s.factor);

  Real value = f * c * sv.value;
  Real grad;
  if constexpr (O::level == ratio_level::sequence) {
    const Real n = Real(s.length > 1.0 ? s.length : 1.0);
    grad = f * (sv.d_log_ratio * dlr * dx * (Real(s.coef_sum) / n) + c * sv.d_logp);
  } else {
    grad = f * c * (sv.d_log_ratio * dlr + sv.d_logp);
  }

  if constexpr (O::has_kl) {
    if (obj.beta != 0) {  // the KL term is used iff β ≠ 0 (then `ref` is required)
      const Real d = lp - v.ref;
      const kl_value<Real> kv = obj.kl(d, rho, rho * dlr);
      const Real beta = Real(obj.beta);
      value += beta * kv.value;
      grad += beta * kv.d_logp;
      acc.kl_sum += double(kv.value);
      acc.kl_max = double(kv.value) > acc.kl_max ? double(kv.value) : acc.kl_max;
    }
  }

  const Real H = v.entropy;
  if constexpr (O::template has<correction::entropy_bonus>) {
    const Real coef = Real(obj.corrections.template get<correction::entropy_bonus>().coef);
    value -= coef * H;
    out.dentropy = -coef * Real(w_i);
  }
  out.dlogp = Real(w_i) * grad;

  acc.loss += w_i * double(value);
  acc.tokens += 1.0;
  bool low = sv.clipped_low, high = sv.clipped_high;
  if constexpr (O::level == ratio_level::sequence &&
                has_sequence_term<typename O::surrogate_type, Real>) {
    low = low || (dx == Real(0) && A < 0);
    high = high || (dx == Real(0) && A > 0);
  }
  acc.clipped_low += low ? 1.0 : 0.0;
  acc.clipped_high += high ? 1.0 : 0.0;
  const double r = double(rho);
  acc.ratio_sum += r;
  acc.ratio_min = r < acc.ratio_min ? r : acc.ratio_min;
  acc.ratio_max = r > acc.ratio_max ? r : acc.ratio_max;
  acc.entropy_sum += double(H);
  return out;
}

/// Stores one token's gradients: write mode sets every position (0 where the token takes no
/// part); accumulate mode adds at the tokens that take part and leaves the others untouched.
template <class Real>
GRPO_HD void store_gradient(const gradient_out<Real>& g, index_t k, const token_gradient<Real>& d,
                            bool takes_part) {
  if (g.mode == grad_mode::write) {
    if (g.dlogp != nullptr) g.dlogp[k] = d.dlogp;
    if (g.dentropy != nullptr) g.dentropy[k] = d.dentropy;
  } else if (takes_part) {
    if (g.dlogp != nullptr) g.dlogp[k] += d.dlogp;
    if (g.dentropy != nullptr) g.dentropy[k] += d.dentropy;
  }
}

/// One token: adds w_i·(its loss terms) and its statistics to `acc`, and writes (or adds)
/// dL/dlogp[i,t] (and dL/dH when asked).
template <class O, class Real>
GRPO_HD void token_step(const O& obj, const token_batch<Real>& b, index_t i, index_t t,
                        const sequence_summary& s, double w_i, const gradient_out<Real>& g,
                        pass_partial& acc) {
  const token_inputs<Real> v = load_token(b, i, t);
  store_gradient(g, b.flat(i, t), token_body(obj, v, s, w_i, acc), s.length > 0 && v.in);
}

/// All tokens t ∈ [0, T) of sequence i (padding included, so write mode zeroes it).
template <class O, class Real>
GRPO_HD void sequence_step(const O& obj, const token_batch<Real>& b, index_t i,
                           const sequence_summary& s, double w_i, const gradient_out<Real>& g,
                           pass_partial& acc) {
  for (index_t t = 0; t < b.T; ++t) token_step(obj, b, i, t, s, w_i, g, acc);
}

// ---- (d) results ------------------------------------------------------------------------------

/// Statistics of one evaluation, over this rank's in-tokens.
struct objective_statistics {
  double token_count = 0;         // in-tokens (after truncated_mask)
  double clip_fraction_low = 0;   // share of tokens with ρ < 1−ε_low and A < 0
  double clip_fraction_high = 0;  // share of tokens with ρ > 1+ε_high (or the CISPO bound) and A > 0
  double kl_mean = 0;             // mean of the KL estimator (without β)
  double kl_max = 0;
  double ratio_mean = 0;          // of the ratio used (ρ or s_i)
  double ratio_min = 0;
  double ratio_max = 0;
  double entropy_mean = 0;        // 0 when no entropies were given
  double zero_std_fraction = 0;   // passed through from the advantage step
};

struct objective_result {
  double loss = 0;  // this rank's share of the global loss
  objective_statistics stats;
  batch_totals totals;  // the normalisers used (after the reduction hook)
};

inline objective_statistics finalize_statistics(const pass_partial& p,
                                                double zero_std_fraction = 0.0) {
  objective_statistics s;
  s.token_count = p.tokens;
  s.zero_std_fraction = zero_std_fraction;
  if (p.tokens > 0) {
    s.clip_fraction_low = p.clipped_low / p.tokens;
    s.clip_fraction_high = p.clipped_high / p.tokens;
    s.kl_mean = p.kl_sum / p.tokens;
    s.kl_max = p.kl_max > -grpo::detail::inf() ? p.kl_max : 0.0;
    s.ratio_mean = p.ratio_sum / p.tokens;
    s.ratio_min = p.ratio_min;
    s.ratio_max = p.ratio_max;
    s.entropy_mean = p.entropy_sum / p.tokens;
  }
  return s;
}

/// Workspace of one evaluation: [N] sequence_summary, then [N] pass_partial (8-byte aligned).
GRPO_HD constexpr std::size_t objective_workspace_bytes(index_t N) {
  return std::size_t(N) * (sizeof(sequence_summary) + sizeof(pass_partial));
}

}  // namespace grpo
