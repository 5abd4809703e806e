#pragma once
// A tabular softmax policy: one logit table per (state, completion position),
//   π(o_t = a | q, o_<t) = softmax(θ[s(q), t, :]/τ)[a],   s(q) = the last token of the prompt.
// Completion tokens do not condition each other, so for a one-token completion (a contextual
// bandit) every expectation is an exact finite sum: `probabilities` gives the distribution and
// E[r] = Σ_a π(a|s) r(s, a). For teaching, and for tests that need exact expected rewards.
#include <grpo/core/error.hpp>
#include <grpo/model/policy.hpp>
#include <grpo/model/tempered_softmax.hpp>

#include <algorithm>
#include <span>
#include <string>
#include <vector>

namespace grpo::model {

template <class S = float>
class tabular_policy {
 public:
  using scalar_type = S;

  /// θ = 0 (the uniform policy). States are prompt tokens in [0, num_states); actions are
  /// tokens in [0, num_actions); completions have at most `max_positions` tokens.
  tabular_policy(index_t num_states, index_t num_actions, index_t max_positions = 1)
      : states_(num_states), actions_(num_actions), positions_(max_positions),
        theta_(static_cast<size_t>(num_states * num_actions * max_positions), S(0)),
        grad_(theta_.size(), S(0)) {}

  [[nodiscard]] index_t num_states() const { return states_; }
  [[nodiscard]] index_t num_actions() const { return actions_; }
  [[nodiscard]] index_t max_positions() const { return positions_; }

  /// θ[s, t, :] (the logits of state s at completion position t).
  [[nodiscard]] S* logits(index_t s, index_t t) { return theta_.data() + row(s, t); }
  [[nodiscard]] const S* logits(index_t s, index_t t) const { return theta_.data() + row(s, t); }

  /// softmax(θ[s, t, :]/τ), for exact expectations.
  [[nodiscard]] std::vector<S> probabilities(index_t s, index_t t = 0, S tau = S(1)) const {
    std::vector<S> p(static_cast<size_t>(actions_));
    tempered_softmax_row<S>(logits(s, t), actions_, 0, tau, p.data());
    return p;
  }

  status logprobs(sequence_view b, S tau, std::span<S> logp, std::span<S> entropy) {
    GRPO_TRY(check_batch(b, tau));
    index_t width = 0;
    GRPO_TRY(token_buffer_width(b, logp, "logp", false, width));
    GRPO_TRY(token_buffer_width(b, entropy, "entropy", true, width));
    std::fill(logp.begin(), logp.end(), S(0));
    std::fill(entropy.begin(), entropy.end(), S(0));
    probs_.resize(static_cast<size_t>(b.num_completion_tokens() * actions_));
    saved_entropy_.resize(static_cast<size_t>(b.num_completion_tokens()));
    index_t k = 0;
    for (index_t i = 0; i < b.size(); ++i) {
      const token_t* seq = b.sequence(i);
      const index_t s = seq[b.prompt_length(i) - 1];
      for (index_t t = 0; t < b.completion_length(i); ++t, ++k) {
        const auto r = tempered_softmax_row<S>(logits(s, t), actions_, seq[b.prompt_length(i) + t],
                                               tau, probs_.data() + k * actions_);
        logp[static_cast<size_t>(i * width + t)] = r.logp;
        if (!entropy.empty()) entropy[static_cast<size_t>(i * width + t)] = r.entropy;
        saved_entropy_[static_cast<size_t>(k)] = r.entropy;
      }
    }
    tau_ = tau;
    return {};
  }

  status backward(sequence_view b, std::span<const S> dlogp, std::span<const S> dentropy) {
    if (static_cast<index_t>(saved_entropy_.size()) != b.num_completion_tokens())
      return {errc::shape_mismatch, "batch", -1, "backward needs the batch of the last logprobs call"};
    index_t width = 0;
    GRPO_TRY(token_buffer_width(b, dlogp, "dlogp", false, width));
    GRPO_TRY(token_buffer_width(b, dentropy, "dentropy", true, width));
    index_t k = 0;
    for (index_t i = 0; i < b.size(); ++i) {
      const token_t* seq = b.sequence(i);
      const index_t s = seq[b.prompt_length(i) - 1];
      for (index_t t = 0; t < b.completion_length(i); ++t, ++k) {
        const size_t at = static_cast<size_t>(i * width + t);
        tempered_softmax_row_backward<S>(probs_.data() + k * actions_, actions_,
                                         seq[b.prompt_length(i) + t], tau_,
                                         saved_entropy_[static_cast<size_t>(k)], dlogp[at],
                                         dentropy.empty() ? S(0) : dentropy[at],
                                         grad_.data() + row(s, t), true);
      }
    }
    return {};
  }

  status sample(std::span<const std::vector<token_t>> prompts, index_t group_size,
                const sampler_config& cfg, rng_type& rng, rollout& out) {
    for (size_t p = 0; p < prompts.size(); ++p)
      if (!prompts[p].empty() && (prompts[p].back() < 0 || prompts[p].back() >= states_))
        return {errc::out_of_range, "prompts", static_cast<index_t>(p),
                "last prompt token " + std::to_string(prompts[p].back()) +
                    " is not a state of the table (num_states = " + std::to_string(states_) + ")"};
    sampler_config capped = cfg;
    capped.max_new_tokens = std::min(cfg.max_new_tokens, positions_);
    return sample_autoregressive<S>(
        prompts, group_size, capped, rng, actions_, 0,
        [&](std::span<const token_t> prefix, index_t prompt_length, S* z) {
          const index_t t = static_cast<index_t>(prefix.size()) - prompt_length;
          const index_t s = prefix[static_cast<size_t>(prompt_length - 1)];
          std::copy(logits(s, t), logits(s, t) + actions_, z);
        },
        out);
  }

  void zero_grad() { std::fill(grad_.begin(), grad_.end(), S(0)); }
  std::span<S> parameters() { return theta_; }
  std::span<S> gradients() { return grad_; }
  [[nodiscard]] tabular_policy snapshot() const { return *this; }

 private:
  [[nodiscard]] index_t row(index_t s, index_t t) const { return (s * positions_ + t) * actions_; }

  status check_batch(sequence_view b, S tau) const {
    if (!(tau > S(0))) return {errc::bad_config, "tau", -1, "temperature must be > 0"};
    GRPO_TRY(validate(b, std::max(states_, actions_)));
    for (index_t i = 0; i < b.size(); ++i) {
      if (b.sequence(i)[b.prompt_length(i) - 1] >= states_)
        return {errc::out_of_range, "batch.tokens", i, "last prompt token is not a state"};
      if (b.completion_length(i) > positions_)
        return {errc::out_of_range, "batch", i,
                "completion longer than the table's max_positions " + std::to_string(positions_)};
      for (index_t t = 0; t < b.completion_length(i); ++t)
        if (b.sequence(i)[b.prompt_length(i) + t] >= actions_)
          return {errc::out_of_range, "batch.tokens", b.offset(i) + b.prompt_length(i) + t,
                  "completion token is not an action"};
    }
    return {};
  }

  index_t states_, actions_, positions_;
  std::vector<S> theta_, grad_;
  std::vector<S> probs_, saved_entropy_;
  S tau_ = S(1);
};

}  // namespace grpo::model
