#pragma once
// Distillation steps: a student trained on a teacher's per-token distributions (grpo/distill/).
//   distill_step            teacher-forced on given sequences (e.g. the teacher's own
//                           rejection-sampled traces, or any SFT set): both models score the
//                           same completion tokens, the student follows the divergence's
//                           gradient;
//   on_policy_distill_step  the student samples the completions first (GKD's on-policy data,
//                           Agarwal et al. 2024, arXiv:2306.13649), then the same step;
//   gkd_step                GKD's mixture: with probability λ the on-policy step on the batch's
//                           prompts, else the teacher-forced step on the batch as given (TRL's
//                           GKDTrainer.training_step draws the same coin, `lmbda`).
// Both need the logits of the completion positions from each model: the concept
// `logit_policy` (model::transformer provides `logits` and `backward_logits`).
#include <grpo/core/error.hpp>
#include <grpo/distill/logits.hpp>
#include <grpo/model/policy.hpp>
#include <grpo/optim/adamw.hpp>
#include <grpo/optim/clip.hpp>

#include <concepts>
#include <random>
#include <span>
#include <vector>

namespace grpo::train {

/// A policy that exposes the logits of its completion positions ([K, V], K = completion
/// tokens of the batch, in batch order) and takes ∂L/∂logits back.
template <class P>
concept logit_policy = model::differentiable_policy<P> &&
    requires(P& p, model::sequence_view b, std::span<typename P::scalar_type> out,
             std::span<const typename P::scalar_type> g) {
      { p.logits(b, out) } -> std::same_as<status>;
      { p.backward_logits(b, g) } -> std::same_as<status>;
      { p.config().vocab_size } -> std::convertible_to<index_t>;
    };

struct distill_step_result {
  double loss = 0;       // the divergence, mean over completion tokens
  double tokens = 0;
  double grad_norm = 0;  // before clipping
};

/// One optimiser step of the student on `b`: loss = mean over the completion tokens of
/// divergence(student ‖ teacher) (divergence.hpp), through the student's logits only.
template <logit_policy Student, logit_policy Teacher>
  requires std::same_as<typename Student::scalar_type, typename Teacher::scalar_type>
status distill_step(Student& student, Teacher& teacher, model::sequence_view b, const distill::divergence& d,
                    optim::adamw& opt, double lr, double max_grad_norm, distill_step_result& out) {
  using S = typename Student::scalar_type;
  const index_t K = b.num_completion_tokens();
  if (K <= 0) return {errc::shape_mismatch, "batch", -1, "no completion token to distil on"};
  std::vector<S> zt, zs;
  // each model's logits over its own vocabulary; the sizes must agree
  const auto logits_of = [&](auto& m, std::vector<S>& z, const char* who) -> status {
    const auto V = static_cast<index_t>(m.config().vocab_size);
    z.resize(static_cast<std::size_t>(K * V));
    const status s = m.logits(b, std::span<S>(z));
    if (!s.ok()) return {s.kind(), std::string(who) + "." + s.input(), s.index(), s.detail()};
    return {};
  };
  GRPO_TRY(logits_of(teacher, zt, "teacher"));
  GRPO_TRY(logits_of(student, zs, "student"));
  if (zt.size() != zs.size())
    return {errc::shape_mismatch, "vocab", -1, "the student's and the teacher's vocabularies differ in size"};
  const index_t V = static_cast<index_t>(zs.size()) / K;
  std::vector<S> dz(zs.size());
  double loss = 0;
  GRPO_TRY(distill::token_mean_loss(d, zs.data(), zt.data(), {K, V}, nullptr, loss, dz.data()));
  student.zero_grad();
  GRPO_TRY(student.backward_logits(b, std::span<const S>(dz)));
  out.grad_norm = optim::clip_grad_norm(student.gradients(), max_grad_norm);
  GRPO_TRY(opt.step(student.parameters(), std::span<const S>(student.gradients()), lr));
  out.loss = loss;
  out.tokens = static_cast<double>(K);
  return {};
}

/// The student samples `group_size` completions per prompt, then `distill_step` on them.
template <class Student, logit_policy Teacher>
  requires logit_policy<Student> && model::sampling_policy<Student>
status on_policy_distill_step(Student& student, Teacher& teacher, std::span<const std::vector<model::token_t>> prompts,
                              index_t group_size, const model::sampler_config& sampling, model::rng_type& rng,
                              const distill::divergence& d, optim::adamw& opt, double lr, double max_grad_norm,
                              distill_step_result& out) {
  model::rollout r;
  GRPO_TRY(student.sample(prompts, group_size, sampling, rng, r));
  return distill_step(student, teacher, r.batch, d, opt, lr, max_grad_norm, out);
}

/// GKD's mixed step: with probability `lambda` (one uniform draw from `rng`) the student samples
/// `group_size` completions for each prompt of `b` and learns on them; otherwise it learns on `b`
/// as given. `on_policy`, when not null, says which was taken.
template <class Student, logit_policy Teacher>
  requires logit_policy<Student> && model::sampling_policy<Student>
status gkd_step(Student& student, Teacher& teacher, model::sequence_view b, double lambda, index_t group_size,
                const model::sampler_config& sampling, model::rng_type& rng, const distill::divergence& d,
                optim::adamw& opt, double lr, double max_grad_norm, distill_step_result& out, bool* on_policy = nullptr) {
  if (!(lambda >= 0.0 && lambda <= 1.0))
    return {errc::bad_config, "lambda", -1, "need 0 <= lambda <= 1, got " + std::to_string(lambda)};
  const bool sample = std::uniform_real_distribution<double>(0.0, 1.0)(rng) < lambda;
  if (on_policy) *on_policy = sample;
  if (!sample) return distill_step(student, teacher, b, d, opt, lr, max_grad_norm, out);
  std::vector<std::vector<model::token_t>> prompts(static_cast<std::size_t>(b.size()));
  for (index_t i = 0; i < b.size(); ++i)
    prompts[static_cast<std::size_t>(i)].assign(b.sequence(i), b.sequence(i) + b.prompt_length(i));
  return on_policy_distill_step(student, teacher, std::span<const std::vector<model::token_t>>(prompts), group_size,
                                sampling, rng, d, opt, lr, max_grad_norm, out);
}

}  // namespace grpo::train
