#pragma once
// The reference model of the KL term: a frozen snapshot of the policy, replaced by the current
// policy every K steps (DeepSeek-R1-Zero: K = 400) or never (K = 0, DeepSeekMath / TRL default).
#include <grpo/core/error.hpp>
#include <grpo/model/policy.hpp>

#include <span>

namespace grpo::model {

template <differentiable_policy P>
class reference_model {
 public:
  using scalar_type = typename P::scalar_type;

  /// Freezes a copy of `policy` now; `refresh_every` = K (0 = never refresh).
  reference_model(const P& policy, index_t refresh_every = 0)
      : model_(policy.snapshot()), every_(refresh_every) {}

  /// Replaces the snapshot by the current policy when K > 0, step > 0 and step % K == 0 (call
  /// it once per optimiser step, before computing the reference log-probs of that step).
  /// Returns whether it refreshed.
  bool maybe_refresh(index_t step, const P& policy) {
    if (every_ <= 0 || step <= 0 || step % every_ != 0 || step == last_refresh_) return false;
    refresh(policy, step);
    return true;
  }
  void refresh(const P& policy, index_t step = -1) {
    model_ = policy.snapshot();
    last_refresh_ = step;
  }

  /// Forward only: log-probs (and entropy) of the frozen model.
  status logprobs(sequence_view b, scalar_type tau, std::span<scalar_type> logp,
                  std::span<scalar_type> entropy) {
    return model_.logprobs(b, tau, logp, entropy);
  }

  [[nodiscard]] const P& model() const { return model_; }
  P& model() { return model_; }
  [[nodiscard]] index_t refresh_every() const { return every_; }
  [[nodiscard]] index_t last_refresh() const { return last_refresh_; }

 private:
  P model_;
  index_t every_;
  index_t last_refresh_ = 0;
};

}  // namespace grpo::model
