#pragma once
// §5 Aggregation: how the masked per-token terms become one scalar. Every mode is a per-sequence
// weight w_i applied to S_i = Σ_t ℓ_{i,t}·M_{i,t}, so loss = Σ_i w_i·S_i and dL/dlogp_{i,t} =
// w_i·∂ℓ_{i,t}/∂logp_{i,t}. The weight may use batch totals; those that span the whole batch are
// reduced through the `batch_reduction` hook, so each data-parallel rank gets its share of the
// global loss (the ranks' losses sum to the single-process loss).
#include <grpo/objective/detail/math.hpp>
#include <grpo/objective/detail/tags.hpp>

namespace grpo {

/// Batch totals the normalisers need. `tokens`, `sequences` are summed over ranks and `max_width`
/// is maxed over ranks by the reduction hook; `local_tokens` stays this rank's count (BNPO).
struct batch_totals {
  double tokens = 0;        // Σ_i T_i (global)
  double sequences = 0;     // N (global)
  double max_width = 0;     // padded length T (global max)
  double local_tokens = 0;  // Σ_i T_i on this rank
};

namespace aggregation {

/// mean_i S_i / max(T_i, 1)  (original GRPO; TRL `grpo`, verl `seq-mean-token-mean`).
struct seq_mean_token_mean {
  using category = aggregation_tag;
  static constexpr const char* name = "seq_mean_token_mean";
  GRPO_HD double weight(double T_i, const batch_totals& b) const {
    return 1.0 / (grpo::detail::max_(T_i, 1.0) * grpo::detail::max_(b.sequences, 1.0));
  }
  const char* check() const { return nullptr; }
};

/// Σ_i S_i / Σ_i T_i over the whole (global) batch (DAPO; TRL `dapo`, verl `token-mean`).
struct token_mean {
  using category = aggregation_tag;
  static constexpr const char* name = "token_mean";
  GRPO_HD double weight(double, const batch_totals& b) const {
    return 1.0 / grpo::detail::max_(b.tokens, 1.0);
  }
  const char* check() const { return nullptr; }
};

/// Σ_i S_i / Σ_i T_i over the local micro-batch only (TRL `bnpo`).
struct bnpo {
  using category = aggregation_tag;
  static constexpr const char* name = "bnpo";
  GRPO_HD double weight(double, const batch_totals& b) const {
    return 1.0 / grpo::detail::max_(b.local_tokens, 1.0);
  }
  const char* check() const { return nullptr; }
};

/// Σ_i S_i / (N·L_max) (Dr. GRPO; TRL `dr_grpo` with L_max = max_completion_length, verl
/// `seq-mean-token-sum-norm` with L_max = the padded width). max_length = 0 => padded width T.
struct constant {
  using category = aggregation_tag;
  static constexpr const char* name = "constant";
  double max_length = 0.0;
  GRPO_HD double weight(double, const batch_totals& b) const {
    const double L = max_length > 0 ? max_length : b.max_width;
    return 1.0 / (grpo::detail::max_(b.sequences, 1.0) * grpo::detail::max_(L, 1.0));
  }
  const char* check() const { return max_length >= 0 ? nullptr : "constant max_length must be >= 0"; }
};
using dr_grpo = constant;

/// Σ_i S_i / N (verl `seq-mean-token-sum`).
struct seq_mean_token_sum {
  using category = aggregation_tag;
  static constexpr const char* name = "seq_mean_token_sum";
  GRPO_HD double weight(double, const batch_totals& b) const {
    return 1.0 / grpo::detail::max_(b.sequences, 1.0);
  }
  const char* check() const { return nullptr; }
};

/// Σ_i S_i (verl `token-sum`).
struct token_sum {
  using category = aggregation_tag;
  static constexpr const char* name = "token_sum";
  GRPO_HD double weight(double, const batch_totals&) const { return 1.0; }
  const char* check() const { return nullptr; }
};

/// LUSPO: mean_i (ℓ_i·T_i) with a sequence-level ℓ_i (TRL `luspo`). With a sequence-level ratio
/// every token carries ℓ_i, so S_i = ℓ_i·T_i and the weight is 1/N.
struct luspo {
  using category = aggregation_tag;
  static constexpr const char* name = "luspo";
  static constexpr bool needs_sequence_ratio = true;
  GRPO_HD double weight(double, const batch_totals& b) const {
    return 1.0 / grpo::detail::max_(b.sequences, 1.0);
  }
  const char* check() const { return nullptr; }
};

}  // namespace aggregation
}  // namespace grpo
