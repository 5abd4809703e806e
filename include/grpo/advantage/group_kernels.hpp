#pragma once
// The per-group and per-sequence math of each estimator, over raw pointers (host loops and,
// later, CUDA kernels call the same functions). Batch-wide steps (batch std, whitening, GPG's
// alpha) are not here: the driver in compute.hpp reduces them across ranks first and passes
// the global values in.
#include <grpo/advantage/group_stats.hpp>

namespace grpo::advantage_detail {

/// RLOO over the finite members: A_i = r_i - (S - r_i)/(c - 1) = c/(c-1)·(r_i - mean), c the
/// number of finite rewards. Returns whether the group is degenerate.
template <class Real>
GRPO_HD bool rloo_group(const Real* r, index_t n, Real* A) {
  const moments m = moments_of(r, n);
  if (m.degenerate()) {
    for (index_t i = 0; i < n; ++i) A[i] = Real(0);
    return true;
  }
  const double c = double(m.count);
  for (index_t i = 0; i < n; ++i)
    A[i] = is_nan(r[i]) ? Real(0) : static_cast<Real>(c / (c - 1.0) * (r[i] - m.mean));
  return false;
}

/// OPO: baseline b = sum_j T_j r_j / sum_j T_j over the finite members; a group of one member
/// uses b = 0 (verl). When the finite members have no tokens at all the group gets 0.
template <class Real>
GRPO_HD bool opo_group(const Real* r, const std::int32_t* len, index_t n, Real* A) {
  const moments m = moments_of(r, n);
  if (n == 1) {
    A[0] = is_nan(r[0]) ? Real(0) : r[0];
    return false;
  }
  double tokens = 0.0, weighted = 0.0;
  for (index_t i = 0; i < n; ++i) {
    if (is_nan(r[i])) continue;
    tokens += double(len[i]);
    weighted += double(len[i]) * r[i];
  }
  const bool degenerate = m.degenerate();
  if (degenerate || tokens == 0.0) {
    for (index_t i = 0; i < n; ++i) A[i] = Real(0);
    return degenerate;
  }
  const double b = weighted / tokens;
  for (index_t i = 0; i < n; ++i) A[i] = is_nan(r[i]) ? Real(0) : static_cast<Real>(r[i] - b);
  return false;
}

/// ReMax: A_i = r_i - b. The group statistics only feed the zero-std count.
template <class Real>
GRPO_HD bool remax_group(const Real* r, index_t n, Real b, Real* A) {
  for (index_t i = 0; i < n; ++i)
    A[i] = (is_nan(r[i]) || is_nan(b)) ? Real(0) : static_cast<Real>(double(r[i]) - double(b));
  return n >= 2 && moments_of(r, n).degenerate();
}

/// pass@k-GRPO: the first finite maximum gets r_max - r_second (÷ (std + eps) when asked);
/// everyone else 0. Ties give 0 because r_second = r_max.
template <class Real>
GRPO_HD bool passk_group(const Real* r, index_t n, bool scale_by_std, std_convention c,
                         double eps, Real* A) {
  for (index_t i = 0; i < n; ++i) A[i] = Real(0);
  const moments m = moments_of(r, n);
  if (m.degenerate()) return true;
  index_t best = -1;
  for (index_t i = 0; i < n; ++i)
    if (!is_nan(r[i]) && (best < 0 || r[i] > r[best])) best = i;
  double second = 0.0;
  bool have_second = false;
  for (index_t i = 0; i < n; ++i) {
    if (i == best || is_nan(r[i])) continue;
    if (!have_second || r[i] > second) second = r[i];
    have_second = true;
  }
  double a = double(r[best]) - second;
  if (scale_by_std) a /= std_of(m.m2, double(m.count), c) + eps;
  A[best] = static_cast<Real>(a);
  return false;
}

/// GDPO, first half: y_i = sum_k w_k·(r_ik - mean_gk)/(std_gk + eps) over the group's rows of
/// the [n, K] block r (row stride K). A reward column that is degenerate in the group adds 0;
/// NaN entries add 0. Returns whether every column is degenerate.
template <class Real>
GRPO_HD bool gdpo_group(const Real* r, index_t n, index_t K, const Real* w, std_convention c,
                        double eps, Real* y) {
  for (index_t i = 0; i < n; ++i) y[i] = Real(0);
  bool all_degenerate = true;
  for (index_t k = 0; k < K; ++k) {
    const double wk = w ? double(w[k]) : 1.0;
    const Real* col = r + k;
    if (n == 1) {  // verl's group of one: mean 0, std 1
      if (!is_nan(col[0])) y[0] += static_cast<Real>(wk * col[0] / (1.0 + eps));
      all_degenerate = false;
      continue;
    }
    const moments m = moments_of(col, n, K);
    if (m.degenerate()) continue;
    all_degenerate = false;
    const double inv = wk / (std_of(m.m2, double(m.count), c) + eps);
    for (index_t i = 0; i < n; ++i) {
      const Real v = col[i * K];
      if (!is_nan(v)) y[i] += static_cast<Real>((v - m.mean) * inv);
    }
  }
  return all_degenerate;
}

/// REINFORCE++ returns of one sequence: token rewards r_t = -beta·(old_t - ref_t) plus the
/// sequence reward on the last token, G_t = r_t + gamma·G_{t+1} for t < len; 0 beyond.
/// `Out` = double keeps the returns exact enough to whiten them afterwards (a large reward with a
/// small spread would lose its spread in fp32).
template <class Real, class Out>
GRPO_HD void reinforce_returns(Real reward, const Real* old_row, const Real* ref_row,
                               index_t len, index_t T, double gamma, double beta, Out* G) {
  for (index_t t = len; t < T; ++t) G[t] = Out(0);
  double ret = 0.0;
  for (index_t t = len - 1; t >= 0; --t) {
    double rt = (t == len - 1) ? double(reward) : 0.0;
    if (beta != 0.0) rt -= beta * (double(old_row[t]) - double(ref_row[t]));
    ret = rt + gamma * ret;
    G[t] = static_cast<Out>(ret);
  }
}

/// Process supervision for one group of n sequences: the finite step rewards of all its
/// sequences, steps [s0, s1), are normalised together (a single step uses mean 0, std 1, as a
/// group of one does); row i of A gets, at token t < T_i, the sum of its normalised step rewards
/// with step_end >= t. Scattering each step at its end token and taking a suffix sum avoids
/// sorting the steps. Returns whether the pooled step rewards are degenerate.
template <class Real>
GRPO_HD bool process_group(const index_t* step_offsets, const index_t* step_end,
                           const Real* step_reward, const std::int32_t* len, index_t n, index_t T,
                           std_convention c, double eps, Real* A) {
  const index_t s0 = step_offsets[0], s1 = step_offsets[n];
  const moments m = moments_of(step_reward + s0, s1 - s0);
  double mean = m.mean, inv = 0.0;
  bool degenerate = false;
  if (s1 - s0 == 1) {
    mean = 0.0;
    inv = 1.0 / (1.0 + eps);
  } else if (m.degenerate()) {
    degenerate = true;
  } else {
    inv = 1.0 / (std_of(m.m2, double(m.count), c) + eps);
  }
  for (index_t i = 0; i < n; ++i) {
    Real* row = A + i * T;
    for (index_t t = 0; t < T; ++t) row[t] = Real(0);
    if (degenerate) continue;
    for (index_t j = step_offsets[i]; j < step_offsets[i + 1]; ++j)
      if (!is_nan(step_reward[j]))
        row[step_end[j]] += static_cast<Real>((step_reward[j] - mean) * inv);
    double suffix = 0.0;
    for (index_t t = len[i] - 1; t >= 0; --t) {
      suffix += row[t];
      row[t] = static_cast<Real>(suffix);
    }
  }
  return degenerate;
}

}  // namespace grpo::advantage_detail
