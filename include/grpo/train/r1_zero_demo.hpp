#pragma once
// The R1-Zero story at teaching scale, end to end, as one function (what `make demo` runs and
// what the trainer's tests run in their quick form):
//
//   1. base model: a tiny transformer pre-trained briefly on raw task text. The corpus mixes
//      three kinds of document, as web text would:
//        plain   "47+85=?\n7+5=12, 4+8+1=13, 47+85=132\n132"
//        chat    "User: 47+85=?\nAssistant: 7+5=12, 4+8+1=13, 47+85=132\n132"
//        tagged  "User: 47+85=?\nAssistant:<think>7+5=12, ...</think><answer>132</answer>"
//      so the base model sometimes answers a chat prompt in the R1 format (and then can be
//      rewarded) but mostly does not (10-28% of held-out samples at temperature 0.6). The
//      pre-training is just long enough for the arithmetic itself to be mostly right: with a
//      weaker base (400-550 steps) 80 GRPO steps did not teach the missing arithmetic
//      (docs/trainer.md, "What did not work").
//   2. GRPO with the R1-Zero template (compact variant, "User: {prompt}\nAssistant:") and the two
//      rule-based rewards of R1-Zero, accuracy and format, with equal weight.
//   3. held-out evaluation before and after: pass@1 over k samples at temperature 0.6 and top-p
//      0.95 (R1's evaluation setting), greedy accuracy, format rate, cons@k.
#include <grpo/advantage/compute.hpp>
#include <grpo/model/transformer.hpp>
#include <grpo/objective/presets.hpp>
#include <grpo/reward/accuracy.hpp>
#include <grpo/reward/combine.hpp>
#include <grpo/reward/format.hpp>
#include <grpo/task/arithmetic.hpp>
#include <grpo/task/template.hpp>
#include <grpo/task/tokenizer.hpp>
#include <grpo/train/metrics.hpp>
#include <grpo/train/plot.hpp>
#include <grpo/train/pretrain.hpp>
#include <grpo/train/progress.hpp>
#include <grpo/train/run.hpp>
#include <grpo/train/task_env.hpp>
#include <grpo/train/trainer.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace grpo::train {

struct demo_config {
  std::uint64_t seed = 1;
  // task: a + b with 1..max_digits-digit operands
  int min_digits = 1, max_digits = 2;
  // model
  index_t d_model = 64, n_layers = 2, n_heads = 4, context = 64;
  // 1. pre-training
  index_t pretrain_steps = 1000;
  index_t pretrain_batch = 32;
  double pretrain_lr = 3e-3;
  double chat_fraction = 0.4;    // share of chat documents without tags
  double tagged_fraction = 0.15; // share of chat documents in the R1 format
  // 2. GRPO
  index_t grpo_steps = 80;
  trainer_config grpo;           // filled by make_demo_config
  // 3. evaluation
  index_t eval_problems = 128;
  index_t eval_k = 8;
  index_t curve_eval_every = 10;     // a small held-out pass@1 for the curves (0 = never)
  index_t curve_eval_problems = 32;  // with k = 4
  // output
  std::string out_dir = "build/demo";
  bool progress = true;
  bool verbose = true;
  /// Threads of Eigen's GEMMs and of the fused objective. 1 by default: on a 2-core machine
  /// shared with other work, OpenMP's spinning threads made the demo 8x slower (measured),
  /// and at these matrix sizes a second thread gains little even on a quiet machine.
  int threads = 1;
};

/// The full demo (5 minutes on a 2-core CPU) or the quick one (under a minute, for CI).
/// `max_digits` = 3 (operands up to 999) needs a longer context, longer completions and 1500
/// pre-training steps: ~2.7 minutes of CPU instead of ~1.6 (docs/trainer.md).
inline demo_config make_demo_config(bool quick, std::uint64_t seed = 1, int max_digits = 2) {
  demo_config c;
  c.seed = seed;
  c.max_digits = max_digits;
  trainer_config& g = c.grpo;
  g.prompts_per_step = 16;
  g.group_size = 8;
  g.sampling = {1.0, 0, 1.0, 40, task::eos_token};
  g.adamw = {1e-4, 0.9, 0.99, 1e-8, 0.0};  // 1e-3 destroyed the base's arithmetic (measured)
  g.ref_refresh_every = 400;
  g.max_grad_norm = 1.0;
  g.seed = seed * 7919 + 1;
  if (max_digits >= 3) {
    c.context = 32 + 16 * max_digits;  // prompt ~26 + completion ~45 tokens for 3 digits
    g.sampling.max_new_tokens = 8 + 16 * max_digits;
    c.pretrain_steps = 1500;
  }
  if (quick) {
    c.pretrain_steps = 300;
    c.grpo_steps = 15;
    c.eval_problems = 32;
    c.eval_k = 4;
  }
  g.threads = c.threads;
  return c;
}

struct demo_summary {
  std::string task;
  double pass1_before = 0, pass1_after = 0;
  double pass1_any_format_before = 0, pass1_any_format_after = 0;  // the answer wherever it is
  double greedy_before = 0, greedy_after = 0;
  double format_before = 0, format_after = 0;
  double cons_before = 0, cons_after = 0;
  double reward_first = 0, reward_last = 0;  // training reward, mean of the first/last 5 steps
  index_t steps = 0, params = 0, eval_problems = 0, eval_k = 0;
  double seconds = 0, pretrain_seconds = 0, grpo_seconds = 0, eval_seconds = 0;
  std::uint64_t seed = 0;
  /// FNV-1a 64 of the final policy's parameter bytes: two runs with the same seed give the same
  /// value whatever the thread count (tests/train/test_determinism.cpp).
  std::uint64_t params_fnv1a = 0;

  [[nodiscard]] std::string to_json() const {
    metrics_record r;
    r.set("pass1_before", pass1_before);
    r.set("pass1_after", pass1_after);
    r.set("pass1_any_format_before", pass1_any_format_before);
    r.set("pass1_any_format_after", pass1_any_format_after);
    r.set("greedy_before", greedy_before);
    r.set("greedy_after", greedy_after);
    r.set("format_before", format_before);
    r.set("format_after", format_after);
    r.set("cons_before", cons_before);
    r.set("cons_after", cons_after);
    r.set("reward_first", reward_first);
    r.set("reward_last", reward_last);
    r.set("steps", static_cast<double>(steps));
    r.set("seconds", seconds);
    r.set("pretrain_seconds", pretrain_seconds);
    r.set("grpo_seconds", grpo_seconds);
    r.set("eval_seconds", eval_seconds);
    r.set("params", static_cast<double>(params));
    r.set("eval_problems", static_cast<double>(eval_problems));
    r.set("eval_k", static_cast<double>(eval_k));
    r.set("seed", static_cast<double>(seed));
    auto j = train::to_json(r);
    char h[32];
    std::snprintf(h, sizeof h, "%016llx", static_cast<unsigned long long>(params_fnv1a));
    return "{\"task\":" + json_string(task) + ",\"params_fnv1a\":\"" + h + "\"," + j.substr(1);
  }
};

/// The demo's transformer for a vocabulary of `vocab` ids.
inline model::transformer_config demo_model_config(const demo_config& cfg, index_t vocab) {
  model::transformer_config mc;
  mc.vocab_size = vocab;
  mc.context = cfg.context;
  mc.d_model = cfg.d_model;
  mc.n_layers = cfg.n_layers;
  mc.n_heads = cfg.n_heads;
  mc.seed = cfg.seed;
  return mc;
}

/// One document of the demo's pre-training corpus for problem `p`: in the R1 format
/// (cfg.tagged_fraction of them), a chat turn without tags (cfg.chat_fraction) or plain text.
inline std::string demo_document(const demo_config& cfg, const task::prompt_template& tmpl, const task::problem& p,
                                 task::splitmix64& rng) {
  const double u = rng.uniform();
  if (u < cfg.tagged_fraction) return tmpl.render(p.prompt) + task::r1_solution(p);
  if (u < cfg.tagged_fraction + cfg.chat_fraction) return tmpl.render(p.prompt) + " " + task::raw_solution(p);
  return p.prompt + "\n" + task::raw_solution(p);
}

/// R1-Zero's two rule-based rewards, accuracy and format, with equal weight.
inline auto demo_rewards() {
  namespace hana = boost::hana;
  return reward::combine(hana::make_pair(BOOST_HANA_STRING("accuracy"), reward::accuracy{}),
                         hana::make_pair(BOOST_HANA_STRING("format"), reward::strict_format{}));
}

/// The demo's base model: `policy` pre-trained on cfg.pretrain_steps batches of demo documents
/// (the prompts rendered with `tmpl`), biases and gains without weight decay.
inline status pretrain_demo_model(const demo_config& cfg, const task::addition& add, const task::tokenizer& tok,
                                  const task::prompt_template& tmpl, model::transformer<float>& policy) {
  task::splitmix64 rng(task::mix64(cfg.seed ^ 0x9E37ull));
  pretrain_config pc;
  pc.steps = cfg.pretrain_steps;
  pc.batch = cfg.pretrain_batch;
  pc.context = policy.config().context;
  pc.lr = cfg.pretrain_lr;
  pc.progress = cfg.progress;
  return pretrain(policy, pc, [&](std::vector<model::token_t>& doc) -> status {
    task::problem p;
    task::splitmix64 pr(rng.next());
    GRPO_TRY(task::generate(add, pr, task::split::train, p));
    GRPO_TRY(tok.encode(demo_document(cfg, tmpl, p, rng), doc));
    doc.push_back(task::eos_token);
    return {};
  }, no_decay_ranges(policy));
}

namespace detail {
inline double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}
}  // namespace detail

/// Runs the demo; writes metrics.csv, curves.svg and summary.json into cfg.out_dir (when not
/// empty). `curve` receives the per-step GRPO metrics.
inline status run_demo(const demo_config& cfg, demo_summary& out,
                       std::vector<metrics_record>* curve = nullptr) {
  const auto t_start = std::chrono::steady_clock::now();
  Eigen::setNbThreads(cfg.threads);
  trainer_config gcfg = cfg.grpo;
  gcfg.threads = cfg.threads;
  auto say = [&](const std::string& s) {
    if (cfg.verbose) std::fprintf(stderr, "%s\n", s.c_str());
  };

  // ---- the task, the tokenizer, the model --------------------------------------------------
  task::addition add;
  add.min_digits = cfg.min_digits;
  add.max_digits = cfg.max_digits;
  GRPO_TRY(add.validate());
  const auto tok = task::tokenizer::compact();
  const model::transformer_config mc = demo_model_config(cfg, tok.vocab_size());
  GRPO_TRY(model::validate(mc));
  model::transformer<float> policy(mc);
  const auto no_decay = no_decay_ranges(policy);

  task_environment env(add, demo_rewards(), tok, task::r1_zero_compact);

  // ---- 1. pre-training on raw task text -----------------------------------------------------
  const auto t_pre = std::chrono::steady_clock::now();
  GRPO_TRY(pretrain_demo_model(cfg, add, tok, env.prompt_template(), policy));
  out.pretrain_seconds = detail::seconds_since(t_pre);

  // ---- held-out evaluation of the base model ------------------------------------------------
  std::vector<task::problem> test;
  GRPO_TRY(task::make_problems(add, task::split::test, cfg.eval_problems, cfg.seed + 1000, test));
  eval_config ec;
  ec.k = cfg.eval_k;
  ec.sampling.max_new_tokens = cfg.grpo.sampling.max_new_tokens;
  ec.seed = cfg.seed * 31 + 7;
  eval_result before, after;
  auto t_eval = std::chrono::steady_clock::now();
  GRPO_TRY(evaluate_policy(policy, env, test, ec, before));
  out.eval_seconds = detail::seconds_since(t_eval);
  {
    char b[200];
    std::snprintf(b, sizeof b, "base model: pass@1 %.3f (any format %.3f)  greedy %.3f  format %.3f  cons@%ld %.3f",
                  before.pass1, before.pass1_any_format, before.greedy_accuracy, before.format_rate,
                  static_cast<long>(ec.k), before.cons_at_k);
    say(b);
    for (const auto& e : before.examples) say("  sample: " + e);
  }

  // ---- 2. GRPO -----------------------------------------------------------------------------------
  const auto t_grpo = std::chrono::steady_clock::now();
  // PPO-clip, per-sequence token mean, and DeepSeek-R1's k3 KL with β = 0.001 (TRL's own
  // default multiplies k3 by the ratio: its use_bias_correction_kl)
  auto objective = with(presets::trl::grpo(), kl::k3{});
  objective.beta = 0.001;
  trainer tr(policy, env, group_normalized{}, objective, gcfg);
  tr.exclude_from_decay(no_decay);
  std::vector<metrics_record> rows;
  run_options ro;
  ro.progress = cfg.progress;
  ro.title = "GRPO on addition (R1-Zero template, accuracy + format rewards)";
  if (!cfg.out_dir.empty()) {
    ro.metrics_path = std::filesystem::path(cfg.out_dir) / "metrics.csv";
    ro.plot_path = std::filesystem::path(cfg.out_dir) / "curves.svg";
  }
  std::vector<task::problem> curve_test(test.begin(), test.begin() + std::min<index_t>(cfg.curve_eval_problems, cfg.eval_problems));
  eval_config cec = ec;
  cec.k = 4;
  cec.greedy = false;
  ro.on_step = [&](index_t step, metrics_record& m) {
    m.set("elapsed", detail::seconds_since(t_start));
    double p1 = std::nan(""), fr = std::nan("");
    if (cfg.curve_eval_every > 0 && !curve_test.empty() && step % cfg.curve_eval_every == 0) {
      eval_result e;
      GRPO_TRY(evaluate_policy(policy, env, curve_test, cec, e));
      p1 = e.pass1;
      fr = e.format_rate;
    }
    m.set("eval_pass1", p1);  // empty cells between evaluations keep the CSV rectangular
    m.set("eval_format", fr);
    return status{};
  };
  GRPO_TRY(run(tr, cfg.grpo_steps, ro, rows));
  out.grpo_seconds = detail::seconds_since(t_grpo);

  t_eval = std::chrono::steady_clock::now();
  GRPO_TRY(evaluate_policy(policy, env, test, ec, after));
  out.eval_seconds += detail::seconds_since(t_eval);
  {
    char b[200];
    std::snprintf(b, sizeof b, "after GRPO: pass@1 %.3f (any format %.3f)  greedy %.3f  format %.3f  cons@%ld %.3f",
                  after.pass1, after.pass1_any_format, after.greedy_accuracy, after.format_rate,
                  static_cast<long>(ec.k), after.cons_at_k);
    say(b);
    for (const auto& e : after.examples) say("  sample: " + e);
  }

  // ---- summary ---------------------------------------------------------------------------------
  out.task = "addition " + std::to_string(cfg.min_digits) + "-" + std::to_string(cfg.max_digits) + " digits";
  out.pass1_before = before.pass1;
  out.pass1_after = after.pass1;
  out.pass1_any_format_before = before.pass1_any_format;
  out.pass1_any_format_after = after.pass1_any_format;
  out.greedy_before = before.greedy_accuracy;
  out.greedy_after = after.greedy_accuracy;
  out.format_before = before.format_rate;
  out.format_after = after.format_rate;
  out.cons_before = before.cons_at_k;
  out.cons_after = after.cons_at_k;
  auto window_mean = [&](bool first) {
    const std::size_t n = std::min<std::size_t>(5, rows.size());
    double s = 0;
    for (std::size_t k = 0; k < n; ++k) s += rows[first ? k : rows.size() - 1 - k].get("reward_mean");
    return n ? s / static_cast<double>(n) : 0.0;
  };
  out.reward_first = window_mean(true);
  out.reward_last = window_mean(false);
  out.steps = cfg.grpo_steps;
  out.params = policy.num_parameters();
  {
    const auto p = policy.parameters();
    out.params_fnv1a = fnv1a64(reinterpret_cast<const unsigned char*>(p.data()), p.size_bytes());
  }
  out.eval_problems = cfg.eval_problems;
  out.eval_k = cfg.eval_k;
  out.seed = cfg.seed;
  out.seconds = detail::seconds_since(t_start);

  if (!cfg.out_dir.empty()) {
    const std::filesystem::path dir(cfg.out_dir);
    std::ofstream js(dir / "summary.json");
    js << out.to_json() << "\n";
    if (!js) return {errc::io_error, (dir / "summary.json").string(), -1, "write failed"};
  }
  if (curve) *curve = std::move(rows);
  return {};
}

}  // namespace grpo::train
