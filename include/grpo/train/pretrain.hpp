#pragma once
// Language-model pre-training (or SFT) on raw token sequences: next-token cross-entropy,
//   L = −(1/M) Σ_docs Σ_{t ≥ 1} log π(x_t | x_<t),   M = the number of predicted tokens,
// through the policy concept's teacher-forced log-probs: each document is a "prompt" of its
// first token and a "completion" of the rest, so ∂L/∂logp = −1/M on every predicted token.
// The same call does SFT when the "prompt" is longer (see `lm_batch::add`).
#include <grpo/core/error.hpp>
#include <grpo/model/policy.hpp>
#include <grpo/optim/adamw.hpp>
#include <grpo/optim/clip.hpp>

#include <span>
#include <vector>

namespace grpo::train {

/// A batch of documents; tokens before `context_length` of each are context only (not
/// predicted): 1 for pre-training, the prompt length for SFT.
struct lm_batch {
  model::sequence_batch batch;
  void clear() { batch.clear(); }
  void add(std::span<const model::token_t> doc, index_t context_length = 1) {
    const auto c = static_cast<std::size_t>(context_length);
    batch.add(doc.first(c), doc.subspan(c));
  }
};

struct lm_step_result {
  double loss = 0;       // mean negative log-likelihood per predicted token (nats)
  double tokens = 0;     // predicted tokens
  double grad_norm = 0;  // before clipping
};

/// The negative log-likelihood Σ −logp over the completion tokens of `b` ([N, T] buffers), and
/// ∂L/∂logp = `g` written on those tokens of `dlogp` (the rest untouched): the cross-entropy
/// part shared by pre-training and SFT (sft.hpp).
template <class S>
double completion_nll(const model::sequence_batch& b, index_t T, std::span<const S> logp, S g, std::span<S> dlogp) {
  double nll = 0;
  for (index_t i = 0; i < b.size(); ++i)
    for (index_t t = 0; t < b.completion_length(i); ++t) {
      nll -= static_cast<double>(logp[static_cast<std::size_t>(i * T + t)]);
      dlogp[static_cast<std::size_t>(i * T + t)] = g;
    }
  return nll;
}

/// One optimiser step of next-token cross-entropy on `b`.
template <model::differentiable_policy P>
status lm_step(P& policy, const lm_batch& b, optim::adamw& opt, double lr, double max_grad_norm,
               lm_step_result& out) {
  using S = typename P::scalar_type;
  const index_t n = b.batch.size();
  if (n == 0) return {errc::shape_mismatch, "batch", -1, "empty batch"};
  const index_t T = std::max<index_t>(1, b.batch.max_completion_length());
  const index_t M = b.batch.num_completion_tokens();
  if (M <= 0) return {errc::shape_mismatch, "batch", -1, "no token to predict"};
  std::vector<S> logp(static_cast<std::size_t>(n * T)), dlogp(static_cast<std::size_t>(n * T), S(0));
  GRPO_TRY(policy.logprobs(b.batch, S(1), std::span<S>(logp), {}));
  const S g = static_cast<S>(-1.0 / static_cast<double>(M));
  const double nll = completion_nll(b.batch, T, std::span<const S>(logp), g, std::span<S>(dlogp));
  policy.zero_grad();
  GRPO_TRY(policy.backward(b.batch, std::span<const S>(dlogp), {}));
  out.grad_norm = optim::clip_grad_norm(policy.gradients(), max_grad_norm);
  GRPO_TRY(opt.step(policy.parameters(), std::span<const S>(policy.gradients()), lr));
  out.loss = nll / static_cast<double>(M);
  out.tokens = static_cast<double>(M);
  return {};
}

}  // namespace grpo::train
