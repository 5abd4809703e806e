// The same synthetic batch through every preset, side by side: loss, gradient norm, statistics.
// This is how to compare the peers' objectives (TRL, verl, OpenRLHF) on identical inputs.
#include <grpo/exec/cpu.hpp>            // grpo::evaluate on the CPU
#include <grpo/objective/presets.hpp>   // grpo::presets::{trl, verl, openrlhf}

#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

int main() {
  // A batch of P = 4 prompts × G = 4 completions, padded to T = 16 tokens.
  const int P = 4, G = 4, N = P * G, T = 16;
  std::mt19937 rng(7);
  std::normal_distribution<float> noise(0.f, 1.f);
  std::uniform_real_distribution<float> unif(0.f, 1.f);
  std::vector<float> logp(N * T), old(N * T), ref(N * T), adv(N);
  std::vector<std::uint8_t> mask(N * T);
  for (int i = 0; i < N; ++i) {
    const int len = 4 + int(unif(rng) * (T - 4));  // ragged completions
    for (int t = 0; t < T; ++t) {
      const int k = i * T + t;
      logp[k] = -0.1f - 2.f * unif(rng);
      old[k] = logp[k] + 0.25f * noise(rng);  // a few inner steps away from the sampler
      ref[k] = logp[k] + 0.3f * noise(rng);
      mask[k] = t < len;
    }
  }
  // Group-normalised advantages of 0/1 rewards (grpo/advantage computes these in a real run).
  for (int g = 0; g < P; ++g) {
    float r[G], mean = 0, var = 0;
    for (int j = 0; j < G; ++j) mean += (r[j] = unif(rng) < 0.5f ? 1.f : 0.f) / G;
    for (int j = 0; j < G; ++j) var += (r[j] - mean) * (r[j] - mean) / (G - 1);
    for (int j = 0; j < G; ++j) adv[g * G + j] = (r[j] - mean) / (std::sqrt(var) + 1e-4f);
  }

  grpo::token_batch<float> batch;
  batch.N = N; batch.T = T;
  batch.logp = logp.data(); batch.old = old.data(); batch.ref = ref.data();
  batch.mask = mask.data(); batch.advantages = adv.data();

  std::vector<float> grad(N * T);
  std::printf("%-38s %10s %9s %8s %8s %8s %8s %8s %8s\n", "preset", "loss", "|grad|", "clip_low",
              "clip_hi", "kl", "ratio", "ratio_min", "ratio_max");
  auto row = [&](const char* name, const auto& objective) {
    grpo::objective_result r;
    const grpo::status st = grpo::evaluate(objective, batch, grpo::gradient_out<float>{grad.data()}, r);
    if (!st.ok()) { std::printf("%-38s error: %s\n", name, st.message().c_str()); return; }
    double norm = 0;
    for (float g : grad) norm += double(g) * g;
    std::printf("%-38s %10.6f %9.6f", name, r.loss, std::sqrt(norm));
    // each objective reports the statistics of its own parts: "-" where it has none
    for (const char* stat : {"clip_low", "clip_high", "kl", "ratio", "ratio_min", "ratio_max"})
      r.stats.has(stat) ? std::printf(" %8.4f", r.stats[stat]) : std::printf(" %8s", "-");
    std::printf("\n");
  };
  namespace p = grpo::presets;
  namespace agg = grpo::aggregation;
  auto with_beta = [](auto o, double beta) { o.beta = beta; return o; };
  row("trl::grpo", p::trl::grpo());
  row("trl::grpo (beta=0.04, k3)", with_beta(p::trl::grpo(), 0.04));
  row("trl::bnpo", p::trl::bnpo());
  row("trl::dr_grpo (L=512)", p::trl::dr_grpo());
  row("trl::dapo", p::trl::dapo());
  row("trl::cispo (eps_max=0.2 default)", p::trl::cispo());
  row("trl::cispo (eps_max=5)", p::trl::cispo(5.0));
  row("trl::sapo", p::trl::sapo());
  row("trl::luspo", p::trl::luspo());
  row("verl::vanilla token-mean", p::verl::vanilla());
  row("verl::vanilla seq-mean-token-mean", p::verl::vanilla<agg::seq_mean_token_mean>());
  row("verl::vanilla seq-mean-token-sum", p::verl::vanilla<agg::seq_mean_token_sum>());
  row("verl::vanilla seq-mean-token-sum-norm", p::verl::vanilla<agg::constant>());
  row("verl::vanilla token-sum", p::verl::vanilla<agg::token_sum>());
  row("openrlhf::ppo (KL in reward)", p::openrlhf::ppo());
  row("openrlhf::ppo k1 0.01", p::openrlhf::ppo<grpo::kl::k1>(0.01));
  row("openrlhf::ppo k2 0.01", p::openrlhf::ppo<grpo::kl::k2>(0.01));
  row("openrlhf::ppo k3 0.01", p::openrlhf::ppo<grpo::kl::k3>(0.01));
  return 0;
}
