// Every validation error path, and hand-computed edge cases: all-masked sequences, T = 1,
// huge log-ratios (finite in, finite out), NaN propagation when validation is skipped.
#include "support.hpp"

#include <grpo/objective/presets.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

namespace {
using ppo_k3 = grpo::objective<grpo::ratio::token, grpo::surrogate::ppo_clip, grpo::kl::k3,
                               grpo::aggregation::token_mean>;

struct small {
  float logp[6] = {-1, -2, -0.5f, -1, -1, -3};
  float old[6] = {-1.1f, -1.9f, -0.5f, -1, -1.2f, -3};
  float ref[6] = {-1, -1, -1, -1, -1, -1};
  float H[6] = {1, 2, 3, 4, 5, 6};
  float adv[2] = {1, -1};
  std::uint8_t mask[6] = {1, 1, 1, 1, 1, 0};
  std::int32_t len[2] = {3, 2};
  grpo::token_batch<float> b() {
    grpo::token_batch<float> x;
    x.N = 2; x.T = 3; x.logp = logp; x.old = old; x.ref = ref; x.mask = mask; x.advantages = adv;
    return x;
  }
};

template <class O>
grpo::status check(const O& o, const grpo::token_batch<float>& b) {
  float g[6];
  grpo::objective_result r;
  return grpo::evaluate(o, b, grpo::gradient_out<float>{g}, r);
}
}  // namespace

TEST_CASE("validation reports each kind of bad input with its name and index", "[objective][validation]") {
  ppo_k3 o;
  o.beta = 0.1;
  small s;
  REQUIRE(check(o, s.b()).ok());

  SECTION("null logp") { auto b = s.b(); b.logp = nullptr; auto st = check(o, b); CHECK(st.kind() == grpo::errc::null_pointer); CHECK(st.input() == "logp"); }
  SECTION("no mask and no lengths") { auto b = s.b(); b.mask = nullptr; CHECK(check(o, b).input() == "mask"); }
  SECTION("no advantages") { auto b = s.b(); b.advantages = nullptr; CHECK(check(o, b).kind() == grpo::errc::null_pointer); }
  SECTION("both advantage forms") { auto b = s.b(); b.token_advantages = s.ref; CHECK(check(o, b).input() == "advantages"); }
  SECTION("ref missing while beta != 0") { auto b = s.b(); b.ref = nullptr; CHECK(check(o, b).input() == "ref"); o.beta = 0; CHECK(check(o, b).ok()); }
  SECTION("shape") { auto b = s.b(); b.N = 0; CHECK(check(o, b).kind() == grpo::errc::shape_mismatch); b = s.b(); b.T = -1; CHECK(check(o, b).input() == "T"); }
  SECTION("negative length") {
    auto b = s.b(); s.len[1] = -1; b.lengths = s.len;
    auto st = check(o, b); CHECK(st.kind() == grpo::errc::out_of_range); CHECK(st.input() == "lengths"); CHECK(st.index() == 1);
  }
  SECTION("length > T") { auto b = s.b(); s.len[0] = 4; b.lengths = s.len; auto st = check(o, b); CHECK(st.kind() == grpo::errc::out_of_range); CHECK(st.index() == 0); }
  SECTION("non-finite logp / old / ref / advantage at a masked-in position") {
    auto b = s.b();
    s.logp[4] = std::numeric_limits<float>::quiet_NaN();
    auto st = check(o, b); CHECK(st.kind() == grpo::errc::non_finite); CHECK(st.input() == "logp"); CHECK(st.index() == 4);
    CHECK(st.message().find("NaN") != std::string::npos);
    s.logp[4] = -1; s.old[1] = std::numeric_limits<float>::infinity();
    st = check(o, b); CHECK(st.input() == "old"); CHECK(st.index() == 1);
    s.old[1] = -1; s.ref[0] = -std::numeric_limits<float>::infinity();
    st = check(o, b); CHECK(st.input() == "ref"); CHECK(st.index() == 0);
    s.ref[0] = -1; s.adv[1] = std::numeric_limits<float>::quiet_NaN();
    st = check(o, b); CHECK(st.input() == "advantages"); CHECK(st.index() == 1);
  }
  SECTION("non-finite values at masked-out positions are ignored") {
    auto b = s.b(); s.logp[5] = std::numeric_limits<float>::quiet_NaN(); s.old[5] = s.logp[5];
    CHECK(check(o, b).ok());
  }
  SECTION("bad hyper-parameters") {
    ppo_k3 bad = o; bad.surrogate.eps_low = 1.5; auto st = check(bad, s.b());
    CHECK(st.kind() == grpo::errc::bad_config); CHECK(st.input() == "surrogate");
    bad = o; bad.beta = -1; CHECK(check(bad, s.b()).input() == "beta");
    bad = o; bad.ratio.log_min = 1; CHECK(check(bad, s.b()).input() == "ratio");
    bad = o; bad.kl.exp_max = -1; CHECK(check(bad, s.b()).input() == "kl");
    bad = o; bad.surrogate.dual_clip = 0.5; CHECK(check(bad, s.b()).input() == "surrogate");
    grpo::objective<grpo::ratio::token, grpo::surrogate::ppo_clip, grpo::kl::none, grpo::aggregation::constant> c;
    c.aggregation.max_length = -2; CHECK(check(c, s.b()).input() == "aggregation");
    c.aggregation.max_length = 0; c.beta = 0.1; CHECK(check(c, s.b()).input() == "beta");
  }
  SECTION("sequence ratio with token advantages") {
    auto g = grpo::presets::trl::luspo();
    auto b = s.b(); b.advantages = nullptr; b.token_advantages = s.ref;
    auto st = check(g, b); CHECK(st.kind() == grpo::errc::shape_mismatch); CHECK(st.input() == "token_advantages");
  }
  SECTION("missing inputs of corrections") {
    grpo::objective<grpo::ratio::token, grpo::surrogate::ppo_clip, grpo::kl::none, grpo::aggregation::token_mean,
                    grpo::correction::entropy_bonus, grpo::correction::truncated_mask, grpo::correction::sampler_mismatch> c;
    auto b = s.b();
    CHECK(check(c, b).input() == "entropy");
    b.entropy = s.H; CHECK(check(c, b).input() == "sampler_logp");
    b.sampler_logp = s.old; CHECK(check(c, b).input() == "truncated");
    std::uint8_t tr[2] = {0, 1}; b.truncated = tr; CHECK(check(c, b).ok());
    c.corrections.get<grpo::correction::sampler_mismatch>().c_max = std::numeric_limits<double>::infinity();
    CHECK(check(c, b).input() == "sampler_mismatch");
    c.corrections.get<grpo::correction::sampler_mismatch>().c_max = 3;
    c.corrections.get<grpo::correction::entropy_bonus>().coef = -1;
    CHECK(check(c, b).input() == "entropy_bonus");
    c.corrections.get<grpo::correction::entropy_bonus>().coef = 0;
    s.H[2] = std::numeric_limits<float>::infinity();
    auto st = check(c, b); CHECK(st.input() == "entropy"); CHECK(st.index() == 2);
    s.H[2] = 1;
    float sampler[6] = {-1, -2, -0.5f, -1, std::numeric_limits<float>::quiet_NaN(), -3};
    b.sampler_logp = sampler;
    tr[1] = 0;
    st = check(c, b); CHECK(st.input() == "sampler_logp"); CHECK(st.index() == 4);
    tr[1] = 1;  // sequence 1 is dropped by truncated_mask: its values are not looked at
    CHECK(check(c, b).ok());
  }
  SECTION("non-finite token advantage; off-policy mask needs sequence advantages") {
    auto b = s.b(); b.advantages = nullptr; b.token_advantages = s.H;
    s.H[3] = std::numeric_limits<float>::quiet_NaN();
    auto st = check(o, b); CHECK(st.input() == "token_advantages"); CHECK(st.index() == 3);
    s.H[3] = 1;
    grpo::objective<grpo::ratio::token, grpo::surrogate::ppo_clip, grpo::kl::none, grpo::aggregation::token_mean,
                    grpo::correction::off_policy_mask> m;
    CHECK(check(m, b).kind() == grpo::errc::shape_mismatch);
  }
}

TEST_CASE("finite inputs whose loss or gradient overflows float are refused by index", "[objective][validation]") {
  small s;
  auto grpo_ = grpo::presets::trl::grpo();  // TRL: no log-ratio clamp
  SECTION("an unclamped ratio e^(logp - old) at one token, every backend policy and lane") {
    s.old[4] = -101;  // logp - old = 100: e^100 overflows float
    for (const bool vec : {true, false}) {
      float g[6];
      grpo::objective_result r;
      const auto st = grpo::evaluate(grpo_, s.b(), grpo::gradient_out<float>{g}, r, grpo::exec::serial{.vectorize = vec});
      CHECK(st.kind() == grpo::errc::non_finite);
      CHECK(st.input() == "loss");
      CHECK(st.index() == 4);
      const auto sp = grpo::evaluate(grpo_, s.b(), grpo::gradient_out<float>{g}, r, grpo::exec::parallel{});
      CHECK(sp.index() == 4);
    }
    // accumulate mode: the checking pass runs first, so the caller's gradient is untouched
    float g[6] = {1, 2, 3, 4, 5, 6};
    grpo::objective_result r;
    CHECK(grpo::evaluate(grpo_, s.b(), grpo::gradient_out<float>{g, grpo::grad_mode::accumulate}, r).input() == "loss");
    for (int k = 0; k < 6; ++k) CHECK(g[k] == float(k + 1));
    // the peer's clamp makes the same batch finite
    CHECK(check(grpo::presets::verl::vanilla(), s.b()).ok());
  }
  SECTION("finite tokens whose sum over the sequence overflows the float lanes") {
    const float big = std::numeric_limits<float>::max();
    // each token's -A·ρ/N = big/2 is finite; three of them in one scalar lane sum past big (the
    // 8-wide lanes hold one token each here and sum the row in double: finite, and accepted)
    s.adv[0] = -big;
    s.adv[1] = -big;
    grpo::objective<grpo::ratio::token, grpo::surrogate::ppo_clip, grpo::kl::none, grpo::aggregation::seq_mean_token_sum> o;
    for (auto& x : s.old) x = -1;
    for (auto& x : s.logp) x = -1;
    float g[6];
    grpo::objective_result r;
    const auto st = grpo::evaluate(o, s.b(), grpo::gradient_out<float>{g}, r, grpo::exec::serial{.vectorize = false});
    CHECK(st.kind() == grpo::errc::non_finite);
    CHECK(st.input() == "loss");
    CHECK(st.index() == 0);  // the row's first in-token
  }
  SECTION("a sequence ratio whose gathered gradient overflows") {
    auto l = grpo::presets::trl::luspo();  // mean_i(l_i·T_i): G_i = Σ_t of per-token derivatives
    s.adv[0] = -std::numeric_limits<float>::max();
    const auto st = check(l, s.b());
    CHECK(st.kind() == grpo::errc::non_finite);
    CHECK(st.input() == "loss");
    CHECK(st.index() >= 0);
    CHECK(st.index() < 3);
  }
}

TEST_CASE("hand-computed edge cases", "[objective][edge]") {
  small s;
  float g[6];
  grpo::objective_result r;
  SECTION("an all-masked sequence contributes nothing and counts as a sequence") {
    // GRPO (seq-mean-token-mean), on-policy, β = 0: loss = −(1/N)·Σ_i A_i·[T_i > 0]
    auto o = grpo::presets::trl::grpo();
    auto b = s.b(); b.old = nullptr;
    s.mask[3] = s.mask[4] = 0;  // sequence 1 entirely masked
    REQUIRE(grpo::evaluate(o, b, grpo::gradient_out<float>{g}, r).ok());
    CHECK(r.loss == Approx(-0.5));  // −(1/2)·(A_0 = 1)
    for (int t = 0; t < 3; ++t) CHECK(g[t] == Approx(-1.0 / 6));  // −A·ρ/(T_0·N)
    for (int t = 3; t < 6; ++t) CHECK(g[t] == 0.0f);
    CHECK(r.stats.token_count == 3);
  }
  SECTION("every token masked: loss 0, statistics 0, no NaN") {
    auto o = grpo::presets::trl::dapo();
    auto b = s.b();
    for (auto& m : s.mask) m = 0;
    REQUIRE(grpo::evaluate(o, b, grpo::gradient_out<float>{g}, r).ok());
    CHECK(r.loss == 0.0);
    CHECK(r.stats["ratio"] == 0.0);
    CHECK(r.stats["clip_high"] == 0.0);
    CHECK_FALSE(r.stats.has("kl"));  // β = 0: no KL term, no KL statistic
  }
  SECTION("T = 1 PPO-clip by hand") {
    // ρ = e^{0.5} ≈ 1.6487 > 1.2, A = 1: clipped, loss −1.2, gradient 0, clip_high
    float lp[1] = {-0.5f}, old[1] = {-1.0f}, a[1] = {1.0f};
    std::uint8_t m[1] = {1};
    grpo::token_batch<float> b; b.N = 1; b.T = 1; b.logp = lp; b.old = old; b.mask = m; b.advantages = a;
    REQUIRE(grpo::evaluate(grpo::presets::trl::grpo(), b, grpo::gradient_out<float>{g}, r).ok());
    CHECK(r.loss == Approx(-1.2));
    CHECK(g[0] == 0.0f);
    CHECK(r.stats["clip_high"] == 1.0);
    a[0] = -1.0f;  // A < 0: unclipped branch −ρA = ρ, gradient ρ
    REQUIRE(grpo::evaluate(grpo::presets::trl::grpo(), b, grpo::gradient_out<float>{g}, r).ok());
    CHECK(r.loss == Approx(std::exp(0.5)).epsilon(1e-6));
    CHECK(g[0] == Approx(std::exp(0.5)).epsilon(1e-6));
  }
  SECTION("huge log-ratios: finite inputs give finite outputs (with finite clamps; TRL has none)") {
    float lp[4] = {-0.01f, -3000.f, -0.01f, -1e4f}, old[4] = {-5000.f, -0.01f, -1e4f, -0.01f};
    float rf[4] = {-4000.f, -0.01f, -0.01f, -9000.f}, a[2] = {2.f, -3.f}, H[4] = {1, 2, 3, 4};
    std::uint8_t m[4] = {1, 1, 1, 1};
    grpo::token_batch<float> b; b.N = 2; b.T = 2; b.logp = lp; b.old = old; b.ref = rf; b.mask = m; b.advantages = a; b.entropy = H;
    auto finite_everywhere = [&](const auto& o) {
      REQUIRE(grpo::evaluate(o, b, grpo::gradient_out<float>{g}, r).ok());
      CHECK(std::isfinite(r.loss));
      for (const auto& e : r.stats) CHECK(std::isfinite(e.value));
      for (int k = 0; k < 4; ++k) CHECK(std::isfinite(g[k]));
    };
    namespace su = grpo::surrogate;
    namespace ag = grpo::aggregation;
    grpo::objective<grpo::ratio::token, su::ppo_clip, grpo::kl::k3, ag::seq_mean_token_mean> t;
    t.beta = 0.04;
    finite_everywhere(t);
    finite_everywhere(grpo::objective<grpo::ratio::token, su::cispo_trl, grpo::kl::none, ag::token_mean>{});
    finite_everywhere(grpo::objective<grpo::ratio::token, su::sapo, grpo::kl::none, ag::token_mean>{});
    finite_everywhere(grpo::objective<grpo::ratio::sequence, su::ppo_clip, grpo::kl::none, ag::luspo>{});
    finite_everywhere(grpo::presets::verl::vanilla(0.001));
    finite_everywhere(grpo::presets::verl::gspo(0.001));
    finite_everywhere(grpo::presets::openrlhf::ppo<grpo::kl::k3>(0.01));
    finite_everywhere(grpo::presets::openrlhf::ppo<grpo::kl::k2>(0.01));
    grpo::objective<grpo::ratio::token, grpo::surrogate::ppo_clip, grpo::kl::is_corrected_k3, grpo::aggregation::token_mean> ik;
    ik.beta = 0.1;
    finite_everywhere(ik);
    // the clamp: log ρ = 4999.99 is clamped to 20, so ρ_max = e^20
    CHECK(r.stats["ratio_max"] == Approx(std::exp(20.0)).epsilon(1e-5));
  }
  SECTION("unchecked: a NaN input propagates into the loss, never a finite-looking value") {
    auto b = s.b();
    s.logp[1] = std::numeric_limits<float>::quiet_NaN();
    for (bool on_policy : {false, true}) {
      if (on_policy) b.old = nullptr;
      REQUIRE(grpo::evaluate(grpo::unchecked, grpo::presets::trl::grpo(), b, grpo::gradient_out<float>{g}, r).ok());
      CHECK(std::isnan(r.loss));
      CHECK(std::isnan(g[1]));
      REQUIRE(grpo::evaluate(grpo::unchecked, grpo::presets::trl::luspo(), b, grpo::gradient_out<float>{g}, r).ok());
      CHECK(std::isnan(r.loss));
    }
    s.logp[1] = -2; s.adv[0] = std::numeric_limits<float>::infinity();
    REQUIRE(grpo::evaluate(grpo::unchecked, grpo::presets::trl::dapo(), s.b(), grpo::gradient_out<float>{g}, r).ok());
    CHECK(!std::isfinite(r.loss));
  }
  SECTION("truncated completions leave the token count") {
    grpo::objective<grpo::ratio::token, grpo::surrogate::ppo_clip, grpo::kl::none, grpo::aggregation::token_mean,
                    grpo::correction::truncated_mask> o;
    auto b = s.b(); b.old = nullptr;
    std::uint8_t tr[2] = {1, 0}; b.truncated = tr;
    REQUIRE(grpo::evaluate(o, b, grpo::gradient_out<float>{g}, r).ok());
    CHECK(r.stats.token_count == 2);
    CHECK(r.loss == Approx(1.0));  // −A_1·ρ over its 2 tokens / 2 tokens = 1
    CHECK(g[0] == 0.0f);
  }
  SECTION("sequence-level sampler mask drops a sequence whose weight exceeds C_max") {
    grpo::objective<grpo::ratio::token, grpo::surrogate::gpg, grpo::kl::none, grpo::aggregation::token_sum,
                    grpo::correction::sampler_mismatch> o;  // TRL default: sequence_mask, C_max = 3
    auto b = s.b();
    float sampler[6] = {-1.1f, -1.9f, -0.5f, -2.5f, -1.2f, -3};  // seq 1: Σ(old − sampler) = 1.5 → w = e^{1.5} > 3
    b.sampler_logp = sampler;
    REQUIRE(grpo::evaluate(o, b, grpo::gradient_out<float>{g}, r).ok());
    CHECK(r.loss == Approx(-(1.0 * (-1 - 2 - 0.5))));  // only sequence 0: −A·Σ logp
    CHECK(g[3] == 0.0f);
    CHECK(g[0] == Approx(-1.0));
  }
}
