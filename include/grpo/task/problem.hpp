#pragma once
// The task interface. A procedural task draws problem instances from a seeded generator; each
// instance carries its prompt, its reference answer and a worked solution trace, and belongs to
// exactly one split (train or test) decided by a hash of its canonical key, so the held-out set
// is disjoint from the training set by construction.
#include <grpo/core/error.hpp>
#include <grpo/eval/answer.hpp>
#include <grpo/task/expression.hpp>
#include <grpo/task/random.hpp>

#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace grpo::task {

enum class split { train, test };

/// How an answer is checked.
enum class answer_kind {
  number,                // numerically equal to `reference` (eval::answers_match)
  countdown_expression,  // an expression using each of `numbers` once that evaluates to `target`
};

/// One problem instance.
struct problem {
  std::string task;       // the task's name ("addition", "countdown", ...)
  std::string key;        // canonical instance key; the split is a function of it
  std::string prompt;     // the question ("47+85=?"), to be put into a template
  std::string reference;  // one correct answer ("132", or an expression for Countdown)
  std::string trace;      // a worked solution, steps only ("7+5=12, 4+8+1=13, 47+85=132")
  answer_kind kind = answer_kind::number;
  std::vector<std::int64_t> numbers;  // operands, or Countdown's given numbers
  std::int64_t target = 0;            // the exact result, or Countdown's target
};

/// Whether `answer` (already extracted from the completion) solves `p`.
inline bool verify_answer(const problem& p, std::string_view answer) {
  switch (p.kind) {
    case answer_kind::number:
      return eval::answers_match(answer, p.reference);
    case answer_kind::countdown_expression:
      return check_countdown(answer, p.numbers, p.target) == countdown_verdict::correct;
  }
  return false;
}

/// The split a key belongs to: test iff its hash falls in the first `test_fraction` of the range.
inline split split_of(std::string_view key, double test_fraction) {
  const double u = static_cast<double>(hash_key(key) >> 11) * 0x1.0p-53;
  return u < test_fraction ? split::test : split::train;
}

/// What every procedural task offers. `draw` returns a fresh instance of either split (one
/// draw of the generator), or a problem with an empty key when it found none; `generate`
/// (below) rejects draws until one lands in the asked split.
template <class T>
concept procedural_task = requires(const T& t, splitmix64& rng, const problem& p,
                                   std::string_view a) {
  { t.name() } -> std::convertible_to<std::string_view>;
  { t.validate() } -> std::same_as<status>;
  { t.draw(rng) } -> std::same_as<problem>;
  { t.verify(p, a) } -> std::same_as<bool>;
  { t.test_fraction } -> std::convertible_to<double>;
};

/// Fields every task config has.
struct split_config {
  double test_fraction = 0.1;  // share of the instance space held out for evaluation
  int max_attempts = 1 << 20;  // draws before `generate` gives up on a split

  status validate_split() const {
    if (!(test_fraction > 0 && test_fraction < 1))
      return {errc::bad_config, "test_fraction", -1,
              "need 0 < test_fraction < 1, got " + std::to_string(test_fraction)};
    if (max_attempts < 1) return {errc::bad_config, "max_attempts", -1, "need >= 1"};
    return {};
  }
};

/// One instance of split `s`: draws until the instance's key hashes into `s`.
template <procedural_task T>
status generate(const T& t, splitmix64& rng, split s, problem& out) {
  GRPO_TRY(t.validate());
  for (int attempt = 0; attempt < t.max_attempts; ++attempt) {
    problem p = t.draw(rng);
    if (!p.key.empty() && split_of(p.key, t.test_fraction) == s) {
      out = std::move(p);
      return {};
    }
  }
  return {
      errc::bad_config, "test_fraction", -1,
      concat("no instance of the ", s == split::test ? "test" : "train", " split found in ",
             t.max_attempts, " draws: the instance space is empty or too small for this split")};
}

/// `count` instances of split `s`, reproducible from `seed`: instance j is drawn from its own
/// stream (seed, j), so a prefix of a longer set equals the shorter set.
template <procedural_task T>
status make_problems(const T& t, split s, index_t count, std::uint64_t seed,
                     std::vector<problem>& out) {
  if (count < 0) return {errc::out_of_range, "count", -1, "negative count"};
  std::vector<problem> ps(static_cast<std::size_t>(count));
  for (index_t j = 0; j < count; ++j) {
    splitmix64 rng(mix64(seed ^ mix64(static_cast<std::uint64_t>(j) + 0x5EED)) +
                   (s == split::test ? 0x7E57ull : 0));
    GRPO_TRY(generate(t, rng, s, ps[static_cast<std::size_t>(j)]));
  }
  out = std::move(ps);
  return {};
}

template <procedural_task T>
std::vector<problem> make_problems_or_throw(const T& t, split s, index_t count,
                                            std::uint64_t seed) {
  std::vector<problem> ps;
  throw_if_error(make_problems(t, s, count, seed, ps));
  return ps;
}

/// The completion a model should learn to write, in R1 format:
/// "<think>{trace}</think><answer>{reference}</answer>" (for SFT / distillation).
inline std::string r1_solution(const problem& p) {
  return "<think>" + p.trace + "</think><answer>" + p.reference + "</answer>";
}

/// The same solution as raw text with no reasoning format: "{trace}\n{reference}" (for the
/// pre-training of a base model on task text).
inline std::string raw_solution(const problem& p) { return p.trace + "\n" + p.reference; }

}  // namespace grpo::task
