#pragma once
// Plugging a user's own network into the trainer. The user supplies four operations on their
// model type M (any copyable type: a hand-written network, a handle to a libtorch module that
// deep-copies on copy, ...):
//
//   logits(M&, sequence_view, S* z)                 teacher forcing: z is [M_tok, V] row-major,
//                                                   M_tok = batch.num_tokens(); row m holds the
//                                                   logits of the token that FOLLOWS token m of
//                                                   its sequence. The model may keep what its
//                                                   backward needs.
//   backward(M&, sequence_view, const S* dz)        adds ∂L/∂θ for ∂L/∂z = dz (same layout,
//                                                   zero on rows that feed no log-prob) to its
//                                                   gradients; called after `logits` on the batch.
//   params(M&) -> std::span<S>,  grads(M&) -> std::span<S>
//
// The adapter adds the rest of the policy concept on top: temperature, selective log-softmax
// and entropy (tempered_softmax.hpp) with their backward, sampling through the generic decode
// loop (the whole prefix is re-run for every new token: simple, O(L²); models with a KV cache
// should implement `sample` themselves), and `snapshot()` as a copy of M.
#include <grpo/core/error.hpp>
#include <grpo/model/policy.hpp>
#include <grpo/model/tempered_softmax.hpp>

#include <span>
#include <type_traits>
#include <utility>
#include <vector>

namespace grpo::model {

template <class Model, class Logits, class Backward, class Params, class Grads>
class policy_adapter {
 public:
  using scalar_type = typename std::invoke_result_t<Params, Model&>::value_type;
  using S = scalar_type;

  /// `max_length` caps prompt + completion (0 = no cap).
  policy_adapter(Model model, index_t vocab, index_t max_length, Logits logits, Backward backward,
                 Params params, Grads grads)
      : model_(std::move(model)), vocab_(vocab), max_length_(max_length), logits_(std::move(logits)),
        backward_(std::move(backward)), params_(std::move(params)), grads_(std::move(grads)) {}

  Model& model() { return model_; }
  [[nodiscard]] const Model& model() const { return model_; }

  status logprobs(sequence_view b, S tau, std::span<S> logp, std::span<S> entropy) {
    if (!(tau > S(0))) return {errc::bad_config, "tau", -1, "temperature must be > 0"};
    GRPO_TRY(validate(b, vocab_, max_length_));
    index_t width = 0;
    GRPO_TRY(token_buffer_width(b, logp, "logp", false, width));
    GRPO_TRY(token_buffer_width(b, entropy, "entropy", true, width));
    z_.assign(b.tokens.size() * static_cast<size_t>(vocab_), S(0));
    logits_(model_, b, z_.data());
    std::fill(logp.begin(), logp.end(), S(0));
    std::fill(entropy.begin(), entropy.end(), S(0));
    saved_entropy_.assign(b.tokens.size(), S(0));
    for (index_t i = 0; i < b.size(); ++i)
      for (index_t t = 0; t < b.completion_length(i); ++t) {
        const index_t m = b.offset(i) + b.prompt_length(i) + t;  // the token scored
        S* row = z_.data() + (m - 1) * vocab_;                    // the row predicting it
        // probabilities overwrite the logits in place; the backward needs only them
        const auto r = tempered_softmax_row<S>(row, vocab_, b.tokens[static_cast<size_t>(m)], tau, row);
        logp[static_cast<size_t>(i * width + t)] = r.logp;
        if (!entropy.empty()) entropy[static_cast<size_t>(i * width + t)] = r.entropy;
        saved_entropy_[static_cast<size_t>(m - 1)] = r.entropy;
      }
    tau_ = tau;
    saved_tokens_ = static_cast<index_t>(b.tokens.size());
    return {};
  }

  status backward(sequence_view b, std::span<const S> dlogp, std::span<const S> dentropy) {
    if (saved_tokens_ != static_cast<index_t>(b.tokens.size()))
      return {errc::shape_mismatch, "batch", -1, "backward needs the batch of the last logprobs call"};
    index_t width = 0;
    GRPO_TRY(token_buffer_width(b, dlogp, "dlogp", false, width));
    GRPO_TRY(token_buffer_width(b, dentropy, "dentropy", true, width));
    dz_.assign(z_.size(), S(0));
    for (index_t i = 0; i < b.size(); ++i)
      for (index_t t = 0; t < b.completion_length(i); ++t) {
        const index_t m = b.offset(i) + b.prompt_length(i) + t;
        const size_t at = static_cast<size_t>(i * width + t);
        tempered_softmax_row_backward<S>(z_.data() + (m - 1) * vocab_, vocab_, b.tokens[static_cast<size_t>(m)], tau_,
                                         saved_entropy_[static_cast<size_t>(m - 1)], dlogp[at],
                                         dentropy.empty() ? S(0) : dentropy[at], dz_.data() + (m - 1) * vocab_);
      }
    backward_(model_, b, static_cast<const S*>(dz_.data()));
    return {};
  }

  status sample(std::span<const std::vector<token_t>> prompts, index_t group_size, const sampler_config& cfg,
                rng_type& rng, rollout& out) {
    for (size_t p = 0; p < prompts.size(); ++p)
      for (token_t t : prompts[p])
        if (t < 0 || t >= vocab_)
          return {errc::out_of_range, "prompts", static_cast<index_t>(p),
                  "token " + std::to_string(t) + " outside the vocabulary"};
    std::vector<S> z;
    return sample_autoregressive<S>(
        prompts, group_size, cfg, rng, vocab_, max_length_,
        [&](std::span<const token_t> prefix, index_t, S* next) {
          prefix_.clear();
          prefix_.add(prefix, {});
          z.resize(prefix.size() * static_cast<size_t>(vocab_));
          logits_(model_, prefix_, z.data());
          std::copy(z.end() - vocab_, z.end(), next);
        },
        out);
  }

  void zero_grad() {
    auto g = grads_(model_);
    std::fill(g.begin(), g.end(), S(0));
  }
  std::span<S> parameters() { return params_(model_); }
  std::span<S> gradients() { return grads_(model_); }
  [[nodiscard]] policy_adapter snapshot() const {
    policy_adapter copy(model_, vocab_, max_length_, logits_, backward_, params_, grads_);
    return copy;
  }

 private:
  Model model_;
  index_t vocab_, max_length_;
  Logits logits_;
  Backward backward_;
  Params params_;
  Grads grads_;
  std::vector<S> z_, dz_, saved_entropy_;
  S tau_ = S(1);
  index_t saved_tokens_ = -1;
  sequence_batch prefix_;
};

/// Deduces the adapter's types: make_policy_adapter(model, V, max_len, logits, backward, params, grads).
template <class Model, class Logits, class Backward, class Params, class Grads>
auto make_policy_adapter(Model model, index_t vocab, index_t max_length, Logits logits, Backward backward,
                         Params params, Grads grads) {
  return policy_adapter<Model, Logits, Backward, Params, Grads>(std::move(model), vocab, max_length,
                                                                std::move(logits), std::move(backward),
                                                                std::move(params), std::move(grads));
}

}  // namespace grpo::model
