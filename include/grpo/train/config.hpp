#pragma once
// The trainer's run-time configuration. Every field has a default chosen for a few-hundred-
// thousand-parameter model on a 2-core CPU; the comment of each field gives DeepSeek-R1's value
// (r1.md, "Settings") where the paper states one, so the scale-down is visible.
#include <grpo/core/error.hpp>
#include <grpo/model/sampler.hpp>
#include <grpo/optim/adamw.hpp>
#include <grpo/optim/schedule.hpp>

#include <cmath>
#include <cstdint>
#include <string>

namespace grpo::train {

struct trainer_config {
  // ---- rollout ------------------------------------------------------------------------------
  index_t prompts_per_step = 16;  // P questions per step            (R1-Zero: 32)
  index_t group_size = 8;         // G completions per question      (R1-Zero: 16)
  /// Sampling while training. The old log-probs are recorded at this temperature and the loss
  /// recomputes log-probs at the same temperature (grpo/model/sampler.hpp).
  model::sampler_config sampling{1.0, 0, 1.0, 48, -1};  // R1-Zero: temperature 1, no top-k/p

  // ---- optimisation -------------------------------------------------------------------------
  index_t inner_iterations = 1;   // μ: updates per rollout, on the recorded old log-probs
                                  //    (R1-Zero: 1, "one inner epoch")
  index_t micro_batches = 1;      // gradient accumulation: the rollout's P groups are split into
                                  // this many micro-batches whose gradients sum to the gradient
                                  // of the whole batch (the normalisers stay global)
  optim::adamw_config adamw{1e-3, 0.9, 0.99, 1e-8, 0.0};  // R1-Zero: lr 3e-6 (a 671B model)
  index_t warmup_steps = 0;
  optim::decay_kind decay = optim::decay_kind::constant;  // R1 does not state a schedule
  index_t total_steps = 0;        // for a cosine decay; 0 = the trainer's run length
  double max_grad_norm = 1.0;     // global-norm clipping; <= 0 disables

  // ---- reference model (the KL coefficient β is the objective's) -----------------------------
  index_t ref_refresh_every = 400;  // replace the reference by the current policy every K steps
                                    // (R1-Zero: 400); 0 = never (frozen initial policy)

  // ---- filters ------------------------------------------------------------------------------
  bool dynamic_sampling = false;  // drop groups whose rewards are all equal and draw more
                                  // (DAPO; R1 does not); bounded by max_resample_rounds
  index_t max_resample_rounds = 4;
  bool mask_truncated = true;     // completions that hit max_new_tokens without the stop token
                                  // get no loss (DAPO's overlong filtering; R1 does not state it)

  // ---- bookkeeping --------------------------------------------------------------------------
  std::uint64_t seed = 1;         // the one RNG of the run: prompt draws and sampling
  index_t checkpoint_every = 0;   // 0 = no periodic checkpoints
  std::string checkpoint_path;    // file written (atomically) every checkpoint_every steps
  int threads = 0;                // OpenMP threads of the fused objective; 0 = default
};

inline status validate(const trainer_config& c) {
  if (c.prompts_per_step < 1) return {errc::bad_config, "prompts_per_step", -1, "must be >= 1"};
  if (c.group_size < 2)
    return {errc::bad_config, "group_size", -1, "GRPO needs G >= 2 completions per prompt"};
  GRPO_TRY(model::validate(c.sampling));
  if (c.sampling.temperature <= 0)
    return {errc::bad_config, "sampling.temperature", -1,
            "training needs a positive temperature (the loss recomputes log-probs at it)"};
  if (c.inner_iterations < 1) return {errc::bad_config, "inner_iterations", -1, "must be >= 1"};
  if (c.micro_batches < 1 || c.micro_batches > c.prompts_per_step)
    return {errc::bad_config, "micro_batches", -1,
            "must be in [1, prompts_per_step] (a micro-batch holds whole groups)"};
  GRPO_TRY(optim::validate(c.adamw));
  if (c.warmup_steps < 0) return {errc::bad_config, "warmup_steps", -1, "must be >= 0"};
  if (c.ref_refresh_every < 0) return {errc::bad_config, "ref_refresh_every", -1, "must be >= 0"};
  if (c.max_resample_rounds < 0)
    return {errc::bad_config, "max_resample_rounds", -1, "must be >= 0"};
  if (c.checkpoint_every < 0) return {errc::bad_config, "checkpoint_every", -1, "must be >= 0"};
  if (c.checkpoint_every > 0 && c.checkpoint_path.empty())
    return {errc::bad_config, "checkpoint_path", -1, "checkpoint_every > 0 needs a path"};
  return {};
}

}  // namespace grpo::train
