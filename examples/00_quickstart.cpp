// The first example of docs/api.md: rewards -> advantages -> the GRPO loss and dL/dlogp.
// Two prompts, four completions each, up to three tokens per completion.
#include <grpo/grpo.hpp>

#include <cstdio>
#include <vector>

int main() {
  const grpo::index_t N = 8, T = 3, G = 4;
  std::vector<float> rewards = {1, 0, 0, 1, /* prompt 2 */ 0, 0, 1, 0};
  std::vector<float> logp(N * T, -0.7f), old(N * T, -0.75f), ref(N * T, -0.6f);
  std::vector<std::uint8_t> mask(N * T, 1);
  const auto groups = grpo::group_layout::fixed(N, G);

  // 1. group-normalised advantages, A_i = (r_i - mean_g) / (std_g + eps)
  std::vector<float> A(N);
  grpo::advantage_stats adv_stats;
  grpo::reward_view r;
  r.rewards = rewards.data();
  r.num_sequences = N;
  grpo::throw_if_error(grpo::compute_advantages(grpo::group_normalized{}, r, groups, A.data(), adv_stats));

  // 2. the objective: TRL's "grpo" loss with DeepSeek-R1's KL (k3, beta = 0.001)
  auto objective = grpo::presets::trl::grpo();
  objective.beta = 0.001;

  // 3. one fused pass: loss, dL/dlogp for every token, statistics
  grpo::token_batch<float> batch{.N = N, .T = T, .logp = logp.data(), .old = old.data(),
                                 .ref = ref.data(), .mask = mask.data(), .advantages = A.data()};
  std::vector<float> dlogp(N * T);
  grpo::objective_result result;
  grpo::throw_if_error(grpo::evaluate(objective, batch, grpo::gradient_out<float>{dlogp.data()},
                                      result, grpo::exec::parallel{}));

  std::printf("loss %.6f  clip-high %.3f  kl %.6f  tokens %.0f  dL/dlogp[0] %.6f\n", result.loss,
              result.stats["clip_high"], result.stats["kl"], result.stats.token_count,
              dlogp[0]);
}
