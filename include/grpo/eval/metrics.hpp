#pragma once
// Evaluation metrics over k samples per problem (Chen et al. 2021, arXiv:2107.03374; DeepSeek-R1,
// arXiv:2501.12948 §3): unbiased pass@k, pass@1 as
// the mean correctness over the samples (DeepSeek-R1), cons@k by majority vote, and a seeded
// bootstrap confidence interval over problems.
//
// Samples of one problem are contiguous; a `group_layout` says which samples belong together
// (fixed k per problem or ragged).
#include <grpo/core/error.hpp>
#include <grpo/core/groups.hpp>
#include <grpo/task/random.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

namespace grpo::eval {

/// Unbiased pass@k from n samples of which c are correct (Chen et al. 2021):
///   1 − C(n−c, k)/C(n, k) = 1 − Π_{i=n−c+1..n} (1 − k/i),   and 1 when n − c < k.
/// The product form never forms a binomial coefficient, so it neither overflows nor cancels.
inline status pass_at_k(index_t n, index_t c, index_t k, double& out) {
  if (n <= 0) return {errc::out_of_range, "n", -1, "need n >= 1 samples, got " + std::to_string(n)};
  if (c < 0 || c > n)
    return {errc::out_of_range, "c", -1,
            "need 0 <= c <= n = " + std::to_string(n) + ", got " + std::to_string(c)};
  if (k < 1 || k > n)
    return {errc::out_of_range, "k", -1,
            "need 1 <= k <= n = " + std::to_string(n) + ", got " + std::to_string(k)};
  if (n - c < k) {
    out = 1.0;
    return {};
  }
  double miss = 1.0;  // C(n−c, k)/C(n, k)
  for (index_t i = n - c + 1; i <= n; ++i)
    miss *= 1.0 - static_cast<double>(k) / static_cast<double>(i);
  out = 1.0 - miss;
  return {};
}

inline double pass_at_k_or_throw(index_t n, index_t c, index_t k) {
  double v = 0;
  throw_if_error(pass_at_k(n, c, k, v));
  return v;
}

namespace detail {
inline status check_samples(std::size_t count, const group_layout& layout, const char* name) {
  GRPO_TRY(validate(layout));
  if (static_cast<index_t>(count) != layout.num_sequences)
    return {errc::shape_mismatch, name, -1,
            std::to_string(count) +
                " samples but the layout has N = " + std::to_string(layout.num_sequences)};
  return {};
}
}  // namespace detail

/// Mean over problems of pass@k, each problem's n being its group size. `correct[i]` (0 or 1; a
/// byte, not `vector<bool>`) is sample i's 0/1 correctness. Every group must have at least k
/// samples.
inline status mean_pass_at_k(std::span<const std::uint8_t> correct, const group_layout& layout,
                             index_t k, double& out) {
  GRPO_TRY(detail::check_samples(correct.size(), layout, "correct"));
  double total = 0;
  for (index_t g = 0; g < layout.num_groups; ++g) {
    index_t c = 0;
    for (index_t i = layout.begin(g); i < layout.end(g); ++i)
      c += correct[static_cast<std::size_t>(i)] != 0;
    double p = 0;
    const status s = pass_at_k(layout.size(g), c, k, p);
    if (!s.ok()) return {s.kind(), "k", g, "problem " + std::to_string(g) + ": " + s.detail()};
    total += p;
  }
  out = total / static_cast<double>(layout.num_groups);
  return {};
}

/// pass@1 as DeepSeek-R1 reports it: the mean correctness over the k samples of each problem,
/// averaged over problems (equal weight per problem even when k varies).
inline status pass1_mean(std::span<const std::uint8_t> correct, const group_layout& layout,
                         double& out) {
  return mean_pass_at_k(correct, layout, 1, out);
}

/// The index (within `answers`) of the majority answer among k samples, or nullopt when no
/// sample has an answer. Samples without an answer (nullopt) do not vote. Answers vote by their
/// exact text, so pass them through `canonical_answer` first.
/// Tie rule: among answers with the highest count, the one whose FIRST occurrence is earliest
/// wins (lighteval's `Counter.most_common` order), and its first occurrence is returned.
inline std::optional<std::size_t> majority_vote(
    std::span<const std::optional<std::string>> answers) {
  std::unordered_map<std::string_view, std::pair<std::size_t, index_t>> tally;  // first, count
  std::optional<std::size_t> best;
  index_t best_count = 0;
  for (std::size_t i = 0; i < answers.size(); ++i) {
    if (!answers[i]) continue;
    auto [it, inserted] = tally.try_emplace(std::string_view(*answers[i]), i, 0);
    ++it->second.second;
  }
  for (const auto& [answer, entry] : tally) {
    const auto [first, count] = entry;
    if (count > best_count || (count == best_count && best && first < *best)) {
      best = first;
      best_count = count;
    }
  }
  return best;
}

/// cons@k: the fraction of problems whose majority answer (see `majority_vote`) is correct.
/// `answers[i]` is sample i's canonical answer, `correct[i]` whether it is right. A problem with
/// no answered sample counts as wrong.
inline status cons_at_k(std::span<const std::optional<std::string>> answers,
                        std::span<const std::uint8_t> correct, const group_layout& layout,
                        double& out) {
  GRPO_TRY(detail::check_samples(answers.size(), layout, "answers"));
  GRPO_TRY(detail::check_samples(correct.size(), layout, "correct"));
  index_t right = 0;
  for (index_t g = 0; g < layout.num_groups; ++g) {
    const auto b = static_cast<std::size_t>(layout.begin(g));
    const auto n = static_cast<std::size_t>(layout.size(g));
    if (auto pick = majority_vote(answers.subspan(b, n))) right += correct[b + *pick] != 0;
  }
  out = static_cast<double>(right) / static_cast<double>(layout.num_groups);
  return {};
}

struct confidence_interval {
  double mean = 0;  // the statistic on the original sample
  double lower = 0;
  double upper = 0;
};

/// Percentile bootstrap of the mean of per-problem scores: `resamples` draws of P problems with
/// replacement (seeded), the interval between the (1−level)/2 and (1+level)/2 quantiles of the
/// resampled means (linear interpolation between order statistics).
inline status bootstrap_mean_ci(std::span<const double> per_problem, index_t resamples,
                                double level, std::uint64_t seed, confidence_interval& out) {
  if (per_problem.empty()) return {errc::shape_mismatch, "per_problem", -1, "no problems"};
  if (resamples < 2)
    return {errc::bad_config, "resamples", -1, "need at least 2, got " + std::to_string(resamples)};
  if (!(level > 0 && level < 1))
    return {errc::bad_config, "level", -1, "need 0 < level < 1, got " + std::to_string(level)};
  double sum = 0;
  for (std::size_t i = 0; i < per_problem.size(); ++i) {
    if (!std::isfinite(per_problem[i]))
      return {errc::non_finite, "per_problem", static_cast<index_t>(i), "score is not finite"};
    sum += per_problem[i];
  }
  const auto p = per_problem.size();
  task::splitmix64 rng(seed);
  std::vector<double> means(static_cast<std::size_t>(resamples));
  for (auto& m : means) {
    double s = 0;
    for (std::size_t j = 0; j < p; ++j) s += per_problem[rng.below(p)];
    m = s / static_cast<double>(p);
  }
  std::sort(means.begin(), means.end());
  auto quantile = [&](double q) {
    const double pos = q * static_cast<double>(means.size() - 1);
    const auto lo = static_cast<std::size_t>(pos);
    const auto hi = std::min(lo + 1, means.size() - 1);
    return means[lo] + (pos - static_cast<double>(lo)) * (means[hi] - means[lo]);
  };
  out.mean = sum / static_cast<double>(p);
  out.lower = quantile((1 - level) / 2);
  out.upper = quantile((1 + level) / 2);
  return {};
}

}  // namespace grpo::eval
