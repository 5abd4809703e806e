#pragma once
// Language-model pre-training (or SFT) on raw token sequences: next-token cross-entropy,
//   L = −(1/M) Σ_docs Σ_{t ≥ 1} log π(x_t | x_<t),   M = the number of predicted tokens,
// through the policy concept's teacher-forced log-probs: each document is a "prompt" of its
// first token and a "completion" of the rest, so ∂L/∂logp = −1/M on every predicted token.
// The same call does SFT when the "prompt" is longer (see `lm_batch::add`). `pretrain` is the
// loop around it that `make demo`, the R1 pipeline and the examples share: documents from a
// callback, AdamW with a warmup and a cosine decay, a progress bar.
#include <grpo/core/error.hpp>
#include <grpo/model/policy.hpp>
#include <grpo/optim/adamw.hpp>
#include <grpo/optim/clip.hpp>
#include <grpo/optim/schedule.hpp>
#include <grpo/train/progress.hpp>

#include <algorithm>
#include <cstdio>
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
double completion_nll(model::sequence_view b, index_t T, std::span<const S> logp, S g, std::span<S> dlogp) {
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

/// The parameter ranges of a model's blocks that take no weight decay (biases and gains: each
/// block of `m.blocks()` says so with `decay`), for AdamW's exclude_from_decay.
template <class Model>
std::vector<optim::decay_exclusion> no_decay_ranges(const Model& m) {
  std::vector<optim::decay_exclusion> out;
  for (const auto& b : m.blocks())
    if (!b.decay) out.push_back({b.offset, b.size()});
  return out;
}

struct pretrain_config {
  index_t steps = 1000;
  index_t batch = 32;    // documents per step
  index_t context = 64;  // a longer document is cut to its first `context` tokens
  double lr = 3e-3;      // peak; `warmup` steps up to it (at most 20), then a cosine decay
  double final_lr_fraction = 0.1;
  index_t warmup = 20;
  double weight_decay = 0.01;
  double max_grad_norm = 1.0;
  bool progress = true;
};

/// `cfg.steps` steps of next-token cross-entropy on batches of `cfg.batch` documents, each
/// written by `next_document(doc)` (a `status(std::vector<token_t>&)` callable that fills `doc`,
/// cleared before the call). Parameter ranges in `no_decay` get no weight decay. `tokens`, when
/// not null, receives the number of tokens that went through the model (for a FLOP count).
template <model::differentiable_policy P, class NextDocument>
status pretrain(P& policy, const pretrain_config& cfg, NextDocument&& next_document,
                std::vector<optim::decay_exclusion> no_decay = {}, double* tokens = nullptr) {
  if (cfg.steps < 0 || cfg.batch < 1 || cfg.context < 2)
    return {errc::bad_config, "pretrain_config", -1, "need steps >= 0, batch >= 1 and context >= 2"};
  optim::adamw opt({cfg.lr, 0.9, 0.99, 1e-8, cfg.weight_decay});
  opt.exclude_from_decay(std::move(no_decay));
  const optim::lr_schedule sch{cfg.lr, std::min(cfg.warmup, cfg.steps), cfg.steps, optim::decay_kind::cosine,
                               cfg.final_lr_fraction};
  progress_bar bar("pretrain", cfg.steps, cfg.progress);
  lm_batch batch;
  std::vector<model::token_t> doc;
  double seen = 0;
  for (index_t s = 0; s < cfg.steps; ++s) {
    batch.clear();
    for (index_t d = 0; d < cfg.batch; ++d) {
      doc.clear();
      GRPO_TRY(next_document(doc));
      if (doc.size() < 2) return {errc::shape_mismatch, "document", d, "a document needs at least two tokens"};
      if (static_cast<index_t>(doc.size()) > cfg.context) doc.resize(static_cast<std::size_t>(cfg.context));
      seen += static_cast<double>(doc.size());
      batch.add(doc, 1);
    }
    lm_step_result r;
    GRPO_TRY(lm_step(policy, batch, opt, sch(s), cfg.max_grad_norm, r));
    char extra[48];
    std::snprintf(extra, sizeof extra, "loss %.3f", r.loss);
    bar.update(s + 1, extra);
  }
  if (tokens) *tokens = seen;
  return {};
}

}  // namespace grpo::train
