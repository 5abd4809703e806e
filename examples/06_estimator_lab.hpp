#pragma once
// The estimator lab: the computations of examples/06_estimator_lab.cpp, in a header so that
// tests/lab/test_lab.cpp checks the same code the program runs. Four experiments, each a function
// returning tables (value ± Monte Carlo standard error) and the curves of its plot:
//
//   1. KL estimators (grpo::kl): bias and spread of each estimator's value against the true
//      KL[q‖p] on Gaussians (J. Schulman, "Approximating KL Divergence", 2020) and on
//      categorical distributions; the expected gradient each gives when it is put in the loss,
//      against the true gradient of the reverse KL (and of the forward KL and the total
//      variation, which some of them estimate instead); KL in the reward against KL in the loss.
//   2. Advantage estimators (grpo/advantage, every one through compute_advantages) on a tabular
//      contextual bandit whose exact policy gradient is known: scale, direction, variance and
//      signal-to-noise of the policy-gradient estimate as functions of the group size G.
//   3. Aggregations (grpo::aggregation, through grpo::evaluate): the weight each response gets as
//      a function of its length, and the length drift each induces on a model whose length and
//      correctness are controlled (the length bias of Z. Liu et al., "Understanding R1-Zero-Like
//      Training: A Critical Perspective", 2025, "Dr. GRPO").
//
// Everything measured is computed by the library (kl_terms, compute_advantages, apply_kl_penalty,
// evaluate); every ground truth (the KL, its gradients, the bandit's ∇J, the length model's
// ∇J) is computed here from its formula, independently of the code under test.
#include <grpo/advantage/advantage.hpp>
#include <grpo/exec/cpu.hpp>
#include <grpo/objective/objective.hpp>
#include <grpo/optim/adamw.hpp>
#include <grpo/train/plot.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <limits>
#include <numbers>
#include <random>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace lab {

using grpo::index_t;
inline constexpr double nan = std::numeric_limits<double>::quiet_NaN();

// ================================================================================================
// Monte Carlo statistics
// ================================================================================================

/// A Monte Carlo figure and its standard error (se = 0: exact; NaN: not estimated).
struct estimate {
  double value = nan;
  double se = nan;
};

inline double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (std::size_t k = 0; k < a.size(); ++k) s += a[k] * b[k];
  return s;
}
inline double norm(const std::vector<double>& a) { return std::sqrt(dot(a, a)); }
inline double cosine(const std::vector<double>& a, const std::vector<double>& b) {
  const double d = norm(a) * norm(b);
  return d > 0 ? dot(a, b) / d : nan;
}
inline double distance(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (std::size_t k = 0; k < a.size(); ++k) s += (a[k] - b[k]) * (a[k] - b[k]);
  return std::sqrt(s);
}

/// Means of vector-valued samples g (plus ‖g‖² and a few scalars per sample), kept in B blocks so
/// that any smooth function of the means gets a delete-one-block jackknife standard error
/// (B. Efron, "The Jackknife, the Bootstrap and Other Resampling Plans", 1982): with θ_b the
/// function of the means without block b, se² = (B−1)/B · Σ_b (θ_b − mean θ)². Samples go to the
/// blocks in turn, so every block holds i.i.d. samples.
class blocked_moments {
 public:
  /// The means of one set of blocks.
  struct view {
    double n = 0;
    std::vector<double> mean;   // E[g]
    double mean_sq = 0;         // E[‖g‖²]
    std::vector<double> extra;  // E[extra_k]
    /// tr Cov(g) = E‖g‖² − ‖E g‖², with Bessel's n/(n−1).
    double trace_cov() const {
      const double m = dot(mean, mean);
      return n > 1 ? std::max(mean_sq - m, 0.0) * n / (n - 1) : nan;
    }
  };

  blocked_moments(std::size_t dim, std::size_t extras = 0, int blocks = 32)
      : dim_(dim), extras_(extras), blocks_(blocks),
        sum_(static_cast<std::size_t>(blocks) * dim, 0.0), sq_(static_cast<std::size_t>(blocks), 0.0),
        ex_(static_cast<std::size_t>(blocks) * extras, 0.0), n_(static_cast<std::size_t>(blocks), 0.0) {}

  void add(const double* g, const double* extra = nullptr) {
    const std::size_t b = next_;
    next_ = (next_ + 1) % static_cast<std::size_t>(blocks_);
    double s = 0;
    for (std::size_t k = 0; k < dim_; ++k) {
      sum_[b * dim_ + k] += g[k];
      s += g[k] * g[k];
    }
    sq_[b] += s;
    for (std::size_t k = 0; k < extras_; ++k) ex_[b * extras_ + k] += extra[k];
    n_[b] += 1;
  }
  void add(const std::vector<double>& g, const std::vector<double>& extra = {}) {
    add(g.data(), extra.empty() ? nullptr : extra.data());
  }

  /// The means over every block but `skip` (skip < 0: over all of them).
  view means(int skip = -1) const {
    view v;
    v.mean.assign(dim_, 0.0);
    v.extra.assign(extras_, 0.0);
    for (int b = 0; b < blocks_; ++b) {
      if (b == skip) continue;
      const auto u = static_cast<std::size_t>(b);
      v.n += n_[u];
      v.mean_sq += sq_[u];
      for (std::size_t k = 0; k < dim_; ++k) v.mean[k] += sum_[u * dim_ + k];
      for (std::size_t k = 0; k < extras_; ++k) v.extra[k] += ex_[u * extras_ + k];
    }
    const double inv = v.n > 0 ? 1.0 / v.n : nan;
    v.mean_sq *= inv;
    for (auto& x : v.mean) x *= inv;
    for (auto& x : v.extra) x *= inv;
    return v;
  }

  /// f(means) with its jackknife standard error.
  template <class F>
  estimate jackknife(F&& f) const {
    estimate e;
    e.value = f(means());
    std::vector<double> th(static_cast<std::size_t>(blocks_));
    double avg = 0;
    for (int b = 0; b < blocks_; ++b) avg += th[static_cast<std::size_t>(b)] = f(means(b));
    avg /= blocks_;
    double ss = 0;
    for (double t : th) ss += (t - avg) * (t - avg);
    e.se = std::sqrt(ss * (blocks_ - 1) / blocks_);
    return e;
  }

 private:
  std::size_t dim_, extras_;
  int blocks_;
  std::vector<double> sum_, sq_, ex_, n_;
  std::size_t next_ = 0;
};

/// A seeded generator per experiment (std::mt19937_64; the same seed gives the same numbers on
/// the same standard library).
using rng_t = std::mt19937_64;

// ================================================================================================
// Tables and their output
// ================================================================================================

/// A table cell: text, or a number with an optional standard error.
struct cell {
  std::string text;
  double value = nan, se = nan;
  bool number = false;
  cell() = default;
  cell(const char* t) : text(t) {}  // NOLINT: implicit on purpose (tables read as lists)
  cell(std::string t) : text(std::move(t)) {}  // NOLINT
  cell(double v) : value(v), se(0), number(true) {}  // NOLINT: exact
  cell(estimate e) : value(e.value), se(e.se), number(true) {}  // NOLINT
};

struct table {
  std::string id;     // file stem: <id>.csv
  std::string title;  // the markdown heading
  std::vector<std::string> columns;
  std::vector<std::vector<cell>> rows;
  std::string note;   // printed under the table
};

inline std::string format_number(double v, int sig = 4) {
  if (std::isnan(v)) return "—";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char b[40];
  std::snprintf(b, sizeof b, "%.*g", sig, v);
  return b;
}

/// "v ± se", the value rounded to the standard error's second significant digit.
inline std::string format_pm(double v, double se) {
  if (std::isnan(se) || std::isnan(v) || std::isinf(se) || se <= 1e-12 * std::fabs(v)) return format_number(v);
  const double mag = std::max(std::fabs(v), se);
  if (mag >= 1e5 || mag < 1e-4) {
    char b[64];
    std::snprintf(b, sizeof b, "%.3g ± %.2g", v, se);
    return b;
  }
  // at most six significant digits however small the error (the error then in %g)
  const int most = std::min(9, std::max(0, 5 - static_cast<int>(std::floor(std::log10(mag)))));
  const int want = std::max(0, 1 - static_cast<int>(std::floor(std::log10(se))));
  char b[64];
  if (want > most) std::snprintf(b, sizeof b, "%.*f ± %.2g", most, v, se);
  else std::snprintf(b, sizeof b, "%.*f ± %.*f", want, v, want, se);
  return b;
}

inline std::string to_markdown(const table& t) {
  std::string s = "### " + t.title + "\n\n|";
  for (const auto& c : t.columns) s += " " + c + " |";
  s += "\n|";
  for (std::size_t k = 0; k < t.columns.size(); ++k) s += k == 0 ? "---|" : "---:|";
  s += "\n";
  for (const auto& r : t.rows) {
    s += "|";
    for (const auto& c : r) {
      // an exact value within rounding of 0 (a quadrature's 1e-14) is printed as 0
      const double v = c.number && c.se == 0 && std::fabs(c.value) < 1e-10 ? 0.0 : c.value;
      s += " " + (c.number ? format_pm(v, c.se) : c.text) + " |";
    }
    s += "\n";
  }
  if (!t.note.empty()) s += "\n" + t.note + "\n";
  return s + "\n";
}

/// CSV: a numeric column with standard errors becomes two, `name` and `name_se`.
inline std::string to_csv(const table& t) {
  auto quoted = [](const std::string& x) {
    if (x.find_first_of(",\"") == std::string::npos) return x;
    std::string q = "\"";
    for (char c : x) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
  };
  std::vector<bool> has_se(t.columns.size(), false);
  for (const auto& r : t.rows)
    for (std::size_t k = 0; k < r.size() && k < has_se.size(); ++k)
      if (r[k].number && !std::isnan(r[k].se) && r[k].se != 0) has_se[k] = true;
  std::string s;
  for (std::size_t k = 0; k < t.columns.size(); ++k) {
    s += (k ? "," : "") + quoted(t.columns[k]);
    if (has_se[k]) s += "," + quoted(t.columns[k] + "_se");
  }
  s += "\n";
  for (const auto& r : t.rows) {
    for (std::size_t k = 0; k < r.size(); ++k) {
      char b[40];
      if (k) s += ",";
      if (r[k].number) {
        std::snprintf(b, sizeof b, "%.10g", r[k].value);
        s += b;
      } else {
        s += quoted(r[k].text);
      }
      if (k < has_se.size() && has_se[k]) {
        std::snprintf(b, sizeof b, "%.4g", r[k].number ? r[k].se : nan);
        s += std::string(",") + b;
      }
    }
    s += "\n";
  }
  return s;
}

/// What one experiment produces: tables, and figures written as <id>.svg.
struct section {
  std::vector<table> tables;
  std::vector<std::pair<std::string, grpo::train::figure>> figures;
};

// ================================================================================================
// 1. KL estimators
// ================================================================================================
//
// grpo's convention (grpo/objective/kl.hpp): d = logp − ref, with logp the log-probability under
// the policy being sampled and ref the reference's. Schulman samples x ~ q and writes r = p(x)/q(x);
// so q is grpo's policy (logp = log q(x)), p the reference (ref = log p(x)), and
//   k1 = d = −log r,   k2 = ½d² = ½(log r)²,   k3 = e^{−d} + d − 1 = (r − 1) − log r,
// each an estimator of KL[q‖p] = E_q[−log r], the reverse KL that the penalty β·KL[π_θ‖π_ref]
// means.

/// A KL estimator as the lab uses it: the library's values and ∂k/∂logp (grpo::kl_terms), and an
/// independent formula of its value in terms of log r = ref − logp, for the exact columns.
struct kl_estimator {
  std::string name;
  std::function<void(const double* logp, const double* ref, index_t n, double* k, double* dk)> library;
  std::function<double(double log_r)> formula;
};

namespace detail {
template <class K>
kl_estimator from_library(std::string name, K k, std::function<double(double)> formula) {
  return {std::move(name),
          [k](const double* lp, const double* ref, index_t n, double* v, double* dv) {
            grpo::throw_if_error(grpo::kl_terms(k, lp, ref, n, v, dv));
          },
          std::move(formula)};
}
// the formulas of docs/objective.md, written from the formula sheet, not from kl.hpp
inline double f_k1(double lr) { return -lr; }
inline double f_k2(double lr) { return 0.5 * lr * lr; }
inline double f_k3(double lr) {  // x = clamp(ref − logp, −20, 20) = clamp(log r, ...)
  const double x = std::clamp(lr, -20.0, 20.0);
  return std::exp(x) - x - 1.0;
}
inline double f_abs(double lr) { return std::fabs(lr); }
inline double clamp10(double k) { return std::clamp(k, -10.0, 10.0); }
}  // namespace detail

/// k1, k2, k3, abs and each clamped to [−10, 10] (verl's low_var_kl clamp, OpenRLHF's clamp of
/// every estimator): grpo::kl::k1, k2, k3, abs, clamped<...> with their default members.
inline std::vector<kl_estimator> kl_family() {
  namespace kl = grpo::kl;
  using detail::clamp10;
  return {
      detail::from_library("k1", kl::k1{}, detail::f_k1),
      detail::from_library("k2", kl::k2{}, detail::f_k2),
      detail::from_library("k3", kl::k3{}, detail::f_k3),
      detail::from_library("abs", kl::abs{}, detail::f_abs),
      detail::from_library("clamped<k1>", kl::clamped<kl::k1>{}, [](double lr) { return clamp10(detail::f_k1(lr)); }),
      detail::from_library("clamped<k2>", kl::clamped<kl::k2>{}, [](double lr) { return clamp10(detail::f_k2(lr)); }),
      detail::from_library("clamped<k3>", kl::clamped<kl::k3>{}, [](double lr) { return clamp10(detail::f_k3(lr)); }),
      detail::from_library("clamped<abs>", kl::clamped<kl::abs>{}, [](double lr) { return clamp10(detail::f_abs(lr)); }),
  };
}

inline double normal_pdf(double x) { return std::exp(-0.5 * x * x) / std::sqrt(2.0 * std::numbers::pi); }
inline double normal_cdf(double x) { return 0.5 * std::erfc(-x / std::numbers::sqrt2); }

/// E and sd of f(log r) under x ~ N(0,1), log r = μx − μ²/2, by Simpson's rule on [−40, 40]
/// (h = 1e-3: the integrands are smooth, the heaviest, e^{2 log r}·φ at μ = 3, peaks at x = 2μ).
inline std::pair<double, double> gaussian_moments(const std::function<double(double)>& f, double mu) {
  const int n = 80000;
  const double a = -40.0, h = 80.0 / n;
  double s1 = 0, s2 = 0;
  for (int k = 0; k <= n; ++k) {
    const double x = a + h * k, w = (k == 0 || k == n) ? 1.0 : (k % 2 ? 4.0 : 2.0);
    const double v = f(mu * x - 0.5 * mu * mu), p = normal_pdf(x) * w;
    s1 += v * p;
    s2 += v * v * p;
  }
  s1 *= h / 3;
  s2 *= h / 3;
  return {s1, std::sqrt(std::max(s2 - s1 * s1, 0.0))};
}

/// Closed forms for q = N(0,1), p = N(μ,1) (log r ~ N(−μ²/2, μ²); docs/lab.md derives them):
/// mean and sd of k1, k2, k3 (without k3's exponent clamp) and abs. {NaN, NaN} for others.
inline std::pair<double, double> gaussian_closed_form(const std::string& name, double mu) {
  const double m2 = mu * mu, kl = m2 / 2;
  if (name == "k1") return {kl, mu};
  if (name == "k2") return {kl + m2 * m2 / 8, m2 * std::sqrt(2 + m2) / 2};
  if (name == "k3") return {kl, std::sqrt(std::expm1(m2) - m2)};
  if (name == "abs") {  // folded normal, location μ²/2, scale μ
    const double mean = mu * std::sqrt(2 / std::numbers::pi) * std::exp(-m2 / 8) + kl * (1 - 2 * normal_cdf(-mu / 2));
    return {mean, std::sqrt(std::max(kl * kl + m2 - mean * mean, 0.0))};
  }
  return {nan, nan};
}

/// One row of Schulman's table: bias/KL and sd/KL with their standard errors, and the exact
/// values (quadrature of the estimator's formula).
struct schulman_row {
  std::string estimator;
  double mu = 0, kl = 0;
  estimate bias_rel, sd_rel;
  double exact_bias_rel = nan, exact_sd_rel = nan;
};

/// x ~ N(0,1) (n samples per μ, in chunks), each estimator's value from grpo::kl_terms with
/// logp = log q(x), ref = log p(x); bias/KL and sd/KL with jackknife standard errors.
inline std::vector<schulman_row> gaussian_kl(const std::vector<double>& mus, std::size_t n, std::uint64_t seed,
                                             const std::vector<kl_estimator>& family = kl_family()) {
  std::vector<schulman_row> out;
  const std::size_t chunk = 1 << 15;
  std::vector<double> lp(chunk), ref(chunk), v(chunk), dv(chunk);
  for (std::size_t m = 0; m < mus.size(); ++m) {
    const double mu = mus[m], kl = mu * mu / 2;
    rng_t rng(seed + 1000 * m);
    std::normal_distribution<double> N01;
    std::vector<blocked_moments> acc(family.size(), blocked_moments(1));
    for (std::size_t done = 0; done < n; done += chunk) {
      const std::size_t c = std::min(chunk, n - done);
      for (std::size_t j = 0; j < c; ++j) {
        const double x = N01(rng);
        lp[j] = -0.5 * x * x;                  // log q(x) (the constant −½log 2π cancels in d)
        ref[j] = -0.5 * (x - mu) * (x - mu);   // log p(x)
      }
      for (std::size_t e = 0; e < family.size(); ++e) {
        family[e].library(lp.data(), ref.data(), static_cast<index_t>(c), v.data(), dv.data());
        for (std::size_t j = 0; j < c; ++j) {
          const double y = v[j] - kl;  // centred at the truth: no cancellation in the moments
          acc[e].add(&y);
        }
      }
    }
    for (std::size_t e = 0; e < family.size(); ++e) {
      schulman_row r;
      r.estimator = family[e].name;
      r.mu = mu;
      r.kl = kl;
      r.bias_rel = acc[e].jackknife([&](const auto& s) { return s.mean[0] / kl; });
      r.sd_rel = acc[e].jackknife([&](const auto& s) { return std::sqrt(s.trace_cov()) / kl; });
      const auto [em, es] = gaussian_moments(family[e].formula, mu);
      r.exact_bias_rel = (em - kl) / kl;
      r.exact_sd_rel = es / kl;
      out.push_back(r);
    }
  }
  return out;
}

/// Schulman's published table (2020): true KL 0.005 (μ = 0.1) and 0.5 (μ = 1); `half_width` is
/// half a unit of his last printed digit (0 where he prints an exact 0: those estimators are
/// unbiased).
struct schulman_value {
  double mu;
  const char* estimator;
  double bias_rel, bias_half_width, sd_rel, sd_half_width;
};
inline constexpr schulman_value schulman_published[] = {
    {0.1, "k1", 0, 0, 20, 0.5},    {0.1, "k2", 0.002, 0.0005, 1.42, 0.005}, {0.1, "k3", 0, 0, 1.42, 0.005},
    {1.0, "k1", 0, 0, 2, 0.5},     {1.0, "k2", 0.25, 0.005, 1.73, 0.005},   {1.0, "k3", 0, 0, 1.7, 0.05},
};

/// Is the lab's figure within 4 standard errors of Schulman's rounding interval
/// [his − half_width, his + half_width]? (His printed 1.73 stands for any value in [1.725, 1.735];
/// the exact √3 = 1.7321 lies inside, so a figure 3 standard errors above the exact value may lie
/// more than 4 errors or half a digit from 1.73, but never more than both together.)
inline bool within_schulman(const estimate& lab, double his, double half_width) {
  return std::fabs(lab.value - his) <= 4 * lab.se + half_width;
}

// ---- categorical ---------------------------------------------------------------------------------

/// A pair of categorical distributions (log-probabilities, normalised): the policy q, the
/// reference p.
struct categorical_case {
  std::string name;
  std::vector<double> logq, logp;
};

inline std::vector<double> log_softmax(const std::vector<double>& z) {
  double m = *std::max_element(z.begin(), z.end()), s = 0;
  for (double x : z) s += std::exp(x - m);
  std::vector<double> o(z.size());
  for (std::size_t k = 0; k < z.size(); ++k) o[k] = z[k] - m - std::log(s);
  return o;
}

/// Six outcomes. q = softmax(θ); p = softmax(θ + s·z) for three distances s, and two cases with a
/// rare outcome: `ref-rare` (the reference gives e^−14 relative odds to an outcome the policy
/// samples 5% of the time: log r = −14 there, k2 and k3 above the clamp) and `policy-rare` (the
/// policy samples 1 in 2500 times an outcome the reference gives 5%: a rare, large r ≈ 130).
inline std::vector<categorical_case> categorical_cases() {
  const std::vector<double> th = {1.0, 0.5, 0.0, -0.5, -1.0, 0.2}, z = {-0.6, 0.9, 0.3, -1.2, 0.8, -0.2};
  auto shifted = [&](const std::vector<double>& base, double s) {
    std::vector<double> o(base.size());
    for (std::size_t k = 0; k < base.size(); ++k) o[k] = base[k] + s * z[k];
    return o;
  };
  std::vector<categorical_case> c;
  c.push_back({"near", log_softmax(th), log_softmax(shifted(th, 0.1))});
  c.push_back({"mid", log_softmax(th), log_softmax(shifted(th, 0.8))});
  c.push_back({"far", log_softmax(th), log_softmax(shifted(th, 2.0))});
  auto rare_ref = th;
  rare_ref[4] -= 14.0;
  c.push_back({"ref-rare", log_softmax(th), log_softmax(rare_ref)});
  auto rare_pol = th;
  rare_pol[4] -= 5.0;
  c.push_back({"policy-rare", log_softmax(rare_pol), log_softmax(th)});
  return c;
}

/// KL[q‖p] = Σ q log(q/p), from the formula.
inline double categorical_kl(const std::vector<double>& logq, const std::vector<double>& logp) {
  double s = 0;
  for (std::size_t k = 0; k < logq.size(); ++k) s += std::exp(logq[k]) * (logq[k] - logp[k]);
  return s;
}

/// Draws an outcome from log-probabilities (inverse CDF).
inline std::size_t draw(const std::vector<double>& cdf, rng_t& rng) {
  const double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
  const auto it = std::upper_bound(cdf.begin(), cdf.end(), u);
  return std::min(static_cast<std::size_t>(it - cdf.begin()), cdf.size() - 1);
}
inline std::vector<double> cdf_of(const std::vector<double>& logq) {
  std::vector<double> c(logq.size());
  double s = 0;
  for (std::size_t k = 0; k < logq.size(); ++k) c[k] = s += std::exp(logq[k]);
  for (auto& x : c) x /= s;
  return c;
}

struct categorical_kl_row {
  std::string case_name, estimator;
  double kl = 0;
  estimate bias_rel, sd_rel;                        // Monte Carlo
  double exact_bias_rel = nan, exact_sd_rel = nan;  // Σ_x q(x)·k(x) over the outcomes
};

/// The same measurement on the categorical cases; the exact columns enumerate the outcomes with
/// the library's own values (so they are the estimator's exact bias and spread, and the Monte
/// Carlo columns must agree with them).
inline std::vector<categorical_kl_row> categorical_kl_table(std::size_t n, std::uint64_t seed,
                                                            const std::vector<kl_estimator>& family = kl_family()) {
  std::vector<categorical_kl_row> out;
  const auto cases = categorical_cases();
  for (std::size_t ci = 0; ci < cases.size(); ++ci) {
    const auto& cs = cases[ci];
    const std::size_t K = cs.logq.size();
    const double kl = categorical_kl(cs.logq, cs.logp);
    // the library's k at each outcome
    std::vector<std::vector<double>> kv(family.size(), std::vector<double>(K)), dk = kv;
    for (std::size_t e = 0; e < family.size(); ++e)
      family[e].library(cs.logq.data(), cs.logp.data(), static_cast<index_t>(K), kv[e].data(), dk[e].data());
    const auto cdf = cdf_of(cs.logq);
    rng_t rng(seed + 7919 * ci);
    std::vector<blocked_moments> acc(family.size(), blocked_moments(1));
    for (std::size_t j = 0; j < n; ++j) {
      const std::size_t x = draw(cdf, rng);
      for (std::size_t e = 0; e < family.size(); ++e) {
        const double y = kv[e][x] - kl;
        acc[e].add(&y);
      }
    }
    for (std::size_t e = 0; e < family.size(); ++e) {
      categorical_kl_row r;
      r.case_name = cs.name;
      r.estimator = family[e].name;
      r.kl = kl;
      r.bias_rel = acc[e].jackknife([&](const auto& s) { return s.mean[0] / kl; });
      r.sd_rel = acc[e].jackknife([&](const auto& s) { return std::sqrt(s.trace_cov()) / kl; });
      double m1 = 0, m2 = 0;
      for (std::size_t k = 0; k < K; ++k) {
        const double q = std::exp(cs.logq[k]);
        m1 += q * kv[e][k];
        m2 += q * kv[e][k] * kv[e][k];
      }
      r.exact_bias_rel = (m1 - kl) / kl;
      r.exact_sd_rel = std::sqrt(std::max(m2 - m1 * m1, 0.0)) / kl;
      out.push_back(r);
    }
  }
  return out;
}

// ---- gradients -----------------------------------------------------------------------------------
//
// In the loss, grpo differentiates β·k(d) through logp of the sampled token only, the sample
// itself not reparameterised: the per-sample gradient is k'(d)·∇_θ log q_θ(x), x ~ q_θ, and its
// expectation is E_q[k'(d)·∇log q]. With ∇ the gradient in θ and Σ_x ∇q(x) = 0:
//   k1: k' = 1:            E_q[∇log q] = 0                                      (no gradient)
//   k2: k' = d:            E_q[(log q − log p)∇log q] = ∇KL[q‖p]                (unbiased)
//   k3: k' = 1 − p/q:      0 − Σ p ∇log q = ∇KL[p‖q]                            (the FORWARD KL)
//   abs: k' = sign(d):     Σ_{q>p}∇q − Σ_{q<p}∇q = 2∇Σ_{q>p}(q − p) = 2∇TV(q,p) (total variation)
// (∇KL[q‖p] = Σ∇q·(log q − log p) + Σ q∇log q, the last sum 0; ∇KL[p‖q] = −Σ p∇log q; on the
// boundary of {q > p} the integrand q − p is 0, so moving it adds nothing to ∇TV.) The clamped
// variants have k' = 0 where the clamp holds and inherit their estimator's result elsewhere.

/// Gaussian: q_θ = N(m, e^{2s}) at (m, s) = (0, 0), p = N(μ, 1); θ = (m, s) so that the reverse
/// and forward KL, which have the same m-gradient here, differ in s. ∇log q = (x, x² − 1) at θ = 0.
///   ∇KL[q‖p]  = (−μ, 0)               (KL = −s + (e^{2s} + (m − μ)²)/2 − ½)
///   ∇KL[p‖q]  = (−μ, −μ²)             (KL = s + (1 + (μ − m)²)e^{−2s}/2 − ½)
///   2∇TV(q,p) = (−2φ(μ/2), −μφ(μ/2))  (∇TV = ∇Q({q > p}) with the set held fixed, and at
///                                      θ = 0 the set is {x < μ/2}: Q = Φ((μ/2 − m)e^{−s}))
struct gauss_grad_row {
  std::string estimator;
  double mu = 0;
  estimate gm, gs;  // E[ĝ] components (m, s)
};
struct gauss_truths {
  std::array<double, 2> reverse, forward, tv2;
};
inline gauss_truths gaussian_gradient_truths(double mu) {
  return {{-mu, 0.0}, {-mu, -mu * mu}, {-2 * normal_pdf(mu / 2), -mu * normal_pdf(mu / 2)}};
}

inline std::vector<gauss_grad_row> gaussian_gradients(const std::vector<double>& mus, std::size_t n,
                                                      std::uint64_t seed,
                                                      const std::vector<kl_estimator>& family = kl_family()) {
  std::vector<gauss_grad_row> out;
  const std::size_t chunk = 1 << 15;
  std::vector<double> xs(chunk), lp(chunk), ref(chunk), v(chunk), dv(chunk);
  for (std::size_t m = 0; m < mus.size(); ++m) {
    const double mu = mus[m];
    rng_t rng(seed + 31 * m);
    std::normal_distribution<double> N01;
    std::vector<blocked_moments> acc(family.size(), blocked_moments(2));
    for (std::size_t done = 0; done < n; done += chunk) {
      const std::size_t c = std::min(chunk, n - done);
      for (std::size_t j = 0; j < c; ++j) {
        xs[j] = N01(rng);
        lp[j] = -0.5 * xs[j] * xs[j];
        ref[j] = -0.5 * (xs[j] - mu) * (xs[j] - mu);
      }
      for (std::size_t e = 0; e < family.size(); ++e) {
        family[e].library(lp.data(), ref.data(), static_cast<index_t>(c), v.data(), dv.data());
        for (std::size_t j = 0; j < c; ++j) {
          const double g[2] = {dv[j] * xs[j], dv[j] * (xs[j] * xs[j] - 1)};  // k'·∇log q
          acc[e].add(g);
        }
      }
    }
    for (std::size_t e = 0; e < family.size(); ++e)
      out.push_back({family[e].name, mu, acc[e].jackknife([](const auto& s) { return s.mean[0]; }),
                     acc[e].jackknife([](const auto& s) { return s.mean[1]; })});
  }
  return out;
}

/// Categorical: q_θ = softmax(θ), ∇_θ log q(x) = e_x − q. The truths, from their formulas:
///   ∇KL[q‖p]_i  = q_i·(log q_i − log p_i − KL[q‖p])
///   ∇KL[p‖q]_i  = q_i − p_i
///   2∇TV_i      = 2q_i·(1[q_i > p_i] − Q),  Q = Σ_{q>p} q
struct categorical_truths {
  std::vector<double> reverse, forward, tv2;
};
inline categorical_truths categorical_gradient_truths(const std::vector<double>& logq, const std::vector<double>& logp) {
  const std::size_t K = logq.size();
  const double kl = categorical_kl(logq, logp);
  double Q = 0;
  for (std::size_t k = 0; k < K; ++k)
    if (logq[k] > logp[k]) Q += std::exp(logq[k]);
  categorical_truths t{std::vector<double>(K), std::vector<double>(K), std::vector<double>(K)};
  for (std::size_t k = 0; k < K; ++k) {
    const double q = std::exp(logq[k]), p = std::exp(logp[k]);
    t.reverse[k] = q * (logq[k] - logp[k] - kl);
    t.forward[k] = q - p;
    t.tv2[k] = 2 * q * ((logq[k] > logp[k] ? 1.0 : 0.0) - Q);
  }
  return t;
}

struct categorical_grad_row {
  std::string case_name, estimator;
  double rel_err_reverse = nan, cos_reverse = nan, rel_err_forward = nan, rel_err_tv = nan;  // exact
  double rel_sd = nan;     // sqrt(tr Cov ĝ)/‖∇KL[q‖p]‖ per sample, exact
  estimate mc_rel_err_reverse;  // the same relative error from n samples
};

/// The exact expected gradient E_q[k'(d)(e_x − q)] of each estimator (enumerating the outcomes
/// with the library's k') against the three truths, and a Monte Carlo check of the first column.
inline std::vector<categorical_grad_row> categorical_gradients(std::size_t n, std::uint64_t seed,
                                                               const std::vector<kl_estimator>& family = kl_family()) {
  std::vector<categorical_grad_row> out;
  const auto cases = categorical_cases();
  for (std::size_t ci = 0; ci < cases.size(); ++ci) {
    const auto& cs = cases[ci];
    const std::size_t K = cs.logq.size();
    const auto truth = categorical_gradient_truths(cs.logq, cs.logp);
    std::vector<double> q(K);
    for (std::size_t k = 0; k < K; ++k) q[k] = std::exp(cs.logq[k]);
    const auto cdf = cdf_of(cs.logq);
    for (std::size_t e = 0; e < family.size(); ++e) {
      std::vector<double> kv(K), dk(K);
      family[e].library(cs.logq.data(), cs.logp.data(), static_cast<index_t>(K), kv.data(), dk.data());
      auto sample_grad = [&](std::size_t x, std::vector<double>& g) {
        for (std::size_t k = 0; k < K; ++k) g[k] = dk[x] * ((k == x ? 1.0 : 0.0) - q[k]);
      };
      std::vector<double> mean(K, 0.0), g(K);
      double msq = 0;
      for (std::size_t x = 0; x < K; ++x) {
        sample_grad(x, g);
        for (std::size_t k = 0; k < K; ++k) mean[k] += q[x] * g[k];
        msq += q[x] * dot(g, g);
      }
      categorical_grad_row r;
      r.case_name = cs.name;
      r.estimator = family[e].name;
      r.rel_err_reverse = distance(mean, truth.reverse) / norm(truth.reverse);
      // k1's expectation is 0 up to rounding: its direction is then meaningless
      r.cos_reverse = norm(mean) > 1e-12 * norm(truth.reverse) ? cosine(mean, truth.reverse) : nan;
      r.rel_err_forward = distance(mean, truth.forward) / norm(truth.forward);
      r.rel_err_tv = distance(mean, truth.tv2) / norm(truth.tv2);
      r.rel_sd = std::sqrt(std::max(msq - dot(mean, mean), 0.0)) / norm(truth.reverse);
      rng_t rng(seed + 104729 * ci + e);
      blocked_moments acc(K);
      for (std::size_t j = 0; j < n; ++j) {
        sample_grad(draw(cdf, rng), g);
        acc.add(g);
      }
      r.mc_rel_err_reverse =
          acc.jackknife([&](const auto& s) { return distance(s.mean, truth.reverse) / norm(truth.reverse); });
      out.push_back(r);
    }
  }
  return out;
}

// ---- KL in the reward against KL in the loss ---------------------------------------------------
//
// A completion is T tokens drawn i.i.d. from q_θ = softmax(θ) (the categorical case "mid"); its
// KL to the reference is T·KL[q‖p], with gradient T·∇KL[q‖p]. Groups of G completions. The task
// reward is 0, so that only the KL part of the gradient is measured (β = 1).
//   in the reward: grpo::apply_kl_penalty gives r_i = −Σ_t k1(i,t); an advantage A_i (none,
//     RLOO, group mean); the policy-gradient loss −(1/G)Σ_i A_i log π(y_i) has the gradient
//     ĝ = −(1/G) Σ_i A_i Σ_t ∇log q(x_it): the score-function estimator of ∇E[Σ_t k1]
//     = T·∇KL[q‖p] (unbiased without a baseline and with RLOO's; the group mean including
//     itself scales it by (G−1)/G).
//   in the loss: β·k per token, summed over the tokens of a sequence and averaged over the
//     group (seq_mean_token_sum, so that it estimates the sequence's KL):
//     ĝ = (1/G) Σ_i Σ_t k'(d_it)·∇log q(x_it).
// With T = 1, k1-in-reward without baseline and k2-in-loss are the same estimator sample by
// sample (k2' = d = k1); with T > 1 the reward puts every token's KL on every token's score
// (cross terms of mean 0 but variance ∝ T²), the loss only its own.
struct kl_placement_row {
  std::string method;
  index_t T = 1;
  estimate scale, rel_bias, cos, rel_sd;  // vs T·∇KL[q‖p]; rel_sd = sqrt(tr Cov ĝ)/‖T·∇KL‖ per group
};

inline std::vector<kl_placement_row> kl_placement(const std::vector<index_t>& Ts, index_t G, std::size_t groups,
                                                  std::uint64_t seed) {
  const auto cs = categorical_cases()[1];  // "mid"
  const std::size_t K = cs.logq.size();
  const auto truth1 = categorical_gradient_truths(cs.logq, cs.logp).reverse;
  std::vector<double> q(K);
  for (std::size_t k = 0; k < K; ++k) q[k] = std::exp(cs.logq[k]);
  const auto cdf = cdf_of(cs.logq);
  const auto fam = kl_family();
  const char* methods[] = {"k1 in reward, no baseline", "k1 in reward, RLOO", "k1 in reward, group mean (mean_only)",
                           "k1 in loss", "k2 in loss", "k3 in loss"};
  constexpr int M = 6;
  std::vector<kl_placement_row> out;
  for (std::size_t ti = 0; ti < Ts.size(); ++ti) {
    const index_t T = Ts[ti], N = G;
    std::vector<double> truth(truth1);
    for (auto& x : truth) x *= double(T);
    const double tn = norm(truth);
    std::vector<blocked_moments> acc(M, blocked_moments(K));
    rng_t rng(seed + 17 * ti);
    std::vector<std::size_t> xs(static_cast<std::size_t>(N * T));
    std::vector<double> old(xs.size()), ref(xs.size()), kv(xs.size()), dk(xs.size()), rewards(static_cast<std::size_t>(N)),
        A(static_cast<std::size_t>(N));
    std::vector<std::int32_t> lengths(static_cast<std::size_t>(N), static_cast<std::int32_t>(T));
    std::vector<std::vector<double>> score(static_cast<std::size_t>(N), std::vector<double>(K));  // Σ_t ∇log q(x_it)
    const auto layout = grpo::group_layout::fixed(N, G);
    std::vector<double> g(K);
    for (std::size_t it = 0; it < groups; ++it) {
      for (std::size_t j = 0; j < xs.size(); ++j) {
        xs[j] = draw(cdf, rng);
        old[j] = cs.logq[xs[j]];
        ref[j] = cs.logp[xs[j]];
      }
      for (index_t i = 0; i < N; ++i) {
        auto& sc = score[static_cast<std::size_t>(i)];
        for (std::size_t k = 0; k < K; ++k) sc[k] = -double(T) * q[k];
        for (index_t t = 0; t < T; ++t) sc[xs[static_cast<std::size_t>(i * T + t)]] += 1.0;
      }
      // KL in the reward: the library's penalty, then the library's advantages
      std::fill(rewards.begin(), rewards.end(), 0.0);
      grpo::throw_if_error(grpo::apply_kl_penalty(rewards.data(), N, old.data(), ref.data(), lengths.data(), T, 1.0));
      for (int mth = 0; mth < 3; ++mth) {
        if (mth == 0) {
          A = rewards;
        } else {
          grpo::reward_view64 rv;
          rv.rewards = rewards.data();
          rv.num_sequences = N;
          grpo::advantage_stats st;
          if (mth == 1) grpo::throw_if_error(grpo::compute_advantages(grpo::rloo{}, rv, layout, A.data(), st));
          else grpo::throw_if_error(grpo::compute_advantages(grpo::mean_only{}, rv, layout, A.data(), st));
        }
        std::fill(g.begin(), g.end(), 0.0);
        for (index_t i = 0; i < N; ++i)
          for (std::size_t k = 0; k < K; ++k)
            g[k] -= A[static_cast<std::size_t>(i)] * score[static_cast<std::size_t>(i)][k] / double(G);
        acc[static_cast<std::size_t>(mth)].add(g);
      }
      // KL in the loss: the library's k' per token
      for (int e = 0; e < 3; ++e) {
        fam[static_cast<std::size_t>(e)].library(old.data(), ref.data(), N * T, kv.data(), dk.data());
        std::fill(g.begin(), g.end(), 0.0);
        for (std::size_t j = 0; j < xs.size(); ++j) {
          for (std::size_t k = 0; k < K; ++k) g[k] -= dk[j] * q[k] / double(G);
          g[xs[j]] += dk[j] / double(G);
        }
        acc[static_cast<std::size_t>(3 + e)].add(g);
      }
    }
    for (int mth = 0; mth < M; ++mth) {
      const auto& a = acc[static_cast<std::size_t>(mth)];
      // a direction only where the mean is clearly above its noise (k1 in the loss has none):
      // ‖mean‖² against tr Cov/n, what noise alone gives it
      const auto all = a.means();
      const bool has_direction = dot(all.mean, all.mean) > 10 * all.trace_cov() / all.n;
      out.push_back({methods[mth], T, a.jackknife([&](const auto& s) { return dot(s.mean, truth) / (tn * tn); }),
                     a.jackknife([&](const auto& s) { return distance(s.mean, truth) / tn; }),
                     has_direction ? a.jackknife([&](const auto& s) { return cosine(s.mean, truth); }) : estimate{},
                     a.jackknife([&](const auto& s) { return std::sqrt(s.trace_cov()) / tn; })});
    }
  }
  return out;
}

// ================================================================================================
// 2. Advantage estimators on a tabular contextual bandit
// ================================================================================================
//
// S contexts, K actions, π(a|s) = softmax(θ_s)_a, reward Bernoulli(μ_{s,a}). The objective
// J(θ) = (1/S) Σ_s V_s, V_s = Σ_a π(a|s) μ_{s,a}, has the exact gradient
//   ∂J/∂θ_{s,a} = (1/S)·π(a|s)·(μ_{s,a} − V_s).
// One batch: every context is one group of G sampled actions (N = S·G). Each estimator turns the
// rewards into advantages (compute_advantages, in double), and the gradient of the loss
// −(1/N) Σ_i A_i log π(a_i|s_i) (any aggregation: every completion is one token) gives the
// ascent direction ĝ = (1/N) Σ_i A_i (e_{a_i} − π(·|s_i)) on θ_{s_i}. With A = r it is
// REINFORCE, unbiased: E[ĝ] = ∇J.
//
// Reported per estimator and G, over M batches (jackknife standard errors over 32 blocks):
//   scale c   = <E ĝ, ∇J>/‖∇J‖²   (1: unbiased in scale; std normalisation changes it)
//   rel. bias = ‖E ĝ − ∇J‖/‖∇J‖  (raw, so it also counts a change of scale)
//   cos       = cos(E ĝ, ∇J)      (1: unbiased up to a positive scale; the direction bias)
//   rel. var  = tr Cov(ĝ)/‖∇J‖²   (raw)
//   SNR       = ‖E ĝ‖²/tr Cov(ĝ)  (scale-free; ‖E ĝ‖² corrected by −tr Cov/M)
//   E cos     = E[cos(ĝ, ∇J)]     (how well one batch's estimate points)
struct bandit {
  std::vector<std::vector<double>> logits, means;  // [S][K]
  index_t S() const { return static_cast<index_t>(logits.size()); }
  index_t K() const { return static_cast<index_t>(logits[0].size()); }
  std::vector<double> policy(index_t s) const {
    auto l = log_softmax(logits[static_cast<std::size_t>(s)]);
    for (auto& x : l) x = std::exp(x);
    return l;
  }
  /// ∇J, flattened [S·K], from the formula above.
  std::vector<double> exact_gradient() const {
    std::vector<double> g(static_cast<std::size_t>(S() * K()));
    for (index_t s = 0; s < S(); ++s) {
      const auto pi = policy(s);
      const auto& mu = means[static_cast<std::size_t>(s)];
      double V = 0;
      for (index_t a = 0; a < K(); ++a) V += pi[static_cast<std::size_t>(a)] * mu[static_cast<std::size_t>(a)];
      for (index_t a = 0; a < K(); ++a)
        g[static_cast<std::size_t>(s * K() + a)] =
            pi[static_cast<std::size_t>(a)] * (mu[static_cast<std::size_t>(a)] - V) / double(S());
    }
    return g;
  }
  double objective() const {
    double J = 0;
    for (index_t s = 0; s < S(); ++s) {
      const auto pi = policy(s);
      for (index_t a = 0; a < K(); ++a)
        J += pi[static_cast<std::size_t>(a)] * means[static_cast<std::size_t>(s)][static_cast<std::size_t>(a)];
    }
    return J / double(S());
  }
};

/// Four contexts from easy to nearly hopeless (mean reward under π: 0.83, 0.37, 0.14, 0.02), five
/// actions, fixed logits: the contexts' reward spreads differ, which is what std normalisation
/// reweights.
inline bandit default_bandit() {
  return {{{0.5, -0.3, 0.2, 0.0, -0.5}, {-0.2, 0.4, 0.0, 0.3, -0.6}, {0.1, -0.4, 0.6, 0.0, 0.2}, {0.3, 0.0, -0.3, 0.5, -0.1}},
          {{0.95, 0.90, 0.70, 0.85, 0.60},
           {0.60, 0.30, 0.50, 0.20, 0.40},
           {0.10, 0.30, 0.05, 0.15, 0.20},
           {0.02, 0.01, 0.05, 0.00, 0.03}}};
}

/// The estimators of grpo/advantage, each as a function from one batch to its advantages [N]
/// (token-level ones have T = 1). `baseline` is ReMax's greedy reward per group.
struct advantage_method {
  std::string name;
  std::function<void(const std::vector<double>& r, const std::vector<double>& greedy, index_t G, std::vector<double>& A)> run;
};

inline std::vector<advantage_method> advantage_family() {
  using R = const std::vector<double>&;
  auto view = [](R r) {
    grpo::reward_view64 v;
    v.rewards = r.data();
    v.num_sequences = static_cast<index_t>(r.size());
    return v;
  };
  auto call = [](const auto& est, const grpo::reward_view64& v, index_t G, std::vector<double>& A) {
    grpo::advantage_stats st;
    grpo::throw_if_error(grpo::compute_advantages(est, v, grpo::group_layout::fixed(v.num_sequences, G), A.data(), st));
  };
  // T = 1: every completion is one token (lengths all 1, as many as the batch has)
  auto ones = [](const std::vector<double>& r) {
    static thread_local std::vector<std::int32_t> v;
    if (v.size() < r.size()) v.assign(r.size(), 1);
    return v.data();
  };
  std::vector<advantage_method> m;
  m.push_back({"reinforce (A = r, reference)", [](R r, R, index_t, std::vector<double>& A) { A = r; }});
  m.push_back({"group_normalized", [=](R r, R, index_t G, auto& A) { call(grpo::group_normalized{}, view(r), G, A); }});
  m.push_back({"mean_only", [=](R r, R, index_t G, auto& A) { call(grpo::mean_only{}, view(r), G, A); }});
  m.push_back({"group_mean_batch_std", [=](R r, R, index_t G, auto& A) { call(grpo::group_mean_batch_std{}, view(r), G, A); }});
  m.push_back({"rloo", [=](R r, R, index_t G, auto& A) { call(grpo::rloo{}, view(r), G, A); }});
  m.push_back({"reinforce_pp", [=](R r, R, index_t G, auto& A) {
                 auto v = view(r);
                 v.max_length = 1;
                 v.lengths = ones(r);
                 call(grpo::reinforce_pp{}, v, G, A);
               }});
  m.push_back({"reinforce_pp_baseline", [=](R r, R, index_t G, auto& A) { call(grpo::reinforce_pp_baseline{}, view(r), G, A); }});
  m.push_back({"remax", [=](R r, R greedy, index_t G, auto& A) {
                 auto v = view(r);
                 v.baseline_rewards = greedy.data();
                 call(grpo::remax{}, v, G, A);
               }});
  m.push_back({"opo", [=](R r, R, index_t G, auto& A) {
                 auto v = view(r);
                 v.lengths = ones(r);
                 call(grpo::opo{}, v, G, A);
               }});
  m.push_back({"gpg", [=](R r, R, index_t G, auto& A) { call(grpo::gpg{}, view(r), G, A); }});
  m.push_back({"passk_grpo", [=](R r, R, index_t G, auto& A) { call(grpo::passk_grpo{}, view(r), G, A); }});
  m.push_back({"gdpo", [=](R r, R, index_t G, auto& A) { call(grpo::gdpo{}, view(r), G, A); }});
  m.push_back({"process_supervision", [=](R r, R, index_t G, auto& A) {
                 // one step per completion, ending at its only token, with the outcome reward
                 auto v = view(r);
                 const auto N = static_cast<std::size_t>(v.num_sequences);
                 static thread_local std::vector<index_t> off, end;
                 off.resize(N + 1);
                 end.assign(N, 0);
                 for (std::size_t i = 0; i <= N; ++i) off[i] = static_cast<index_t>(i);
                 v.max_length = 1;
                 v.lengths = ones(r);
                 v.step_offsets = off.data();
                 v.step_end = end.data();
                 v.step_reward = r.data();
                 v.rewards = nullptr;
                 call(grpo::process_supervision{}, v, G, A);
               }});
  return m;
}

struct advantage_row {
  std::string estimator;
  index_t G = 0;
  estimate scale, rel_bias, cos, rel_var, snr, mean_cos;
};

inline std::vector<advantage_row> advantage_lab(const std::vector<index_t>& Gs, std::size_t batches, std::uint64_t seed,
                                                const bandit& env = default_bandit()) {
  const auto methods = advantage_family();
  const index_t S = env.S(), K = env.K();
  const auto truth = env.exact_gradient();
  const double tn2 = dot(truth, truth);
  std::vector<std::vector<double>> pis, cdfs;
  std::vector<index_t> greedy_action;
  for (index_t s = 0; s < S; ++s) {
    pis.push_back(env.policy(s));
    cdfs.push_back(cdf_of(log_softmax(env.logits[static_cast<std::size_t>(s)])));
    greedy_action.push_back(
        static_cast<index_t>(std::max_element(pis.back().begin(), pis.back().end()) - pis.back().begin()));
  }
  std::vector<advantage_row> out;
  for (std::size_t gi = 0; gi < Gs.size(); ++gi) {
    const index_t G = Gs[gi], N = S * G;
    rng_t rng(seed + 7 * gi);
    std::uniform_real_distribution<double> U(0.0, 1.0);
    std::vector<blocked_moments> acc(methods.size(), blocked_moments(static_cast<std::size_t>(S * K), 1));
    std::vector<index_t> act(static_cast<std::size_t>(N));
    std::vector<double> r(static_cast<std::size_t>(N)), A(static_cast<std::size_t>(N)), greedy(static_cast<std::size_t>(S)),
        g(static_cast<std::size_t>(S * K));
    for (std::size_t b = 0; b < batches; ++b) {
      for (index_t s = 0; s < S; ++s) {
        const auto& mu = env.means[static_cast<std::size_t>(s)];
        for (index_t i = 0; i < G; ++i) {
          const auto a = static_cast<index_t>(draw(cdfs[static_cast<std::size_t>(s)], rng));
          act[static_cast<std::size_t>(s * G + i)] = a;
          r[static_cast<std::size_t>(s * G + i)] = U(rng) < mu[static_cast<std::size_t>(a)] ? 1.0 : 0.0;
        }
        // ReMax: one more rollout per prompt, the greedy action, scored independently
        greedy[static_cast<std::size_t>(s)] =
            U(rng) < mu[static_cast<std::size_t>(greedy_action[static_cast<std::size_t>(s)])] ? 1.0 : 0.0;
      }
      for (std::size_t e = 0; e < methods.size(); ++e) {
        methods[e].run(r, greedy, G, A);
        std::fill(g.begin(), g.end(), 0.0);
        for (index_t s = 0; s < S; ++s) {
          const auto& pi = pis[static_cast<std::size_t>(s)];
          for (index_t i = 0; i < G; ++i) {
            const double w = A[static_cast<std::size_t>(s * G + i)] / double(N);
            if (w == 0) continue;
            for (index_t a = 0; a < K; ++a) g[static_cast<std::size_t>(s * K + a)] -= w * pi[static_cast<std::size_t>(a)];
            g[static_cast<std::size_t>(s * K + act[static_cast<std::size_t>(s * G + i)])] += w;
          }
        }
        const double c = cosine(g, truth);
        const double ex = std::isnan(c) ? 0.0 : c;  // an all-zero estimate points nowhere: cos 0
        acc[e].add(g.data(), &ex);
      }
    }
    for (std::size_t e = 0; e < methods.size(); ++e) {
      const auto& a = acc[e];
      advantage_row row;
      row.estimator = methods[e].name;
      row.G = G;
      row.scale = a.jackknife([&](const auto& s) { return dot(s.mean, truth) / tn2; });
      row.rel_bias = a.jackknife([&](const auto& s) { return distance(s.mean, truth) / std::sqrt(tn2); });
      row.cos = a.jackknife([&](const auto& s) { return cosine(s.mean, truth); });
      row.rel_var = a.jackknife([&](const auto& s) { return s.trace_cov() / tn2; });
      row.snr = a.jackknife([&](const auto& s) {
        const double v = s.trace_cov();
        return (dot(s.mean, s.mean) - v / s.n) / v;
      });
      row.mean_cos = a.jackknife([](const auto& s) { return s.extra[0]; });
      out.push_back(row);
    }
  }
  return out;
}

// ================================================================================================
// 3. Aggregations and the length bias
// ================================================================================================
//
// Every aggregation is a per-sequence weight w_i on Σ_t ℓ_{i,t} (grpo/objective/aggregation.hpp).
// With the on-policy PPO surrogate (ρ = 1) ∂ℓ/∂logp = −A_i on every token, so the push on each
// token's log-probability (−dL/dlogp, read from grpo::evaluate) is w_i·A_i and the push on the
// whole response's log-probability is T_i·w_i·A_i:
//   seq_mean_token_mean (GRPO): w_i = 1/(N·T_i): per token A_i/(N·T_i), per response A_i/N —
//     a long response gets a smaller push on each token: a long wrong answer is penalised less
//     per token, a short right one rewarded more (Liu et al. 2025, §3.1);
//   token_mean (DAPO):          w_i = 1/ΣT: per token A_i/ΣT, the same for every length;
//   constant (Dr. GRPO):        w_i = 1/(N·L): per token A_i/(N·L), the same for every length;
//   seq_mean_token_sum:         w_i = 1/N: per token A_i/N — REINFORCE on the whole sequence.

template <class Agg>
using lab_objective = grpo::objective<grpo::ratio::token, grpo::surrogate::ppo_clip, grpo::kl::none, Agg>;

/// −dL/dlogp of every token (in double) for one batch, from grpo::evaluate.
template <class Agg>
void token_push(const Agg& agg, index_t N, index_t T, const std::vector<double>& logp, const std::vector<std::int32_t>& lengths,
                const std::vector<double>& adv, std::vector<double>& push) {
  lab_objective<Agg> o;
  o.aggregation = agg;
  grpo::token_batch<double> b{.N = N, .T = T, .logp = logp.data(), .lengths = lengths.data(), .advantages = adv.data()};
  push.assign(static_cast<std::size_t>(N * T), 0.0);
  grpo::objective_result res;
  grpo::throw_if_error(grpo::evaluate(o, b, grpo::gradient_out<double>{push.data()}, res, grpo::exec::serial{}));
  for (auto& x : push) x = -x;
}

/// One aggregation as the lab uses it: a name and the per-token push of a batch.
struct aggregation_method {
  std::string name;
  std::function<void(index_t N, index_t T, const std::vector<double>&, const std::vector<std::int32_t>&,
                     const std::vector<double>&, std::vector<double>&)>
      push;
};
inline std::vector<aggregation_method> aggregation_family(double max_length) {
  namespace ag = grpo::aggregation;
  ag::constant dr;
  dr.max_length = max_length;
  return {
      {"seq_mean_token_mean (GRPO)", [](auto&&... a) { token_push(ag::seq_mean_token_mean{}, std::forward<decltype(a)>(a)...); }},
      {"token_mean (DAPO)", [](auto&&... a) { token_push(ag::token_mean{}, std::forward<decltype(a)>(a)...); }},
      {"constant (Dr. GRPO)", [dr](auto&&... a) { token_push(dr, std::forward<decltype(a)>(a)...); }},
      {"seq_mean_token_sum", [](auto&&... a) { token_push(ag::seq_mean_token_sum{}, std::forward<decltype(a)>(a)...); }},
  };
}

struct response_weight_row {
  std::string scenario;
  index_t length = 0;
  double reward = 0, advantage = 0;
  std::vector<double> per_token, per_response;  // one per aggregation
};

/// One group of eight responses of lengths 4, 8, ..., 512; `short_right`: the four shortest are
/// right (r = 1) and the four longest wrong, else the reverse. Advantages: mean_only (±½).
inline std::vector<response_weight_row> response_weights(bool short_right) {
  const index_t G = 8, T = 512;
  std::vector<std::int32_t> len(static_cast<std::size_t>(G));
  std::vector<double> r(static_cast<std::size_t>(G)), A(static_cast<std::size_t>(G));
  for (index_t i = 0; i < G; ++i) {
    len[static_cast<std::size_t>(i)] = 4 << i;
    r[static_cast<std::size_t>(i)] = ((i < G / 2) == short_right) ? 1.0 : 0.0;
  }
  grpo::reward_view64 v;
  v.rewards = r.data();
  v.num_sequences = G;
  grpo::advantage_stats st;
  grpo::throw_if_error(grpo::compute_advantages(grpo::mean_only{}, v, grpo::group_layout::fixed(G, G), A.data(), st));
  const std::vector<double> logp(static_cast<std::size_t>(G * T), -1.0);
  const auto aggs = aggregation_family(double(T));
  std::vector<response_weight_row> rows(static_cast<std::size_t>(G));
  for (index_t i = 0; i < G; ++i) {
    auto& row = rows[static_cast<std::size_t>(i)];
    row.scenario = short_right ? "short right, long wrong" : "long right, short wrong";
    row.length = len[static_cast<std::size_t>(i)];
    row.reward = r[static_cast<std::size_t>(i)];
    row.advantage = A[static_cast<std::size_t>(i)];
  }
  std::vector<double> push;
  for (const auto& ag : aggs) {
    ag.push(G, T, logp, len, A, push);
    for (index_t i = 0; i < G; ++i) {
      double sum = 0;
      for (index_t t = 0; t < len[static_cast<std::size_t>(i)]; ++t) sum += push[static_cast<std::size_t>(i * T + t)];
      rows[static_cast<std::size_t>(i)].per_token.push_back(push[static_cast<std::size_t>(i * T)]);
      rows[static_cast<std::size_t>(i)].per_response.push_back(sum);
    }
  }
  return rows;
}

// ---- the length model ----------------------------------------------------------------------------
//
// A response is a run of "continue" tokens ended by "stop": at position t = 1, ..., L_max − 1 the
// policy stops with probability h_t = σ(η_t) (a table of L_max − 1 logits, all at h = 1/16 to
// start), at L_max it must stop. P(L = l) = Π_{t<l}(1 − h_t)·h_l (h_{L_max} = 1), and the response
// has l tokens: l − 1 continues, one stop. ∂ log p(token t)/∂η_t is −h_t for a continue, 1 − h_t
// for a stop (0 for the forced one), so ∂ log P(l)/∂η_t = −h_t (t < l), 1 − h_t (t = l < L_max),
// 0 (t > l). The response is right with probability c(l), a chosen function of its length.
// Exactly:
//   ∇J = Σ_l P(l) c(l) ∇log P(l),   ∇E[L] = Σ_l P(l) l ∇log P(l).
// The estimate of one batch (P groups of G) is the ascent direction −Σ_{i,t} dL/dlogp_{i,t}·
// ∂logp_{i,t}/∂η read from grpo::evaluate, put in REINFORCE units (multiplied by E[L] for the
// token means, by L_max for the constant, so that all-equal lengths would give seq_mean_token_sum,
// whose expectation is ∇J·(G−1)/G with mean_only); it is split into the part from right and from
// wrong responses. The first-order change of the mean length along it, <∇E[L], ĝ>, tells which
// way each aggregation drives the length, and how much of that the right and the wrong
// responses do.
struct length_model {
  index_t L_max = 64;
  std::string scenario;
  std::function<double(index_t)> correct;  // c(l)
  std::vector<double> eta;                 // [L_max − 1] stop logits

  static length_model make(index_t L_max, double h, std::string scenario, std::function<double(index_t)> c) {
    return {L_max, std::move(scenario), std::move(c),
            std::vector<double>(static_cast<std::size_t>(L_max - 1), std::log(h / (1 - h)))};
  }
  /// h_t, t = 1..L_max (1 at L_max: the forced stop)
  double hazard(index_t t) const {
    return t < L_max ? 1 / (1 + std::exp(-eta[static_cast<std::size_t>(t - 1)])) : 1.0;
  }
  std::vector<double> pmf() const {
    std::vector<double> p(static_cast<std::size_t>(L_max) + 1, 0.0);
    double alive = 1;
    for (index_t l = 1; l <= L_max; ++l) {
      const double stop = hazard(l);
      p[static_cast<std::size_t>(l)] = alive * stop;
      alive *= 1 - stop;
    }
    return p;
  }
  /// ∂ log P(l)/∂η, [L_max − 1]
  std::vector<double> score(index_t l) const {
    std::vector<double> s(static_cast<std::size_t>(L_max - 1), 0.0);
    for (index_t t = 1; t < l && t < L_max; ++t) s[static_cast<std::size_t>(t - 1)] = -hazard(t);
    if (l < L_max) s[static_cast<std::size_t>(l - 1)] = 1 - hazard(l);
    return s;
  }
  /// E[f(L)], and E[f(L) | right], E[f(L) | wrong]
  double expect(const std::function<double(index_t)>& f) const {
    const auto p = pmf();
    double m = 0;
    for (index_t l = 1; l <= L_max; ++l) m += p[static_cast<std::size_t>(l)] * f(l);
    return m;
  }
  double mean_length() const { return expect([](index_t l) { return double(l); }); }
  double objective() const { return expect(correct); }
  double mean_length_if(bool right) const {
    auto w = [&](index_t l) { return right ? correct(l) : 1 - correct(l); };
    return expect([&](index_t l) { return w(l) * double(l); }) / expect(w);
  }
  /// Σ_l P(l)·f(l)·∇log P(l)
  std::vector<double> gradient_of(const std::function<double(index_t)>& f) const {
    const auto p = pmf();
    std::vector<double> g(static_cast<std::size_t>(L_max - 1), 0.0);
    for (index_t l = 1; l <= L_max; ++l) {
      const auto s = score(l);
      for (std::size_t k = 0; k < g.size(); ++k) g[k] += p[static_cast<std::size_t>(l)] * f(l) * s[k];
    }
    return g;
  }
};

inline std::vector<length_model> length_scenarios() {
  auto sig = [](double x) { return 1 / (1 + std::exp(-x)); };
  return {
      length_model::make(64, 1.0 / 16, "independent (c = 0.3)", [](index_t) { return 0.3; }),
      length_model::make(64, 1.0 / 16, "short right, long wrong",
                         [=](index_t l) { return 0.1 + 0.8 * sig((16.0 - double(l)) / 4); }),
      length_model::make(64, 1.0 / 16, "long right, short wrong",
                         [=](index_t l) { return 0.1 + 0.8 * sig((double(l) - 16.0) / 4); }),
  };
}

/// An advantage estimator paired with an aggregation (the index into aggregation_family).
struct length_pairing {
  std::string name;
  bool std_normalised;
  std::size_t agg;
};
inline std::vector<length_pairing> length_pairings() {
  return {
      {"mean_only + seq_mean_token_sum (REINFORCE)", false, 3}, {"mean_only + seq_mean_token_mean", false, 0},
      {"mean_only + token_mean", false, 1},                     {"mean_only + constant (Dr. GRPO)", false, 2},
      {"group_normalized + seq_mean_token_mean (GRPO)", true, 0}, {"group_normalized + token_mean (DAPO)", true, 1},
  };
}

/// One batch of P·G responses from the model: lengths, rewards, the tokens' logp and ∂logp/∂η.
struct length_batch {
  index_t N = 0, T = 0;
  std::vector<std::int32_t> len;
  std::vector<double> r, logp, dl;
  void draw(const length_model& m, index_t n, rng_t& rng) {
    N = n;
    T = m.L_max;
    len.resize(static_cast<std::size_t>(N));
    r.resize(static_cast<std::size_t>(N));
    logp.assign(static_cast<std::size_t>(N * T), 0.0);
    dl.assign(static_cast<std::size_t>(N * T), 0.0);
    std::uniform_real_distribution<double> U(0.0, 1.0);
    for (index_t i = 0; i < N; ++i) {
      index_t l = 1;
      while (l < m.L_max && !(U(rng) < m.hazard(l))) ++l;
      len[static_cast<std::size_t>(i)] = static_cast<std::int32_t>(l);
      r[static_cast<std::size_t>(i)] = U(rng) < m.correct(l) ? 1.0 : 0.0;
      for (index_t t = 1; t <= l; ++t) {
        const auto k = static_cast<std::size_t>(i * T + t - 1);
        const double h = m.hazard(t);
        if (t < l) logp[k] = std::log1p(-h), dl[k] = -h;          // continue
        else if (l < m.L_max) logp[k] = std::log(h), dl[k] = 1 - h;  // stop
      }
    }
  }
};

/// The loss's ascent direction on η for one batch (unscaled: what an optimiser sees), and its
/// part from the right responses; the library computes advantages and dL/dlogp.
inline void length_gradient(const length_batch& b, index_t G, const length_pairing& p,
                            const std::vector<aggregation_method>& aggs, std::vector<double>& total,
                            std::vector<double>& right) {
  std::vector<double> A(static_cast<std::size_t>(b.N)), push;
  grpo::reward_view64 v;
  v.rewards = b.r.data();
  v.num_sequences = b.N;
  grpo::advantage_stats st;
  const auto layout = grpo::group_layout::fixed(b.N, G);
  if (p.std_normalised)
    grpo::throw_if_error(grpo::compute_advantages(grpo::group_normalized{}, v, layout, A.data(), st));
  else
    grpo::throw_if_error(grpo::compute_advantages(grpo::mean_only{}, v, layout, A.data(), st));
  aggs[p.agg].push(b.N, b.T, b.logp, b.len, A, push);
  const auto D = static_cast<std::size_t>(b.T - 1);
  total.assign(D, 0.0);
  right.assign(D, 0.0);
  for (index_t i = 0; i < b.N; ++i) {
    const bool is_right = b.r[static_cast<std::size_t>(i)] > 0.5;
    for (index_t t = 0; t < b.len[static_cast<std::size_t>(i)] && t < b.T - 1; ++t) {
      const auto k = static_cast<std::size_t>(i * b.T + t);
      const double c = push[k] * b.dl[k];
      total[static_cast<std::size_t>(t)] += c;
      if (is_right) right[static_cast<std::size_t>(t)] += c;
    }
  }
}

struct length_drift_row {
  std::string scenario, method;
  estimate cos, gain, dlen, dlen_right, dlen_wrong;  // gain = ⟨∇J, E ĝ⟩/‖∇J‖²
  estimate dlen_per_gain;  // <∇E[L], E ĝ>/<∇J, E ĝ>: length change per unit of J gained
};

/// The exact row ("exact ∇J") and one row per (advantage, aggregation) pairing, for each scenario.
inline std::vector<length_drift_row> length_drift(std::size_t batches, std::uint64_t seed, index_t P = 8, index_t G = 8) {
  const auto pairs = length_pairings();
  std::vector<length_drift_row> out;
  const auto scen = length_scenarios();
  for (std::size_t si = 0; si < scen.size(); ++si) {
    const auto& m = scen[si];
    const auto D = static_cast<std::size_t>(m.L_max - 1);
    const auto aggs = aggregation_family(double(m.L_max));
    const double EL = m.mean_length();
    const auto gJ = m.gradient_of(m.correct);
    const auto gL = m.gradient_of([](index_t l) { return double(l); });
    const double nJ2 = dot(gJ, gJ);
    const bool has_signal = nJ2 > 1e-30;
    length_drift_row ex;
    ex.scenario = m.scenario;
    ex.method = "exact ∇J";
    ex.cos = {has_signal ? 1.0 : nan, 0};
    ex.gain = {has_signal ? 1.0 : nan, 0};
    ex.dlen = {dot(gL, gJ), 0};
    if (has_signal) ex.dlen_per_gain = {dot(gL, gJ) / nJ2, 0};
    out.push_back(ex);

    rng_t rng(seed + 101 * si);
    std::vector<blocked_moments> acc(pairs.size(), blocked_moments(2 * D));
    length_batch b;
    std::vector<double> total, right, g(2 * D);
    for (std::size_t it = 0; it < batches; ++it) {
      b.draw(m, P * G, rng);
      for (std::size_t pi = 0; pi < pairs.size(); ++pi) {
        length_gradient(b, G, pairs[pi], aggs, total, right);
        const double unit = pairs[pi].agg == 2 ? double(m.L_max) : (pairs[pi].agg == 3 ? 1.0 : EL);
        for (std::size_t k = 0; k < D; ++k) g[k] = unit * total[k], g[D + k] = unit * right[k];
        acc[pi].add(g);
      }
    }
    for (std::size_t pi = 0; pi < pairs.size(); ++pi) {
      const auto& a = acc[pi];
      auto tot = [D](const auto& s) { return std::vector<double>(s.mean.begin(), s.mean.begin() + long(D)); };
      auto rig = [D](const auto& s) { return std::vector<double>(s.mean.begin() + long(D), s.mean.end()); };
      length_drift_row row;
      row.scenario = m.scenario;
      row.method = pairs[pi].name;
      if (has_signal) {
        row.cos = a.jackknife([&](const auto& s) { return cosine(tot(s), gJ); });
        row.gain = a.jackknife([&](const auto& s) { return dot(tot(s), gJ) / nJ2; });
        row.dlen_per_gain = a.jackknife([&](const auto& s) { return dot(tot(s), gL) / dot(tot(s), gJ); });
      }
      row.dlen = a.jackknife([&](const auto& s) { return dot(tot(s), gL); });
      row.dlen_right = a.jackknife([&](const auto& s) { return dot(rig(s), gL); });
      row.dlen_wrong = a.jackknife([&](const auto& s) { return dot(tot(s), gL) - dot(rig(s), gL); });
      out.push_back(row);
    }
  }
  return out;
}

/// Training the length model: `steps` AdamW steps (grpo::optim::adamw, lr `lr`, the library's
/// loss gradient as it is, so each pairing's own scale does not matter) from h = 1/16, over
/// `runs` seeds. After each step the exact J, E[L], E[L | right] and E[L | wrong] of the model.
struct length_training_curve {
  std::string scenario, method;
  std::vector<estimate> J, length, length_right, length_wrong;  // [steps + 1], mean ± se over runs
};

inline std::vector<length_training_curve> length_training(const length_model& start, int steps, int runs, double lr,
                                                          std::uint64_t seed, index_t P = 8, index_t G = 8) {
  const auto pairs = length_pairings();
  const auto aggs = aggregation_family(double(start.L_max));
  std::vector<length_training_curve> out;
  for (std::size_t pi = 0; pi < pairs.size(); ++pi) {
    if (pairs[pi].agg == 1 && !pairs[pi].std_normalised) continue;  // token_mean: DAPO's row shows it
    const auto S = static_cast<std::size_t>(steps) + 1;
    std::vector<std::vector<double>> J(S), L(S), Lr(S), Lw(S);  // [step][run]
    for (int run = 0; run < runs; ++run) {
      length_model m = start;
      rng_t rng(seed + 1009 * static_cast<std::uint64_t>(run));
      grpo::optim::adamw opt({.lr = lr});
      length_batch b;
      std::vector<double> total, right;
      for (std::size_t s = 0; s < S; ++s) {
        J[s].push_back(m.objective());
        L[s].push_back(m.mean_length());
        Lr[s].push_back(m.mean_length_if(true));
        Lw[s].push_back(m.mean_length_if(false));
        if (s + 1 == S) break;
        b.draw(m, P * G, rng);
        length_gradient(b, G, pairs[pi], aggs, total, right);
        for (auto& x : total) x = -x;  // the loss's gradient (the optimiser descends)
        grpo::throw_if_error(opt.step(std::span<double>(m.eta), std::span<const double>(total)));
      }
    }
    auto mean_se = [](const std::vector<double>& x) {
      double m = 0, v = 0;
      for (double y : x) m += y;
      m /= double(x.size());
      for (double y : x) v += (y - m) * (y - m);
      return estimate{m, x.size() > 1 ? std::sqrt(v / double(x.size() - 1) / double(x.size())) : nan};
    };
    length_training_curve c{start.scenario, pairs[pi].name, {}, {}, {}, {}};
    for (std::size_t s = 0; s < S; ++s) {
      c.J.push_back(mean_se(J[s]));
      c.length.push_back(mean_se(L[s]));
      c.length_right.push_back(mean_se(Lr[s]));
      c.length_wrong.push_back(mean_se(Lw[s]));
    }
    out.push_back(c);
  }
  return out;
}
// ================================================================================================
// The sections as tables and figures
// ================================================================================================

struct lab_config {
  bool quick = false;
  std::uint64_t seed = 20260101;
  std::size_t kl_samples() const { return quick ? 1000000 : 16000000; }
  std::size_t grad_samples() const { return quick ? 500000 : 8000000; }
  std::size_t placement_groups() const { return quick ? 10000 : 160000; }
  std::size_t bandit_batches() const { return quick ? 5000 : 80000; }
  std::size_t length_batches() const { return quick ? 4000 : 40000; }
  int training_runs() const { return quick ? 8 : 32; }
};

inline const std::vector<double>& schulman_mus() {
  static const std::vector<double> m = {0.1, 0.5, 1.0, 2.0, 3.0};
  return m;
}

inline section kl_section(const lab_config& cfg) {
  section sec;
  const auto rows = gaussian_kl(schulman_mus(), cfg.kl_samples(), cfg.seed);
  // Schulman's own table first
  table sch{"kl_schulman", "Schulman's table: q = N(0,1), p = N(μ,1)", {"μ", "true KL", "estimator", "bias/KL (lab)",
             "bias/KL (Schulman)", "sd/KL (lab)", "sd/KL (Schulman)", "within"}, {}, ""};
  int ok = 0, total = 0;
  for (const auto& pv : schulman_published)
    for (const auto& r : rows)
      if (r.mu == pv.mu && r.estimator == pv.estimator) {
        const bool w = within_schulman(r.bias_rel, pv.bias_rel, pv.bias_half_width) &&
                       within_schulman(r.sd_rel, pv.sd_rel, pv.sd_half_width);
        ok += w;
        ++total;
        sch.rows.push_back({format_number(r.mu), format_number(r.kl), r.estimator, r.bias_rel, format_number(pv.bias_rel),
                            r.sd_rel, format_number(pv.sd_rel), w ? "yes" : "NO"});
      }
  sch.note = std::to_string(ok) + " of " + std::to_string(total) +
             " rows within 4 standard errors of Schulman's rounding interval (his value ± half a unit of his "
             "last digit) on both columns; " +
             std::to_string(cfg.kl_samples()) + " samples per μ, jackknife standard errors over 32 blocks.";
  sec.tables.push_back(sch);

  table all{"kl_gaussian", "Every estimator on the Gaussians (bias/KL and sd/KL; exact = quadrature of the formula)",
            {"μ", "true KL", "estimator", "bias/KL", "exact", "sd/KL", "exact"}, {}, ""};
  for (const auto& r : rows)
    all.rows.push_back({format_number(r.mu), format_number(r.kl), r.estimator, r.bias_rel, r.exact_bias_rel, r.sd_rel, r.exact_sd_rel});
  all.note = "The exact sd of k3 at μ ≥ 2 is dominated by rare huge r = e^{μx−μ²/2}: E[r⁴] = e^{6μ²}, so "
             "the sample sd and its jackknife error understate it (a heavy tail, not a bug); the clamped "
             "estimators trade that variance for bias.";
  sec.tables.push_back(all);

  const auto cat = categorical_kl_table(cfg.kl_samples() / 4, cfg.seed + 1);
  table ct{"kl_categorical", "Categorical distributions (6 outcomes; exact = enumeration of the outcomes)",
           {"case", "true KL", "estimator", "bias/KL", "exact", "sd/KL", "exact"}, {}, ""};
  for (const auto& r : cat)
    ct.rows.push_back({r.case_name, format_number(r.kl), r.estimator, r.bias_rel, r.exact_bias_rel, r.sd_rel, r.exact_sd_rel});
  sec.tables.push_back(ct);

  // gradients
  const std::vector<double> gm = {0.5, 1.0, 2.0};
  const auto gg = gaussian_gradients(gm, cfg.grad_samples(), cfg.seed + 2);
  table gt{"kl_gradient_gaussian",
           "Expected gradient of each estimator in the loss, Gaussian q = N(m, e^{2s}) at (0, 0), p = N(μ, 1)",
           {"estimator / truth", "μ=0.5: ∂m", "∂s", "μ=1: ∂m", "∂s", "μ=2: ∂m", "∂s"}, {}, ""};
  for (const auto& fam : kl_family()) {
    std::vector<cell> row{fam.name};
    for (double mu : gm)
      for (const auto& r : gg)
        if (r.mu == mu && r.estimator == fam.name) {
          row.push_back(r.gm);
          row.push_back(r.gs);
        }
    gt.rows.push_back(row);
  }
  const char* tnames[] = {"truth: ∇KL[q‖p] (reverse)", "truth: ∇KL[p‖q] (forward)", "truth: 2∇TV(q,p)"};
  for (int k = 0; k < 3; ++k) {
    std::vector<cell> row{tnames[k]};
    for (double mu : gm) {
      const auto t = gaussian_gradient_truths(mu);
      const auto& v = k == 0 ? t.reverse : (k == 1 ? t.forward : t.tv2);
      row.push_back(v[0]);
      row.push_back(v[1]);
    }
    gt.rows.push_back(row);
  }
  gt.note = std::to_string(cfg.grad_samples()) + " samples per μ. The per-sample gradient is k'(d)·∇log q(x), "
            "d = log q − log p, x ~ q not reparameterised (grpo's KL term in the loss).";
  sec.tables.push_back(gt);

  const auto cg = categorical_gradients(cfg.grad_samples() / 4, cfg.seed + 3);
  table cgt{"kl_gradient_categorical",
            "Expected gradient in the loss, categorical q = softmax(θ): distance to each truth (exact, by enumeration)",
            {"case", "estimator", "‖E ĝ − ∇KL[q‖p]‖/‖∇KL[q‖p]‖", "(Monte Carlo)", "cos to ∇KL[q‖p]",
             "‖E ĝ − ∇KL[p‖q]‖/‖·‖", "‖E ĝ − 2∇TV‖/‖·‖", "per-sample sd/‖∇KL[q‖p]‖"}, {}, ""};
  for (const auto& r : cg)
    cgt.rows.push_back({r.case_name, r.estimator, r.rel_err_reverse, r.mc_rel_err_reverse, r.cos_reverse, r.rel_err_forward,
                        r.rel_err_tv, r.rel_sd});
  cgt.note = "0 in a column: the estimator's loss gradient is, in expectation, exactly that truth's gradient. "
             "The Monte Carlo column (" + std::to_string(cfg.grad_samples() / 4) +
             " samples) is biased upwards by the noise where the exact value is 0 (it measures ‖noise‖).";
  sec.tables.push_back(cgt);

  const auto kp = kl_placement({1, 4, 16}, 8, cfg.placement_groups(), cfg.seed + 4);
  table kt{"kl_reward_vs_loss",
           "KL in the reward vs KL in the loss: T i.i.d. tokens per completion (case \"mid\"), G = 8, target T·∇KL[q‖p]",
           {"T", "method", "scale ⟨E ĝ, T∇KL⟩/‖T∇KL‖²", "‖E ĝ − T∇KL‖/‖T∇KL‖", "cos(E ĝ, ∇KL)",
            "sd(ĝ)/‖T∇KL‖ per group"}, {}, ""};
  for (const auto& r : kp) kt.rows.push_back({std::to_string(r.T), r.method, r.scale, r.rel_bias, r.cos, r.rel_sd});
  kt.note = std::to_string(cfg.placement_groups()) + " groups per T. The reward's KL is grpo::apply_kl_penalty's "
            "(β = 1, task reward 0), its advantages grpo::compute_advantages'.";
  sec.tables.push_back(kt);

  // the figure: bias/KL and sd/KL against μ (log10), and the s-gradient against μ
  grpo::train::figure& f = sec.figures.emplace_back("kl", grpo::train::figure{}).second;
  f.title = "KL estimators (q = N(0,1), p = N(mu,1)): Monte Carlo";
  f.columns = 3;
  grpo::train::panel pb{"bias / KL against mu (abs: off the scale)", {}}, ps{"log10 (sd / KL) against mu", {}},
      pg{"E[d/ds] of k in the loss against mu", {}};
  for (const char* name : {"k1", "k2", "k3", "abs", "clamped<k2>", "clamped<k3>"}) {
    grpo::train::curve cb{name, {}, {}}, cs{name, {}, {}};
    for (const auto& r : rows)
      if (r.estimator == name) {
        cb.x.push_back(r.mu);
        cb.y.push_back(std::string(name) == "abs" ? nan : r.bias_rel.value);
        cs.x.push_back(r.mu);
        cs.y.push_back(std::log10(r.sd_rel.value));
      }
    pb.curves.push_back(cb);
    ps.curves.push_back(cs);
  }
  const auto gg_plot = gaussian_gradients({0.25, 0.5, 1.0, 1.5, 2.0}, cfg.grad_samples() / 4, cfg.seed + 5);
  for (const char* name : {"k1", "k2", "k3", "abs"}) {
    grpo::train::curve c{std::string(name) + " in loss", {}, {}};
    for (const auto& r : gg_plot)
      if (r.estimator == name) {
        c.x.push_back(r.mu);
        c.y.push_back(r.gs.value);
      }
    pg.curves.push_back(c);
  }
  grpo::train::curve fw{"forward KL: -mu^2", {}, {}};
  for (double mu : {0.25, 0.5, 1.0, 1.5, 2.0}) fw.x.push_back(mu), fw.y.push_back(-mu * mu);
  pg.curves.push_back(fw);
  f.panels = {pb, ps, pg};
  return sec;
}

inline section advantage_section(const lab_config& cfg) {
  section sec;
  const std::vector<index_t> Gs = {2, 4, 8, 16, 32, 64};
  const auto rows = advantage_lab(Gs, cfg.bandit_batches(), cfg.seed + 10);
  const auto names = advantage_family();
  auto by_G = [&](const char* id, const char* title, estimate advantage_row::*field, const char* note) {
    table t{id, title, {"estimator"}, {}, note};
    for (index_t G : Gs) t.columns.push_back("G=" + std::to_string(G));
    for (const auto& m : names) {
      std::vector<cell> row{m.name};
      for (index_t G : Gs)
        for (const auto& r : rows)
          if (r.G == G && r.estimator == m.name) row.push_back(r.*field);
      t.rows.push_back(row);
    }
    return t;
  };
  sec.tables.push_back(by_G("advantage_cos", "Direction: cos(E ĝ, ∇J) (1 = unbiased up to scale)", &advantage_row::cos, ""));
  sec.tables.push_back(by_G("advantage_scale", "Scale: ⟨E ĝ, ∇J⟩/‖∇J‖² (1 = unbiased)", &advantage_row::scale, ""));
  sec.tables.push_back(by_G("advantage_snr", "Signal-to-noise per batch: ‖E ĝ‖²/tr Cov(ĝ)", &advantage_row::snr, ""));
  sec.tables.push_back(by_G("advantage_mean_cos", "One batch's alignment: E[cos(ĝ, ∇J)]", &advantage_row::mean_cos, ""));
  table full{"advantage", "Every figure at every G", {"estimator", "G", "scale", "‖E ĝ − ∇J‖/‖∇J‖", "cos(E ĝ, ∇J)",
             "tr Cov(ĝ)/‖∇J‖²", "SNR", "E cos(ĝ, ∇J)"}, {}, ""};
  for (const auto& r : rows)
    full.rows.push_back({r.estimator, std::to_string(r.G), r.scale, r.rel_bias, r.cos, r.rel_var, r.snr, r.mean_cos});
  full.note = std::to_string(cfg.bandit_batches()) + " batches of 4 groups (one per context) per G.";
  sec.tables.push_back(full);

  grpo::train::figure& f = sec.figures.emplace_back("advantage", grpo::train::figure{}).second;
  f.title = "Advantage estimators on the bandit, against log2 G";
  f.columns = 2;
  grpo::train::panel pc{"log10 (1 - cos(E g, true grad))", {}}, ps{"log10 SNR per batch", {}},
      pk{"scale <E g, grad>/|grad|^2", {}}, pm{"E cos(g, true grad)", {}};
  for (const char* name : {"reinforce (A = r, reference)", "group_normalized", "mean_only", "rloo", "reinforce_pp",
                           "passk_grpo"}) {
    grpo::train::curve c{name, {}, {}}, s{name, {}, {}}, k{name, {}, {}}, mc{name, {}, {}};
    for (const auto& r : rows)
      if (r.estimator == name) {
        const double x = std::log2(double(r.G));
        c.x.push_back(x), c.y.push_back(r.cos.value < 1 ? std::log10(1 - r.cos.value) : nan);
        s.x.push_back(x), s.y.push_back(r.snr.value > 0 ? std::log10(r.snr.value) : nan);
        k.x.push_back(x), k.y.push_back(r.scale.value);
        mc.x.push_back(x), mc.y.push_back(r.mean_cos.value);
      }
    pc.curves.push_back(c), ps.curves.push_back(s), pk.curves.push_back(k), pm.curves.push_back(mc);
  }
  f.panels = {pc, ps, pk, pm};
  return sec;
}

inline section aggregation_section(const lab_config& cfg) {
  section sec;
  const auto names = aggregation_family(512);
  for (bool sr : {true, false}) {
    const auto rows = response_weights(sr);
    table t{sr ? "aggregation_weights_short_right" : "aggregation_weights_long_right",
            std::string("Push on each token and on the whole response, one group of 8: ") + rows[0].scenario,
            {"length", "reward", "A (mean_only)"}, {}, ""};
    for (const auto& n : names) t.columns.push_back(n.name + ": per token");
    for (const auto& n : names) t.columns.push_back(n.name + ": per response");
    for (const auto& r : rows) {
      std::vector<cell> row{std::to_string(r.length), format_number(r.reward), format_number(r.advantage)};
      for (double v : r.per_token) row.push_back(format_number(v, 3));
      for (double v : r.per_response) row.push_back(format_number(v, 3));
      t.rows.push_back(row);
    }
    t.note = "−dL/dlogp from grpo::evaluate (on-policy PPO surrogate, no KL); constant's L = 512.";
    sec.tables.push_back(t);
    if (sr) {
      grpo::train::figure& f = sec.figures.emplace_back("aggregation", grpo::train::figure{}).second;
      f.title = "Aggregations: the push a response gets against log2 of its length";
      f.columns = 2;
      grpo::train::panel pt{"log2 |push per token|, relative to length 4", {}},
          pr{"log2 |push per response|, relative to length 4", {}};
      for (std::size_t a = 0; a < names.size(); ++a) {
        grpo::train::curve ct{names[a].name, {}, {}}, cr{names[a].name, {}, {}};
        for (const auto& r : rows) {
          ct.x.push_back(std::log2(double(r.length)));
          ct.y.push_back(std::log2(std::fabs(r.per_token[a] / rows[0].per_token[a])));
          cr.x.push_back(std::log2(double(r.length)));
          cr.y.push_back(std::log2(std::fabs(r.per_response[a] / rows[0].per_response[a])));
        }
        pt.curves.push_back(ct), pr.curves.push_back(cr);
      }
      f.panels = {pt, pr};
    }
  }
  const auto drift = length_drift(cfg.length_batches(), cfg.seed + 20);
  table d{"length_drift",
          "Length drift on the length model (P = 8 groups of G = 8, L_max = 64, h = 1/16, E[L] = " +
              format_number(length_scenarios()[0].mean_length()) + ")",
          {"scenario", "method", "cos(E ĝ, ∇J)", "⟨∇J, E ĝ⟩/‖∇J‖²", "dE[L] = ⟨∇E[L], E ĝ⟩", "… from right answers",
           "… from wrong answers", "dE[L] per unit of J gained"}, {}, ""};
  for (const auto& r : drift) {
    auto c = [](const estimate& e) { return std::isnan(e.value) ? cell("—") : cell(e); };
    d.rows.push_back({r.scenario, r.method, c(r.cos), c(r.gain), c(r.dlen), c(r.dlen_right), c(r.dlen_wrong),
                      c(r.dlen_per_gain)});
  }
  d.note = std::to_string(cfg.length_batches()) + " batches per scenario. ĝ in REINFORCE units (token means × E[L], "
           "constant × L_max); dE[L] is the first-order change of the mean length per unit step along E ĝ "
           "(mean_only's E ĝ is ∇J·(G−1)/G = 0.875·∇J when unbiased).";
  sec.tables.push_back(d);

  // training the length model with each pairing
  const int steps = 400, runs = cfg.training_runs();
  const double lr = 0.01;
  table tr{"length_training",
           "Training the length model: " + std::to_string(steps) + " AdamW steps (lr " + format_number(lr) +
               "), exact J and mean lengths of the model, mean ± se over " + std::to_string(runs) + " runs",
           {"scenario", "method", "J (step 100)", "J (step 400)", "E[L] (step 100)", "E[L] of wrong (step 100)",
            "E[L] of right (step 100)", "E[L] of wrong (step 400)"}, {}, ""};
  grpo::train::figure& f = sec.figures.emplace_back("length_training", grpo::train::figure{}).second;
  f.title = "Training the length model (mean over runs) against the step";
  f.columns = 2;
  const auto scen = length_scenarios();
  for (std::size_t si = 0; si < scen.size(); ++si) {
    const auto curves = length_training(scen[si], steps, runs, lr, cfg.seed + 30 + si);
    for (const auto& c : curves)
      tr.rows.push_back({c.scenario, c.method, c.J[100], c.J[400], c.length[100], c.length_wrong[100],
                         c.length_right[100], c.length_wrong[400]});
    if (si == 0) continue;
    grpo::train::panel pj{scen[si].scenario + ": J", {}},
        pl{scen[si].scenario + (si == 1 ? ": E[L] of wrong answers" : ": E[L] of right answers"), {}};
    for (const auto& c : curves) {
      if (c.method.find("REINFORCE") != std::string::npos) continue;  // the same curve as Dr. GRPO's
      grpo::train::curve cj{c.method, {}, {}}, cl{c.method, {}, {}};
      for (int st = 0; st <= steps; st += 25) {
        cj.x.push_back(st), cj.y.push_back(c.J[static_cast<std::size_t>(st)].value);
        cl.x.push_back(st);
        cl.y.push_back((si == 1 ? c.length_wrong : c.length_right)[static_cast<std::size_t>(st)].value);
      }
      pj.curves.push_back(cj), pl.curves.push_back(cl);
    }
    f.panels.push_back(pj), f.panels.push_back(pl);
  }
  tr.note = "The optimiser sees each pairing's own loss gradient (from grpo::evaluate); AdamW makes the step "
            "size independent of the pairing's scale. The runs share their seeds across the pairings.";
  sec.tables.push_back(tr);
  return sec;
}

}  // namespace lab
