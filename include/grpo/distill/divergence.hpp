#pragma once
// The per-token divergences of distillation between a student and a teacher over the vocabulary,
// and their gradients with respect to the student's logits. With a = s/τ and b = t/τ (student and
// teacher logits over the temperature), q = softmax(a) (the student), p = softmax(b) (the teacher):
//
//   generalised JSD (Agarwal et al. 2024, "On-Policy Distillation of Language Models", eq. 1;
//   TRL's `GKDTrainer.generalized_jsd_loss`, trl/trainer/gkd_trainer.py), with the mixture
//   m = β·p + (1 − β)·q:
//       JSD_β = β·KL(p‖m) + (1 − β)·KL(q‖m),          0 < β < 1
//   and, as TRL defines the end points,
//       β = 0: forward KL  KL(p‖q) = Σ p (log p − log q)   (mass-covering)
//       β = 1: reverse KL  KL(q‖p) = Σ q (log q − log p)   (mode-seeking)
//
// Gradients (d/da; d/ds = d/da / τ). Through the softmax, ∂q_i/∂a_j = q_i(δ_ij − q_j), so for
// any loss with ∂L/∂q_j = h_j the gradient is q_j (h_j − Σ_i q_i h_i):
//   forward KL: h_j = −p_j/q_j                 →  q_j − p_j
//   reverse KL: h_j = log(q_j/p_j) + 1         →  q_j (log(q_j/p_j) − KL(q‖p))
//   JSD_β:      h_j = (1 − β)·log(q_j/m_j)     (the other terms of ∂/∂q_j sum to a constant,
//               (1 − β)(1 − ((1 − β) q_j + β p_j)/m_j) = 0, which the softmax removes anyway)
//
// Top-k (TRL's GOLD trainer, `top_k`): the support is the teacher's k largest logits, and both
// distributions are renormalised over it before the divergence; student logits outside it get a
// zero gradient. Ties at the k-th logit go to the lower vocabulary index.
//
// Zero probabilities contribute nothing (0·log 0 = 0). A divergence that is infinite — the
// teacher puts mass where the student's logit is −inf (forward KL), or the reverse — is reported
// by the caller (logits.hpp) as an error rather than returned.
#include <grpo/core/error.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <span>
#include <string>
#include <vector>

namespace grpo::distill {

/// The loss of one token: `beta` selects the divergence (0 forward KL, 1 reverse KL, between:
/// generalised JSD), `temperature` divides both models' logits, `top_k` > 0 restricts the
/// support to the teacher's top-k tokens (0: the whole vocabulary).
struct divergence {
  double beta = 0.5;
  double temperature = 1.0;
  index_t top_k = 0;
};

/// Forward KL(teacher ‖ student), the classic distillation loss (Hinton et al. 2015, without the
/// τ² factor, as TRL).
inline divergence forward_kl(double temperature = 1.0) { return {0.0, temperature, 0}; }
/// Reverse KL(student ‖ teacher), the on-policy distillation loss (Agarwal et al. 2024; MiniLLM).
inline divergence reverse_kl(double temperature = 1.0) { return {1.0, temperature, 0}; }
/// Generalised JSD with GKD's β.
inline divergence jsd(double beta, double temperature = 1.0) { return {beta, temperature, 0}; }
/// `d` restricted to the teacher's top-k tokens.
inline divergence top_k(divergence d, index_t k) {
  d.top_k = k;
  return d;
}

inline status check(const divergence& d) {
  if (!(d.beta >= 0.0 && d.beta <= 1.0))
    return {errc::bad_config, "beta", -1, "need 0 <= beta <= 1, got " + std::to_string(d.beta)};
  if (!std::isfinite(d.temperature) || !(d.temperature > 0.0))
    return {errc::bad_config, "temperature", -1, "need a finite temperature > 0, got " + std::to_string(d.temperature)};
  if (d.top_k < 0) return {errc::bad_config, "top_k", -1, "need top_k >= 0, got " + std::to_string(d.top_k)};
  return {};
}

/// What one row gave: the divergence, or where it could not be computed.
struct row_outcome {
  double loss = 0;
  enum class kind { ok, bad_student, bad_teacher, infinite } what = kind::ok;
  index_t at = -1;  // the vocabulary index of the offending logit (bad_*), or of the infinite term
};

namespace detail {

// log Σ_{j ∈ S} exp(x_j / τ) over the support, with its maximum; NaN and +inf are the caller's.
template <class T, class Support>
double log_normaliser(const T* x, double inv_tau, const Support& support) {
  double m = -std::numeric_limits<double>::infinity();
  support([&](index_t j) { m = std::max(m, static_cast<double>(x[j]) * inv_tau); });
  if (m == -std::numeric_limits<double>::infinity()) return m;
  double z = 0;
  support([&](index_t j) { z += std::exp(static_cast<double>(x[j]) * inv_tau - m); });
  return m + std::log(z);
}

}  // namespace detail

/// The divergence of one token's rows `student`, `teacher` (V logits each, float or double) and,
/// when `grad` is not null, `scale`·∂loss/∂student written to grad[0..V) (zero off the support).
/// `order` is scratch for top-k (resized as needed). Double precision throughout.
template <class T>
row_outcome divergence_row(const divergence& d, const T* student, const T* teacher, index_t V, T* grad,
                           double scale, std::vector<index_t>& order) {
  row_outcome out;
  const double inv_tau = 1.0 / d.temperature;
  for (index_t j = 0; j < V; ++j) {
    if (std::isnan(student[j]) || student[j] == std::numeric_limits<T>::infinity())
      return {0, row_outcome::kind::bad_student, j};
    if (std::isnan(teacher[j]) || teacher[j] == std::numeric_limits<T>::infinity())
      return {0, row_outcome::kind::bad_teacher, j};
  }
  // the support: every token, or the teacher's top-k (stable: ties to the lower index)
  const bool restricted = d.top_k > 0 && d.top_k < V;
  if (restricted) {
    order.resize(static_cast<std::size_t>(V));
    std::iota(order.begin(), order.end(), index_t{0});
    std::partial_sort(order.begin(), order.begin() + d.top_k, order.end(), [&](index_t x, index_t y) {
      return teacher[x] > teacher[y] || (teacher[x] == teacher[y] && x < y);
    });
    order.resize(static_cast<std::size_t>(d.top_k));
  }
  auto support = [&](auto&& f) {
    if (restricted) {
      for (index_t j : order) f(j);
    } else {
      for (index_t j = 0; j < V; ++j) f(j);
    }
  };
  const double lse_q = detail::log_normaliser(student, inv_tau, support);
  const double lse_p = detail::log_normaliser(teacher, inv_tau, support);
  if (lse_q == -std::numeric_limits<double>::infinity()) return {0, row_outcome::kind::bad_student, -1};
  if (lse_p == -std::numeric_limits<double>::infinity()) return {0, row_outcome::kind::bad_teacher, -1};
  auto log_q = [&](index_t j) { return static_cast<double>(student[j]) * inv_tau - lse_q; };
  auto log_p = [&](index_t j) { return static_cast<double>(teacher[j]) * inv_tau - lse_p; };
  constexpr double neg_inf = -std::numeric_limits<double>::infinity();

  // h_j = ∂L/∂q_j up to a constant (see the file comment), and the loss
  const double beta = d.beta;
  const double log_beta = beta > 0 ? std::log(beta) : neg_inf;
  const double log_1mb = beta < 1 ? std::log1p(-beta) : neg_inf;
  auto log_m = [&](double lq, double lp) {  // log(β p + (1 − β) q)
    const double x = log_beta + lp, y = log_1mb + lq;
    const double hi = std::max(x, y), lo = std::min(x, y);
    return hi == neg_inf ? neg_inf : hi + std::log1p(std::exp(lo - hi));
  };
  double loss = 0;
  bool infinite = false;
  index_t infinite_at = -1;
  support([&](index_t j) {
    const double lq = log_q(j), lp = log_p(j);
    const double q = std::exp(lq), p = std::exp(lp);
    if (beta == 0.0) {  // Σ p (log p − log q)
      if (p > 0) {
        if (lq == neg_inf) infinite = true, infinite_at = infinite_at < 0 ? j : infinite_at;
        else loss += p * (lp - lq);
      }
    } else if (beta == 1.0) {  // Σ q (log q − log p)
      if (q > 0) {
        if (lp == neg_inf) infinite = true, infinite_at = infinite_at < 0 ? j : infinite_at;
        else loss += q * (lq - lp);
      }
    } else {
      const double lm = log_m(lq, lp);
      if (p > 0) loss += beta * p * (lp - lm);
      if (q > 0) loss += (1 - beta) * q * (lq - lm);
    }
  });
  if (infinite) return {0, row_outcome::kind::infinite, infinite_at};
  out.loss = loss;
  if (grad == nullptr) return out;

  std::fill(grad, grad + V, T(0));
  const double s = scale * inv_tau;
  if (beta == 0.0) {
    support([&](index_t j) { grad[j] = static_cast<T>(s * (std::exp(log_q(j)) - std::exp(log_p(j)))); });
    return out;
  }
  // Σ_i q_i h_i, then q_j (h_j − Σ q h)
  auto h = [&](index_t j) {
    const double lq = log_q(j), lp = log_p(j);
    return beta == 1.0 ? lq - lp : (1 - beta) * (lq - log_m(lq, lp));
  };
  double mean_h = 0;
  support([&](index_t j) {
    const double q = std::exp(log_q(j));
    if (q > 0) mean_h += q * h(j);
  });
  support([&](index_t j) {
    const double q = std::exp(log_q(j));
    if (q > 0) grad[j] = static_cast<T>(s * q * (h(j) - mean_h));
  });
  return out;
}

}  // namespace grpo::distill
