#pragma once
// Scoring sampled completions against their problems, and the usual report over them:
// pass@1 (mean over the k samples), pass@k, cons@k and a bootstrap interval for pass@1.
#include <grpo/eval/answer.hpp>
#include <grpo/eval/metrics.hpp>
#include <grpo/task/problem.hpp>

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace grpo::eval {

/// Per-sample verdicts: whether each completion is correct, and its canonical answer (none when
/// nothing could be extracted) for majority voting.
struct sample_scores {
  std::vector<std::uint8_t> correct;
  std::vector<std::optional<std::string>> answers;
};

/// Scores completion i of group g against problems[g]. `completions` holds the decoded texts
/// (tags as text), samples of one problem contiguous as in `layout`.
inline status score_samples(std::span<const std::string> completions,
                            std::span<const task::problem> problems, const group_layout& layout,
                            extraction policy, sample_scores& out) {
  GRPO_TRY(detail::check_samples(completions.size(), layout, "completions"));
  if (static_cast<index_t>(problems.size()) != layout.num_groups)
    return {errc::shape_mismatch, "problems", -1,
            std::to_string(problems.size()) +
                " problems but the layout has P = " + std::to_string(layout.num_groups)};
  sample_scores s;
  s.correct.resize(completions.size());
  s.answers.resize(completions.size());
  for (index_t g = 0; g < layout.num_groups; ++g) {
    const auto& p = problems[static_cast<std::size_t>(g)];
    for (index_t i = layout.begin(g); i < layout.end(g); ++i) {
      const auto u = static_cast<std::size_t>(i);
      const auto answer = extract_answer(completions[u], policy);
      if (!answer || answer->empty()) continue;
      s.correct[u] = task::verify_answer(p, *answer) ? 1 : 0;
      s.answers[u] = canonical_answer(*answer);
    }
  }
  out = std::move(s);
  return {};
}

struct eval_report {
  index_t num_problems = 0;
  index_t k = 0;                 // the pass@k reported (≤ the smallest group)
  double pass1 = 0;              // mean correctness over the samples, averaged over problems
  double pass_at_k = 0;          // unbiased pass@k
  double cons_at_k = 0;          // majority vote over all samples of a problem
  confidence_interval pass1_ci;  // bootstrap over problems
};

struct eval_options {
  index_t k = 1;  // for pass@k
  index_t bootstrap_resamples = 1000;
  double confidence = 0.95;
  std::uint64_t seed = 0;
};

/// pass@1, pass@k, cons@k and a bootstrap interval of pass@1 from scored samples.
inline status summarize(const sample_scores& s, const group_layout& layout, eval_options options,
                        eval_report& out) {
  GRPO_TRY(detail::check_samples(s.correct.size(), layout, "correct"));
  eval_report r;
  r.num_problems = layout.num_groups;
  r.k = options.k;
  GRPO_TRY(pass1_mean(s.correct, layout, r.pass1));
  GRPO_TRY(mean_pass_at_k(s.correct, layout, options.k, r.pass_at_k));
  GRPO_TRY(cons_at_k(s.answers, s.correct, layout, r.cons_at_k));
  std::vector<double> per_problem(static_cast<std::size_t>(layout.num_groups));
  for (index_t g = 0; g < layout.num_groups; ++g) {
    double c = 0;
    for (index_t i = layout.begin(g); i < layout.end(g); ++i)
      c += s.correct[static_cast<std::size_t>(i)] != 0;
    per_problem[static_cast<std::size_t>(g)] = c / static_cast<double>(layout.size(g));
  }
  GRPO_TRY(bootstrap_mean_ci(per_problem, options.bootstrap_resamples, options.confidence,
                             options.seed, r.pass1_ci));
  out = r;
  return {};
}

}  // namespace grpo::eval
