#pragma once
// A term with its own aggregation: grpo::aggregated<T, A> is the node T (a KL estimator, or a
// correction with a `term` hook) whose contribution is normalised by the aggregation A instead of
// the objective's. OpenRLHF aggregates its KL loss and its entropy bonus as token means whatever
// the policy's loss_agg_mode (trainer/ray/ppo_actor.py), e.g.
//   objective<ratio::token, surrogate::ppo_clip,
//             aggregated<kl::clamped<kl::k1>, aggregation::token_mean>,
//             aggregation::seq_mean_token_mean>
#include <grpo/objective/aggregation.hpp>

namespace grpo {

template <class T, class A>
struct aggregated : T {
  static_assert(is_part_of<A, aggregation_tag>, "grpo::aggregated<T, A>: A must be an aggregation");
  using base_type = T;
  A aggregation{};
  GRPO_HD double sequence_weight(const sequence_info& s, const batch_totals& t) const {
    return aggregation.sequence_weight(s, t);
  }
};

}  // namespace grpo
