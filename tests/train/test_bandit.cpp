// GRPO on a contextual bandit with the tabular policy: the exact expected reward
// J(θ) = (1/S) Σ_s Σ_a π_θ(a|s) r(s, a) rises, and one trainer step equals a float64
// reference written from the formulas (group-normalised advantages, per-sequence token mean,
// softmax log-prob gradient, global-norm clipping, the first AdamW step).
#include "bandit_env.hpp"

#include <grpo/model/tabular.hpp>
#include <grpo/objective/presets.hpp>
#include <grpo/train/trainer.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

using namespace grpo_test;
using grpo::index_t;

namespace {

grpo::train::trainer_config bandit_config() {
  grpo::train::trainer_config c;
  c.prompts_per_step = 8;
  c.group_size = 8;
  c.sampling = {1.0, 0, 1.0, 1, -1};  // one action per completion
  c.mask_truncated = false;           // every one-token completion "hits the length limit"
  c.adamw = {0.05, 0.9, 0.99, 1e-8, 0.0};
  c.max_grad_norm = 1.0;
  c.seed = 42;
  c.threads = 1;
  return c;
}

}  // namespace

TEST_CASE("GRPO raises the exact expected reward of a tabular bandit policy", "[train][bandit]") {
  auto env = make_bandit();
  grpo::model::tabular_policy<double> pi(env.num_states, env.num_actions, 1);
  const double j0 = expected_reward(pi, env);
  REQUIRE(j0 == Approx(0.3375));  // uniform policy: mean of the table rows
  grpo::train::trainer tr(pi, env, grpo::group_normalized{}, grpo::presets::trl::grpo(), bandit_config());
  std::vector<double> j{j0};
  for (int block = 0; block < 4; ++block) {
    for (int s = 0; s < 10; ++s) {
      grpo::train::metrics_record m;
      REQUIRE(tr.step(m).ok());
    }
    j.push_back(expected_reward(pi, env));
  }
  // improves at every 10-step checkpoint and gets close to the optimum 1 within 40 steps
  for (std::size_t k = 1; k < j.size(); ++k) CHECK(j[k] > j[k - 1]);
  CHECK(j.back() > 0.85);
}

TEST_CASE("one trainer step equals the float64 reference of the GRPO update", "[train][bandit][reference]") {
  auto env = make_bandit();
  for (double max_norm : {1e-3, 100.0}) {  // clipping active / inactive
    grpo::model::tabular_policy<double> pi(env.num_states, env.num_actions, 1);
    // a non-uniform start so that π(b|s) matters in the gradient
    for (index_t s = 0; s < env.num_states; ++s)
      for (index_t a = 0; a < env.num_actions; ++a) pi.logits(s, 0)[a] = 0.3 * static_cast<double>((s + 2 * a) % 3);
    const auto theta0 = std::vector<double>(pi.parameters().begin(), pi.parameters().end());
    std::vector<std::vector<double>> probs;
    for (index_t s = 0; s < env.num_states; ++s) probs.push_back(pi.probabilities(s));
    auto cfg = bandit_config();
    cfg.max_grad_norm = max_norm;
    grpo::train::trainer tr(pi, env, grpo::group_normalized{}, grpo::presets::trl::grpo(), cfg);
    grpo::train::metrics_record m;
    REQUIRE(tr.step(m).ok());

    // reference from the sampled actions
    const auto& ro = tr.last_rollout();
    const index_t N = ro.size(), G = cfg.group_size, A = env.num_actions;
    std::vector<double> r(static_cast<std::size_t>(N)), adv(static_cast<std::size_t>(N));
    std::vector<index_t> s_of(static_cast<std::size_t>(N)), a_of(static_cast<std::size_t>(N));
    for (index_t i = 0; i < N; ++i) {
      s_of[i] = ro.batch.sequence(i)[0];
      a_of[i] = ro.batch.sequence(i)[1];
      r[i] = env.r[s_of[i]][a_of[i]];
    }
    for (index_t g = 0; g < N / G; ++g) {
      double mean = 0, ss = 0;
      for (index_t i = g * G; i < (g + 1) * G; ++i) mean += r[i];
      mean /= G;
      for (index_t i = g * G; i < (g + 1) * G; ++i) ss += (r[i] - mean) * (r[i] - mean);
      const double sd = std::sqrt(ss / (G - 1));  // Bessel, as group_normalized's default
      for (index_t i = g * G; i < (g + 1) * G; ++i) adv[i] = (r[i] - mean) / (sd + 1e-6);
    }
    // the trainer's advantages are float: check them, then use them, so that the reference
    // sees the same rounding (Adam's g/(|g| + ε) magnifies a 1e-9 residue where Σ A = 0)
    REQUIRE(tr.last_advantages().size() == static_cast<std::size_t>(N));
    for (index_t i = 0; i < N; ++i) {
      CHECK(tr.last_advantages()[i] == Approx(adv[i]).margin(1e-6));
      adv[i] = tr.last_advantages()[i];
    }
    // L = −(1/N) Σ_i ρ_i A_i with ρ = 1 at the first iteration; ∂logπ(a|s)/∂θ[s,b] = 1[a=b] − π(b|s)
    std::vector<double> grad(theta0.size(), 0.0);
    for (index_t i = 0; i < N; ++i)
      for (index_t b = 0; b < A; ++b)
        grad[s_of[i] * A + b] += -adv[i] / N * ((b == a_of[i] ? 1.0 : 0.0) - probs[s_of[i]][b]);
    double norm = 0;
    for (double g : grad) norm += g * g;
    norm = std::sqrt(norm);
    if (norm > max_norm)
      for (double& g : grad) g *= max_norm / (norm + 1e-6);
    // the clipped gradient the optimiser saw
    for (std::size_t k = 0; k < grad.size(); ++k) CHECK(pi.gradients()[k] == Approx(grad[k]).margin(1e-8));
    // first AdamW step: m̂ = g, v̂ = g², θ ← θ − lr·g/(|g| + ε). Where the exact gradient is 0
    // (Σ A = 0 over an unchosen logit) the trainer's is a ~1e-9 residue of the float old
    // log-probs (ρ = 1 ± 4e-9), which g/(|g| + ε) turns into a step of up to lr: only the bound
    // is checked there.
    for (std::size_t k = 0; k < grad.size(); ++k) {
      const double expect = theta0[k] - cfg.adamw.lr * grad[k] / (std::abs(grad[k]) + cfg.adamw.eps);
      if (std::abs(grad[k]) > 1e-6)
        CHECK(pi.parameters()[k] == Approx(expect).margin(1e-6 * cfg.adamw.lr));
      else
        CHECK(std::abs(pi.parameters()[k] - theta0[k]) <= cfg.adamw.lr);
    }
    CHECK(m.get("grad_norm") == Approx(norm).epsilon(1e-6));
  }
}

TEST_CASE("trainer configuration errors are reported by name", "[train][config]") {
  auto env = make_bandit();
  grpo::model::tabular_policy<double> pi(env.num_states, env.num_actions, 1);
  auto check_bad = [&](auto mutate, const char* name) {
    auto cfg = bandit_config();
    mutate(cfg);
    const auto st = grpo::train::validate(cfg);
    REQUIRE_FALSE(st.ok());
    CHECK(st.message().find(name) != std::string::npos);
  };
  check_bad([](auto& c) { c.group_size = 1; }, "group_size");
  check_bad([](auto& c) { c.prompts_per_step = 0; }, "prompts_per_step");
  check_bad([](auto& c) { c.micro_batches = 9; }, "micro_batches");
  check_bad([](auto& c) { c.inner_iterations = 0; }, "inner_iterations");
  check_bad([](auto& c) { c.sampling.temperature = 0; }, "temperature");
  check_bad([](auto& c) { c.checkpoint_every = 5; }, "checkpoint_path");
  check_bad([](auto& c) { c.adamw.lr = -1; }, "lr");
  // the objective's own hyper-parameters are checked at construction: a negative beta, a beta
  // for an objective without a KL term, a bad clip range
  using no_kl = grpo::objective<grpo::ratio::token, grpo::surrogate::ppo_clip, grpo::kl::none,
                                grpo::aggregation::token_mean>;
  auto refused = [&](auto obj, const char* name) {
    try {
      grpo::train::trainer tr(pi, env, grpo::group_normalized{}, obj, bandit_config());
      FAIL("accepted a bad " << name);
    } catch (const grpo::error& e) {
      CHECK(std::string(e.what()).find(name) != std::string::npos);
    }
  };
  auto negative = grpo::presets::trl::grpo();
  negative.beta = -1;
  refused(negative, "beta");
  no_kl with_beta;
  with_beta.beta = 0.01;
  refused(with_beta, "beta");
  auto bad_clip = grpo::presets::trl::grpo();
  bad_clip.surrogate.eps_low = -0.1;
  refused(bad_clip, "surrogate");
  CHECK_NOTHROW((grpo::train::trainer(pi, env, grpo::group_normalized{}, no_kl{}, bandit_config())));
}

TEST_CASE("dynamic sampling trains only on groups whose rewards differ", "[train][dynamic]") {
  auto env = make_bandit();
  env.r[0] = {0.5, 0.5, 0.5, 0.5};  // state 0: every completion scores the same
  grpo::model::tabular_policy<double> pi(env.num_states, env.num_actions, 1);
  auto cfg = bandit_config();
  cfg.dynamic_sampling = true;
  cfg.max_resample_rounds = 20;
  grpo::train::trainer tr(pi, env, grpo::group_normalized{}, grpo::presets::trl::grpo(), cfg);
  grpo::train::metrics_record m;
  grpo::train::step_report rep;
  REQUIRE(tr.step(m, &rep).ok());
  CHECK(rep.updated);
  CHECK(rep.groups_kept == cfg.prompts_per_step);
  CHECK(rep.sampling_rounds > 1);  // about half the prompts are state 0: refills were needed
  CHECK(m.get("zero_std_fraction") > 0.2);
  const auto& ro = tr.last_rollout();
  REQUIRE(ro.num_prompts() == cfg.prompts_per_step);
  for (grpo::index_t i = 0; i < ro.size(); ++i) CHECK(ro.batch.sequence(i)[0] == 1);  // state 1 only
  // state 0's logits never receive a gradient
  for (grpo::index_t a = 0; a < env.num_actions; ++a) CHECK(pi.logits(0, 0)[a] == 0.0);

  // without it, the state-0 groups are kept (and get zero advantages)
  grpo::model::tabular_policy<double> pi2(env.num_states, env.num_actions, 1);
  cfg.dynamic_sampling = false;
  grpo::train::trainer tr2(pi2, env, grpo::group_normalized{}, grpo::presets::trl::grpo(), cfg);
  REQUIRE(tr2.step(m, &rep).ok());
  CHECK(rep.sampling_rounds == 1);
  bool has_state0 = false;
  for (grpo::index_t i = 0; i < tr2.last_rollout().size(); ++i) has_state0 |= tr2.last_rollout().batch.sequence(i)[0] == 0;
  CHECK(has_state0);
}

TEST_CASE("truncated completions are masked out of the loss", "[train][truncation]") {
  auto env = make_bandit();
  auto cfg = bandit_config();
  cfg.sampling = {1.0, 0, 1.0, 2, -1};  // no stop token: every completion is truncated
  for (bool mask : {true, false}) {
    grpo::model::tabular_policy<double> pi(env.num_states, env.num_actions, 2);
    cfg.mask_truncated = mask;
    grpo::train::trainer tr(pi, env, grpo::group_normalized{}, grpo::presets::trl::grpo(), cfg);
    grpo::train::metrics_record m;
    REQUIRE(tr.step(m).ok());
    CHECK(m.get("truncated_fraction") == 1.0);
    double moved = 0;
    for (double v : pi.parameters()) moved += std::abs(v);
    if (mask) {
      CHECK(m.get("grad_norm") == 0.0);
      CHECK(moved == 0.0);
    } else {
      CHECK(m.get("grad_norm") > 0.0);
      CHECK(moved > 0.0);
    }
  }
}

TEST_CASE("a cosine schedule without a length is refused at the first step", "[train][config]") {
  auto env = make_bandit();
  grpo::model::tabular_policy<double> pi(env.num_states, env.num_actions, 1);
  auto cfg = bandit_config();
  cfg.decay = grpo::optim::decay_kind::cosine;
  grpo::train::trainer tr(pi, env, grpo::group_normalized{}, grpo::presets::trl::grpo(), cfg);
  grpo::train::metrics_record m;
  const auto st = tr.step(m);
  REQUIRE_FALSE(st.ok());
  CHECK(st.message().find("total_steps") != std::string::npos);
  CHECK(tr.step_count() == 0);
  tr.set_run_length(10);
  REQUIRE(tr.step(m).ok());
  CHECK(m.get("lr") == Approx(cfg.adamw.lr));  // cosine starts at the peak (no warmup)
  REQUIRE(tr.step(m).ok());
  CHECK(m.get("lr") == Approx(cfg.adamw.lr * 0.5 * (1 + std::cos(3.141592653589793 / 10))));
}
