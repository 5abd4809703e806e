#pragma once
// A text task as a trainer environment, and held-out evaluation.
//
// task_environment<Task, Rewards> draws training problems from a procedural task (the train
// split), renders them into a prompt template, tokenizes them, and scores completions with a
// reward set combined by name (grpo/reward/combine.hpp) after decoding them to text.
//
// evaluate_policy measures, on problems of the test split:
//   pass@1      mean correctness over k samples per problem (DeepSeek-R1: temperature 0.6,
//               top-p 0.95, k samples), averaged over problems
//   pass@k      unbiased, from the same samples
//   cons@k      majority vote over the k extracted answers (tie rule: grpo/eval/metrics.hpp)
//   greedy      accuracy of the greedy completion
//   format      share of sampled (and of greedy) completions with the strict R1 format
//   language    mean language consistency of the samples, and the share that is readable
//               (strict format and consistency 1), when eval_config::language is set
//   pass@k      for each k of eval_config::pass_at_k_curve (k ≤ the samples per problem)
#include <grpo/core/error.hpp>
#include <grpo/eval/answer.hpp>
#include <grpo/eval/metrics.hpp>
#include <grpo/model/policy.hpp>
#include <grpo/reward/accuracy.hpp>
#include <grpo/reward/combine.hpp>
#include <grpo/reward/format.hpp>
#include <grpo/task/problem.hpp>
#include <grpo/task/template.hpp>
#include <grpo/task/tokenizer.hpp>
#include <grpo/train/trainer.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace grpo::train {

/// The words R1 counts as signs of reflection ("wait", "verify", "check", "mistake", ...).
inline const std::vector<std::string>& default_reflective_words() {
  static const std::vector<std::string> w = {"wait", "verify", "check", "mistake", "recheck",
                                             "again", "however", "hmm", "retry"};
  return w;
}

/// Occurrences of the words (case-insensitive substrings) in `text`.
inline index_t count_reflective_words(std::string_view text, const std::vector<std::string>& words) {
  std::string low(text);
  for (auto& c : low) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  index_t n = 0;
  for (const auto& w : words) {
    if (w.empty()) continue;
    for (auto at = low.find(w); at != std::string::npos; at = low.find(w, at + w.size())) ++n;
  }
  return n;
}

template <task::procedural_task Task, class Rewards>
class task_environment {
 public:
  task_environment(Task task, Rewards rewards, task::tokenizer tok,
                   task::prompt_template tmpl = task::r1_zero_compact)
      : task_(std::move(task)), rewards_(std::move(rewards)), tok_(std::move(tok)), tmpl_(tmpl) {}

  [[nodiscard]] const Task& task() const { return task_; }
  [[nodiscard]] const task::tokenizer& tokenizer() const { return tok_; }
  [[nodiscard]] const task::prompt_template& prompt_template() const { return tmpl_; }
  Rewards& rewards() { return rewards_; }
  [[nodiscard]] const std::vector<task::problem>& last_problems() const { return problems_; }
  std::vector<std::string> reflective_words = default_reflective_words();

  /// The prompt tokens of a problem: the template rendered around its question.
  status encode_prompt(const task::problem& p, std::vector<token_t>& out) const {
    out.clear();
    return tok_.encode(tmpl_.render(p.prompt), out);
  }

  /// The completion's text: tags rendered, stopped at the first <eos>, <pad> dropped.
  [[nodiscard]] std::string decode_completion(model::sequence_view b, index_t i) const {
    std::string s;
    const token_t* c = b.sequence(i) + b.prompt_length(i);
    (void)tok_.decode(std::span<const token_t>(c, static_cast<std::size_t>(b.completion_length(i))), s,
                      task::decode_options{false, true});
    return s;
  }

  status draw_prompts(index_t n, model::rng_type& rng, prompt_list& prompts) {
    problems_.resize(static_cast<std::size_t>(n));
    prompts.resize(static_cast<std::size_t>(n));
    for (index_t p = 0; p < n; ++p) {
      task::splitmix64 r(rng());
      GRPO_TRY(task::generate(task_, r, task::split::train, problems_[static_cast<std::size_t>(p)]));
      GRPO_TRY(encode_prompt(problems_[static_cast<std::size_t>(p)], prompts[static_cast<std::size_t>(p)]));
    }
    return {};
  }

  status score(const model::rollout& r, reward::reward_table& t, std::vector<double>& reflective) {
    return score_problems(r, problems_, t, reflective);
  }

  /// Scores a rollout whose group p answers problems[p].
  status score_problems(const model::rollout& r, const std::vector<task::problem>& problems,
                        reward::reward_table& t, std::vector<double>& reflective) const {
    const index_t N = r.size(), G = r.group_size;
    if (G <= 0 || N % G != 0 || N / G != static_cast<index_t>(problems.size()))
      return {errc::shape_mismatch, "rollout", -1, "need one group of G completions per problem"};
    texts_.resize(static_cast<std::size_t>(N));
    std::vector<reward::completion> cs(static_cast<std::size_t>(N));
    reflective.resize(static_cast<std::size_t>(N));
    for (index_t i = 0; i < N; ++i) {
      texts_[static_cast<std::size_t>(i)] = decode_completion(r.batch, i);
      cs[static_cast<std::size_t>(i)] = {texts_[static_cast<std::size_t>(i)], r.batch.completion_length(i),
                                         &problems[static_cast<std::size_t>(i / G)]};
      reflective[static_cast<std::size_t>(i)] =
          static_cast<double>(count_reflective_words(texts_[static_cast<std::size_t>(i)], reflective_words));
    }
    return rewards_.evaluate(cs, group_layout::fixed(N, G), t);
  }

 private:
  Task task_;
  Rewards rewards_;
  task::tokenizer tok_;
  task::prompt_template tmpl_;
  std::vector<task::problem> problems_;
  mutable std::vector<std::string> texts_;
};

// ---- held-out evaluation -------------------------------------------------------------------

struct eval_config {
  index_t k = 8;  // samples per problem (R1: 4-64 by test-set size)
  model::sampler_config sampling{0.6, 0, 0.95, 48, task::eos_token};  // R1's evaluation sampler
  bool greedy = true;          // also decode greedily
  index_t prompts_per_chunk = 32;
  std::uint64_t seed = 20250122;  // the evaluation's own RNG: evaluating never moves the run's
  index_t examples = 4;           // sampled completions kept as text for display
  /// A language-consistency reward (grpo/reward/language.hpp) to average over the samples;
  /// empty = not measured (the results are NaN).
  std::function<double(const reward::completion&)> language;
  std::vector<index_t> pass_at_k_curve;  // the k of eval_result::pass_at_k_curve (each ≤ k)
};

struct eval_result {
  index_t problems = 0, k = 0;
  double pass1 = 0;            // mean over problems of the mean correctness of k samples
  double pass1_any_format = 0; // the same with the answer taken wherever it is (the R1 extraction
                               // when it finds one, else the last number): correctness told
                               // apart from format adoption; never below pass1
  double pass_at_k = 0;        // unbiased pass@k from the same samples
  double cons_at_k = 0;        // majority vote
  double greedy_accuracy = 0;
  double format_rate = 0;      // sampled completions with the strict format
  double greedy_format_rate = 0;
  double mean_length = 0;      // tokens per sampled completion
  double reflective_words = 0; // per sampled completion
  double language_consistency = std::nan("");  // mean over the samples (eval_config::language)
  double readable_rate = std::nan("");         // samples with the strict format and consistency 1
  std::vector<double> pass_at_k_curve;         // unbiased pass@k for each eval_config::pass_at_k_curve
  std::vector<std::string> examples;  // prompt + first sampled completion of the first problems
};

template <model::sampling_policy P, class Env>
status evaluate_policy(P& policy, const Env& env, const std::vector<task::problem>& problems,
                       const eval_config& cfg, eval_result& out) {
  if (problems.empty()) return {errc::shape_mismatch, "problems", -1, "no problems to evaluate"};
  if (cfg.k < 1) return {errc::bad_config, "k", -1, "need k >= 1"};
  for (std::size_t i = 0; i < cfg.pass_at_k_curve.size(); ++i)
    if (cfg.pass_at_k_curve[i] < 1 || cfg.pass_at_k_curve[i] > cfg.k)
      return {errc::bad_config, "pass_at_k_curve", static_cast<index_t>(i),
              "k = " + std::to_string(cfg.pass_at_k_curve[i]) + " outside [1, " + std::to_string(cfg.k) +
                  "] (the samples per problem)"};
  model::rng_type rng(cfg.seed);
  const reward::accuracy acc;
  const reward::accuracy acc_any{eval::extraction::last_number};
  const reward::strict_format fmt;
  const index_t Pn = static_cast<index_t>(problems.size()), chunk = std::max<index_t>(1, cfg.prompts_per_chunk);
  std::vector<std::uint8_t> correct, correct_any;
  std::vector<std::optional<std::string>> answers;
  std::vector<std::string> examples;
  double fmt_sum = 0, len_sum = 0, refl_sum = 0, greedy_right = 0, greedy_fmt = 0, lang_sum = 0, readable = 0;
  model::rollout r;
  prompt_list prompts;
  for (index_t p0 = 0; p0 < Pn; p0 += chunk) {
    const index_t p1 = std::min(Pn, p0 + chunk);
    prompts.resize(static_cast<std::size_t>(p1 - p0));
    for (index_t p = p0; p < p1; ++p) GRPO_TRY(env.encode_prompt(problems[static_cast<std::size_t>(p)], prompts[static_cast<std::size_t>(p - p0)]));
    for (int pass = 0; pass < (cfg.greedy ? 2 : 1); ++pass) {
      model::sampler_config sc = cfg.sampling;
      index_t G = cfg.k;
      if (pass == 1) {
        sc.temperature = 0;
        sc.top_k = 0;
        sc.top_p = 1;
        G = 1;
      }
      GRPO_TRY(policy.sample(std::span<const std::vector<token_t>>(prompts), G, sc, rng, r));
      for (index_t i = 0; i < r.size(); ++i) {
        const std::string text = env.decode_completion(r.batch, i);
        const reward::completion c{text, r.batch.completion_length(i), &problems[static_cast<std::size_t>(p0 + i / G)]};
        const bool ok = acc.correct(c);
        const bool f = fmt.matches(text);
        if (pass == 0) {
          if (static_cast<index_t>(examples.size()) < cfg.examples && i % G == 0)
            examples.push_back(problems[static_cast<std::size_t>(p0 + i / G)].prompt + " -> " + text);
          correct.push_back(ok ? 1 : 0);
          // the R1 extraction when it finds an answer, else the last number of the text
          const bool formatted = eval::extract_answer(text, acc.policy).has_value();
          correct_any.push_back((formatted ? ok : acc_any.correct(c)) ? 1 : 0);
          const auto a = eval::extract_answer(text, acc.policy);
          answers.push_back(a ? std::optional<std::string>(eval::canonical_answer(*a)) : std::nullopt);
          fmt_sum += f;
          len_sum += static_cast<double>(r.batch.completion_length(i));
          refl_sum += static_cast<double>(count_reflective_words(text, env.reflective_words));
          if (cfg.language) {
            const double l = cfg.language(c);
            lang_sum += l;
            readable += (f && l == 1.0) ? 1 : 0;
          }
        } else {
          greedy_right += ok;
          greedy_fmt += f;
        }
      }
    }
  }
  const auto layout = group_layout::fixed(Pn * cfg.k, cfg.k);
  eval_result e;
  e.problems = Pn;
  e.k = cfg.k;
  GRPO_TRY(eval::pass1_mean(correct, layout, e.pass1));
  GRPO_TRY(eval::pass1_mean(correct_any, layout, e.pass1_any_format));
  GRPO_TRY(eval::mean_pass_at_k(correct, layout, cfg.k, e.pass_at_k));
  GRPO_TRY(eval::cons_at_k(answers, correct, layout, e.cons_at_k));
  const double ns = static_cast<double>(Pn * cfg.k);
  e.format_rate = fmt_sum / ns;
  e.mean_length = len_sum / ns;
  e.reflective_words = refl_sum / ns;
  if (cfg.language) {
    e.language_consistency = lang_sum / ns;
    e.readable_rate = readable / ns;
  }
  for (const index_t k : cfg.pass_at_k_curve) {
    double v = 0;
    GRPO_TRY(eval::mean_pass_at_k(correct, layout, k, v));
    e.pass_at_k_curve.push_back(v);
  }
  e.greedy_accuracy = cfg.greedy ? greedy_right / static_cast<double>(Pn) : std::nan("");
  e.greedy_format_rate = cfg.greedy ? greedy_fmt / static_cast<double>(Pn) : std::nan("");
  e.examples = std::move(examples);
  out = e;
  return {};
}

}  // namespace grpo::train
