// External rollouts: an inference engine samples, the trainer scores and trains
// (trainer::draw_prompts + trainer::step(external_rollout); docs/trainer.md, "External rollouts").
//
// The engine here is a copy of the policy with perturbed weights, a stand-in for a quantised or
// stale sampler: every parameter times (1 + σ·ε), ε standard normal, re-synced from the policy
// every `sync_every` steps (as an asynchronous trainer ships weights to its engine now and then).
// From one base model (`make demo`'s pre-training on addition), three runs of GRPO with the
// demo's settings:
//   policy       the trainer samples itself: the sampler is the policy
//   engine       the engine samples; the objective does not know
//   engine + IS  the engine samples; correction::sampler_mismatch with TRL's defaults
//                (vllm_importance_sampling_mode "sequence_mask", cap 3: a sequence whose
//                exp(Σ_t old − sampler) falls outside [0, 3] gets no loss)
// Each prints the sampler/trainer gap it saw, its training reward and held-out pass@1.
//
//   build/examples/09_external_rollouts [--sigma 0.1] [--steps 40] [--seed 1]
#include <grpo/objective/presets.hpp>
#include <grpo/train/r1_zero_demo.hpp>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

using namespace grpo;
using model_t = model::transformer<float>;

namespace {

// the engine: the policy's weights, perturbed
void sync_engine(const model_t& policy, model_t& engine, double sigma, model::rng_type& rng) {
  engine = policy;
  std::normal_distribution<float> eps(0.0f, 1.0f);
  for (float& p : engine.parameters()) p *= 1.0f + static_cast<float>(sigma) * eps(rng);
}

struct run_result {
  double reward_first = 0, reward_last = 0, gap = 0, gap_max = 0, pass1 = 0;
};

template <class Env, class Objective>
status train_run(model_t& policy, Env& env, const Objective& objective, bool external, double sigma, index_t steps,
                 index_t sync_every, std::uint64_t seed, const std::vector<task::problem>& test, run_result& out) {
  train::trainer_config g = train::make_demo_config(false, seed).grpo;
  g.threads = 1;
  train::trainer tr(policy, env, group_normalized{}, objective, g);
  model_t engine = policy;
  model::rng_type engine_rng(seed * 131 + 5);
  for (index_t s = 0; s < steps; ++s) {
    train::metrics_record m;
    if (!external) {
      GRPO_TRY(tr.step(m));
    } else {
      if (s % sync_every == 0) sync_engine(policy, engine, sigma, engine_rng);
      train::prompt_list prompts;
      GRPO_TRY(tr.draw_prompts(prompts));
      model::rollout r;
      GRPO_TRY(engine.sample(prompts, g.group_size, g.sampling, engine_rng, r));
      train::external_rollout ext;  // what an engine hands over: ids, log-probs, stop flags
      ext.batch = r.batch;
      ext.group_size = g.group_size;
      ext.finished = r.finished;
      for (index_t i = 0; i < r.size(); ++i)
        for (index_t t = 0; t < r.batch.completion_length(i); ++t)
          ext.sampler_logp.push_back(r.old_logp[static_cast<std::size_t>(i * r.width + t)]);
      GRPO_TRY(tr.step(ext, m));
    }
    const double w = 1.0 / 5;
    if (s < 5) out.reward_first += w * m.get("reward_mean");
    if (s >= steps - 5) out.reward_last += w * m.get("reward_mean");
    out.gap += m.get("sampler_logp_gap") / static_cast<double>(steps);
    out.gap_max = std::max(out.gap_max, m.get("sampler_logp_gap_max"));
  }
  train::eval_config ec;
  ec.k = 8;
  ec.greedy = false;
  train::eval_result e;
  GRPO_TRY(train::evaluate_policy(policy, env, test, ec, e));
  out.pass1 = e.pass1;
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  double sigma = 0.1;
  index_t steps = 40, sync_every = 10;
  std::uint64_t seed = 1;
  for (int a = 1; a < argc; ++a) {
    const std::string arg = argv[a];
    if (arg == "--sigma" && a + 1 < argc) sigma = std::atof(argv[++a]);
    else if (arg == "--steps" && a + 1 < argc) steps = std::atol(argv[++a]);
    else if (arg == "--seed" && a + 1 < argc) seed = std::strtoull(argv[++a], nullptr, 10);
    else {
      std::fprintf(stderr, "usage: %s [--sigma S] [--steps N] [--seed N]\n", argv[0]);
      return 2;
    }
  }
  if (steps < 5 || !(sigma >= 0)) {
    std::fprintf(stderr, "need --steps >= 5 and --sigma >= 0\n");
    return 2;
  }
  Eigen::setNbThreads(1);
  // the base model and the task: `make demo`'s
  const auto dc = train::make_demo_config(false, seed);
  task::addition add;
  add.max_digits = dc.max_digits;
  const auto tok = task::tokenizer::compact();
  train::task_environment env(add, train::demo_rewards(), tok, task::r1_zero_compact);
  const auto mc = train::demo_model_config(dc, tok.vocab_size());
  model_t base(mc);
  const status pre = train::pretrain_demo_model(dc, add, tok, env.prompt_template(), base);
  std::vector<task::problem> test;
  if (!pre.ok() || !task::make_problems(add, task::split::test, 128, seed + 1000, test).ok()) {
    std::fprintf(stderr, "pre-training failed: %s\n", pre.message().c_str());
    return 1;
  }

  auto plain = with(presets::trl::grpo(), kl::k3{});
  plain.beta = 0.001;
  const auto corrected = with(plain, correction::sampler_mismatch{});  // TRL's defaults
  struct arm {
    const char* name;
    bool external, correct;
    run_result r;
  };
  std::vector<arm> arms = {{"policy", false, false, {}}, {"engine", true, false, {}}, {"engine + IS", true, true, {}}};
  for (auto& a : arms) {
    model_t policy = base;
    const status s = a.correct ? train_run(policy, env, corrected, a.external, sigma, steps, sync_every, seed, test, a.r)
                               : train_run(policy, env, plain, a.external, sigma, steps, sync_every, seed, test, a.r);
    if (!s.ok()) {
      std::fprintf(stderr, "%s failed: %s\n", a.name, s.message().c_str());
      return 1;
    }
  }
  std::printf("\nengine: weights x (1 + %.3g N(0,1)), re-synced every %ld steps; %ld GRPO steps each\n", sigma,
              static_cast<long>(sync_every), static_cast<long>(steps));
  std::printf("%-12s %12s %12s %14s %14s %10s\n", "run", "gap (mean)", "gap (max)", "reward first 5", "reward last 5",
              "pass@1");
  for (const auto& a : arms)
    std::printf("%-12s %12.4f %12.3f %14.3f %14.3f %10.3f\n", a.name, a.r.gap, a.r.gap_max, a.r.reward_first,
                a.r.reward_last, a.r.pass1);
  return 0;
}
