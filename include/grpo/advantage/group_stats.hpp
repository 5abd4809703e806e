#pragma once
// Statistics of one group of rewards, over raw pointers so the same code serves the host loops
// and a CUDA kernel (one thread or one warp per group). NaN rewards are skipped everywhere.
//
// Accumulation is in double: a group is small, but the batch-wide sums (whitening over every
// token of the batch) are not, and double keeps the fp32 results within 1e-6 of the float64
// reference whatever the batch size.
#include <grpo/advantage/inputs.hpp>
#include <grpo/core/macros.hpp>

#include <math.h>

namespace grpo::advantage_detail {

GRPO_HD bool is_nan(float x) { return x != x; }
GRPO_HD bool is_nan(double x) { return x != x; }

/// Count, mean, sum of squared deviations and range of the finite values of
/// x[0], x[stride], ..., x[(n-1)·stride]. Two passes (mean first, then deviations) rather than
/// sum and sum of squares: no cancellation when the rewards share a large offset.
struct moments {
  index_t count = 0;
  double mean = 0.0;
  double m2 = 0.0;  // sum of (x - mean)^2
  double lo = 0.0, hi = 0.0;

  /// All finite values equal, or fewer than two of them: the group says nothing about which
  /// completion is better.
  GRPO_HD bool degenerate() const { return count < 2 || lo == hi; }
};

template <class Real>
GRPO_HD moments moments_of(const Real* x, index_t n, index_t stride = 1) {
  moments m;
  double sum = 0.0;
  for (index_t i = 0; i < n; ++i) {
    const Real v = x[i * stride];
    if (is_nan(v)) continue;
    if (m.count == 0 || v < m.lo) m.lo = v;
    if (m.count == 0 || v > m.hi) m.hi = v;
    sum += v;
    ++m.count;
  }
  if (m.count == 0) return m;
  m.mean = sum / static_cast<double>(m.count);
  for (index_t i = 0; i < n; ++i) {
    const Real v = x[i * stride];
    if (is_nan(v)) continue;
    const double d = v - m.mean;
    m.m2 += d * d;
  }
  return m;
}

/// Standard deviation from a sum of squared deviations over `count` values.
GRPO_HD double std_of(double m2, double count, std_convention c) {
  const double dof = c == std_convention::bessel ? count - 1.0 : count;
  return dof > 0.0 ? ::sqrt(m2 / dof) : 0.0;
}

/// A_i = (x_i - mean) / (std + eps) over one group, with the edge cases of the spec: a group
/// of one member uses mean 0 and std 1 as verl does (A = r / (1 + eps)), a degenerate group
/// gets 0, NaN gets 0.
/// `divide_by_std` = false gives the mean-only (Dr. GRPO) form. Returns whether the group is
/// degenerate (for the zero-std count). Writes y[i·out_stride].
template <class Real>
GRPO_HD bool normalize_group(const Real* x, index_t n, index_t stride, bool divide_by_std,
                             std_convention c, double eps, double scale, Real* y,
                             index_t out_stride) {
  if (n == 1) {
    const double inv = scale / (divide_by_std ? 1.0 + eps : 1.0);
    y[0] = is_nan(x[0]) ? Real(0) : static_cast<Real>(x[0] * inv);
    return false;
  }
  const moments m = moments_of(x, n, stride);
  if (m.degenerate()) {
    for (index_t i = 0; i < n; ++i) y[i * out_stride] = Real(0);
    return true;
  }
  const double inv = scale / (divide_by_std ? std_of(m.m2, double(m.count), c) + eps : 1.0);
  for (index_t i = 0; i < n; ++i) {
    const Real v = x[i * stride];
    y[i * out_stride] = is_nan(v) ? Real(0) : static_cast<Real>((v - m.mean) * inv);
  }
  return false;
}

}  // namespace grpo::advantage_detail
