#pragma once
// Log-probabilities and entropy of softmax(z/τ) for one row of logits, and their backward.
// Every model in model/ goes through these two functions, so the temperature convention
// (TRL's `selective_log_softmax` divides the logits by τ: trl/trainer/utils.py) lives in exactly
// one place.
//
//   u = z/τ,  lse = log Σ_v exp(u_v),  p = exp(u − lse)
//   logp(y) = u_y − lse,  H = lse − Σ_v p_v u_v = −Σ_v p_v log p_v
//   ∂logp(y)/∂z_v = (1[v = y] − p_v)/τ
//   ∂H/∂z_v       = −p_v (log p_v + H)/τ
#include <grpo/core/macros.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

namespace grpo::model {

template <class S>
struct tempered_row {
  S logp;     // log softmax(z/τ)[y]
  S entropy;  // H(softmax(z/τ))
};

/// Forward for one row z[0..V): writes p = softmax(z/τ) to `probs` (length V) when it is not
/// null, and returns logp of token `y` and the entropy. Two passes over the row; V is small in
/// this layer (character vocabularies). `probs` may be `z` itself (in place).
template <class S>
inline tempered_row<S> tempered_softmax_row(const S* z, index_t vocab, index_t y, S tau, S* probs) {
  const S inv_tau = S(1) / tau;
  const S u_y = z[y] * inv_tau;  // read first: `probs` may alias `z`
  S m = -std::numeric_limits<S>::infinity();
  for (index_t v = 0; v < vocab; ++v) m = std::max(m, z[v] * inv_tau);
  S sum = 0, sum_eu = 0;
  for (index_t v = 0; v < vocab; ++v) {
    const S u = z[v] * inv_tau;
    const S e = std::exp(u - m);
    sum += e;
    sum_eu += e * u;
    if (probs) probs[v] = e;
  }
  const S lse = m + std::log(sum);
  if (probs)
    for (index_t v = 0; v < vocab; ++v) probs[v] /= sum;
  return {u_y - lse, lse - sum_eu / sum};
}

/// Backward for one row: dz[v] (+)= g·(1[v=y] − p_v)/τ + g_H·(−p_v (log p_v + H))/τ,
/// with p the probabilities saved by the forward. `accumulate` adds instead of overwriting.
template <class S>
inline void tempered_softmax_row_backward(const S* probs, index_t vocab, index_t y, S tau,
                                          S entropy, S g_logp, S g_entropy, S* dz,
                                          bool accumulate = false) {
  const S inv_tau = S(1) / tau;
  for (index_t v = 0; v < vocab; ++v) {
    const S p = probs[v];
    S d = -g_logp * p;
    if (g_entropy != S(0) && p > S(0)) d -= g_entropy * p * (std::log(p) + entropy);
    d *= inv_tau;
    dz[v] = accumulate ? dz[v] + d : d;
  }
  dz[y] += g_logp * inv_tau;
}

}  // namespace grpo::model
