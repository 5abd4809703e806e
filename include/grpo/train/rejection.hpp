#pragma once
// Rejection sampling into an SFT dataset: DeepSeek-R1's third stage (arXiv:2501.12948, §2.3.3)
// samples several completions per prompt from the reasoning-RL checkpoint and keeps only the
// correct, readable ones. Here: k completions per prompt from any sampling policy, scored by the
// task's reward set, filtered, and written as `sft_example`s, with a count of why each rejected
// sample was dropped.
//
// Each sample is checked in this order and counted under the FIRST test it fails:
//   truncated  it did not end with the stop token (drop_truncated)
//   length     fewer than min_tokens or more than max_tokens completion tokens
//   incorrect  reward `correct_reward` below its threshold
//   format     reward `format_reward` below its threshold
//   language   reward `language_reward` below its threshold (when the name is not empty)
//   duplicate  the same completion tokens as a sample kept earlier for the same prompt
//   quota      the prompt already has max_per_prompt kept samples
// so sampled = kept + the sum of the rejection counts.
#include <grpo/core/error.hpp>
#include <grpo/model/policy.hpp>
#include <grpo/reward/combine.hpp>
#include <grpo/train/sft.hpp>

#include <set>
#include <span>
#include <string>
#include <vector>

namespace grpo::train {

struct rejection_filter {
  bool drop_truncated = true;
  index_t min_tokens = 1;
  index_t max_tokens = 0;  // 0 = no bound
  std::string correct_reward = "accuracy";
  double correct_threshold = 1.0;
  std::string format_reward = "format";  // "" = not checked
  double format_threshold = 1.0;
  std::string language_reward;  // "" = not checked (e.g. "language" for R1's consistency reward)
  double language_threshold = 1.0;
  bool drop_duplicates = true;
  index_t max_per_prompt = 0;  // 0 = keep every sample that passes
};

struct rejection_stats {
  index_t prompts = 0;
  index_t sampled = 0;
  index_t kept = 0;
  index_t truncated = 0, length = 0, incorrect = 0, format = 0, language = 0, duplicate = 0, quota = 0;
  index_t prompts_with_a_kept_sample = 0;

  void add(const rejection_stats& o) {
    prompts += o.prompts;
    sampled += o.sampled;
    kept += o.kept;
    truncated += o.truncated;
    length += o.length;
    incorrect += o.incorrect;
    format += o.format;
    language += o.language;
    duplicate += o.duplicate;
    quota += o.quota;
    prompts_with_a_kept_sample += o.prompts_with_a_kept_sample;
  }
};

/// Filters a scored rollout (group p = the completions of prompt p) and appends the kept
/// samples to `out`; `stats` receives this rollout's counts.
inline status filter_rollout(const model::rollout& r, const reward::reward_table& table, const rejection_filter& f,
                             std::vector<sft_example>& out, rejection_stats& stats) {
  const index_t n = r.size();
  if (r.group_size <= 0 || n % r.group_size != 0)
    return {errc::bad_group, "rollout.group_size", -1, "the rollout must hold whole groups"};
  if (table.num_completions != n)
    return {errc::shape_mismatch, "rewards", -1,
            std::to_string(table.num_completions) + " scored completions for a rollout of " + std::to_string(n)};
  if (static_cast<index_t>(r.finished.size()) != n)
    return {errc::shape_mismatch, "rollout.finished", -1, "one flag per completion is needed"};
  auto column = [&](const std::string& name, index_t& k) -> status {
    k = -1;
    if (name.empty()) return {};
    k = table.index_of(name);
    if (k < 0) return {errc::bad_config, "rejection_filter", -1, "the reward set has no reward named `" + name + "`"};
    return {};
  };
  index_t kc = -1, kf = -1, kl = -1;
  GRPO_TRY(column(f.correct_reward, kc));
  GRPO_TRY(column(f.format_reward, kf));
  GRPO_TRY(column(f.language_reward, kl));
  if (f.min_tokens < 0 || f.max_tokens < 0 || f.max_per_prompt < 0)
    return {errc::bad_config, "rejection_filter", -1, "token bounds and the quota must be >= 0"};
  rejection_stats s;
  s.prompts = r.num_prompts();
  s.sampled = n;
  for (index_t p = 0; p < s.prompts; ++p) {
    std::set<std::vector<model::token_t>> seen;
    index_t kept = 0;
    for (index_t i = p * r.group_size; i < (p + 1) * r.group_size; ++i) {
      const model::token_t* seq = r.batch.sequence(i);
      const index_t plen = r.batch.prompt_length(i), clen = r.batch.completion_length(i);
      if (f.drop_truncated && !r.finished[static_cast<std::size_t>(i)]) {
        ++s.truncated;
        continue;
      }
      if (clen < f.min_tokens || (f.max_tokens > 0 && clen > f.max_tokens)) {
        ++s.length;
        continue;
      }
      if (kc >= 0 && !(table.at(i, kc) >= f.correct_threshold)) {
        ++s.incorrect;
        continue;
      }
      if (kf >= 0 && !(table.at(i, kf) >= f.format_threshold)) {
        ++s.format;
        continue;
      }
      if (kl >= 0 && !(table.at(i, kl) >= f.language_threshold)) {
        ++s.language;
        continue;
      }
      std::vector<model::token_t> completion(seq + plen, seq + plen + clen);
      if (f.drop_duplicates && !seen.insert(completion).second) {
        ++s.duplicate;
        continue;
      }
      if (f.max_per_prompt > 0 && kept >= f.max_per_prompt) {
        ++s.quota;
        continue;
      }
      out.push_back({std::vector<model::token_t>(seq, seq + plen), std::move(completion)});
      ++kept;
    }
    s.kept += kept;
    s.prompts_with_a_kept_sample += kept > 0;
  }
  stats = s;
  return {};
}

/// Samples k completions for each prompt (in groups of k), scores them with `env` (the GRPO
/// trainer's environment concept: e.score(rollout, table, reflective)) and keeps those that
/// pass `f`. The policy's sampler and `rng` make it reproducible.
template <class Policy, class Env>
status rejection_sample(Policy& policy, Env& env, std::span<const std::vector<model::token_t>> prompts, index_t k,
                        const model::sampler_config& sampling, model::rng_type& rng, const rejection_filter& f,
                        std::vector<sft_example>& out, rejection_stats& stats) {
  if (k < 1) return {errc::bad_config, "k", -1, "need k >= 1 samples per prompt"};
  model::rollout r;
  GRPO_TRY(policy.sample(prompts, k, sampling, rng, r));
  reward::reward_table table;
  std::vector<double> reflective;
  GRPO_TRY(env.score(r, table, reflective));
  return filter_rollout(r, table, f, out, stats);
}

}  // namespace grpo::train
