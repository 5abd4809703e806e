#pragma once
// Float64 naive reference for the objective family, written from spec/algorithms.md §2-§6 as
// plain multi-pass loops. It shares no code with include/grpo/objective/fused.hpp: the
// configuration is a run-time description (enums), and the loss is a function of `logp` with
// the stop-gradient copy `logp_sg` passed separately, so that a finite difference of
// `reference_loss` in `logp` is the reference gradient.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace ref {

enum class level { token, sequence, gspo_token };
enum class surr { ppo, cispo_trl, cispo_clipped, sapo, gmpo, gpg, dro };
enum class kle { none, k1, k2, k3, abs };
enum class agg { seq_mean_token_mean, token_mean, bnpo, constant, seq_mean_token_sum, token_sum, luspo };

struct config {
  level lvl = level::token;
  double log_clamp = 20;
  surr s = surr::ppo;
  double eps_low = 0.2, eps_high = 0.2, delta = INFINITY, eps_max = 5, tau_pos = 1, tau_neg = 1.05,
         dro_beta = 1, gmpo_eps_low = 0.4, gmpo_eps_high = 0.4;
  kle k = kle::none;
  double k3_clamp = 20;
  bool kl_value_clamp = false;
  double kl_lo = -10, kl_hi = 10;
  bool kl_straight_through = false;
  bool kl_is_corrected = false;
  double beta = 0;
  agg a = agg::token_mean;
  double max_length = 0;
  bool entropy_bonus = false;
  double entropy_coef = 0;
  bool top_entropy = false;
  double keep_fraction = 0.2;
  bool truncated_mask = false;
  bool sampler = false;
  bool sampler_token_level = false, sampler_truncate = false;
  double c_min = 0, c_max = 3;
  bool off_policy = false;
  double off_delta = 0.5;
};

struct batch {
  int N = 0, T = 0;
  std::vector<double> old, ref, entropy, sampler, adv, token_adv;  // empty = absent
  std::vector<std::uint8_t> mask, truncated;                     // empty = absent
  std::vector<int> lengths;                                      // empty = absent
};

struct stats {
  double tokens = 0, clip_low = 0, clip_high = 0, kl_mean = 0, kl_max = 0, ratio_mean = 0,
         ratio_min = 0, ratio_max = 0, entropy_mean = 0;
};

inline double clampv(double x, double lo, double hi) { return std::min(std::max(x, lo), hi); }

inline bool token_in(const config& c, const batch& b, int i, int t) {
  if (!b.mask.empty() && b.mask[i * b.T + t] == 0) return false;
  if (!b.lengths.empty() && t >= b.lengths[i]) return false;
  if (c.truncated_mask && b.truncated[i] != 0) return false;
  return true;
}

/// torch.quantile-style (linear) quantile of the in-token entropies.
inline double entropy_threshold(const config& c, const batch& b) {
  std::vector<double> v;
  for (int i = 0; i < b.N; ++i)
    for (int t = 0; t < b.T; ++t)
      if (token_in(c, b, i, t)) v.push_back(b.entropy[i * b.T + t]);
  if (v.empty()) return INFINITY;
  std::sort(v.begin(), v.end());
  const double pos = (1 - c.keep_fraction) * (v.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const auto hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (pos - lo) * (v[hi] - v[lo]);
}

inline double kl_base(const config& c, double d) {
  switch (c.k) {
    case kle::k1: return d;
    case kle::k2: return 0.5 * d * d;
    case kle::k3: { const double x = clampv(d, -c.k3_clamp, c.k3_clamp); return std::exp(-x) + x - 1; }
    case kle::abs: return std::fabs(d);
    default: return 0;
  }
}

/// Loss as a function of logp (gradient flows) with stop-gradient copies taken from logp_sg.
/// `st` (optional) receives the statistics, evaluated as the forward pass sees them.
inline double reference_loss(const config& c, const batch& b, const std::vector<double>& logp,
                             const std::vector<double>& logp_sg, stats* st = nullptr) {
  const int N = b.N, T = b.T;
  auto at = [&](int i, int t) { return i * T + t; };
  auto old_sg = [&](int i, int t) { return b.old.empty() ? logp_sg[at(i, t)] : b.old[at(i, t)]; };
  auto adv = [&](int i, int t) { return b.token_adv.empty() ? b.adv[i] : b.token_adv[at(i, t)]; };

  // pass 1: lengths
  std::vector<double> len(N, 0);
  for (int i = 0; i < N; ++i)
    for (int t = 0; t < T; ++t) len[i] += token_in(c, b, i, t) ? 1 : 0;
  double tokens = 0;
  for (double l : len) tokens += l;

  // pass 2: sequence ratios (value with gradient, and the stop-gradient value)
  std::vector<double> log_s(N, 0), log_s_sg(N, 0);
  if (c.lvl != level::token) {
    for (int i = 0; i < N; ++i) {
      double sum = 0, sum_sg = 0;
      for (int t = 0; t < T; ++t) {
        if (!token_in(c, b, i, t)) continue;
        double x = logp[at(i, t)] - old_sg(i, t), xs = logp_sg[at(i, t)] - old_sg(i, t);
        if (c.s == surr::gmpo) {  // sign-aware clamp of log ρ
          const double A = b.adv[i];
          auto g = [&](double v) {
            if (A > 0) return std::min(v, c.gmpo_eps_high);
            if (A < 0) return std::max(v, -c.gmpo_eps_low);
            return 0.0;
          };
          x = g(x);
          xs = g(xs);
        }
        sum += x;
        sum_sg += xs;
      }
      const double n = std::max(len[i], 1.0);
      log_s[i] = clampv(sum / n, -c.log_clamp, c.log_clamp);
      log_s_sg[i] = clampv(sum_sg / n, -c.log_clamp, c.log_clamp);
    }
  }

  // pass 3: sequence-level correction factors
  std::vector<double> factor(N, 1.0);
  for (int i = 0; i < N; ++i) {
    if (c.sampler && !c.sampler_token_level) {
      double lw = 0;
      for (int t = 0; t < T; ++t)
        if (token_in(c, b, i, t)) lw += old_sg(i, t) - b.sampler[at(i, t)];
      const double w = std::exp(lw);
      if (c.sampler_truncate) factor[i] *= clampv(w, c.c_min, c.c_max);
      else factor[i] *= (w < c.c_min || w > c.c_max) ? 0.0 : w;
    }
    if (c.off_policy) {
      double gap = 0;
      for (int t = 0; t < T; ++t)
        if (token_in(c, b, i, t))
          gap += (b.sampler.empty() ? old_sg(i, t) : b.sampler[at(i, t)]) - logp_sg[at(i, t)];
      gap /= std::max(len[i], 1.0);
      if (!(b.adv[i] >= 0 || gap <= c.off_delta)) factor[i] = 0;
    }
  }
  const double threshold = c.top_entropy ? entropy_threshold(c, b) : 0;

  // pass 4: per-token terms, summed per sequence
  std::vector<double> S(N, 0);
  stats s;
  s.ratio_min = INFINITY;
  s.ratio_max = -INFINITY;
  s.kl_max = -INFINITY;
  for (int i = 0; i < N; ++i) {
    for (int t = 0; t < T; ++t) {
      if (!token_in(c, b, i, t)) continue;
      const int k = at(i, t);
      const double lp = logp[k], A = adv(i, t);
      double lr, lr_sg;
      if (c.lvl == level::token) {
        lr = clampv(lp - old_sg(i, t), -c.log_clamp, c.log_clamp);
        lr_sg = clampv(logp_sg[k] - old_sg(i, t), -c.log_clamp, c.log_clamp);
      } else if (c.lvl == level::sequence) {
        lr = log_s[i];
        lr_sg = log_s_sg[i];
      } else {  // GSPO-token: clamp(logp − sg(logp) + sg(mean log ρ))
        lr = clampv(lp - logp_sg[k] + log_s_sg[i], -c.log_clamp, c.log_clamp);
        lr_sg = log_s_sg[i];
      }
      const double rho = std::exp(lr), rho_sg = std::exp(lr_sg);
      double l = 0;
      bool low = false, high = false;
      switch (c.s) {
        case surr::ppo: {
          const double unclipped = std::min(rho, c.delta) * A;
          const double clipped = clampv(rho, 1 - c.eps_low, 1 + c.eps_high) * A;
          l = -std::min(unclipped, clipped);
          low = rho_sg < 1 - c.eps_low && A < 0;
          high = rho_sg > 1 + c.eps_high && A > 0;
          break;
        }
        case surr::cispo_trl:
          l = -std::min(rho_sg, c.eps_max) * A * lp;
          high = rho_sg > c.eps_max && A > 0;
          break;
        case surr::cispo_clipped:
          l = -clampv(rho_sg, 1 - c.eps_low, 1 + c.eps_high) * A * lp;
          low = rho_sg < 1 - c.eps_low && A < 0;
          high = rho_sg > 1 + c.eps_high && A > 0;
          break;
        case surr::sapo: {
          const double tau = A > 0 ? c.tau_pos : c.tau_neg;
          l = -(1 / (1 + std::exp(-tau * (rho - 1)))) * (4 / tau) * A;
          break;
        }
        case surr::gmpo: {
          l = -rho * A;
          const double x = logp_sg[k] - old_sg(i, t);
          low = A < 0 && x < -c.gmpo_eps_low;
          high = A > 0 && x > c.gmpo_eps_high;
          break;
        }
        case surr::gpg: l = -A * lp; break;
        case surr::dro: l = -(lp * A - 0.5 * c.dro_beta * lr * lr); break;
      }
      double ct = 1;
      if (c.top_entropy) ct *= b.entropy[k] >= threshold ? 1 : 0;
      if (c.sampler && c.sampler_token_level) {
        const double w = std::exp(old_sg(i, t) - b.sampler[k]);
        ct *= c.sampler_truncate ? clampv(w, c.c_min, c.c_max) : ((w < c.c_min || w > c.c_max) ? 0 : w);
      }
      double v = factor[i] * ct * l;
      if (c.k != kle::none && c.beta != 0) {
        const double d = lp - b.ref[k], d_sg = logp_sg[k] - b.ref[k];
        auto value_of = [&](double dd) {
          double kv = kl_base(c, dd);
          if (c.kl_value_clamp) kv = clampv(kv, c.kl_lo, c.kl_hi);
          return kv;
        };
        double kv;
        if (c.kl_straight_through) kv = 0.5 * d * d - 0.5 * d_sg * d_sg + value_of(d_sg);
        else if (c.kl_is_corrected) kv = value_of(d) * rho;
        else kv = value_of(d);
        v += c.beta * kv;
        const double kv_fwd = c.kl_is_corrected ? value_of(d_sg) * rho_sg : value_of(d_sg);
        s.kl_mean += kv_fwd;
        s.kl_max = std::max(s.kl_max, kv_fwd);
      }
      if (c.entropy_bonus) v -= c.entropy_coef * b.entropy[k];
      S[i] += v;
      s.tokens += 1;
      s.clip_low += low;
      s.clip_high += high;
      s.ratio_mean += rho_sg;
      s.ratio_min = std::min(s.ratio_min, rho_sg);
      s.ratio_max = std::max(s.ratio_max, rho_sg);
      if (!b.entropy.empty()) s.entropy_mean += b.entropy[k];
    }
  }

  // pass 5: aggregation
  double loss = 0;
  const double n_seq = N;
  switch (c.a) {
    case agg::seq_mean_token_mean:
      for (int i = 0; i < N; ++i) loss += S[i] / std::max(len[i], 1.0);
      loss /= n_seq;
      break;
    case agg::token_mean:
    case agg::bnpo:
      for (int i = 0; i < N; ++i) loss += S[i];
      loss /= std::max(tokens, 1.0);
      break;
    case agg::constant:
      for (int i = 0; i < N; ++i) loss += S[i];
      loss /= n_seq * (c.max_length > 0 ? c.max_length : T);
      break;
    case agg::seq_mean_token_sum:
    case agg::luspo:  // mean_i (ℓ_i · T_i): with a sequence ratio Σ_t ℓ = ℓ_i·T_i = S_i
      for (int i = 0; i < N; ++i) loss += S[i];
      loss /= n_seq;
      break;
    case agg::token_sum:
      for (int i = 0; i < N; ++i) loss += S[i];
      break;
  }
  if (st != nullptr) {
    if (s.tokens > 0) {
      s.clip_low /= s.tokens;
      s.clip_high /= s.tokens;
      s.kl_mean /= s.tokens;
      s.ratio_mean /= s.tokens;
      s.entropy_mean /= s.tokens;
      if (!(c.k != kle::none && c.beta != 0)) s.kl_max = 0;
    } else {
      s = stats{};
    }
    *st = s;
  }
  return loss;
}

/// Central finite-difference gradient of reference_loss in logp (stop-gradient copies fixed).
inline std::vector<double> reference_grad(const config& c, const batch& b,
                                          const std::vector<double>& logp, double h = 1e-6) {
  std::vector<double> g(logp.size(), 0), x = logp;
  for (std::size_t k = 0; k < logp.size(); ++k) {
    x[k] = logp[k] + h;
    const double up = reference_loss(c, b, x, logp);
    x[k] = logp[k] - h;
    const double dn = reference_loss(c, b, x, logp);
    x[k] = logp[k];
    g[k] = (up - dn) / (2 * h);
  }
  return g;
}

}  // namespace ref
