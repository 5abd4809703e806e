#pragma once
// The online softmax statistics of one row of scaled logits z' = z/τ, built one part of the row at
// a time (fused_linear.hpp: one vocabulary chunk at a time) in a single read (Milakov & Gimelshein
// 2018, arXiv:1805.02867):
//   m = max z'                         running maximum
//   s = Σ_v exp(z'_v − m)              sum of exponentials relative to m
//   w = Σ_v exp(z'_v − m)·(z'_v − m)   entropy numerator, also relative to m
// From them: logsumexp = m + log s and the entropy H = −Σ p log p = log s − w/s (p_v = exp(z'_v − m)/s).
// When the maximum moves from m to M, each term gains the factor c = exp(m − M) and its offset
// (z' − m) becomes (z' − M) = (z' − m) + (m − M), so  s ← c·s,  w ← c·(w + s·(m − M)).
// Masked entries (z = −inf) add exp(−inf) = 0 to s and nothing to w (p log p → 0).
#include <grpo/core/macros.hpp>

#include <cmath>

namespace grpo::logprob {

/// Acc: the sums' type; M: the maximum's and the results' type (float, or double for the float64
/// fused-linear path).
template <class Acc = float, class M = float>
struct softmax_stats {
  M m = -INFINITY;
  Acc s = 0;
  Acc w = 0;

  /// Combines the statistics of two disjoint parts of the row.
  GRPO_HD void merge(const softmax_stats& o) {
    if (!(o.s == o.s)) {
      s = o.s;
      return;
    }
    if (o.s == 0) return;
    if (o.m > m) rescale_to(o.m);
    const Acc c = static_cast<Acc>(exp_m(o.m - m));
    const Acc dm = static_cast<Acc>(o.m - m);
    s += c * o.s;
    w += c * (o.w + o.s * dm);
  }

  /// Moves the reference maximum up to m_new (m_new >= m).
  GRPO_HD void rescale_to(M m_new) {
    if (s != 0) {
      const Acc c = static_cast<Acc>(exp_m(m - m_new));
      w = c * (w + s * static_cast<Acc>(m - m_new));
      s = c * s;
    }
    m = m_new;
  }

  /// log Σ exp(z'): −inf for an all-masked row, NaN if the row held a NaN or +inf.
  [[nodiscard]] GRPO_HD M lse() const { return m + static_cast<M>(log_s()); }
  [[nodiscard]] GRPO_HD M entropy() const { return static_cast<M>(log_s() - w / s); }

 private:
  static GRPO_HD M exp_m(M x) {
    if constexpr (sizeof(M) == sizeof(float)) return ::expf(x);
    else return ::exp(x);
  }
  GRPO_HD Acc log_s() const {
    if constexpr (sizeof(Acc) == sizeof(float)) return ::logf(s);
    else return ::log(s);
  }
};

}  // namespace grpo::logprob
