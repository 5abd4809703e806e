// The presets against the peers' own numbers: tests/peers/fixtures/*.json hold inputs and outputs
// of TRL's, verl's, OpenRLHF's and Liger-Kernel's own functions (tests/peers/README.md). Each case's
// peer options are translated to a grpo objective (the translation *is* what is under test: it
// is how a user picks a preset), evaluated in double, and compared: loss, dL/dlogp (dL/dH where
// the peer recorded it), the per-token KL estimators, and every statistic the peer logs that
// grpo reports under that peer's name (grpo::presets::<peer>::metrics). Cases of options grpo
// does not offer are counted and listed with the reason; the test fails if a case it claims
// disagrees, and prints the largest errors per family (docs/objective.md quotes that table).
#include <grpo/advantage/advantage.hpp>
#include <grpo/exec/cpu.hpp>
#include <grpo/io/json.hpp>
#include <grpo/objective/presets.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#ifndef GRPO_PEER_FIXTURES
#define GRPO_PEER_FIXTURES "tests/peers/fixtures"
#endif

namespace {

namespace ag = grpo::aggregation;
namespace co = grpo::correction;
namespace su = grpo::surrogate;
using grpo::json::kind;
using grpo::json::value;
constexpr double inf = __builtin_huge_val();

value load(const std::string& peer) {
  std::ifstream f(std::string(GRPO_PEER_FIXTURES) + "/" + peer + ".json");
  REQUIRE(f.good());
  std::stringstream ss;
  ss << f.rdbuf();
  value v;
  const grpo::status st = grpo::json::parse(ss.str(), v);
  INFO(st.message());
  REQUIRE(st.ok());
  return v;
}

std::vector<double> numbers(const value& c, const char* key) {
  std::vector<double> out;
  if (const value* a = c.find(key); a != nullptr && a->is(kind::array))
    for (const value& x : a->items) out.push_back(x.number);
  return out;
}
double number(const value& c, const char* key, double fallback) {
  const value* v = c.find(key);
  return v != nullptr && v->is(kind::number) ? v->number : fallback;
}
std::string text(const value& c, const char* key, const std::string& fallback = "") {
  const value* v = c.find(key);
  return v != nullptr && v->is(kind::string) ? v->text : fallback;
}
bool flag(const value& c, const char* key, bool fallback) {
  const value* v = c.find(key);
  return v != nullptr && v->is(kind::boolean) ? v->boolean : fallback;
}

/// One case's batch, in double.
struct batch_data {
  int N = 0, T = 0;
  std::vector<double> logp, old, ref, entropy, sampler, adv, token_adv;
  std::vector<std::uint8_t> mask, truncated;

  explicit batch_data(const value& c) {
    N = int(c.find("N")->number);
    T = int(c.find("T")->number);
    logp = numbers(c, "logp");
    old = numbers(c, "old");
    ref = numbers(c, "ref");
    entropy = numbers(c, "entropy");
    sampler = numbers(c, "sampler_logp");
    for (double m : numbers(c, "mask")) mask.push_back(m != 0 ? 1 : 0);
    for (double t : numbers(c, "truncated")) truncated.push_back(t != 0 ? 1 : 0);
    adv = numbers(c, "advantages");
    token_adv = numbers(c, "token_advantages");
  }
  /// Token advantages that are one value per sequence, as that value (verl broadcasts them).
  bool sequence_advantages() {
    if (!adv.empty()) return true;
    std::vector<double> a(N, 0.0);
    for (int i = 0; i < N; ++i) {
      bool first = true;
      for (int t = 0; t < T; ++t) {
        if (!mask[i * T + t]) continue;
        if (first) a[i] = token_adv[i * T + t], first = false;
        else if (token_adv[i * T + t] != a[i]) return false;
      }
    }
    adv = a;
    token_adv.clear();
    return true;
  }
  grpo::token_batch<double> view() const {
    auto p = [](const auto& x) { return x.empty() ? nullptr : x.data(); };
    grpo::token_batch<double> b;
    b.N = N, b.T = T, b.logp = p(logp), b.old = p(old), b.ref = p(ref), b.entropy = p(entropy);
    b.sampler_logp = p(sampler), b.mask = p(mask), b.truncated = p(truncated);
    b.advantages = p(adv), b.token_advantages = p(token_adv);
    return b;
  }
};

/// The largest errors per family, and what was not compared.
struct report {
  std::map<std::string, std::pair<int, double>> worst;  // family → (cases, max relative error)
  std::map<std::string, int> skipped;                    // reason → cases
  int compared = 0;
  void add(const std::string& family, double e) {
    auto& w = worst[family];
    w.first += 1;
    w.second = std::max(w.second, e);
  }
  void print(const std::string& peer) const {
    std::printf("\n== %s: %d cases compared ==\n", peer.c_str(), compared);
    for (const auto& [f, w] : worst) std::printf("  %-34s %4d cases  max rel. error %.2e\n", f.c_str(), w.first, w.second);
    for (const auto& [r, n] : skipped) std::printf("  not compared (%d): %s\n", n, r.c_str());
  }
};

double rel(double got, double want, double floor) {
  return std::fabs(got - want) / std::max(std::fabs(want), floor);
}

/// Metrics the peer computes in float32 (its bool masks .float()): compared to float32 rounding.
bool float32_metric(const std::string& peer, const std::string& name) {
  if (peer == "trl") return name.rfind("clip_ratio/", 0) == 0 || name == "cispo_clip_ratio";
  if (peer == "verl") return name == "actor/pg_clipfrac" || name == "actor/pg_clipfrac_lower";
  if (peer == "openrlhf") return name == "ppo_clip_ratio";
  return false;
}

struct tolerances {
  double value = 1e-12;  // loss and gradients, relative
  double metric = 1e-12;
};

/// The peers' KL estimators and aggregations chosen at run time, so that one objective type
/// serves every option combination of a loss (each branch is the library's own node; a preset's
/// compile-time choice of the same node is checked by check_preset below).
struct any_kl {
  using category = grpo::kl_tag;
  static constexpr const char* name = "any_kl";
  static constexpr bool enabled = true;
  static constexpr unsigned reads = grpo::reads::ref;
  enum class which { k1, abs, k2, k3, is_k3, clamped_k1, clamped_k2, clamped_k3 } w = which::k3;
  bool straight_through = false;  // verl's "<type>+"
  grpo::kl::k3 k3;
  grpo::kl::is_corrected_k3 is_k3;
  grpo::kl::clamped<grpo::kl::k1> c1;
  grpo::kl::clamped<grpo::kl::k2> c2;
  grpo::kl::clamped<grpo::kl::k3> c3;
  template <class C>
  GRPO_HD auto term(C& c) const {
    using L = typename C::lane;
    grpo::term_value<L> t{L(0.0f), L(0.0f)};
    switch (w) {
      case which::k1: t = grpo::kl::k1{}.term(c); break;
      case which::abs: t = grpo::kl::abs{}.term(c); break;
      case which::k2: t = grpo::kl::k2{}.term(c); break;
      case which::k3: t = k3.term(c); break;
      case which::is_k3: t = is_k3.term(c); break;
      case which::clamped_k1: t = c1.term(c); break;
      case which::clamped_k2: t = c2.term(c); break;
      case which::clamped_k3: t = c3.term(c); break;
    }
    if (straight_through) t = grpo::term_value<L>{t.value, c.logp - c.ref};
    return t;
  }
};

struct any_agg {
  using category = grpo::aggregation_tag;
  static constexpr const char* name = "any_agg";
  enum class which { seq_mean_token_mean, token_mean, bnpo, constant, seq_mean_token_sum, token_sum, luspo } w{};
  ag::seq_mean_token_mean smtm;
  ag::constant cst;
  ag::seq_mean_token_sum smts;
  GRPO_HD double sequence_weight(const grpo::sequence_info& s, const grpo::batch_totals& t) const {
    switch (w) {
      case which::seq_mean_token_mean: return smtm.sequence_weight(s, t);
      case which::token_mean: return ag::token_mean{}.sequence_weight(s, t);
      case which::bnpo: return ag::bnpo{}.sequence_weight(s, t);
      case which::constant: return cst.sequence_weight(s, t);
      case which::seq_mean_token_sum: return smts.sequence_weight(s, t);
      case which::token_sum: return ag::token_sum{}.sequence_weight(s, t);
      case which::luspo: return ag::luspo{}.sequence_weight(s, t);
    }
    return 0;
  }
};

/// What grpo computes for a case: status, loss, gradients and the metrics under the peer's names.
struct case_out {
  grpo::status st;
  double loss = 0;
  std::vector<double> g, gh;
  std::vector<std::pair<std::string, double>> metrics;
};

/// Compares grpo's numbers with the peer's: returns the largest relative error.
double compare_case(const std::string& peer, const value& c, const batch_data& d, const case_out& r, tolerances tol) {
  const std::string id = text(c, "id");
  INFO(peer << " case " << id << ": " << r.st.message());
  REQUIRE(r.st.ok());
  const double want_loss = c.find("loss")->number;
  double worst = rel(r.loss, want_loss, 1e-3);
  INFO("loss " << r.loss << " want " << want_loss);
  CHECK(worst <= tol.value);
  const std::vector<double> want_g = numbers(c, "dlogp");
  double gmax = 1e-3;
  for (int k = 0; k < d.N * d.T; ++k)
    if (d.mask[k]) gmax = std::max(gmax, std::fabs(want_g[k]));
  double ge = 0;
  int at = -1;
  for (int k = 0; k < d.N * d.T; ++k) {
    // masked-out positions: grpo writes 0, the peers what their arithmetic gives (often garbage)
    const double e = d.mask[k] ? std::fabs(r.g[k] - want_g[k]) / gmax : std::fabs(r.g[k]) / gmax;
    if (e > ge) ge = e, at = k;
  }
  INFO("dlogp worst at " << at << ": " << (at >= 0 ? r.g[at] : 0) << " want " << (at >= 0 ? want_g[at] : 0));
  CHECK(ge <= tol.value);
  worst = std::max(worst, ge);
  if (c.has("dentropy")) {
    const std::vector<double> want_h = numbers(c, "dentropy");
    double he = 0;
    for (int k = 0; k < d.N * d.T; ++k)
      if (d.mask[k]) he = std::max(he, rel(r.gh[k], want_h[k], 1e-3));
    CHECK(he <= tol.value);
    worst = std::max(worst, he);
  }
  const value* m = c.find("metrics");
  for (const auto& [name, v] : r.metrics) {
    const value* w = m != nullptr ? m->find(name) : nullptr;
    if (w == nullptr || !w->is(kind::number)) continue;
    const bool f32 = float32_metric(peer, name);
    const double want = w->number, got = f32 ? double(float(v)) : v;
    INFO("metric " << name << " " << v << " want " << want);
    if (std::isnan(want)) {  // e.g. TRL's nanmin over the rows when no row has a token
      CHECK(std::isnan(got));
      continue;
    }
    const double e = rel(got, want, 1e-6);
    CHECK(e <= (f32 ? 1e-7 : tol.metric));
    if (!f32) worst = std::max(worst, e);
  }
  return worst;
}

/// The normalisers a peer passes to its loss for this case (the reduction hook's role).
template <class O>
grpo::batch_totals totals_for(const std::string& peer, const value& c, const O& o, const batch_data& d) {
  const value& opt = *c.find("options");
  grpo::batch_totals t = grpo::totals(o, d.view());
  if (peer == "trl") {
    // grpo/sapo/luspo/dr_grpo: each micro-batch's loss is divided by GA (N·GA sequences);
    // dapo/cispo: by num_items_in_batch·GA/steps_per_generation
    const double ga = number(opt, "gradient_accumulation_steps", 1.0), spg = number(opt, "steps_per_generation", ga);
    t.sequences *= ga;
    if (c.has("num_items_in_batch")) t.tokens = std::max(c.find("num_items_in_batch")->number, 1.0) * ga / spg;
  } else if (peer == "verl") {
    const value& gbi = *opt.find("global_batch_info");
    t.tokens = number(gbi, "batch_num_tokens", t.tokens);
    t.sequences = number(gbi, "global_batch_size", t.sequences);
  } else if (peer == "openrlhf") {
    const value& lbi = *opt.find("loss_batch_info");
    t.tokens = number(lbi, "batch_num_tokens", t.tokens);
    t.nonempty = number(lbi, "global_batch_size", t.nonempty);
  } else if (peer == "liger") {
    if (opt.has("num_items_in_batch")) t.tokens = std::max(opt.find("num_items_in_batch")->number, 1.0);
  }
  return t;
}

template <class O>
void metrics_of(const std::string& peer, const O& o, const grpo::objective_statistics& st,
                std::vector<std::pair<std::string, double>>& out) {
  auto f = [&](std::string_view n, double v) { out.emplace_back(std::string(n), v); };
  if (peer == "trl") grpo::presets::trl::metrics(o, st, f);
  else if (peer == "verl") grpo::presets::verl::metrics(o, st, f);
  else if (peer == "openrlhf") grpo::presets::openrlhf::metrics(o, st, f);
  else grpo::presets::liger::metrics(o, st, f);
}

template <class O>
double run(const std::string& peer, const value& c, const O& o, batch_data& d, report& rep, const std::string& family,
           tolerances tol = {}) {
  const grpo::batch_totals t = totals_for(peer, c, o, d);
  case_out out;
  const grpo::token_batch<double> b = d.view();
  out.g.assign(std::size_t(d.N) * d.T, 7.0);
  out.gh.assign(std::size_t(d.N) * d.T, 7.0);
  grpo::gradient_out<double> g{out.g.data()};
  if (c.has("dentropy")) g.dentropy = out.gh.data();
  grpo::objective_result r;
  out.st = grpo::evaluate(o, b, g, r, grpo::exec::serial{}, t);
  out.loss = r.loss;
  metrics_of(peer, o, r.stats, out.metrics);
  const double e = compare_case(peer, c, d, out, tol);
  rep.add(family, e);
  ++rep.compared;
  return e;
}

// ---- TRL -------------------------------------------------------------------------------------------

/// TRL's loss types on the superset of corrections TRL can apply; an option not set leaves its
/// correction an exact no-op (δ = +inf, threshold −inf, sampler = old, nothing truncated, coef 0).
template <class Ratio, class S>
using trl_t = grpo::objective<Ratio, S, any_kl, any_agg, co::off_policy_mask, co::top_entropy, co::sampler_mismatch,
                              co::truncated_mask, grpo::aggregated<co::entropy_bonus, ag::bnpo>>;

template <class Ratio, class S>
void run_trl(const value& c, batch_data& d, report& rep, S s, any_agg a, const std::string& family) {
  const value& opt = *c.find("options");
  trl_t<Ratio, S> o;
  o.ratio.log_min = -inf, o.ratio.log_max = inf;
  o.surrogate = s;
  o.aggregation = a;
  o.kl.w = flag(opt, "use_bias_correction_kl", true) ? any_kl::which::is_k3 : any_kl::which::k3;
  o.kl.k3.exp_min = o.kl.is_k3.base.exp_min = -inf;
  o.kl.k3.exp_max = o.kl.is_k3.base.exp_max = inf;
  o.beta = number(opt, "beta", 0.0);
  o.corrections.template get<co::off_policy_mask>().delta = number(opt, "off_policy_mask_threshold", inf);
  auto& te = o.corrections.template get<co::top_entropy>();
  const double q = number(opt, "top_entropy_quantile", 1.0);
  if (q < 1.0) te.keep_fraction = q;
  else te.threshold = -inf;
  auto& sm = o.corrections.template get<co::sampler_mismatch>();
  sm.mode = co::is_mode::truncate, sm.c_min = 0, sm.c_max = 1e300;
  if (flag(opt, "vllm_importance_sampling_correction", false) && flag(opt, "use_vllm", false)) {
    const std::string mode = text(opt, "vllm_importance_sampling_mode");
    sm.level = mode.rfind("token", 0) == 0 ? co::is_level::token : co::is_level::sequence;
    sm.mode = mode.find("mask") != std::string::npos ? co::is_mode::mask : co::is_mode::truncate;
    sm.c_min = number(opt, "vllm_importance_sampling_clip_min", 0.0);
    sm.c_max = number(opt, "vllm_importance_sampling_clip_max", 1e300);
  }
  if (d.sampler.empty()) d.sampler = d.old.empty() ? d.logp : d.old;  // w = 1
  if (d.truncated.empty()) d.truncated.assign(d.N, 0);
  o.corrections.template get<grpo::aggregated<co::entropy_bonus, ag::bnpo>>().coef = number(opt, "entropy_coef", 0.0);
  tolerances tol;
  if (o.beta != 0 && text(c, "id").find("large_logratio") != std::string::npos)
    // TRL's autograd forms dKL/dlogp as ρ·(1 − e^{−d}) + ρ·k3, two terms of size ρ·e^{−d} (~1e17
    // here) that cancel to ρ·d: both sides carry ~1e-8 of the largest gradient in rounding
    tol.value = 1e-7;
  run("trl", c, o, d, rep, family, tol);
}

template <class Ratio>
void trl_loss_type(const value& c, batch_data& d, report& rep, const std::string& lt) {
  const value& opt = *c.find("options");
  const double el = number(opt, "epsilon", 0.2), eh = number(opt, "epsilon_high", el);
  su::ppo_clip p;
  p.eps_low = el, p.eps_high = eh, p.delta = number(opt, "delta", inf);
  any_agg a;
  using w = any_agg::which;
  a.w = lt == "bnpo" ? w::bnpo : lt == "dr_grpo" ? w::constant : (lt == "dapo" || lt == "cispo") ? w::token_mean
        : lt == "luspo" ? w::luspo : w::seq_mean_token_mean;
  a.cst.max_length = number(opt, "max_completion_length", 512);
  const std::string family = "trl " + lt + (std::is_same_v<Ratio, grpo::ratio::token> ? "" : " (sequence)");
  if (lt == "cispo") {
    su::cispo_trl s;
    s.eps_max = eh;
    run_trl<Ratio>(c, d, rep, s, a, family);
  } else if (lt == "sapo") {
    su::sapo s;
    s.tau_pos = number(opt, "sapo_temperature_pos", 1.0), s.tau_neg = number(opt, "sapo_temperature_neg", 1.05);
    run_trl<Ratio>(c, d, rep, s, a, family);
  } else {
    run_trl<Ratio>(c, d, rep, p, a, family);
  }
}

void trl_case(const value& c, report& rep) {
  const value& opt = *c.find("options");
  const std::string id = text(c, "id"), lt = text(opt, "loss_type");
  batch_data d(c);
  auto skip = [&](const char* why) { rep.skipped[why] += 1; };
  if (id.rfind("rloo/", 0) == 0) return skip("RLOOTrainer's loss: a ratio of sequence sums, not offered");
  if (lt == "vespo") return skip("loss_type vespo (gamma weights): not offered");
  if (flag(opt, "use_adaptive_entropy", false)) return skip("adaptive entropy coefficient: a trainer controller, not a loss option");
  if (number(opt, "entropy_coef", 0.0) != 0 && number(opt, "top_entropy_quantile", 1.0) < 1)
    return skip("entropy bonus averaged over the top-entropy tokens only (entropy_coef with top_entropy_quantile < 1): not offered");
  for (double x : d.sampler)
    if (std::isnan(x)) return skip("NaN sampler log-probs (TRL reads them as ratio 1; grpo refuses non-finite inputs)");
  if (text(opt, "importance_sampling_level", "token") == "sequence") {
    d.sequence_advantages();
    trl_loss_type<grpo::ratio::sequence>(c, d, rep, lt);
  } else {
    trl_loss_type<grpo::ratio::token>(c, d, rep, lt);
  }
}

// ---- verl ------------------------------------------------------------------------------------------

template <class Ratio, class S>
using verl_t = grpo::objective<Ratio, S, any_kl, any_agg, co::entropy_bonus, co::sampler_mismatch>;

/// The rollout correction verl multiplies the policy term by (rollout_is: token or sequence TIS,
/// or "lo_hi" IcePop masking), as a sampler_mismatch.
enum class rollout { none, weights, not_offered };
rollout verl_rollout(const value& opt, co::sampler_mismatch& sm) {
  sm.mode = co::is_mode::truncate, sm.c_min = 0, sm.c_max = 1e300;
  const value* rc = opt.find("rollout_correction");
  if (rc == nullptr || !rc->is(kind::object)) return rollout::none;
  const value* rs = rc->find("rollout_rs");
  if ((rs != nullptr && !rs->is(kind::null)) || flag(*rc, "rollout_is_batch_normalize", false)) return rollout::not_offered;
  const std::string is = text(*rc, "rollout_is");
  if (is.empty()) return rollout::none;  // metrics only: the loss is not reweighted
  sm.level = is == "token" ? co::is_level::token : co::is_level::sequence;
  const value* thr = rc->find("rollout_is_threshold");
  if (thr->is(kind::number)) {
    sm.c_max = thr->number;
  } else {  // "lo_hi": weights outside [lo, hi] are 0
    sm.mode = co::is_mode::mask;
    sm.c_min = std::stod(thr->text.substr(0, thr->text.find('_')));
    sm.c_max = std::stod(thr->text.substr(thr->text.find('_') + 1));
  }
  return rollout::weights;
}

any_kl verl_kl(const value& opt) {
  any_kl k;
  std::string kt = text(opt, "kl_loss_type", "low_var_kl");
  if (!kt.empty() && kt.back() == '+') k.straight_through = true, kt.pop_back();
  using w = any_kl::which;
  k.w = (kt == "kl" || kt == "k1") ? w::k1 : kt == "abs" ? w::abs : (kt == "mse" || kt == "k2") ? w::k2 : w::clamped_k3;
  return k;
}

any_agg verl_agg(const std::string& mode, const value& opt) {
  any_agg a;
  using w = any_agg::which;
  a.w = mode == "token-mean" ? w::token_mean : mode == "token-sum" ? w::token_sum
        : mode == "seq-mean-token-sum" ? w::seq_mean_token_sum : mode == "seq-mean-token-mean" ? w::seq_mean_token_mean
        : w::constant;  // seq-mean-token-sum-norm: Σ / (global_batch_size · loss_scale_factor or T)
  a.cst.max_length = number(opt, "loss_scale_factor", 0.0);
  return a;
}

template <class Ratio, class S>
void run_verl(const value& c, batch_data& d, report& rep, const Ratio& ratio, S s, const std::string& mode,
              const std::string& family) {
  const value& opt = *c.find("options");
  verl_t<Ratio, S> o;
  o.ratio = ratio, o.surrogate = s, o.kl = verl_kl(opt), o.aggregation = verl_agg(mode, opt);
  o.beta = flag(opt, "use_kl_loss", false) ? number(opt, "kl_loss_coef", 0.001) : 0.0;
  o.corrections.template get<co::entropy_bonus>().coef = number(opt, "entropy_coeff", 0.0);
  const rollout rc = verl_rollout(opt, o.corrections.template get<co::sampler_mismatch>());
  if (rc == rollout::not_offered)
    return void(rep.skipped["verl rollout rejection sampling / batch-normalised IS weights: not offered"] += 1);
  if (d.sampler.empty() || rc == rollout::none) d.sampler = d.old;  // weights 1
  if (d.entropy.empty()) d.entropy.assign(std::size_t(d.N) * d.T, 0.0);  // no bonus: coef 0
  run("verl", c, o, d, rep, family);
}

void verl_case(const value& c, report& rep) {
  const value& opt = *c.find("options");
  const std::string lm = text(*opt.find("policy_loss"), "loss_mode");
  const std::string mode = text(opt, "loss_agg_mode", "token-mean");
  batch_data d(c);
  if (c.has("mask_after_rs")) {
    d.mask.clear();
    for (double m : numbers(c, "mask_after_rs")) d.mask.push_back(m != 0);
  }
  const double cr = number(opt, "clip_ratio", 0.2);
  const double lo = number(opt, "clip_ratio_low", cr), hi = number(opt, "clip_ratio_high", cr);
  const std::string family = "verl " + lm + " " + mode;
  const grpo::ratio::token tok;
  su::ppo_clip p;
  p.eps_low = lo, p.eps_high = hi;
  if (lm == "vanilla") {
    p.dual_clip = number(opt, "clip_ratio_c", 3.0);
    run_verl(c, d, rep, tok, p, mode, family);
  } else if (lm == "gspo") {
    grpo::ratio::gspo_token r;
    r.log_min = -inf, r.log_max = 10;
    if (!d.sequence_advantages()) return void(rep.skipped["token advantages with a sequence ratio"] += 1);
    run_verl(c, d, rep, r, p, mode, family);
  } else if (lm == "sapo") {
    su::sapo s;
    s.tau_pos = number(opt, "tau_pos", 1.0), s.tau_neg = number(opt, "tau_neg", 1.05);
    run_verl(c, d, rep, tok, s, "seq-mean-token-mean", "verl sapo");
  } else if (lm == "gpg") {
    run_verl(c, d, rep, tok, su::gpg{}, mode, family);
  } else if (lm == "geo_mean") {
    su::gmpo g;
    g.eps_low = lo, g.eps_high = hi;
    grpo::ratio::sequence r;
    r.log_min = -inf, r.log_max = inf;
    if (!d.sequence_advantages()) return void(rep.skipped["token advantages with a sequence ratio"] += 1);
    run_verl(c, d, rep, r, g, "seq-mean-token-mean", "verl geo_mean");
  } else if (lm == "cispo") {
    su::cispo_clipped s;
    s.eps_low = lo, s.eps_high = hi;
    run_verl(c, d, rep, tok, s, mode, family);
  } else if (lm == "dro") {
    su::dro s;
    s.beta = number(*opt.find("policy_loss"), "dro_beta", number(opt, "dro_beta", 1.0));
    grpo::ratio::token r;
    r.log_min = -inf, r.log_max = inf;
    run_verl(c, d, rep, r, s, mode, family);
  } else {
    rep.skipped["verl loss_mode " + lm + ": not offered"] += 1;
  }
}

// ---- OpenRLHF --------------------------------------------------------------------------------------

template <class Ratio>
using openrlhf_t = grpo::objective<Ratio, su::ppo_clip, grpo::aggregated<any_kl, ag::token_mean>, any_agg,
                                   grpo::aggregated<co::entropy_bonus, ag::token_mean>, co::sampler_mismatch>;

template <class Ratio>
void run_openrlhf(const value& c, batch_data& d, report& rep, const std::string& family) {
  const value& opt = *c.find("options");
  const value& actor = *opt.find("actor");
  const value& kl = *opt.find("algo.kl");
  const value& adv = *opt.find("algo.advantage");
  if (flag(kl, "unbiased_gradient", false)) return void(rep.skipped["OpenRLHF unbiased_gradient KL: not offered"] += 1);
  openrlhf_t<Ratio> o;
  const value* eps = actor.find("eps_clip_low_high");
  o.surrogate.eps_low = eps->items[0].number, o.surrogate.eps_high = eps->items[1].number;
  o.surrogate.dual_clip = number(actor, "dual_clip", inf);
  if constexpr (std::is_same_v<Ratio, grpo::ratio::token>) o.ratio.approx_kl_raw = true;
  else o.ratio.log_min = -inf, o.ratio.log_max = inf;
  o.aggregation.w = text(actor, "loss_agg_mode", "token-mean") == "token-mean" && std::is_same_v<Ratio, grpo::ratio::token>
                        ? any_agg::which::token_mean : any_agg::which::seq_mean_token_mean;
  o.aggregation.smtm.over = ag::count::nonempty;
  const std::string k = text(kl, "estimator", "k1");
  o.kl.w = k == "k2" ? any_kl::which::clamped_k2 : k == "k3" ? any_kl::which::clamped_k3 : any_kl::which::clamped_k1;
  o.kl.c3.inner.exp_min = -inf, o.kl.c3.inner.exp_max = 10.0;
  o.beta = flag(kl, "use_loss", false) ? number(opt, "kl_ctl", 0.0) : 0.0;
  o.corrections.template get<grpo::aggregated<co::entropy_bonus, ag::token_mean>>().coef = number(actor, "entropy_coef", 0.0);
  auto& sm = o.corrections.template get<co::sampler_mismatch>();
  sm.mode = co::is_mode::truncate, sm.c_min = 0, sm.c_max = 1e300, sm.level = co::is_level::token;
  const std::string level = text(adv, "is_correction_level", "off");
  if (level != "off") {
    const value* thr = adv.find("is_correction_threshold");
    if (level != "token" || text(adv, "is_correction_gating") != "ratio" || !std::is_same_v<Ratio, grpo::ratio::token>)
      return void(rep.skipped["OpenRLHF IS correction at sequence level or gated by binary_kl/tv: not offered"] += 1);
    sm.mode = text(adv, "is_correction_mode") == "mask" ? co::is_mode::mask : co::is_mode::truncate;
    sm.c_min = thr->items[0].number, sm.c_max = thr->items[1].number;
  }
  if (d.sampler.empty()) d.sampler = d.old;
  if (d.entropy.empty()) d.entropy.assign(std::size_t(d.N) * d.T, 0.0);  // no bonus: coef 0
  tolerances tol;
  if (o.beta != 0) {
    // OpenRLHF computes the KL in float32 (compute_approx_kl), so its KL term carries float32
    // rounding of the operands; and at log-ratios on its ±10 clamp, float32 rounding decides
    // the branch (the per-token KL cases check those tokens with the rounding allowance).
    if (text(c, "id").find("/E") != std::string::npos)
      return void(rep.skipped["OpenRLHF KL loss on the edge case: log-ratios exactly on the float32 ±10 clamp"] += 1);
    tol.value = tol.metric = 2e-6;
  }
  run("openrlhf", c, o, d, rep, family, tol);
}

void openrlhf_case(const value& c, report& rep) {
  const value& actor = *c.find("options")->find("actor");
  batch_data d(c);
  if (text(actor, "policy_loss_type", "ppo") == "gspo") {
    if (!d.sequence_advantages()) return void(rep.skipped["token advantages with a sequence ratio"] += 1);
    run_openrlhf<grpo::ratio::sequence>(c, d, rep, "openrlhf gspo");
  } else {
    run_openrlhf<grpo::ratio::token>(c, d, rep, "openrlhf ppo " + text(actor, "loss_agg_mode", "token-mean"));
  }
}

// ---- Liger-Kernel ---------------------------------------------------------------------------------

template <class Ratio, class S>
using liger_t = grpo::objective<Ratio, S, any_kl, any_agg, co::sampler_mismatch>;

/// Liger multiplies the per-token loss by a given vllm_is_ratio: as the sampler weight
/// exp(old − sampler), spread over a sequence's in-tokens when there is one per sequence.
void liger_is_ratio(const value& c, batch_data& d, co::sampler_mismatch& sm) {
  sm.mode = co::is_mode::truncate, sm.c_min = 0, sm.c_max = 1e300, sm.level = co::is_level::token;
  d.sampler = d.old;
  const std::vector<double> is = numbers(c, "is_ratio");
  if (is.empty()) return;
  if (int(is.size()) == d.N * d.T) {
    for (int k = 0; k < d.N * d.T; ++k) d.sampler[k] = d.old[k] - std::log(is[k]);
    return;
  }
  sm.level = co::is_level::sequence;
  for (int i = 0; i < d.N; ++i) {
    int n = 0;
    for (int t = 0; t < d.T; ++t) n += d.mask[i * d.T + t];
    for (int t = 0; t < d.T; ++t) d.sampler[i * d.T + t] = d.old[i * d.T + t] - (n > 0 ? std::log(is[i]) / n : 0.0);
  }
}

template <class Ratio, class S>
void run_liger(const value& c, batch_data& d, report& rep, S s, any_agg a, const std::string& family) {
  const value& opt = *c.find("options");
  liger_t<Ratio, S> o;
  o.ratio.log_min = -inf, o.ratio.log_max = inf;
  o.surrogate = s, o.aggregation = a;
  o.kl.w = flag(opt, "use_bias_correction_kl", false) ? any_kl::which::is_k3 : any_kl::which::k3;
  o.kl.k3.exp_min = o.kl.is_k3.base.exp_min = -inf;
  o.kl.k3.exp_max = o.kl.is_k3.base.exp_max = inf;
  o.beta = number(opt, "beta", 0.04);
  if (d.old.empty()) d.old = d.logp;
  if (d.ref.empty()) d.ref = d.logp;  // Liger: no reference => KL 0
  liger_is_ratio(c, d, o.corrections.template get<co::sampler_mismatch>());
  tolerances tol;
  if (text(c, "dtype") == "float32") tol.value = tol.metric = 2e-6;  // the fused float32 module
  run("liger", c, o, d, rep, family, tol);
}

template <class Ratio>
void liger_loss_type(const value& c, batch_data& d, report& rep, const std::string& lt) {
  const value& opt = *c.find("options");
  const double el = number(opt, "epsilon_low", 0.2), eh = number(opt, "epsilon_high", 0.2);
  su::ppo_clip p;
  p.eps_low = el, p.eps_high = eh, p.delta = number(opt, "delta", inf);
  any_agg a;
  using w = any_agg::which;
  a.w = lt == "bnpo" ? w::bnpo : lt == "dr_grpo" ? w::constant : (lt == "dapo" || lt == "cispo") ? w::token_mean
                                                                                               : w::seq_mean_token_mean;
  a.cst.max_length = number(opt, "max_completion_length", 512);
  const std::string family = "liger " + lt + (std::is_same_v<Ratio, grpo::ratio::token> ? "" : " (sequence)");
  if (lt == "cispo") {
    su::cispo_trl s;
    s.eps_max = eh;
    run_liger<Ratio>(c, d, rep, s, a, family);
  } else if (lt == "sapo") {
    su::sapo s;
    s.tau_pos = number(opt, "sapo_temperature_pos", 1.0), s.tau_neg = number(opt, "sapo_temperature_neg", 1.05);
    run_liger<Ratio>(c, d, rep, s, a, family);
  } else {
    run_liger<Ratio>(c, d, rep, p, a, family);
  }
}

void liger_case(const value& c, report& rep) {
  const value& opt = *c.find("options");
  const std::string lt = text(opt, "loss_type", "dapo");
  batch_data d(c);
  if (lt == "luspo") return void(rep.skipped["Liger luspo (its ℓ·T_i is not masked; TRL's is): not offered"] += 1);
  if (lt == "vespo") return void(rep.skipped["loss_type vespo (gamma weights): not offered"] += 1);
  if (c.has("ref_hidden")) return void(rep.skipped["Liger reference log-probs from reference hidden states (not recorded)"] += 1);
  if (number(opt, "delta", inf) < 1 + number(opt, "epsilon_high", 0.2))
    return void(rep.skipped["Liger delta < 1+epsilon_high (its clip metric ignores delta; TRL's does not)"] += 1);
  if (text(opt, "importance_sampling_level", "token") == "sequence") {
    d.sequence_advantages();
    liger_loss_type<grpo::ratio::sequence>(c, d, rep, lt);
  } else {
    liger_loss_type<grpo::ratio::token>(c, d, rep, lt);
  }
}

// ---- the presets themselves, on their peer's default cases --------------------------------------

const value* find_case(const value& file, const std::string& id) {
  for (const value& c : file.find("cases")->items)
    if (text(c, "id") == id) return &c;
  FAIL("no fixture case " << id);
  return nullptr;
}

template <class O>
void check_preset(const std::string& peer, const value& file, const std::string& id, const O& preset, report& rep,
                  bool sequence_advantages = false, tolerances tol = {}) {
  const value& c = *find_case(file, id);
  batch_data d(c);
  if (sequence_advantages) REQUIRE(d.sequence_advantages());
  if (d.old.empty() && peer == "liger") d.old = d.logp;
  run(peer, c, preset, d, rep, "preset " + peer + " (" + id + ")", tol);
}
// ---- per-token KL estimators --------------------------------------------------------------------

/// The per-token KL values and derivatives against the peer's. For a peer that computes in float32
/// (OpenRLHF's compute_approx_kl: log_probs.float() - log_probs_base.float()), `f32_bound` > 0 is
/// the clamp bound: the error allowed at a token is that of rounding the operands to float32,
/// carried through the estimator (8·ε₃₂·(|logp| + |ref|)·(1 + |dvalue|) + 8·ε₃₂·|value|), and a
/// token whose log-ratio lies within that rounding of ±bound has its derivative left out (float32
/// rounding decides which side of the clamp it is on). The returned error is then that
/// error over its allowance (≤ 1 passes).
template <class K>
double kl_case(const value& c, const K& k, double tol, double f32_bound = 0, report* rep = nullptr) {
  const std::vector<double> lp = numbers(c, "logp"), ref = numbers(c, "ref"), want = numbers(c, "value"),
                            dwant = numbers(c, "dvalue");
  std::vector<double> v(lp.size()), dv(lp.size());
  const grpo::status st = grpo::kl_terms(k, lp.data(), ref.data(), grpo::index_t(lp.size()), v.data(), dv.data());
  REQUIRE(st.ok());
  double e = 0;
  constexpr double eps32 = 5.9604644775390625e-08;
  for (std::size_t j = 0; j < lp.size(); ++j) {
    if (f32_bound == 0) {
      e = std::max(e, rel(v[j], want[j], 1e-3));
      e = std::max(e, rel(dv[j], dwant[j], 1e-3));
      continue;
    }
    const double operands = 8 * eps32 * (std::fabs(lp[j]) + std::fabs(ref[j]));
    e = std::max(e, std::fabs(v[j] - want[j]) / (operands * (1 + std::fabs(dwant[j])) + 8 * eps32 * std::fabs(want[j])));
    const double x = lp[j] - ref[j];
    if (std::fabs(std::fabs(x) - f32_bound) <= operands) {
      if (rep != nullptr) rep->skipped["OpenRLHF KL: derivative at a log-ratio within float32 rounding of the clamp bound"] += 1;
      continue;
    }
    e = std::max(e, std::fabs(dv[j] - dwant[j]) / (operands + 8 * eps32 * std::fabs(dwant[j])));
  }
  INFO("kl case " << text(c, "id"));
  CHECK(e <= tol);
  return e;
}

// ---- advantage estimators -------------------------------------------------------------------------

/// One advantage case in double: rewards [N·K], groups (fixed size or a list), lengths, mask.
struct adv_data {
  grpo::index_t N = 0, T = 0, K = 1, G = 0;
  std::vector<double> rewards, weights, old, ref, baseline;
  std::vector<std::int32_t> lengths;
  std::vector<grpo::index_t> offsets;
  std::vector<std::uint8_t> mask;
  bool holes = false;  // a mask that is not a prefix of the lengths
  explicit adv_data(const value& c) {
    N = grpo::index_t(number(c, "N", 0));
    T = grpo::index_t(number(c, "T", 1));
    K = grpo::index_t(number(c, "num_rewards", 1));
    rewards = numbers(c, "rewards");
    weights = numbers(c, "reward_weights");
    old = numbers(c, "logp_old");
    ref = numbers(c, "logp_ref");
    baseline = numbers(c, "baseline_rewards");
    for (double l : numbers(c, "lengths")) lengths.push_back(std::int32_t(l));
    for (double m : numbers(c, "mask")) mask.push_back(m != 0);
    if (lengths.empty()) lengths.assign(std::size_t(N), std::int32_t(T));
    if (mask.empty())
      for (grpo::index_t i = 0; i < N; ++i)
        for (grpo::index_t t = 0; t < T; ++t) mask.push_back(t < lengths[std::size_t(i)]);
    for (grpo::index_t i = 0; i < N; ++i)
      for (grpo::index_t t = 0; t < T; ++t) holes |= (mask[std::size_t(i * T + t)] != 0) != (t < lengths[std::size_t(i)]);
    if (const value* g = c.find("groups"); g != nullptr && g->is(kind::array)) {
      offsets.push_back(0);
      for (const value& n : g->items) offsets.push_back(offsets.back() + grpo::index_t(n.number));
    } else {
      G = grpo::index_t(number(c, "group_size", double(N)));
    }
    if (old.empty()) old.assign(std::size_t(N * T), 0.0);
    if (ref.empty()) ref.assign(std::size_t(N * T), 0.0);
  }
  grpo::group_layout layout() const {
    return G > 0 ? grpo::group_layout::fixed(N, G)
                 : grpo::group_layout::ragged(N, grpo::index_t(offsets.size()) - 1, offsets.data());
  }
  grpo::reward_view64 view() const {
    grpo::reward_view64 v;
    v.rewards = rewards.data(), v.num_sequences = N, v.num_rewards = K;
    v.reward_weights = weights.empty() ? nullptr : weights.data();
    v.max_length = T, v.lengths = lengths.data(), v.logp_old = old.data(), v.logp_ref = ref.data();
    v.baseline_rewards = baseline.empty() ? nullptr : baseline.data();
    return v;
  }
};

/// grpo's advantages for a case against the peer's: [N] ("advantages") or [N·T]
/// ("token_advantages": a sequence-level A broadcast over the in-tokens, 0 elsewhere).
/// Returns the largest error relative to max(|A|, 1) and checks it against tol.
template <class E>
double adv_compare(const value& c, const adv_data& d, const E& est, double tol, grpo::advantage_stats* st_out = nullptr) {
  std::vector<double> A(std::size_t(E::token_level ? d.N * d.T : d.N), -777.0);
  grpo::advantage_stats st;
  const grpo::status s = grpo::compute_advantages(est, d.view(), d.layout(), A.data(), st);
  INFO("advantage case " << text(c, "id") << ": " << s.message());
  REQUIRE(s.ok());
  if (st_out != nullptr) *st_out = st;
  double e = 0;
  auto err = [&](double got, double want) {
    const double x = std::fabs(got - want) / std::max(std::fabs(want), 1.0);
    if (x > e) e = x;
  };
  if (c.has("token_advantages")) {
    const std::vector<double> want = numbers(c, "token_advantages");
    for (grpo::index_t i = 0; i < d.N; ++i)
      for (grpo::index_t t = 0; t < d.T; ++t) {
        const std::size_t k = std::size_t(i * d.T + t);
        const double got = !d.mask[k] ? 0.0 : E::token_level ? A[k] : A[std::size_t(i)];
        err(got, want[k]);
      }
  } else {
    const std::vector<double> want = numbers(c, "advantages");
    for (std::size_t i = 0; i < want.size(); ++i) err(A[i], want[i]);
  }
  CHECK(e <= tol);
  return e;
}

void trl_advantage(const value& c, report& rep) {
  const value& opt = *c.find("options");
  adv_data d(c);
  if (text(c, "id").rfind("rloo/", 0) == 0) {
    if (flag(opt, "normalize_advantages", false))
      return void(rep.skipped["RLOOTrainer normalize_advantages (batch whitening of RLOO advantages): not offered"] += 1);
    if (const value* clip = opt.find("reward_clip_range"); clip != nullptr && clip->is(kind::array))
      return void(rep.skipped["RLOOTrainer reward_clip_range: not offered"] += 1);
    if (d.K > 1) {  // RLOO sums the weighted rewards first, as sum_then_normalize does
      std::vector<double> r(std::size_t(d.N));
      REQUIRE(grpo::sum_then_normalize(d.rewards.data(), d.N, d.K, d.weights.empty() ? nullptr : d.weights.data(), r.data()).ok());
      d.rewards = r, d.K = 1, d.weights.clear();
    }
    const double beta = number(opt, "beta", 0.0);
    if (beta != 0)  // reward − β·Σ_t (old − ref): the KL in the reward
      REQUIRE(grpo::apply_kl_penalty(d.rewards.data(), d.N, d.old.data(), d.ref.data(), d.lengths.data(), d.T, beta).ok());
    rep.add("trl rloo advantages", adv_compare(c, d, grpo::rloo{}, 1e-12));
    ++rep.compared;
    return;
  }
  const std::string scale = text(opt, "scale_rewards", "group"), agg = text(opt, "multi_objective_aggregation");
  grpo::advantage_stats st;
  double e = 0;
  if (agg == "normalize_then_sum") {
    if (scale != "group")
      return void(rep.skipped["TRL normalize_then_sum with scale_rewards != group: not offered"] += 1);
    e = adv_compare(c, d, grpo::gdpo{grpo::std_convention::bessel, 1e-4, 1e-4}, 1e-12, &st);
  } else if (scale == "group") {
    e = adv_compare(c, d, grpo::group_normalized{grpo::std_convention::bessel, 1e-4}, 1e-12, &st);
  } else if (scale == "batch") {
    e = adv_compare(c, d, grpo::group_mean_batch_std{grpo::std_convention::bessel, 1e-4}, 1e-12, &st);
  } else {
    e = adv_compare(c, d, grpo::mean_only{}, 1e-12, &st);
  }
  // TRL's frac_reward_zero_std: the share of samples whose group σ is 0, a float32 mean (with
  // scale_rewards="batch" it tests the batch σ instead, which grpo does not report)
  if (const value* m = c.find("metrics"); m != nullptr && m->has("frac_reward_zero_std") && agg != "normalize_then_sum" &&
                                          scale != "batch") {
    INFO("advantage case " << text(c, "id") << ": frac_reward_zero_std");
    CHECK(double(float(st.zero_std_fraction)) == m->find("frac_reward_zero_std")->number);
  }
  rep.add("trl advantages (scale_rewards=" + scale + ", " + agg + ")", e);
  ++rep.compared;
}

void verl_advantage(const value& c, report& rep) {
  const value& opt = *c.find("options");
  adv_data d(c);
  const std::string est = text(opt, "adv_estimator");
  const bool norm = flag(opt, "norm_adv_by_std_in_grpo", true);
  const double gamma = number(opt, "gamma", 1.0);
  auto family = "verl " + est;
  if (flag(opt, "use_kl_in_reward", false)) {
    if (text(opt, "kl_penalty") != "kl" || est != "reinforce_plus_plus")
      return void(rep.skipped["verl KL in the reward other than k1 into REINFORCE++: not offered"] += 1);
  }
  if (est == "gdpo")
    return void(rep.skipped["verl gdpo (float32 scores, whitened over tokens with masked_whiten): not offered"] += 1);
  if ((est == "rloo" || est == "rloo_vectorized") && text(c, "id").find("singleton") != std::string::npos)
    return void(rep.skipped["verl rloo on a group of one (grpo's rloo needs two members)"] += 1);
  if (d.holes && (est == "reinforce_plus_plus" || est == "opo" || est == "reinforce_plus_plus_baseline"))
    return void(rep.skipped["verl estimators over a mask with holes (the return resets at a hole; grpo reads lengths)"] += 1);
  double e = 0;
  // a group of one: verl divides by torch.tensor(1.0) + 1e-6, a float32 sum (1 + 1e-6 rounds
  // by 4.6e-8); grpo_vectorized keeps its group statistics in float32
  const double tol = est == "grpo_vectorized" || text(c, "id").find("singleton") != std::string::npos ? 2e-7 : 1e-12;
  if (est == "grpo" || est == "grpo_vectorized") {
    // grpo_vectorized ignores norm_adv_by_std_in_grpo (always divides)
    if (norm || est == "grpo_vectorized") e = adv_compare(c, d, grpo::group_normalized{grpo::std_convention::bessel, 1e-6}, tol);
    else e = adv_compare(c, d, grpo::mean_only{}, tol);
  } else if (est == "gdpo") {
    e = adv_compare(c, d, grpo::gdpo{grpo::std_convention::bessel, 1e-6, 1e-6}, tol);
  } else if (est == "grpo_passk") {
    grpo::passk_grpo p;
    p.scale_by_std = norm;
    e = adv_compare(c, d, p, tol);
  } else if (est == "rloo" || est == "rloo_vectorized") {
    e = adv_compare(c, d, grpo::rloo{}, tol);
  } else if (est == "opo") {
    e = adv_compare(c, d, grpo::opo{}, tol);
  } else if (est == "remax") {
    // verl's trainer repeats each prompt's greedy reward over its samples; grpo takes it per group
    std::vector<double> per_group;
    const grpo::group_layout L = d.layout();
    for (grpo::index_t g = 0; g < L.num_groups; ++g) {
      for (grpo::index_t i = L.begin(g); i < L.begin(g) + L.size(g); ++i)
        if (d.baseline[std::size_t(i)] != d.baseline[std::size_t(L.begin(g))])
          return void(rep.skipped["verl remax with a different baseline per sample of a group: not offered"] += 1);
      per_group.push_back(d.baseline[std::size_t(L.begin(g))]);
    }
    d.baseline = per_group;
    e = adv_compare(c, d, grpo::remax{}, tol);
  } else if (est == "gpg") {
    e = adv_compare(c, d, grpo::gpg{}, 2e-7);  // verl's α = N / count_nonzero is a float32 division
  } else if (est == "reinforce_plus_plus_baseline") {
    // verl whitens in float32 arithmetic for the Bessel factor n/(n−1) (masked_var)
    e = adv_compare(c, d, grpo::reinforce_pp_baseline{}, 1e-7);
  } else if (est == "reinforce_plus_plus") {
    grpo::reinforce_pp r;
    r.gamma = gamma;
    if (flag(opt, "use_kl_in_reward", false)) r.beta = number(*opt.find("kl_ctrl"), "kl_coef", 0.0);
    e = adv_compare(c, d, r, 1e-7);  // (the same float32 Bessel factor)
  } else {
    return void(rep.skipped["verl adv_estimator " + est + ": not offered"] += 1);
  }
  rep.add(family, e);
  ++rep.compared;
}

void openrlhf_advantage(const value& c, report& rep) {
  const value& opt = *c.find("options");
  adv_data d(c);
  const std::string est = text(opt, "algo.advantage.estimator");
  if (const value* clip = opt.find("reward.clip_range"); clip != nullptr && clip->is(kind::array))
    for (double& r : d.rewards) r = std::clamp(r, clip->items[0].number, clip->items[1].number);
  if (c.has("response_length") || c.has("truncated"))
    return void(rep.skipped["OpenRLHF length penalties (overlong, stop-properly): not offered"] += 1);
  const bool kl_in_reward = flag(opt, "kl_in_reward", false);
  if (kl_in_reward && (est != "reinforce" || text(opt, "algo.kl.estimator") != "k1"))
    return void(rep.skipped["OpenRLHF KL in the reward other than k1 into REINFORCE: not offered"] += 1);
  if (d.holes) return void(rep.skipped["OpenRLHF returns over a mask with holes (grpo reads lengths)"] += 1);
  if (text(c, "id").find("reward-clip") != std::string::npos)
    return void(rep.skipped["OpenRLHF reward.clip_range applied after the baseline (a clip of the advantage): not offered"] += 1);
  if (est == "reinforce" || est == "reinforce_baseline" || est == "gae")
    return void(rep.skipped["OpenRLHF whitening (biased float32 variance, rsqrt(max(var, 1e-8)), masked positions "
                            "not re-masked): not offered"] += 1);
  double e = 0;
  if (est == "group_norm") {
    e = adv_compare(c, d, grpo::group_normalized{grpo::std_convention::bessel, 1e-9}, 1e-12);
  } else if (est == "dr_grpo") {
    e = adv_compare(c, d, grpo::mean_only{}, 1e-12);
  } else if (est == "rloo") {
    e = adv_compare(c, d, grpo::rloo{}, 1e-12);
  } else if (est == "reinforce_baseline") {
    if (flag(opt, "algo.advantage.no_std_norm", false))
      return void(rep.skipped["OpenRLHF reinforce_baseline with no_std_norm: not offered"] += 1);
    e = adv_compare(c, d, grpo::reinforce_pp_baseline{}, 1e-6);
  } else if (est == "reinforce") {
    grpo::reinforce_pp r;
    r.gamma = number(opt, "algo.advantage.gamma_used", 1.0);
    if (kl_in_reward) r.beta = number(opt, "algo.kl.init_coef", 0.0);
    e = adv_compare(c, d, r, 1e-6);
  } else {
    return void(rep.skipped["OpenRLHF estimator " + est + ": not offered"] += 1);
  }
  rep.add("openrlhf " + est, e);
  ++rep.compared;
}

template <class F>
void peer(const std::string& name, F&& each) {
  const value v = load(name);
  report rep;
  for (const value& c : v.find("cases")->items) each(c, rep);
  rep.print(name + " " + v.find("package")->find("version")->text);
  CHECK(rep.compared > 0);
}

}  // namespace

TEST_CASE("TRL's own numbers", "[peers][trl]") {
  peer("trl", [](const value& c, report& rep) {
    if (text(c, "kind") == "policy_loss") trl_case(c, rep);
    if (text(c, "kind") == "advantage") trl_advantage(c, rep);
  });
}

TEST_CASE("every preset on its peer's default case", "[peers][presets]") {
  namespace p = grpo::presets;
  report rep;
  const value trl = load("trl"), verl = load("verl"), orl = load("openrlhf"), liger = load("liger");
  auto beta = [](auto o, double b) { o.beta = b; return o; };
  check_preset("trl", trl, "grpo/beta0.0/token/ehNone", p::trl::grpo(), rep);
  check_preset("trl", trl, "grpo/beta0.04/token/ehNone", beta(p::trl::grpo(), 0.04), rep);
  check_preset("trl", trl, "bnpo/beta0.04/token/ehNone", beta(p::trl::bnpo(), 0.04), rep);
  check_preset("trl", trl, "dr_grpo/beta0.04/token/ehNone", beta(p::trl::dr_grpo(8), 0.04), rep);  // max_completion_length 8
  check_preset("trl", trl, "dapo/beta0.04/token/ehNone", beta(p::trl::dapo(), 0.04), rep);
  check_preset("trl", trl, "cispo/beta0.04/token/eh5.0", beta(p::trl::cispo(5.0), 0.04), rep);
  check_preset("trl", trl, "sapo/beta0.04/token/ehNone", beta(p::trl::sapo(), 0.04), rep);
  check_preset("trl", trl, "luspo/beta0.04/sequence/ehNone", beta(p::trl::luspo(), 0.04), rep, true);
  check_preset("verl", verl, "vanilla/token-mean/A", p::verl::vanilla(), rep);
  check_preset("verl", verl, "vanilla/token-sum/A", p::verl::vanilla<ag::token_sum>(), rep);
  check_preset("verl", verl, "vanilla/seq-mean-token-sum/A", p::verl::vanilla<ag::seq_mean_token_sum>(), rep);
  check_preset("verl", verl, "vanilla/seq-mean-token-mean/A", p::verl::vanilla<ag::seq_mean_token_mean>(), rep);
  check_preset("verl", verl, "vanilla/seq-mean-token-sum-norm/A", p::verl::vanilla<ag::constant>(), rep);
  check_preset("verl", verl, "vanilla/token-mean/kl-low_var_kl/0.001/A", p::verl::vanilla(0.001), rep);
  check_preset("verl", verl, "gspo/token-mean/A", p::verl::gspo(), rep, true);
  check_preset("verl", verl, "sapo/A", p::verl::sapo(), rep);
  check_preset("verl", verl, "gpg/token-mean/A", p::verl::gpg(), rep);
  check_preset("verl", verl, "geo_mean/A", p::verl::geo_mean(), rep, true);
  check_preset("verl", verl, "cispo/token-mean/W", p::verl::cispo(), rep);
  check_preset("verl", verl, "dro/beta0.1/token-mean/A", p::verl::dro(0.1), rep);
  check_preset("openrlhf", orl, "ppo/token-mean/A", p::openrlhf::ppo(), rep);
  check_preset("openrlhf", orl, "ppo/seq-mean-token-mean/A", p::openrlhf::ppo<grpo::kl::k1, ag::seq_mean_token_mean>(), rep);
  tolerances f32;
  f32.value = f32.metric = 2e-7;
  check_preset("openrlhf", orl, "ppo/token-mean/kl-loss-k3/0.01/A", p::openrlhf::ppo<grpo::kl::k3>(0.01), rep, false, f32);
  check_preset("openrlhf", orl, "gspo/A", p::openrlhf::gspo(), rep, true);
  check_preset("liger", liger, "grpo/beta0.04/token/eh0.2", p::liger::grpo(), rep);
  check_preset("liger", liger, "bnpo/beta0.04/token/eh0.2", p::liger::bnpo(), rep);
  check_preset("liger", liger, "dr_grpo/beta0.04/token/eh0.2", p::liger::dr_grpo(8), rep);
  check_preset("liger", liger, "dapo/beta0.04/token/eh0.2", p::liger::dapo(), rep);
  check_preset("liger", liger, "cispo/beta0.04/token/eh5.0", p::liger::cispo(5.0), rep);
  check_preset("liger", liger, "sapo/beta0.04/token/eh0.2", p::liger::sapo(), rep);
  rep.print("presets");
}

TEST_CASE("verl's own numbers", "[peers][verl]") {
  peer("verl", [](const value& c, report& rep) {
    const std::string kind_ = text(c, "kind");
    if (kind_ == "policy_loss") return verl_case(c, rep);
    if (kind_ == "advantage") return verl_advantage(c, rep);
    if (kind_ != "kl") return;
    grpo::json::value name, o;
    name.type = kind::string, name.text = text(*c.find("options"), "kl_penalty");
    o.type = kind::object;
    o.members.push_back({"kl_loss_type", name});
    rep.add("verl kl_penalty", kl_case(c, verl_kl(o), 1e-12));
    ++rep.compared;
  });
}

TEST_CASE("OpenRLHF's own numbers", "[peers][openrlhf]") {
  peer("openrlhf", [](const value& c, report& rep) {
    const std::string kind_ = text(c, "kind");
    if (kind_ == "policy_loss") return openrlhf_case(c, rep);
    if (kind_ == "advantage") return openrlhf_advantage(c, rep);
    if (kind_ != "kl") return;
    const value& opt = *c.find("options");
    if (flag(opt, "unbiased_gradient", false)) return void(rep.skipped["OpenRLHF unbiased_gradient KL: not offered"] += 1);
    const std::string k = text(opt, "kl_estimator");
    any_kl kl;
    kl.w = k == "k2" ? any_kl::which::clamped_k2 : k == "k3" ? any_kl::which::clamped_k3 : any_kl::which::clamped_k1;
    kl.c3.inner.exp_min = -inf, kl.c3.inner.exp_max = 10.0;
    rep.add("openrlhf compute_approx_kl (float32; error / float32 allowance)", kl_case(c, kl, 1.0, 10.0, &rep));
    ++rep.compared;
  });
}

TEST_CASE("Liger-Kernel's own numbers", "[peers][liger]") {
  peer("liger", [](const value& c, report& rep) {
    const std::string kind_ = text(c, "kind");
    if (kind_ == "policy_loss") return liger_case(c, rep);
    if (kind_ != "kl") return;
    grpo::kl::k3 k;
    k.exp_min = -inf, k.exp_max = inf;
    rep.add("liger k3_loss_fn", kl_case(c, k, 1e-12));
    ++rep.compared;
  });
}
