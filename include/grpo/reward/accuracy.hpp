#pragma once
// accuracy: 1 if the final answer extracted from the completion solves the problem, else 0
// (DeepSeek-R1, arXiv:2501.12948 §2.2.2). Numbers compare after normalisation ("8,000" = 8000, "$29.00" = 29);
// Countdown answers are checked as expressions.
#include <grpo/eval/answer.hpp>
#include <grpo/reward/completion.hpp>

namespace grpo::reward {

struct accuracy {
  eval::extraction policy = eval::extraction::answer_block_then_boxed;

  /// Whether the completion is correct (a completion without a problem is not).
  [[nodiscard]] bool correct(const completion& c) const {
    if (c.problem == nullptr) return false;
    const auto answer = eval::extract_answer(c.text, policy);
    return answer && task::verify_answer(*c.problem, *answer);
  }
  double operator()(const completion& c) const { return correct(c) ? 1.0 : 0.0; }
};

/// Countdown (TinyZero): 0 without an extractable answer, 0.1 for an answer that is not a
/// correct use of the numbers (wrong value, reused or missing numbers, not an expression),
/// 1 when correct.
struct countdown_reward {
  eval::extraction policy = eval::extraction::answer_block;
  double format_score = 0.1;
  double correct_score = 1.0;

  double operator()(const completion& c) const {
    const auto answer = eval::extract_answer(c.text, policy);
    if (!answer || answer->empty()) return 0.0;
    if (c.problem != nullptr && task::verify_answer(*c.problem, *answer)) return correct_score;
    return format_score;
  }
};

}  // namespace grpo::reward
