#pragma once
// §5 Aggregation: how the masked per-token terms become one scalar. Every mode is a per-sequence
// weight w_i applied to S_i = Σ_t ℓ_{i,t}·M_{i,t}, so loss = Σ_i w_i·S_i and dL/dlogp_{i,t} =
// w_i·∂ℓ_{i,t}/∂logp_{i,t}: the hook is `sequence_weight(sequence, totals)`. The weight may use
// batch totals; those that span the whole batch come through the `batch_reduction` hook, so each
// data-parallel rank gets its share of the global loss (the ranks' losses sum to the
// single-process loss).
//
// The peers differ in how a mean over sequences treats a sequence without in-tokens: TRL and
// verl (as its trainer calls agg_loss, with global_batch_size = N) average over all N, OpenRLHF
// (aggregate_loss in models/loss.py) over the non-empty ones N⁺: `over` chooses.
#include <grpo/objective/detail/tags.hpp>
#include <grpo/objective/node.hpp>

namespace grpo::aggregation {

/// Which sequences a mean over sequences counts.
enum class count : unsigned char { all, nonempty };

namespace detail_ {
GRPO_HD double sequences(count c, const batch_totals& t) {
  return lane::max(c == count::all ? t.sequences : t.nonempty, 1.0);
}
}  // namespace detail_

/// mean over sequences of S_i / max(T_i, 1) (original GRPO; TRL `grpo`/`sapo`, verl
/// `seq-mean-token-mean`; OpenRLHF sample mode with over = nonempty).
struct seq_mean_token_mean {
  using category = aggregation_tag;
  static constexpr const char* name = "seq_mean_token_mean";
  count over = count::all;
  GRPO_HD double sequence_weight(const sequence_info& s, const batch_totals& b) const {
    return 1.0 / (lane::max(s.length, 1.0) * detail_::sequences(over, b));
  }
};

/// Σ_i S_i / Σ_i T_i over the whole (global) batch (DAPO; TRL `dapo`, verl `token-mean`).
struct token_mean {
  using category = aggregation_tag;
  static constexpr const char* name = "token_mean";
  GRPO_HD double sequence_weight(const sequence_info&, const batch_totals& b) const {
    return 1.0 / lane::max(b.tokens, 1.0);
  }
};

/// Σ_i S_i / Σ_i T_i over the local micro-batch only (TRL `bnpo`).
struct bnpo {
  using category = aggregation_tag;
  static constexpr const char* name = "bnpo";
  GRPO_HD double sequence_weight(const sequence_info&, const batch_totals& b) const {
    return 1.0 / lane::max(b.local_tokens, 1.0);
  }
};

/// Σ_i S_i / (D·L), a constant normaliser (Dr. GRPO, arXiv 2503.20783): L = max_length (TRL
/// `dr_grpo`: max_completion_length), or the padded width when max_length = 0 (verl
/// `seq-mean-token-sum-norm`); D = N (over = all, TRL) or 1 (per_sequence = false).
struct constant {
  using category = aggregation_tag;
  static constexpr const char* name = "constant";
  double max_length = 0.0;
  bool per_sequence = true;  // divide by N as well
  GRPO_HD double sequence_weight(const sequence_info&, const batch_totals& b) const {
    const double L = max_length > 0 ? max_length : b.max_width;
    const double D = per_sequence ? lane::max(b.sequences, 1.0) : 1.0;
    return 1.0 / (D * lane::max(L, 1.0));
  }
  const char* check() const { return max_length >= 0 ? nullptr : "constant max_length must be >= 0"; }
};
using dr_grpo = constant;

/// Σ_i S_i / N (verl `seq-mean-token-sum`), or / N⁺ with over = nonempty.
struct seq_mean_token_sum {
  using category = aggregation_tag;
  static constexpr const char* name = "seq_mean_token_sum";
  count over = count::all;
  GRPO_HD double sequence_weight(const sequence_info&, const batch_totals& b) const {
    return 1.0 / detail_::sequences(over, b);
  }
};

/// Σ_i S_i (verl `token-sum`).
struct token_sum {
  using category = aggregation_tag;
  static constexpr const char* name = "token_sum";
  GRPO_HD double sequence_weight(const sequence_info&, const batch_totals&) const { return 1.0; }
};

/// LUSPO: mean_i (ℓ_i·T_i) with a sequence-level ℓ_i (TRL `luspo`). With a sequence-level ratio
/// every token carries ℓ_i, so S_i = ℓ_i·T_i and the weight is 1/N; with a token ratio (TRL warns
/// but runs it) it is mean_i Σ_t ℓ_t, as TRL computes it.
struct luspo {
  using category = aggregation_tag;
  static constexpr const char* name = "luspo";
  GRPO_HD double sequence_weight(const sequence_info&, const batch_totals& b) const {
    return 1.0 / lane::max(b.sequences, 1.0);
  }
};

}  // namespace grpo::aggregation
