// The estimator lab (examples/06_estimator_lab.hpp): Schulman's table reproduced within its
// Monte Carlo error, the lab's ground truths against independent checks (closed forms, finite
// differences), and the known results the lab reports (which loss gradients are unbiased, which
// advantage estimators are, the length bias of the per-sequence token mean), each with a fixed
// seed and sample counts that keep the whole program to a few seconds.
#include "../../examples/06_estimator_lab.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <vector>

namespace {

constexpr std::uint64_t seed = 12345;

std::vector<lab::kl_estimator> only(const std::vector<std::string>& names) {
  std::vector<lab::kl_estimator> out;
  for (const auto& e : lab::kl_family())
    for (const auto& n : names)
      if (e.name == n) out.push_back(e);
  return out;
}

/// |value − target| ≤ 4 standard errors
bool within4(const lab::estimate& e, double target) { return std::fabs(e.value - target) <= 4 * e.se; }

}  // namespace

TEST_CASE("the library's KL values are the formulas' (k in terms of log r = ref - logp)", "[lab][kl]") {
  const auto fam = lab::kl_family();
  std::vector<double> lp, ref;
  for (double a = -3; a <= 3; a += 0.25)
    for (double b = -30; b <= 30; b += 1.5) lp.push_back(a), ref.push_back(a + b);
  std::vector<double> v(lp.size()), dv(lp.size());
  for (const auto& e : fam) {
    e.library(lp.data(), ref.data(), static_cast<lab::index_t>(lp.size()), v.data(), dv.data());
    for (std::size_t k = 0; k < lp.size(); ++k) {
      INFO(e.name << " at logp " << lp[k] << " ref " << ref[k]);
      CHECK(v[k] == Approx(e.formula(ref[k] - lp[k])).epsilon(1e-12).margin(1e-12));
    }
  }
}

TEST_CASE("Gaussian quadrature agrees with the closed forms", "[lab][kl]") {
  for (double mu : {0.1, 0.5, 1.0, 2.0})
    for (const auto& e : only({"k1", "k2", "k3", "abs"})) {
      const auto [m, s] = lab::gaussian_moments(e.formula, mu);
      const auto [cm, cs] = lab::gaussian_closed_form(e.name, mu);
      INFO(e.name << " mu " << mu);
      CHECK(m == Approx(cm).epsilon(1e-9));
      CHECK(s == Approx(cs).epsilon(1e-7));
    }
}

TEST_CASE("Schulman's table is reproduced within 4 standard errors of his rounding", "[lab][kl][schulman]") {
  const auto rows = lab::gaussian_kl({0.1, 1.0}, 2000000, seed, only({"k1", "k2", "k3"}));
  int matched = 0;
  for (const auto& pv : lab::schulman_published)
    for (const auto& r : rows)
      if (r.mu == pv.mu && r.estimator == pv.estimator) {
        ++matched;
        INFO(r.estimator << " at mu = " << r.mu << ": bias/KL " << r.bias_rel.value << " ± " << r.bias_rel.se
                         << " (Schulman " << pv.bias_rel << "), sd/KL " << r.sd_rel.value << " ± " << r.sd_rel.se
                         << " (Schulman " << pv.sd_rel << ")");
        CHECK(lab::within_schulman(r.bias_rel, pv.bias_rel, pv.bias_half_width));
        CHECK(lab::within_schulman(r.sd_rel, pv.sd_rel, pv.sd_half_width));
        // and the exact values (closed forms) within 4 standard errors
        CHECK(within4(r.bias_rel, r.exact_bias_rel));
        CHECK(within4(r.sd_rel, r.exact_sd_rel));
        // the standard errors are real ones: positive, and small against the figure (k3's sd at
        // μ = 1 has the widest: its fourth moment is E[r⁴] = e⁶)
        CHECK(r.bias_rel.se > 0);
        CHECK(r.sd_rel.se < 0.03 * r.sd_rel.value);
      }
  CHECK(matched == 6);
}

TEST_CASE("categorical KL: Monte Carlo agrees with enumeration", "[lab][kl]") {
  for (const auto& r : lab::categorical_kl_table(200000, seed, only({"k1", "k2", "k3", "clamped<k3>"}))) {
    if (r.case_name == "policy-rare") continue;  // a rare outcome: the sample sd is not Gaussian-accurate
    INFO(r.case_name << " " << r.estimator << ": " << r.bias_rel.value << " ± " << r.bias_rel.se << " vs "
                     << r.exact_bias_rel);
    CHECK(within4(r.bias_rel, r.exact_bias_rel));
    CHECK(within4(r.sd_rel, r.exact_sd_rel));
  }
}

TEST_CASE("loss gradients: k1 none, k2 the reverse KL's, k3 the forward KL's, abs twice TV's", "[lab][kl][gradient]") {
  // exact, by enumeration of the outcomes with the library's k'
  for (const auto& r : lab::categorical_gradients(1000, seed)) {
    INFO(r.case_name << " " << r.estimator);
    if (r.estimator == "k1") {
      CHECK(r.rel_err_reverse == Approx(1).epsilon(1e-10));  // E ĝ = 0
      CHECK(std::isnan(r.cos_reverse));
    }
    if (r.estimator == "k2") CHECK(r.rel_err_reverse < 1e-12);
    if (r.estimator == "k3") CHECK(r.rel_err_forward < 1e-12);
    if (r.estimator == "abs") CHECK(r.rel_err_tv < 1e-10);
    if (r.estimator == "k3" && r.case_name != "near") CHECK(r.rel_err_reverse > 0.1);  // biased for the reverse KL
  }
  // Monte Carlo on the two-parameter Gaussian
  const std::vector<double> mus = {0.5, 1.0};
  for (const auto& r : lab::gaussian_gradients(mus, 400000, seed, only({"k1", "k2", "k3", "abs"}))) {
    const auto t = lab::gaussian_gradient_truths(r.mu);
    INFO(r.estimator << " mu " << r.mu << ": (" << r.gm.value << " ± " << r.gm.se << ", " << r.gs.value << " ± "
                     << r.gs.se << ")");
    if (r.estimator == "k1") CHECK((within4(r.gm, 0) && within4(r.gs, 0)));
    if (r.estimator == "k2") CHECK((within4(r.gm, t.reverse[0]) && within4(r.gs, t.reverse[1])));
    if (r.estimator == "k3") {
      CHECK((within4(r.gm, t.forward[0]) && within4(r.gs, t.forward[1])));
      CHECK(std::fabs(r.gs.value - t.reverse[1]) > 4 * r.gs.se);  // and not the reverse KL's
    }
    if (r.estimator == "abs") CHECK((within4(r.gm, t.tv2[0]) && within4(r.gs, t.tv2[1])));
  }
}

TEST_CASE("KL in the reward vs in the loss", "[lab][kl][placement]") {
  const auto rows = lab::kl_placement({1, 4}, 8, 6000, seed);
  auto find = [&](lab::index_t T, const std::string& m) {
    for (const auto& r : rows)
      if (r.T == T && r.method == m) return r;
    FAIL("no row " << m);
    return rows[0];
  };
  // with one token, k1 in the reward without a baseline is k2 in the loss, sample by sample
  CHECK(find(1, "k1 in reward, no baseline").rel_bias.value == Approx(find(1, "k2 in loss").rel_bias.value).epsilon(1e-9));
  CHECK(find(1, "k1 in reward, no baseline").rel_sd.value == Approx(find(1, "k2 in loss").rel_sd.value).epsilon(1e-9));
  // unbiased: RLOO in the reward, k2 in the loss; biased: k3 (forward KL), group mean ((G-1)/G)
  // (the scale <E ĝ, g>/‖g‖² is linear in E ĝ, so its Monte Carlo estimate is unbiased; the norm of
  // the bias is not: noise alone makes it positive)
  CHECK(within4(find(4, "k1 in reward, no baseline").scale, 1.0));
  CHECK(within4(find(4, "k1 in reward, RLOO").scale, 1.0));
  CHECK(within4(find(4, "k2 in loss").scale, 1.0));
  CHECK(find(4, "k2 in loss").cos.value > 0.9999);
  CHECK(find(4, "k3 in loss").rel_bias.value > 0.1);
  CHECK(within4(find(4, "k1 in reward, group mean (mean_only)").scale, 7.0 / 8));
  CHECK(within4(find(4, "k1 in loss").scale, 0.0));
  // the loss's per-token estimate is less noisy than the reward's once T > 1
  CHECK(find(4, "k2 in loss").rel_sd.value < 0.6 * find(4, "k1 in reward, RLOO").rel_sd.value);
}

TEST_CASE("bandit: the exact gradient, and which advantage estimators are unbiased", "[lab][advantage]") {
  const auto env = lab::default_bandit();
  const auto g = env.exact_gradient();
  for (lab::index_t s = 0; s < env.S(); ++s)
    for (lab::index_t a = 0; a < env.K(); ++a) {  // central differences of J
      auto up = env, dn = env;
      const double h = 1e-5;
      up.logits[static_cast<std::size_t>(s)][static_cast<std::size_t>(a)] += h;
      dn.logits[static_cast<std::size_t>(s)][static_cast<std::size_t>(a)] -= h;
      CHECK(g[static_cast<std::size_t>(s * env.K() + a)] ==
            Approx((up.objective() - dn.objective()) / (2 * h)).margin(1e-9));
    }
  const auto rows = lab::advantage_lab({4, 64}, 4000, seed);
  auto find = [&](lab::index_t G, const std::string& m) {
    for (const auto& r : rows)
      if (r.G == G && r.estimator == m) return r;
    FAIL("no row " << m);
    return rows[0];
  };
  for (const char* unbiased : {"reinforce (A = r, reference)", "rloo", "remax"}) {
    INFO(unbiased << ": scale " << find(4, unbiased).scale.value << " ± " << find(4, unbiased).scale.se);
    CHECK(within4(find(4, unbiased).scale, 1.0));
  }
  CHECK(within4(find(4, "mean_only").scale, 3.0 / 4));  // the group mean includes the sample itself
  // the same direction up to a constant: mean_only, rloo and opo (T = 1) differ only in scale
  CHECK(find(64, "mean_only").cos.value == Approx(find(64, "rloo").cos.value).epsilon(1e-12));
  CHECK(find(64, "opo").cos.value == Approx(find(64, "mean_only").cos.value).epsilon(1e-12));
  // std normalisation reweights the contexts: a direction bias, clear at G = 64
  const auto gn = find(64, "group_normalized").cos, mo = find(64, "mean_only").cos;
  INFO("cos group_normalized " << gn.value << " ± " << gn.se << ", mean_only " << mo.value << " ± " << mo.se);
  CHECK(1 - gn.value > 5 * gn.se);
  CHECK(1 - gn.value > 10 * (1 - mo.value));
  // pass@k's advantage aims at another objective
  CHECK(find(64, "passk_grpo").cos.value < 0.5);
  // a larger group: a better signal-to-noise ratio
  CHECK(find(64, "rloo").snr.value > 5 * find(4, "rloo").snr.value);
}

TEST_CASE("aggregations: the weight of a response against its length", "[lab][aggregation]") {
  const auto rows = lab::response_weights(true);
  // the columns: seq_mean_token_mean, token_mean, constant (L = 512), seq_mean_token_sum
  double total = 0;
  for (const auto& r : rows) total += double(r.length);
  for (const auto& r : rows) {
    INFO("length " << r.length);
    CHECK(r.per_token[0] == Approx(r.advantage / (8.0 * double(r.length))).epsilon(1e-12));
    CHECK(r.per_token[1] == Approx(r.advantage / total).epsilon(1e-12));
    CHECK(r.per_token[2] == Approx(r.advantage / (8.0 * 512)).epsilon(1e-12));
    CHECK(r.per_token[3] == Approx(r.advantage / 8.0).epsilon(1e-12));
    CHECK(r.per_response[0] == Approx(r.advantage / 8.0).epsilon(1e-12));  // the same whatever the length
  }
}

TEST_CASE("length model: the exact gradient, and the length bias of the per-sequence token mean", "[lab][aggregation]") {
  // the model's ∇J against central differences of J over a per-position hazard table
  const auto m = lab::length_scenarios()[1];
  auto J = [&](const std::vector<double>& eta) {
    double alive = 1, j = 0;
    for (lab::index_t l = 1; l <= m.L_max; ++l) {
      const double stop = l < m.L_max ? 1 / (1 + std::exp(-eta[static_cast<std::size_t>(l - 1)])) : 1.0;
      j += alive * stop * m.correct(l);
      alive *= 1 - stop;
    }
    return j;
  };
  const auto g = m.gradient_of(m.correct);
  const std::vector<double> eta = m.eta;  // h = 1/16 everywhere
  for (std::size_t t = 0; t < eta.size(); t += 7) {
    auto up = eta, dn = eta;
    up[t] += 1e-5;
    dn[t] -= 1e-5;
    CHECK(g[t] == Approx((J(up) - J(dn)) / 2e-5).margin(1e-9));
  }

  const auto rows = lab::length_drift(1500, seed);
  auto find = [&](const std::string& scen, const std::string& meth) {
    for (const auto& r : rows)
      if (r.scenario.rfind(scen, 0) == 0 && r.method == meth) return r;
    FAIL("no row " << scen << " / " << meth);
    return rows[0];
  };
  // correctness independent of length: nothing should move the length. Dr. GRPO's constant
  // normaliser moves it neither through the right nor through the wrong answers; the per-sequence
  // token mean shortens through the right answers and lengthens through the wrong ones
  const auto dr = find("independent", "mean_only + constant (Dr. GRPO)");
  CHECK(within4(dr.dlen_right, 0.0));
  CHECK(within4(dr.dlen_wrong, 0.0));
  const auto grpo = find("independent", "group_normalized + seq_mean_token_mean (GRPO)");
  CHECK(grpo.dlen_wrong.value > 10 * grpo.dlen_wrong.se);
  CHECK(grpo.dlen_right.value < -10 * grpo.dlen_right.se);
  // wrong answers long: under GRPO they still push the length up; under Dr. GRPO down
  CHECK(find("short right", "group_normalized + seq_mean_token_mean (GRPO)").dlen_wrong.value > 0);
  CHECK(find("short right", "mean_only + constant (Dr. GRPO)").dlen_wrong.value < 0);
  // right answers long: under GRPO they push the length down
  CHECK(find("long right", "group_normalized + seq_mean_token_mean (GRPO)").dlen_right.value < 0);
  // Dr. GRPO's estimate points along ∇J, GRPO's does not
  CHECK(find("short right", "mean_only + constant (Dr. GRPO)").cos.value > 0.999);
  CHECK(find("short right", "group_normalized + seq_mean_token_mean (GRPO)").cos.value < 0.9);

  // training: under GRPO's aggregation the wrong (long) answers stay longer and J rises slower
  const auto curves = lab::length_training(lab::length_scenarios()[1], 100, 4, 0.01, seed);
  auto curve = [&](const std::string& meth) {
    for (const auto& c : curves)
      if (c.method == meth) return c;
    FAIL("no curve " << meth);
    return curves[0];
  };
  const auto g100 = curve("group_normalized + seq_mean_token_mean (GRPO)"), d100 = curve("mean_only + constant (Dr. GRPO)");
  INFO("E[L] of wrong answers at step 100: GRPO " << g100.length_wrong[100].value << ", Dr. GRPO "
                                                 << d100.length_wrong[100].value);
  CHECK(g100.length_wrong[100].value - d100.length_wrong[100].value >
        4 * std::hypot(g100.length_wrong[100].se, d100.length_wrong[100].se));
  CHECK(g100.J[100].value < d100.J[100].value);
}

TEST_CASE("tables: value ± error formatting and CSV columns", "[lab]") {
  CHECK(lab::format_pm(1.41778, 0.0042) == "1.4178 ± 0.0042");
  CHECK(lab::format_pm(20.0012, 0.024) == "20.001 ± 0.024");
  CHECK(lab::format_pm(0.5, 0) == "0.5");
  CHECK(lab::format_pm(0.9999994, 4.1e-7) == "0.999999 ± 4.1e-07");  // six digits at most
  lab::table t{"t", "T", {"name", "x"}, {{"a", lab::estimate{1.5, 0.25}}, {"b", 2.0}}, ""};
  CHECK(lab::to_csv(t) == "name,x,x_se\na,1.5,0.25\nb,2,0\n");
  CHECK(lab::to_markdown(t).find("| a | 1.50 ± 0.25 |") != std::string::npos);
}
