#pragma once
// Float64 references for every advantage estimator, written straight from the formulas of
// spec §1 and docs/advantage.md: collect the group, compute its mean and std, apply the formula.
// Deliberately naive (vectors copied per group, the whitening expands every sequence into its
// tokens) and independent of the library's kernels.
#include "batch.hpp"

#include <grpo/advantage/estimators.hpp>

#include <cmath>
#include <numeric>
#include <vector>

namespace adv_ref {

using adv_test::test_batch;
using grpo::index_t;
using vec = std::vector<double>;

inline bool finite_or_nan_is_known(double x) { return !std::isnan(x); }

inline vec finite_values(const vec& x) {
  vec out;
  for (double v : x)
    if (!std::isnan(v)) out.push_back(v);
  return out;
}
inline double mean(const vec& x) { return std::accumulate(x.begin(), x.end(), 0.0) / double(x.size()); }
inline double stdev(const vec& x, bool bessel) {
  const double m = mean(x);
  double ss = 0.0;
  for (double v : x) ss += (v - m) * (v - m);
  const double dof = bessel ? double(x.size()) - 1.0 : double(x.size());
  return dof > 0 ? std::sqrt(ss / dof) : 0.0;
}
inline bool all_equal(const vec& x) {
  for (double v : x)
    if (v != x[0]) return false;
  return true;
}
/// No learning signal: fewer than two known rewards, or all known rewards equal.
inline bool degenerate(const vec& group) {
  const vec f = finite_values(group);
  return f.size() < 2 || all_equal(f);
}
inline bool bessel(grpo::std_convention c) { return c == grpo::std_convention::bessel; }

/// The (combined) reward of each sequence: R_i = sum_k w_k r_ik over known entries, NaN when
/// none is known. The library's contract is that the combined reward is an fp32 value (what
/// sum_then_normalize writes), so the reference rounds it to float once; everything after that
/// is float64.
/// The float implementation stores the combined reward of several reward functions as a float;
/// the double one does not. Set to false while checking the double path.
inline bool& combined_in_float() {
  static bool v = true;
  return v;
}

inline vec combined_rewards(const test_batch& b) {
  vec R(b.N);
  for (index_t i = 0; i < b.N; ++i) {
    double s = 0.0;
    bool any = false;
    for (index_t k = 0; k < b.K; ++k) {
      const double v = b.rewards[i * b.K + k];
      if (std::isnan(v)) continue;
      s += (b.weights.empty() ? 1.0 : double(b.weights[k])) * v;
      any = true;
    }
    R[i] = any ? (combined_in_float() ? double(static_cast<float>(s)) : s) : std::nan("");
  }
  return R;
}

inline vec group_of(const vec& x, const test_batch& b, index_t g) {
  return vec(x.begin() + b.offsets[g], x.begin() + b.offsets[g + 1]);
}

/// (r - mean)/(std + eps) per group; a group of one: mean 0, std 1; degenerate: 0.
inline vec normalized(const vec& R, const test_batch& b, bool divide, bool bessel_std, double eps) {
  vec A(R.size(), 0.0);
  for (index_t g = 0; g < b.P(); ++g) {
    const vec x = group_of(R, b, g);
    for (index_t j = 0; j < index_t(x.size()); ++j) {
      const index_t i = b.offsets[g] + j;
      if (std::isnan(x[j])) continue;
      if (x.size() == 1) {
        A[i] = divide ? x[j] / (1.0 + eps) : x[j];
      } else if (!degenerate(x)) {
        const vec f = finite_values(x);
        A[i] = (x[j] - mean(f)) / (divide ? stdev(f, bessel_std) + eps : 1.0);
      }
    }
  }
  return A;
}

inline vec reference(const grpo::group_normalized& e, const test_batch& b) {
  return normalized(combined_rewards(b), b, true, bessel(e.convention), e.eps);
}
inline vec reference(const grpo::mean_only&, const test_batch& b) {
  return normalized(combined_rewards(b), b, false, true, 0.0);
}
inline vec reference(const grpo::group_mean_batch_std& e, const test_batch& b) {
  const vec R = combined_rewards(b);
  const double s = stdev(finite_values(R), bessel(e.convention)) + e.eps;
  vec A = normalized(R, b, false, true, 0.0);
  for (double& a : A) a = s > 0 ? a / s : 0.0;
  return A;
}
inline vec reference(const grpo::rloo&, const test_batch& b) {
  const vec R = combined_rewards(b);
  vec A(R.size(), 0.0);
  for (index_t g = 0; g < b.P(); ++g) {
    const vec x = group_of(R, b, g);
    if (degenerate(x)) continue;
    for (index_t j = 0; j < index_t(x.size()); ++j) {
      if (std::isnan(x[j])) continue;
      double others = 0.0;
      int n_others = 0;
      for (index_t l = 0; l < index_t(x.size()); ++l)
        if (l != j && !std::isnan(x[l])) others += x[l], ++n_others;
      A[b.offsets[g] + j] = x[j] - others / n_others;
    }
  }
  return A;
}

/// (x - mean)/sqrt(var + eps) over a list of token values, var unbiased.
inline void whiten_tokens(const vec& tokens, double eps, double& m, double& inv_sd) {
  m = tokens.empty() ? 0.0 : mean(tokens);
  const double sd = tokens.size() > 1 ? stdev(tokens, true) : 0.0;
  inv_sd = 1.0 / std::sqrt(sd * sd + eps);
}

inline vec reference(const grpo::reinforce_pp& e, const test_batch& b) {
  const vec R = combined_rewards(b);
  const index_t T = b.T;
  vec G(b.N * T, 0.0);
  vec tokens;
  for (index_t i = 0; i < b.N; ++i) {
    if (std::isnan(R[i])) continue;
    const index_t L = b.lengths[i];
    vec r(L, 0.0);
    for (index_t t = 0; t < L; ++t)
      r[t] = -e.beta * (double(b.logp_old[i * T + t]) - double(b.logp_ref[i * T + t]));
    if (L > 0) r[L - 1] += R[i];
    for (index_t t = 0; t < L; ++t) {  // G_t = sum_{s >= t} gamma^{s-t} r_s
      double g = 0.0;
      for (index_t s = t; s < L; ++s) g += std::pow(e.gamma, double(s - t)) * r[s];
      G[i * T + t] = g;
      tokens.push_back(g);
    }
  }
  double m, inv;
  whiten_tokens(tokens, e.whiten_eps, m, inv);
  vec A(b.N * T, 0.0);
  for (index_t i = 0; i < b.N; ++i)
    if (!std::isnan(R[i]))
      for (index_t t = 0; t < b.lengths[i]; ++t) A[i * T + t] = (G[i * T + t] - m) * inv;
  return A;
}

/// `use_lengths` = false: every sequence counts once in the whitening.
inline vec reinforce_pp_baseline_ref(const grpo::reinforce_pp_baseline& e, const test_batch& b,
                                     bool use_lengths) {
  const vec R = combined_rewards(b);
  const vec x = normalized(R, b, false, true, 0.0);
  vec tokens;
  for (index_t i = 0; i < b.N; ++i)
    if (!std::isnan(R[i]))
      for (index_t t = 0; t < (use_lengths ? b.lengths[i] : 1); ++t) tokens.push_back(x[i]);
  double m, inv;
  whiten_tokens(tokens, e.whiten_eps, m, inv);
  vec A(b.N, 0.0);
  for (index_t i = 0; i < b.N; ++i)
    if (!std::isnan(R[i])) A[i] = (x[i] - m) * inv;
  return A;
}
inline vec reference(const grpo::reinforce_pp_baseline& e, const test_batch& b) {
  return reinforce_pp_baseline_ref(e, b, true);
}

inline vec reference(const grpo::remax&, const test_batch& b) {
  const vec R = combined_rewards(b);
  vec A(R.size(), 0.0);
  for (index_t g = 0; g < b.P(); ++g)
    for (index_t i = b.offsets[g]; i < b.offsets[g + 1]; ++i)
      if (!std::isnan(R[i]) && !std::isnan(b.baseline[g])) A[i] = R[i] - b.baseline[g];
  return A;
}

inline vec reference(const grpo::opo&, const test_batch& b) {
  const vec R = combined_rewards(b);
  vec A(R.size(), 0.0);
  for (index_t g = 0; g < b.P(); ++g) {
    const vec x = group_of(R, b, g);
    if (x.size() == 1) {
      if (!std::isnan(x[0])) A[b.offsets[g]] = x[0];
      continue;
    }
    if (degenerate(x)) continue;
    double num = 0.0, den = 0.0;
    for (index_t i = b.offsets[g]; i < b.offsets[g + 1]; ++i)
      if (!std::isnan(R[i])) num += double(b.lengths[i]) * R[i], den += double(b.lengths[i]);
    if (den == 0.0) continue;
    for (index_t i = b.offsets[g]; i < b.offsets[g + 1]; ++i)
      if (!std::isnan(R[i])) A[i] = R[i] - num / den;
  }
  return A;
}

inline vec reference(const grpo::gpg& e, const test_batch& b) {
  const vec R = combined_rewards(b);
  double nonzero = 0.0;
  for (double r : R) nonzero += (!std::isnan(r) && r != 0.0) ? 1.0 : 0.0;
  const double alpha = double(b.N) / std::max(nonzero, 1.0);
  vec A = normalized(R, b, e.scale_by_std, bessel(e.convention), e.eps);
  for (double& a : A) a *= alpha;
  return A;
}

inline vec reference(const grpo::passk_grpo& e, const test_batch& b) {
  const vec R = combined_rewards(b);
  vec A(R.size(), 0.0);
  for (index_t g = 0; g < b.P(); ++g) {
    const vec x = group_of(R, b, g);
    if (degenerate(x)) continue;
    vec sorted = finite_values(x);
    std::sort(sorted.rbegin(), sorted.rend());
    index_t best = 0;
    while (std::isnan(x[best]) || x[best] != sorted[0]) ++best;  // first maximum
    double a = sorted[0] - sorted[1];
    if (e.scale_by_std) a /= stdev(finite_values(x), bessel(e.convention)) + e.eps;
    A[b.offsets[g] + best] = a;
  }
  return A;
}

inline vec reference(const grpo::gdpo& e, const test_batch& b) {
  vec y(b.N, 0.0);
  std::vector<bool> known(b.N, false);
  for (index_t k = 0; k < b.K; ++k) {
    vec col(b.N);
    for (index_t i = 0; i < b.N; ++i) {
      col[i] = b.rewards[i * b.K + k];
      if (!std::isnan(col[i])) known[i] = true;
    }
    const vec n = normalized(col, b, true, bessel(e.convention), e.eps);
    const double w = b.weights.empty() ? 1.0 : double(b.weights[k]);
    for (index_t i = 0; i < b.N; ++i) y[i] += w * n[i];
  }
  vec vals;
  for (index_t i = 0; i < b.N; ++i)
    if (known[i]) vals.push_back(y[i]);
  const double m = vals.empty() ? 0.0 : mean(vals);
  const double s = (vals.size() > 1 ? stdev(vals, bessel(e.convention)) : 0.0) + e.batch_eps;
  vec A(b.N, 0.0);
  for (index_t i = 0; i < b.N; ++i)
    if (known[i] && s > 0) A[i] = (y[i] - m) / s;
  return A;
}

inline vec reference(const grpo::process_supervision& e, const test_batch& b) {
  const index_t T = b.T;
  vec A(b.N * T, 0.0);
  for (index_t g = 0; g < b.P(); ++g) {
    const index_t s0 = b.step_offsets[b.offsets[g]], s1 = b.step_offsets[b.offsets[g + 1]];
    vec pool(b.step_reward.begin() + s0, b.step_reward.begin() + s1);
    const vec f = finite_values(pool);
    double m = 0.0, d = 1.0 + e.eps;
    if (pool.size() != 1) {
      if (degenerate(pool)) continue;
      m = mean(f);
      d = stdev(f, bessel(e.convention)) + e.eps;
    }
    for (index_t i = b.offsets[g]; i < b.offsets[g + 1]; ++i)
      for (index_t t = 0; t < b.lengths[i]; ++t)
        for (index_t j = b.step_offsets[i]; j < b.step_offsets[i + 1]; ++j)
          if (b.step_end[j] >= t && !std::isnan(b.step_reward[j]))
            A[i * T + t] += (b.step_reward[j] - m) / d;
  }
  return A;
}

/// Number of groups of >= 2 members whose known rewards are all equal or fewer than two.
inline index_t zero_std_groups(const vec& R, const test_batch& b) {
  index_t z = 0;
  for (index_t g = 0; g < b.P(); ++g) {
    const vec x = group_of(R, b, g);
    z += (x.size() >= 2 && degenerate(x)) ? 1 : 0;
  }
  return z;
}

}  // namespace adv_ref
