#pragma once
// Scalar helpers shared by every objective term: usable on the host and inside CUDA kernels
// (no std:: containers, no exceptions, overloads for float and double only).
#include <grpo/core/macros.hpp>

#include <math.h>

namespace grpo::detail {

GRPO_HD float exp_(float x) { return ::expf(x); }
GRPO_HD double exp_(double x) { return ::exp(x); }
GRPO_HD float log_(float x) { return ::logf(x); }
GRPO_HD double log_(double x) { return ::log(x); }
GRPO_HD bool isfinite_(float x) { return x - x == 0.0f; }  // false for NaN and ±Inf
GRPO_HD bool isfinite_(double x) { return x - x == 0.0; }

/// +Inf without <limits> (usable in device code).
GRPO_HD double inf() { return __builtin_huge_val(); }

template <class Real>
GRPO_HD Real min_(Real a, Real b) { return b < a ? b : a; }
template <class Real>
GRPO_HD Real max_(Real a, Real b) { return a < b ? b : a; }

/// A clamp whose derivative is also returned: d = 1 inside [lo, hi], 0 where the bound is active
/// (the gradient torch.clamp gives). NaN passes through with d = 1, so it is never hidden.
template <class Real>
GRPO_HD Real clamp_d(Real x, Real lo, Real hi, Real& d) {
  if (x < lo) { d = Real(0); return lo; }
  if (x > hi) { d = Real(0); return hi; }
  d = Real(1);
  return x;
}

GRPO_HD float sigmoid_(float x) { return 1.0f / (1.0f + ::expf(-x)); }
GRPO_HD double sigmoid_(double x) { return 1.0 / (1.0 + ::exp(-x)); }

}  // namespace grpo::detail
