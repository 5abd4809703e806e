#pragma once
// Float64 references for selective log-softmax and fused-linear log-prob, written from the formulas
// of the log-softmax definition with nothing shared with the fast code:
//   z' = z/τ,  lse = log Σ_v exp(z'_v),  logp = z'_y − lse,  p_v = exp(z'_v − lse),  H = −Σ p log p
//   dL/dz_v = (g·(1[v=y] − p_v) − g_H·p_v·(log p_v + H))/τ
// Fused linear: z = h·Wᵀ (z[t,v] = Σ_k h[t,k]·W[v,k]); dL/dh = G·W, dL/dW = Gᵀ·h with G = dL/dz.
// Also used by tests/cuda/logprob*.cu.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

namespace grpo_test::logprob_ref {

struct forward_result {
  std::vector<double> logp, entropy, lse;
};

/// Row t of the logits is at get(t, v) (any element type convertible to double).
template <class Get>
forward_result forward(Get get, std::int64_t tokens, std::int64_t vocab, const std::int64_t* targets, double tau) {
  forward_result r;
  for (std::int64_t t = 0; t < tokens; ++t) {
    double m = -std::numeric_limits<double>::infinity();
    for (std::int64_t v = 0; v < vocab; ++v) m = std::max(m, get(t, v) / tau);
    double s = 0;
    for (std::int64_t v = 0; v < vocab; ++v) s += std::exp(get(t, v) / tau - m);
    const double lse = m + std::log(s);
    double h = 0;
    for (std::int64_t v = 0; v < vocab; ++v) {
      const double lp = get(t, v) / tau - lse;
      if (std::isfinite(lp)) h -= std::exp(lp) * lp;  // p log p -> 0 as p -> 0
    }
    r.logp.push_back(get(t, targets[t]) / tau - lse);
    r.entropy.push_back(h);
    r.lse.push_back(lse);
  }
  return r;
}

/// dL/dz for L with dL/dlogp = g and dL/dH = gh (gh may be empty), as a dense [tokens, vocab].
template <class Get>
std::vector<double> backward(Get get, std::int64_t tokens, std::int64_t vocab, const std::int64_t* targets,
                             double tau, const std::vector<double>& g, const std::vector<double>& gh) {
  const forward_result f = forward(get, tokens, vocab, targets, tau);
  std::vector<double> dz(static_cast<std::size_t>(tokens * vocab));
  for (std::int64_t t = 0; t < tokens; ++t) {
    for (std::int64_t v = 0; v < vocab; ++v) {
      const double lp = get(t, v) / tau - f.lse[t];
      const double p = std::exp(lp);
      double d = g[t] * ((v == targets[t] ? 1.0 : 0.0) - p);
      if (!gh.empty() && p > 0) d -= gh[t] * p * (lp + f.entropy[t]);
      dz[static_cast<std::size_t>(t * vocab + v)] = d / tau;
    }
  }
  return dz;
}

/// An input element in double: float and bf16 through float, double as is.
template <class T>
double as_double(T x) {
  if constexpr (std::is_same_v<T, double>) return x;
  else return static_cast<double>(static_cast<float>(x));
}

/// Materialised logits z = h·Wᵀ in double: h [tokens, H], W [vocab, H].
template <class T>
std::vector<double> linear_logits(const T* h, const T* w, std::int64_t tokens, std::int64_t hidden, std::int64_t vocab) {
  std::vector<double> z(static_cast<std::size_t>(tokens * vocab));
  for (std::int64_t t = 0; t < tokens; ++t)
    for (std::int64_t v = 0; v < vocab; ++v) {
      double acc = 0;
      for (std::int64_t k = 0; k < hidden; ++k)
        acc += as_double(h[t * hidden + k]) * as_double(w[v * hidden + k]);
      z[static_cast<std::size_t>(t * vocab + v)] = acc;
    }
  return z;
}

struct linear_grads {
  std::vector<double> dh, dw;
};

/// dL/dh = G·W and dL/dW = Gᵀ·h from G = dL/dz [tokens, vocab].
template <class T>
linear_grads linear_backward(const std::vector<double>& G, const T* h, const T* w, std::int64_t tokens,
                             std::int64_t hidden, std::int64_t vocab) {
  linear_grads r{std::vector<double>(static_cast<std::size_t>(tokens * hidden), 0.0),
                 std::vector<double>(static_cast<std::size_t>(vocab * hidden), 0.0)};
  for (std::int64_t t = 0; t < tokens; ++t)
    for (std::int64_t v = 0; v < vocab; ++v) {
      const double gv = G[static_cast<std::size_t>(t * vocab + v)];
      for (std::int64_t k = 0; k < hidden; ++k) {
        r.dh[static_cast<std::size_t>(t * hidden + k)] += gv * as_double(w[v * hidden + k]);
        r.dw[static_cast<std::size_t>(v * hidden + k)] += gv * as_double(h[t * hidden + k]);
      }
    }
  return r;
}

/// |got − want| ≤ rel·max(1, |want|), with matching infinities.
inline bool close(double got, double want, double rel) {
  if (std::isinf(want)) return got == want;
  return std::fabs(got - want) <= rel * std::max(1.0, std::fabs(want));
}

/// max_i |got_i − want_i| / max_i |want_i|: a gradient's error relative to its largest entry
/// (single entries can cancel to ~0); +inf when an entry of `got` is NaN or infinite (std::max
/// would drop a NaN).
template <class Real>
double error_over_max(const std::vector<Real>& got, const std::vector<double>& want) {
  double err = 0, scale = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (!std::isfinite(got[i])) return std::numeric_limits<double>::infinity();
    err = std::max(err, std::fabs(got[i] - want[i]));
    scale = std::max(scale, std::fabs(want[i]));
  }
  return err / scale;
}

}  // namespace grpo_test::logprob_ref
