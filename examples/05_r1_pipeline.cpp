// DeepSeek-R1's multi-stage pipeline and its distillation result (arXiv:2501.12948, §2.2–§2.4
// and §4.1) at teaching scale, each stage a few calls into the library:
//
//   0. base       a tiny transformer pre-trained on raw addition text in two numeral scripts
//                 ("7+5=12" and "L+S=IZ", grpo/task/script.hpp): some documents use one
//                 script, some the other, some switch from step to step, as web text mixes
//                 languages; a few are chats, fewer in the R1 format
//   1. R1-Zero    GRPO from the base with accuracy + format rewards
//   2. R1         cold-start SFT of the base on a small set of single-script R1-format traces;
//                 reasoning RL with accuracy + format + language consistency; rejection
//                 sampling from that checkpoint (correct, well-formed, single-script, distinct)
//                 plus non-reasoning text into an SFT set; SFT of the base on it; a final RL
//                 stage with the same rewards
//   3. students   a smaller transformer, pre-trained like the base, then with equal compute
//                 (student FLOPs, counted from the tokens each stage processes):
//                 (a) SFT on the R1 model's rejection-sampled traces,
//                 (b) logit distillation (forward KL to the R1 model) on the same traces,
//                 (c) GRPO alone from the student base
//
// Each stage is evaluated on held-out problems (pass@1 over k samples at temperature 0.6 and
// top-p 0.95, strict and format-agnostic; cons@k; format rate; language consistency; readable
// rate; mean length); base, R1-Zero, R1 and the students also get pass@k for k = 1…64. The run ends with one
// table and a JSON summary (OUT/summary.json); each stage's metrics and curves are in OUT/.
//
//   build/examples/05_r1_pipeline [--quick] [--seed N] [--out DIR]
//
// `--quick` (what `make test` runs) shrinks every stage to keep it under a minute; its numbers
// only show that every stage runs. docs/pipeline.md has the full runs over three seeds.
#include <grpo/distill/divergence.hpp>
#include <grpo/model/transformer.hpp>
#include <grpo/objective/presets.hpp>
#include <grpo/reward/accuracy.hpp>
#include <grpo/reward/combine.hpp>
#include <grpo/reward/format.hpp>
#include <grpo/task/arithmetic.hpp>
#include <grpo/task/script.hpp>
#include <grpo/task/template.hpp>
#include <grpo/train/distill.hpp>
#include <grpo/train/metrics.hpp>
#include <grpo/train/pretrain.hpp>
#include <grpo/train/progress.hpp>
#include <grpo/train/r1_zero_demo.hpp>
#include <grpo/train/rejection.hpp>
#include <grpo/train/run.hpp>
#include <grpo/train/sft.hpp>
#include <grpo/train/task_env.hpp>
#include <grpo/train/trainer.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace hana = boost::hana;
namespace fs = std::filesystem;
using namespace grpo;
using grpo::train::eval_result;
using model_t = model::transformer<float>;

namespace {

struct config {
  std::uint64_t seed = 1;
  bool quick = false;
  std::string out = "build/pipeline";
  // the world: a + b with 1..max_digits-digit operands, numerals in two scripts
  int max_digits = 2;
  double doc_ascii = 0.45, doc_toy = 0.30;  // the rest switch script step by step (p = 0.5)
  double doc_chat = 0.40, doc_tagged = 0.15;
  // models
  index_t context = 64;
  model::transformer_config teacher_shape() const { return shape(64, 2, 4); }
  model::transformer_config student_shape() const { return shape(32, 1, 2); }
  // stages
  index_t pretrain_steps = 1000, pretrain_batch = 32;
  index_t rl_steps = 80, final_rl_steps = 40;
  index_t cold_start_examples = 128, sft_epochs = 2;
  index_t rejection_prompts = 384, rejection_k = 4, rejection_per_prompt = 2;
  double non_reasoning_share = 0.25;
  index_t student_rl_steps = 80;
  index_t distill_prompts = 512;
  // evaluation
  index_t eval_problems = 128, eval_k = 8, curve_problems = 64, curve_k = 64;

  model::transformer_config shape(index_t d, index_t layers, index_t heads) const {
    model::transformer_config m;
    m.vocab_size = task::bilingual_tokenizer().vocab_size();
    m.context = context;
    m.d_model = d;
    m.n_layers = layers;
    m.n_heads = heads;
    return m;
  }
  void make_quick() {
    quick = true;
    pretrain_steps = 500;
    rl_steps = 8;
    final_rl_steps = 4;
    cold_start_examples = 64;
    sft_epochs = 1;
    rejection_prompts = 64;
    student_rl_steps = 6;
    distill_prompts = 128;
    eval_problems = 24;
    eval_k = 4;
    curve_problems = 8;
    curve_k = 16;
  }
};

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// ---- compute: FLOPs of one model, from the tokens it processes ---------------------------------
// A forward pass costs ≈ 2·params FLOPs per token and a backward pass twice that (Kaplan et al.
// 2020, arXiv:2001.08361, §2.1); attention's share is small at context 64 and is left out.
struct flops_meter {
  double params = 0, flops = 0;
  void forward(double tokens) { flops += 2 * params * tokens; }
  void forward_backward(double tokens) { flops += 6 * params * tokens; }
};

// tokens of a batch (prompts and completions)
double batch_tokens(const model::sequence_batch& b) {
  double n = 0;
  for (index_t i = 0; i < b.size(); ++i) n += static_cast<double>(b.prompt_length(i) + b.completion_length(i));
  return n;
}

// ---- the world -----------------------------------------------------------------------------
struct world {
  task::addition add;
  task::tokenizer tok = task::bilingual_tokenizer();
  task::prompt_template tmpl = task::r1_zero_compact;
  double mean_prompt_tokens = 0;  // over training problems, for the GRPO compute count
};

// One pre-training document: plain text, a chat turn, or a chat turn in the R1 format; its
// trace in ASCII digits, in the second script, or switching between them.
std::string document(const config& cfg, const world& w, const task::problem& p, task::splitmix64& rng) {
  const double s = rng.uniform();
  const std::string trace = s < cfg.doc_ascii ? p.trace
                            : s < cfg.doc_ascii + cfg.doc_toy ? task::transliterate(p.trace, task::toy_digits)
                                                              : task::mix_scripts(p.trace, task::toy_digits, 0.5, rng);
  const double u = rng.uniform();
  if (u < cfg.doc_tagged) return w.tmpl.render(p.prompt) + "<think>" + trace + "</think><answer>" + p.reference + "</answer>";
  if (u < cfg.doc_tagged + cfg.doc_chat) return w.tmpl.render(p.prompt) + " " + trace + "\n" + p.reference;
  return p.prompt + "\n" + trace + "\n" + p.reference;
}

status pretrain(const config& cfg, const world& w, model_t& m, std::uint64_t seed, flops_meter& fl) {
  task::splitmix64 rng(task::mix64(seed));
  train::pretrain_config pc;
  pc.steps = cfg.pretrain_steps;
  pc.batch = cfg.pretrain_batch;
  pc.context = cfg.context;
  double tokens = 0;
  GRPO_TRY(train::pretrain(m, pc, [&](std::vector<model::token_t>& doc) -> status {
    task::problem p;
    task::splitmix64 pr(rng.next());
    GRPO_TRY(task::generate(w.add, pr, task::split::train, p));
    GRPO_TRY(w.tok.encode(document(cfg, w, p, rng), doc));
    doc.push_back(task::eos_token);
    return {};
  }, train::no_decay_ranges(m), &tokens));
  fl.forward_backward(tokens);
  return {};
}

// The rewards: R1-Zero's two, and R1's with language consistency added (R1 sums them).
auto zero_rewards() {
  return reward::combine(hana::make_pair(BOOST_HANA_STRING("accuracy"), reward::accuracy{}),
                         hana::make_pair(BOOST_HANA_STRING("format"), reward::strict_format{}));
}
auto r1_rewards() {
  return reward::combine(hana::make_pair(BOOST_HANA_STRING("accuracy"), reward::accuracy{}),
                         hana::make_pair(BOOST_HANA_STRING("format"), reward::strict_format{}),
                         hana::make_pair(BOOST_HANA_STRING("language"), task::numeral_consistency()));
}

// GRPO as in `make demo`: PPO-clip, per-sequence token mean, k3 KL with β = 0.001, lr 1e-4
template <class Env>
status grpo_stage(const config& cfg, const world& w, model_t& m, Env& env, index_t steps, std::uint64_t seed,
                  const std::string& name, flops_meter& fl) {
  train::trainer_config g = train::make_demo_config(false).grpo;  // 16 prompts × 8, lr 1e-4, 40 new tokens
  g.seed = seed;
  g.threads = 1;
  auto objective = with(presets::trl::grpo(), kl::k3{});
  objective.beta = 0.001;
  train::trainer tr(m, env, group_normalized{}, objective, g);
  tr.exclude_from_decay(train::no_decay_ranges(m));
  train::run_options ro;
  ro.title = name + " (GRPO)";
  ro.metrics_path = fs::path(cfg.out) / (name + ".csv");
  ro.plot_path = fs::path(cfg.out) / (name + ".svg");
  std::vector<train::metrics_record> rows;
  GRPO_TRY(train::run(tr, steps, ro, rows));
  // per step: sampling (each prompt prefilled once for its group), the reference model's
  // log-probs, and the policy's forward and backward pass over every prompt and completion token
  const double n = static_cast<double>(g.prompts_per_step * g.group_size);
  for (const auto& r : rows) {
    const double completion = n * r.get("completion_length"), all = completion + n * w.mean_prompt_tokens;
    fl.forward(completion + static_cast<double>(g.prompts_per_step) * w.mean_prompt_tokens);
    fl.forward(all);
    fl.forward_backward(all);
  }
  return {};
}

// one CSV row and the progress bar, for the SFT and distillation stages
status log_step(train::metrics_writer& log, train::progress_bar& bar, index_t step, double loss, double grad_norm) {
  train::metrics_record rec;
  rec.set("step", static_cast<double>(step));
  rec.set("loss", loss);
  rec.set("grad_norm", grad_norm);
  char extra[48];
  std::snprintf(extra, sizeof extra, "loss %.4f", loss);
  bar.update(step + 1, extra);
  return log.write(rec);
}

// SFT with the library's trainer for `steps` optimiser steps (0 = `epochs` epochs), batches of 16
status sft_stage(const config& cfg, model_t& m, std::span<const train::sft_example> data, index_t epochs, index_t steps,
                 const std::string& name, flops_meter& fl) {
  train::sft_config sc;
  sc.batch_size = 16;
  sc.seed = cfg.seed * 977 + 3;
  sc.schedule = {1e-3, 0, 0, optim::decay_kind::cosine, 0.1};
  // on a compute budget every step is a full batch, so that steps × batch cost is the budget
  sc.drop_last = steps > 0;
  const index_t per_epoch = sc.drop_last ? static_cast<index_t>(data.size()) / sc.batch_size
                                         : (static_cast<index_t>(data.size()) + sc.batch_size - 1) / sc.batch_size;
  if (per_epoch == 0) return {errc::shape_mismatch, "traces", -1, "fewer traces than one batch of 16"};
  sc.epochs = steps > 0 ? (steps + per_epoch - 1) / per_epoch : epochs;
  if (steps > 0) sc.schedule.total_steps = steps;
  train::sft_trainer sft(m, data, sc, optim::adamw_config{1e-3, 0.9, 0.99, 1e-8, 0.01});
  const index_t total = steps > 0 ? steps : sft.total_steps();
  train::progress_bar bar(name, total, true);
  train::metrics_writer log;
  GRPO_TRY(log.open(fs::path(cfg.out) / (name + ".csv")));
  for (index_t s = 0; s < total; ++s) {
    for (const index_t i : sft.batch_of(s)) {
      const auto& ex = data[static_cast<std::size_t>(i)];
      fl.forward_backward(static_cast<double>(ex.prompt.size() + ex.completion.size()));
    }
    train::sft_step_result r;
    GRPO_TRY(sft.step(r));
    GRPO_TRY(log_step(log, bar, s, r.loss, r.grad_norm));
  }
  return {};
}

// Logit distillation: forward KL to the teacher on the traces, the same batches and schedule as
// the SFT stage; the teacher's forward passes are counted on their own meter
status distill_stage(const config& cfg, model_t& student, model_t& teacher, std::span<const train::sft_example> data,
                     index_t steps, flops_meter& fl, flops_meter& teacher_fl) {
  optim::adamw opt({1e-3, 0.9, 0.99, 1e-8, 0.01});
  opt.exclude_from_decay(train::no_decay_ranges(student));
  const optim::lr_schedule sch{1e-3, 0, steps, optim::decay_kind::cosine, 0.1};
  const index_t B = 16, per_epoch = static_cast<index_t>(data.size()) / B;  // full batches, as sft_stage
  if (per_epoch == 0) return {errc::shape_mismatch, "traces", -1, "fewer traces than one batch of 16"};
  train::progress_bar bar("student-kd", steps, true);
  train::metrics_writer log;
  GRPO_TRY(log.open(fs::path(cfg.out) / "student-kd.csv"));
  std::vector<index_t> order;
  for (index_t s = 0; s < steps; ++s) {
    if (s % per_epoch == 0) order = train::epoch_order(static_cast<index_t>(data.size()), s / per_epoch, cfg.seed * 977 + 3, true);
    model::sequence_batch b;
    const index_t from = (s % per_epoch) * B;
    for (index_t k = from; k < from + B; ++k) {
      const auto& ex = data[static_cast<std::size_t>(order[static_cast<std::size_t>(k)])];
      b.add(ex.prompt, ex.completion);
    }
    train::distill_step_result r;
    GRPO_TRY(train::distill_step(student, teacher, b, distill::forward_kl(), opt, sch(s), 1.0, r));
    fl.forward_backward(batch_tokens(b));
    teacher_fl.forward(batch_tokens(b));
    GRPO_TRY(log_step(log, bar, s, r.loss, r.grad_norm));
  }
  return {};
}

struct stage_row {
  std::string name;
  eval_result e;
  double gflops = 0;  // student stages: the FLOPs of the student's own training (after its base)
};

status run_pipeline(const config& cfg, std::vector<stage_row>& table, train::metrics_record& summary,
                    std::vector<std::pair<std::string, std::vector<double>>>& curves, std::vector<index_t>& curve_ks) {
  const auto t0 = std::chrono::steady_clock::now();
  fs::create_directories(cfg.out);
  Eigen::setNbThreads(1);
  world w;
  w.add.min_digits = 1;
  w.add.max_digits = cfg.max_digits;
  GRPO_TRY(w.add.validate());
  {
    std::vector<task::problem> ps;
    GRPO_TRY(task::make_problems(w.add, task::split::train, 256, cfg.seed + 7, ps));
    for (const auto& p : ps) w.mean_prompt_tokens += static_cast<double>(w.tok.encode_or_throw(w.tmpl.render(p.prompt)).size());
    w.mean_prompt_tokens /= static_cast<double>(ps.size());
  }
  train::task_environment env_zero(w.add, zero_rewards(), w.tok, w.tmpl);
  train::task_environment env_r1(w.add, r1_rewards(), w.tok, w.tmpl);

  std::vector<task::problem> test, curve_test;
  GRPO_TRY(task::make_problems(w.add, task::split::test, cfg.eval_problems, cfg.seed + 1000, test));
  GRPO_TRY(task::make_problems(w.add, task::split::test, cfg.curve_problems, cfg.seed + 2000, curve_test));
  train::eval_config ec;
  ec.k = cfg.eval_k;
  ec.sampling.max_new_tokens = 40;
  ec.seed = cfg.seed * 31 + 7;
  ec.examples = 2;
  ec.language = [lang = task::numeral_consistency()](const reward::completion& c) { return lang(c); };
  train::eval_config cc = ec;
  cc.k = cfg.curve_k;
  cc.greedy = false;
  for (index_t k = 1; k <= cfg.curve_k; k *= 2) curve_ks.push_back(k);
  cc.pass_at_k_curve = curve_ks;

  auto evaluate = [&](const std::string& name, model_t& m, double gflops = std::nan("")) -> status {
    stage_row row{name, {}, gflops};
    GRPO_TRY(train::evaluate_policy(m, env_r1, test, ec, row.e));
    std::fprintf(stderr, "%-14s pass@1 %.3f (any format %.3f)  cons@%ld %.3f  format %.3f  language %.3f  readable %.3f\n",
                 name.c_str(), row.e.pass1, row.e.pass1_any_format, static_cast<long>(ec.k), row.e.cons_at_k,
                 row.e.format_rate, row.e.language_consistency, row.e.readable_rate);
    for (const std::string& x : row.e.examples) {
      std::string shown;  // one line per example
      for (const char c : x) shown += c == '\n' ? std::string("\\n") : std::string(1, c);
      std::fprintf(stderr, "    %s\n", shown.c_str());
    }
    table.push_back(std::move(row));
    return {};
  };
  auto pass_at_k = [&](const std::string& name, model_t& m) -> status {
    eval_result e;
    GRPO_TRY(train::evaluate_policy(m, env_r1, curve_test, cc, e));
    curves.emplace_back(name, e.pass_at_k_curve);
    return {};
  };

  // ---- 0. the base model ---------------------------------------------------------------------
  flops_meter teacher_fl{0, 0};
  model::transformer_config tc = cfg.teacher_shape();
  tc.seed = cfg.seed;
  model_t base(tc);
  teacher_fl.params = static_cast<double>(base.num_parameters());
  GRPO_TRY(pretrain(cfg, w, base, cfg.seed ^ 0x9E37ull, teacher_fl));
  GRPO_TRY(evaluate("base", base));
  GRPO_TRY(pass_at_k("base", base));

  // ---- 1. R1-Zero: RL straight from the base ----------------------------------------------------
  model_t zero = base;
  GRPO_TRY(grpo_stage(cfg, w, zero, env_zero, cfg.rl_steps, cfg.seed * 7919 + 1, "r1-zero", teacher_fl));
  GRPO_TRY(evaluate("r1-zero", zero));
  GRPO_TRY(pass_at_k("r1-zero", zero));

  // ---- 2. R1 ------------------------------------------------------------------------------------
  // cold start: a few hundred (here cfg.cold_start_examples) readable, single-script traces
  std::vector<train::sft_example> cold_set;
  {
    std::vector<task::problem> ps;
    GRPO_TRY(task::make_problems(w.add, task::split::train, cfg.cold_start_examples, cfg.seed + 3000, ps));
    for (const auto& p : ps) {
      train::sft_example ex;
      GRPO_TRY(env_r1.encode_prompt(p, ex.prompt));
      GRPO_TRY(w.tok.encode(task::r1_solution(p), ex.completion));
      ex.completion.push_back(task::eos_token);
      cold_set.push_back(std::move(ex));
    }
  }
  model_t cold = base;
  GRPO_TRY(sft_stage(cfg, cold, cold_set, cfg.sft_epochs, 0, "cold-start", teacher_fl));
  GRPO_TRY(evaluate("cold-start", cold));
  model_t reasoning = cold;
  GRPO_TRY(grpo_stage(cfg, w, reasoning, env_r1, cfg.rl_steps, cfg.seed * 7919 + 2, "reasoning-rl", teacher_fl));
  GRPO_TRY(evaluate("reasoning-rl", reasoning));

  // rejection sampling from the reasoning-RL checkpoint: correct, well-formed, single-script,
  // distinct; then non-reasoning text (plain ASCII documents) for a quarter of the set
  train::rejection_filter filter;
  filter.language_reward = "language";
  filter.max_per_prompt = cfg.rejection_per_prompt;
  const model::sampler_config rs_sampling{1.0, 0, 1.0, 40, task::eos_token};
  auto sample_traces = [&](model_t& from, index_t prompts_n, index_t k, index_t per_prompt, std::uint64_t seed,
                           std::vector<train::sft_example>& out, train::rejection_stats& stats) -> status {
    model::rng_type rng(seed);
    train::prompt_list prompts;
    GRPO_TRY(env_r1.draw_prompts(prompts_n, rng, prompts));
    train::rejection_filter f = filter;
    f.max_per_prompt = per_prompt;
    GRPO_TRY(train::rejection_sample(from, env_r1, std::span<const std::vector<model::token_t>>(prompts), k,
                                     rs_sampling, rng, f, out, stats));
    if (out.empty()) return {errc::bad_config, "rejection_sample", -1, "no sample passed the filter: nothing to fine-tune on"};
    return {};
  };
  std::vector<train::sft_example> rs_set;
  train::rejection_stats rs_stats;
  GRPO_TRY(sample_traces(reasoning, cfg.rejection_prompts, cfg.rejection_k, cfg.rejection_per_prompt, cfg.seed * 13 + 5,
                         rs_set, rs_stats));
  const auto reasoning_examples = static_cast<index_t>(rs_set.size());
  {
    const auto n = static_cast<index_t>(std::lround(cfg.non_reasoning_share / (1 - cfg.non_reasoning_share) *
                                                    static_cast<double>(rs_set.size())));
    std::vector<task::problem> ps;
    GRPO_TRY(task::make_problems(w.add, task::split::train, n, cfg.seed + 4000, ps));
    for (const auto& p : ps) {
      train::sft_example ex;
      GRPO_TRY(w.tok.encode(p.prompt + "\n", ex.prompt));
      GRPO_TRY(w.tok.encode(task::raw_solution(p), ex.completion));
      ex.completion.push_back(task::eos_token);
      rs_set.push_back(std::move(ex));
    }
  }
  model_t r1 = base;  // R1 fine-tunes the base (DeepSeek-V3-Base) again, not the RL checkpoint
  GRPO_TRY(sft_stage(cfg, r1, rs_set, cfg.sft_epochs, 0, "rejection-sft", teacher_fl));
  GRPO_TRY(evaluate("rejection-sft", r1));
  GRPO_TRY(grpo_stage(cfg, w, r1, env_r1, cfg.final_rl_steps, cfg.seed * 7919 + 3, "r1", teacher_fl));
  GRPO_TRY(evaluate("r1", r1));
  GRPO_TRY(pass_at_k("r1", r1));

  // ---- 3. small students, equal compute ---------------------------------------------------------
  model::transformer_config sc = cfg.student_shape();
  sc.seed = cfg.seed + 17;
  model_t student_base(sc);
  flops_meter student_pre{static_cast<double>(student_base.num_parameters()), 0};
  GRPO_TRY(pretrain(cfg, w, student_base, cfg.seed ^ 0x5EEDull, student_pre));
  GRPO_TRY(evaluate("student-base", student_base));
  // the teacher's traces: one kept sample per prompt
  std::vector<train::sft_example> traces;
  train::rejection_stats trace_stats;
  GRPO_TRY(sample_traces(r1, cfg.distill_prompts, 2, 1, cfg.seed * 13 + 6, traces, trace_stats));
  // (c) GRPO alone sets the budget
  flops_meter rl_fl{student_pre.params, 0}, sft_fl = rl_fl, kd_fl = rl_fl, kd_teacher{teacher_fl.params, 0};
  model_t student_rl = student_base;
  GRPO_TRY(grpo_stage(cfg, w, student_rl, env_r1, cfg.student_rl_steps, cfg.seed * 7919 + 4, "student-rl", rl_fl));
  // (a), (b): as many steps of 16 traces as the budget buys
  double trace_tokens = 0;
  for (const auto& t : traces) trace_tokens += static_cast<double>(t.prompt.size() + t.completion.size());
  const double step_flops = 6 * sft_fl.params * 16 * trace_tokens / static_cast<double>(traces.size());
  const auto budget_steps = std::max<index_t>(1, static_cast<index_t>(rl_fl.flops / step_flops));
  model_t student_sft = student_base, student_kd = student_base;
  GRPO_TRY(sft_stage(cfg, student_sft, traces, 0, budget_steps, "student-sft", sft_fl));
  GRPO_TRY(distill_stage(cfg, student_kd, r1, traces, budget_steps, kd_fl, kd_teacher));
  GRPO_TRY(evaluate("student-sft", student_sft, sft_fl.flops * 1e-9));
  GRPO_TRY(evaluate("student-kd", student_kd, kd_fl.flops * 1e-9));
  GRPO_TRY(evaluate("student-rl", student_rl, rl_fl.flops * 1e-9));
  GRPO_TRY(pass_at_k("student-base", student_base));
  GRPO_TRY(pass_at_k("student-sft", student_sft));
  GRPO_TRY(pass_at_k("student-kd", student_kd));
  GRPO_TRY(pass_at_k("student-rl", student_rl));

  summary.set("seed", static_cast<double>(cfg.seed));
  summary.set("quick", cfg.quick ? 1.0 : 0.0);
  summary.set("teacher_params", teacher_fl.params);
  summary.set("student_params", student_pre.params);
  summary.set("teacher_gflops", teacher_fl.flops * 1e-9);
  summary.set("student_pretrain_gflops", student_pre.flops * 1e-9);
  summary.set("student_budget_steps", static_cast<double>(budget_steps));
  summary.set("kd_teacher_gflops", kd_teacher.flops * 1e-9);
  summary.set("rejection_sampled", static_cast<double>(rs_stats.sampled));
  summary.set("rejection_kept", static_cast<double>(rs_stats.kept));
  summary.set("rejection_incorrect", static_cast<double>(rs_stats.incorrect));
  summary.set("rejection_format", static_cast<double>(rs_stats.format));
  summary.set("rejection_language", static_cast<double>(rs_stats.language));
  summary.set("rejection_duplicate", static_cast<double>(rs_stats.duplicate));
  summary.set("rejection_truncated", static_cast<double>(rs_stats.truncated));
  summary.set("rejection_length", static_cast<double>(rs_stats.length));
  summary.set("rejection_quota", static_cast<double>(rs_stats.quota));
  summary.set("sft_set_reasoning", static_cast<double>(reasoning_examples));
  summary.set("sft_set_total", static_cast<double>(rs_set.size()));
  summary.set("distill_traces", static_cast<double>(traces.size()));
  summary.set("seconds", seconds_since(t0));
  return {};
}

std::string fixed(double v, int digits = 3) {
  if (!std::isfinite(v)) return "-";
  char b[32];
  std::snprintf(b, sizeof b, "%.*f", digits, v);
  return b;
}

}  // namespace

int main(int argc, char** argv) {
  config cfg;
  for (int a = 1; a < argc; ++a) {
    const std::string arg = argv[a];
    if (arg == "--quick") cfg.make_quick();
    else if (arg == "--seed" && a + 1 < argc) cfg.seed = std::strtoull(argv[++a], nullptr, 10);
    else if (arg == "--out" && a + 1 < argc) cfg.out = argv[++a];
    else {
      std::fprintf(stderr, "usage: %s [--quick] [--seed N] [--out DIR]\n", argv[0]);
      return 2;
    }
  }
  std::vector<stage_row> table;
  train::metrics_record summary;
  std::vector<std::pair<std::string, std::vector<double>>> curves;
  std::vector<index_t> ks;
  if (const status s = run_pipeline(cfg, table, summary, curves, ks); !s.ok()) {
    std::fprintf(stderr, "pipeline failed: %s\n", s.message().c_str());
    return 1;
  }
  // the table
  std::printf("\nheld-out: %ld problems, k = %ld samples each (temperature 0.6, top-p 0.95)\n",
              static_cast<long>(cfg.eval_problems), static_cast<long>(cfg.eval_k));
  std::printf("%-14s %7s %7s %7s %7s %7s %8s %7s %8s\n", "stage", "pass@1", "any fmt", "cons@k", "format", "language",
              "readable", "length", "GFLOPs");
  for (const auto& r : table)
    std::printf("%-14s %7s %7s %7s %7s %7s %8s %7s %8s\n", r.name.c_str(), fixed(r.e.pass1).c_str(),
                fixed(r.e.pass1_any_format).c_str(), fixed(r.e.cons_at_k).c_str(), fixed(r.e.format_rate).c_str(),
                fixed(r.e.language_consistency).c_str(), fixed(r.e.readable_rate).c_str(), fixed(r.e.mean_length, 1).c_str(),
                fixed(r.gflops, 2).c_str());
  std::printf("\npass@k over %ld problems with %ld samples each:\n%-13s", static_cast<long>(cfg.curve_problems),
              static_cast<long>(cfg.curve_k), "k");
  for (const index_t k : ks) std::printf(" %6ld", static_cast<long>(k));
  std::printf("\n");
  for (const auto& [name, v] : curves) {
    std::printf("%-13s", name.c_str());
    for (const double x : v) std::printf(" %6.3f", x);
    std::printf("\n");
  }
  // the JSON summary
  std::string js = train::to_json(summary);
  js.pop_back();  // the closing brace: the stages and curves follow
  js += ",\"stages\":[";
  for (std::size_t i = 0; i < table.size(); ++i) {
    const auto& e = table[i].e;
    train::metrics_record r;
    r.set("pass1", e.pass1);
    r.set("pass1_any_format", e.pass1_any_format);
    r.set("cons_at_k", e.cons_at_k);
    r.set("format", e.format_rate);
    r.set("language", e.language_consistency);
    r.set("readable", e.readable_rate);
    r.set("length", e.mean_length);
    r.set("greedy", e.greedy_accuracy);
    r.set("gflops", table[i].gflops);
    js += (i ? "," : "") + std::string("{\"name\":") + train::json_string(table[i].name) + "," + train::to_json(r).substr(1);
  }
  js += "],\"pass_at_k\":{\"k\":[";
  for (std::size_t i = 0; i < ks.size(); ++i) {
    if (i) js += ',';
    js += std::to_string(ks[i]);
  }
  js += "]";
  for (const auto& [name, v] : curves) {
    js += ",\"" + name + "\":[";
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (i) js += ',';
      js += fixed(v[i], 4);
    }
    js += "]";
  }
  js += "}}";
  std::printf("%s\n", js.c_str());
  std::ofstream(fs::path(cfg.out) / "summary.json") << js << "\n";
  return 0;
}
