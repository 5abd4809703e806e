#pragma once
// Float64 naive reference for the objective family, written from the formulas (docs/objective.md)
// as plain multi-pass loops. It shares no code with include/grpo/objective: the configuration is
// a run-time description (enums), and the loss is a function of `logp` with the stop-gradient
// copy `logp_sg` passed separately, so that a finite difference of `reference_loss` in `logp` is
// the reference gradient. Statistics are returned by name, as the library reports them.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

namespace ref {

enum class level { token, sequence, gspo_token };
enum class surr { ppo, cispo_trl, cispo_clipped, sapo, gmpo, gpg, dro };
enum class kle { none, k1, k2, k3, abs };
enum class agg { none, seq_mean_token_mean, token_mean, bnpo, constant, seq_mean_token_sum, token_sum, luspo };

struct config {
  level lvl = level::token;
  double log_min = -20, log_max = 20;
  bool approx_kl_raw = false;
  surr s = surr::ppo;
  double eps_low = 0.2, eps_high = 0.2, delta = INFINITY, dual_clip = INFINITY, eps_max = 5,
         tau_pos = 1, tau_neg = 1.05, dro_beta = 1, gmpo_eps_low = 0.4, gmpo_eps_high = 0.4;
  kle k = kle::none;
  double exp_min = -20, exp_max = 20;  // k3: clamp of ref − logp
  bool kl_value_clamp = false;
  double kl_lo = -10, kl_hi = 10;
  bool kl_straight_through = false;
  bool kl_is_corrected = false;
  agg kl_agg = agg::none;  // none: aggregated like the loss
  double beta = 0;
  agg a = agg::token_mean;
  bool over_nonempty = false;  // seq means over the non-empty sequences
  double max_length = 0;
  bool per_sequence = true;
  bool entropy_bonus = false;
  double entropy_coef = 0;
  agg entropy_agg = agg::none;
  bool top_entropy = false;
  double keep_fraction = 0.2, entropy_threshold = NAN;
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
  /// Batch totals that a reduction hook would make global (negative: this batch's own).
  double global_tokens = -1, global_sequences = -1, global_nonempty = -1;
};

using stats = std::map<std::string, double>;

inline double clampv(double x, double lo, double hi) { return std::min(std::max(x, lo), hi); }

inline bool token_in(const config& c, const batch& b, int i, int t) {
  if (!b.mask.empty() && b.mask[i * b.T + t] == 0) return false;
  if (!b.lengths.empty() && t >= b.lengths[i]) return false;
  if (c.truncated_mask && b.truncated[i] != 0) return false;
  return true;
}

/// torch.quantile-style (linear) quantile of the in-token entropies.
inline double entropy_threshold(const config& c, const batch& b) {
  if (!std::isnan(c.entropy_threshold)) return c.entropy_threshold;
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
    case kle::k3: { const double x = clampv(-d, c.exp_min, c.exp_max); return std::exp(x) - x - 1; }
    case kle::abs: return std::fabs(d);
    default: return 0;
  }
}

/// Per-sequence weight of an aggregation, from the sequence's length and the batch totals.
struct totals {
  double tokens, local_tokens, sequences, nonempty;
  int T;
};
inline double agg_weight(const config& c, agg a, double len, const totals& tt) {
  const double seqs = std::max(c.over_nonempty ? tt.nonempty : tt.sequences, 1.0);
  switch (a) {
    case agg::seq_mean_token_mean: return 1.0 / (std::max(len, 1.0) * seqs);
    case agg::token_mean: return 1.0 / std::max(tt.tokens, 1.0);
    case agg::bnpo: return 1.0 / std::max(tt.local_tokens, 1.0);
    case agg::constant:
      return 1.0 / ((c.per_sequence ? std::max(tt.sequences, 1.0) : 1.0) *
                    std::max(c.max_length > 0 ? c.max_length : tt.T, 1.0));
    case agg::seq_mean_token_sum: return 1.0 / seqs;
    case agg::luspo: return 1.0 / std::max(tt.sequences, 1.0);
    case agg::token_sum: return 1.0;
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

  // pass 1: lengths and totals
  std::vector<double> len(N, 0);
  for (int i = 0; i < N; ++i)
    for (int t = 0; t < T; ++t) len[i] += token_in(c, b, i, t) ? 1 : 0;
  totals tt{0, 0, double(N), 0, T};
  for (double l : len) tt.local_tokens += l, tt.nonempty += l > 0;
  tt.tokens = tt.local_tokens;
  if (b.global_tokens >= 0) tt.tokens = b.global_tokens;
  if (b.global_sequences >= 0) tt.sequences = b.global_sequences;
  if (b.global_nonempty >= 0) tt.nonempty = b.global_nonempty;

  // pass 2: sequence ratios (value with gradient, and the stop-gradient value)
  std::vector<double> log_s(N, 0), log_s_sg(N, 0), mean_sg(N, 0);
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
      log_s[i] = clampv(sum / n, c.log_min, c.log_max);
      log_s_sg[i] = clampv(sum_sg / n, c.log_min, c.log_max);
      mean_sg[i] = sum_sg / n;
    }
  }

  // pass 3: sequence-level correction factors
  std::vector<double> seq_w(N, 1.0), keep(N, 1.0);
  for (int i = 0; i < N; ++i) {
    if (c.sampler && !c.sampler_token_level) {
      double lw = 0;
      for (int t = 0; t < T; ++t)
        if (token_in(c, b, i, t)) lw += old_sg(i, t) - b.sampler[at(i, t)];
      const double w = std::exp(lw);
      seq_w[i] = c.sampler_truncate ? clampv(w, c.c_min, c.c_max) : ((w < c.c_min || w > c.c_max) ? 0.0 : w);
    }
    if (c.off_policy) {
      double gap = 0;
      for (int t = 0; t < T; ++t)
        if (token_in(c, b, i, t))
          gap += (b.sampler.empty() ? old_sg(i, t) : b.sampler[at(i, t)]) - logp_sg[at(i, t)];
      gap /= std::max(len[i], 1.0);
      if (!(b.adv[i] >= 0 || gap <= c.off_delta)) keep[i] = 0;
    }
  }
  const double threshold = c.top_entropy ? entropy_threshold(c, b) : 0;

  // pass 4: per-token terms, weighted by their aggregation
  double loss = 0;
  std::map<std::string, double> sum, mn, mx;
  std::map<std::string, std::vector<double>> per_seq;  // per-sequence sums for the seq_ stats
  // the statistics only when asked for: reference_grad calls this 2·N·T times
  const bool want = st != nullptr;
  auto add = [&](const char* k, double v) {
    if (want) sum[k] += v;
  };
  auto extrema = [&](const char* k, double v) {
    if (!want) return;
    sum[k] += v;
    mn[k] = mn.count(k) ? std::min(mn[k], v) : v;
    mx[k] = mx.count(k) ? std::max(mx[k], v) : v;
  };
  for (int i = 0; i < N; ++i) {
    const double w = agg_weight(c, c.a, len[i], tt);
    const double wk = c.kl_agg == agg::none ? w : agg_weight(c, c.kl_agg, len[i], tt);
    const double we = c.entropy_agg == agg::none ? w : agg_weight(c, c.entropy_agg, len[i], tt);
    std::map<std::string, double> row;
    for (int t = 0; t < T; ++t) {
      if (!token_in(c, b, i, t)) continue;
      const int k = at(i, t);
      const double lp = logp[k], A = adv(i, t), x_sg = logp_sg[k] - old_sg(i, t);
      double lr, lr_sg;
      if (c.lvl == level::token) {
        lr = clampv(lp - old_sg(i, t), c.log_min, c.log_max);
        lr_sg = clampv(x_sg, c.log_min, c.log_max);
      } else if (c.lvl == level::sequence) {
        lr = log_s[i];
        lr_sg = log_s_sg[i];
      } else {  // GSPO-token: clamp(logp − sg(logp) + sg(mean log ρ))
        lr = clampv(lp - logp_sg[k] + mean_sg[i], c.log_min, c.log_max);
        lr_sg = log_s_sg[i];
      }
      const double rho = std::exp(lr), rho_sg = std::exp(lr_sg);
      extrema("ratio", rho_sg);
      add("approx_kl", c.lvl == level::token && !c.approx_kl_raw ? -lr_sg : -x_sg);
      double l = 0;
      switch (c.s) {
        case surr::ppo: {
          const double capped = std::min(rho, c.delta), capped_sg = std::min(rho_sg, c.delta);
          const double rc = clampv(rho, 1 - c.eps_low, 1 + c.eps_high);
          const double rc_sg = clampv(rho_sg, 1 - c.eps_low, 1 + c.eps_high);
          l = -std::min(capped * A, rc * A);
          const double l_sg = -std::min(capped_sg * A, rc_sg * A);
          const bool dual = A < 0 && -c.dual_clip * A < l_sg;
          if (A < 0 && std::isfinite(c.dual_clip)) l = std::min(-c.dual_clip * A, l);
          const bool low = capped_sg < 1 - c.eps_low && A < 0, high = capped_sg > 1 + c.eps_high && A > 0;
          add("clip_low", low);
          add("clip_high", high);
          add("clip_region", low || high);
          add("clip_branch", -A * rc_sg > -A * rho_sg);
          add("clip_dual", dual && std::isfinite(c.dual_clip));
          if (want) row["clip_low"] += low, row["clip_high"] += high;
          break;
        }
        case surr::cispo_trl:
          l = -std::min(rho_sg, c.eps_max) * A * lp;
          add("clip_high", rho_sg > c.eps_max && A > 0);
          break;
        case surr::cispo_clipped: {
          const double w2 = clampv(rho_sg, 1 - c.eps_low, 1 + c.eps_high);
          l = -w2 * A * lp;
          add("clipped", rho_sg != w2);
          break;
        }
        case surr::sapo: {
          const double tau = A > 0 ? c.tau_pos : c.tau_neg;
          l = -(1 / (1 + std::exp(-tau * (rho - 1)))) * (4 / tau) * A;
          break;
        }
        case surr::gmpo: {
          l = -rho * A;
          const bool clipped = x_sg < -c.gmpo_eps_low || x_sg > c.gmpo_eps_high;
          add("clip_high", clipped && A > 0);
          add("clip_low", clipped && A < 0);
          break;
        }
        case surr::gpg: l = -A * lp; break;
        case surr::dro: l = -(lp * A - 0.5 * c.dro_beta * lr * lr); break;
      }
      double ct = 1;
      if (c.top_entropy) {
        ct *= b.entropy[k] >= threshold ? 1 : 0;
        add("entropy_kept", b.entropy[k] >= threshold);
      }
      if (c.sampler) {
        double wt = seq_w[i];
        if (c.sampler_token_level) {
          const double v = std::exp(old_sg(i, t) - b.sampler[k]);
          wt = c.sampler_truncate ? clampv(v, c.c_min, c.c_max) : ((v < c.c_min || v > c.c_max) ? 0 : v);
        }
        ct *= wt;
        add("is_weight", wt);
        add("is_masked", wt == 0);
      }
      if (c.off_policy) {
        ct *= keep[i];
        add("off_policy_dropped", keep[i] == 0);
      }
      loss += w * ct * l;
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
        loss += wk * c.beta * kv;
        const double kv_fwd = c.kl_is_corrected ? value_of(d_sg) * rho_sg : value_of(d_sg);
        add("kl", kv_fwd);
        if (want) mx["kl"] = mx.count("kl") ? std::max(mx["kl"], kv_fwd) : kv_fwd;
      }
      if (c.entropy_bonus) loss -= we * c.entropy_coef * b.entropy[k];
      if (!b.entropy.empty()) add("entropy", b.entropy[k]);
    }
    for (const char* q : {"clip_low", "clip_high"})
      if (want && len[i] > 0) per_seq[q].push_back(row[q] / len[i]);
  }

  if (st != nullptr) {
    stats& s = *st;
    s.clear();
    // the names this configuration reports, whatever the data
    // (means over nothing are 0, extrema over nothing NaN)
    for (const char* k : {"ratio", "approx_kl"}) s[k] = 0;
    for (const char* k : {"ratio_min", "ratio_max"}) s[k] = NAN;
    std::vector<const char*> names;
    if (c.s == surr::ppo) names = {"clip_low", "clip_high", "clip_region", "clip_branch", "clip_dual"};
    if (c.s == surr::cispo_trl) names = {"clip_high"};
    if (c.s == surr::cispo_clipped) names = {"clipped"};
    if (c.s == surr::gmpo) names = {"clip_high", "clip_low"};
    if (c.k != kle::none && c.beta != 0) names.push_back("kl"), s["kl_max"] = NAN;
    if (!b.entropy.empty()) names.push_back("entropy");
    if (c.top_entropy) names.push_back("entropy_kept");
    if (c.sampler) names.push_back("is_weight"), names.push_back("is_masked");
    if (c.off_policy) names.push_back("off_policy_dropped");
    for (const char* k : names) s[k] = 0;
    double tokens = 0;
    for (double l : len) tokens += l;
    for (const auto& [k, v] : sum) s[k] = tokens > 0 ? v / tokens : 0;
    for (const auto& [k, v] : mn) s[k + "_min"] = v;  // (present only when there were tokens)
    for (const auto& [k, v] : mx) s[k + "_max"] = v;
    s.erase("approx_kl_min"), s.erase("approx_kl_max");
    if (c.s == surr::ppo) {
      auto lo = per_seq["clip_low"], hi = per_seq["clip_high"];
      s["clip_low_seq_min"] = lo.empty() ? NAN : *std::min_element(lo.begin(), lo.end());
      s["clip_high_seq_max"] = hi.empty() ? NAN : *std::max_element(hi.begin(), hi.end());
    }
    s["token_count"] = tokens;
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
