#pragma once
// The GRPO trainer. One step:
//
//   prompts ──draw──▶ G samples each (old log-probs recorded at the loss temperature τ)
//           ──score─▶ rewards R[N, K], one column per named reward (logged per name)
//           ──────▶ [dynamic sampling: drop groups whose total rewards are all equal, refill]
//           ──────▶ advantages A = grpo::compute_advantages(estimator, R, groups of G)
//   μ times:  ─────▶ for each micro-batch: logp, H = policy.logprobs(τ)
//                                           L, dL/dlogp = grpo::evaluate(objective, batch)
//                                           policy.backward(dL/dlogp)   (gradients add up)
//                     clip ‖g‖ ─▶ AdamW with the scheduled learning rate
//
// Every part is a template parameter (policy, environment, advantage estimator, objective,
// execution policy of the fused pass) or a field of `trainer_config` (config.hpp, with the
// DeepSeek-R1 values next to the defaults).
//
// Gradient accumulation. The rollout's groups are split into `micro_batches` contiguous
// micro-batches. The aggregation's normalisers (Σ_i T_i for token-mean, N for seq-mean, the
// padded width for Dr. GRPO) must be those of the WHOLE batch, otherwise each micro-batch would
// be normalised by its own token count and the sum of the micro-batch gradients would not be
// the big-batch gradient. The trainer counts every micro-batch's totals first (grpo::totals, the
// objective's own prepass, so truncated or masked tokens are counted exactly as the fused pass
// counts them) and hands their sum to each micro-batch's evaluate. Advantages are computed once
// on the whole rollout, before the split; a token-level estimator (REINFORCE++ with per-token
// returns, process supervision) gives every token its own advantage.
//
// β is the objective's (`objective.beta`): the one place it is set.
//
// The environment (concept `environment` below) draws prompts and scores completions; the
// trainer owns the one RNG of the run (prompt draws and sampling), so a checkpoint of
// (parameters, optimiser, RNG, step, reference) resumes the run bit for bit.
//
// External rollouts. A separate inference engine can sample instead of the policy:
//   prompt_list prompts;  GRPO_TRY(tr.draw_prompts(prompts));     // the environment's prompts
//   external_rollout r = engine(prompts, G);                       // ids + the engine's log-probs
//   GRPO_TRY(tr.step(r, metrics));
// The trainer scores the completions with the environment, recomputes the old log-probs with the
// policy (the engine's may differ: another kernel, quantised or stale weights) and hands the
// engine's log-probs to the objective as the sampler's, so `correction::sampler_mismatch` (TRL's
// vLLM importance sampling, verl's rollout IS) and `off_policy_mask` see the real mismatch. The
// step reports it: sampler_logp_gap (mean over completion tokens of old − sampler) and
// sampler_logp_gap_max (the largest |old − sampler|). With the policy's own rollouts the sampler
// is the policy and both are 0.
//
// Data parallelism. Each rank runs the same trainer (same initial parameters, its own prompt
// stream: grpo/dist/mpi.hpp's rank_seed) on whole groups, and `set_data_parallel` gives it
// in-place all-reduces over the ranks. The batch-wide quantities then come out as one process
// holding every rank's groups would have them: the objective's normalisers (token count, sequence
// counts, padded width; the `totals` of all micro-batches of all ranks), batch-level advantage
// statistics (batch std, whitening), the gradient (summed before clipping, so the clipping and
// AdamW see the global gradient), the loss and objective metrics (token-weighted), and the
// reward, length and zero-std metrics (over every rank's samples); groups_kept and
// sampling_rounds stay this rank's. Every rank must call `step` the same number of times;
// dynamic sampling is refused (its rounds would differ between ranks).
#include <grpo/advantage/compute.hpp>
#include <grpo/core/error.hpp>
#include <grpo/core/groups.hpp>
#include <grpo/exec/cpu.hpp>
#include <grpo/model/policy.hpp>
#include <grpo/model/reference.hpp>
#include <grpo/optim/adamw.hpp>
#include <grpo/optim/clip.hpp>
#include <grpo/optim/schedule.hpp>
#include <grpo/reward/combine.hpp>
#include <grpo/train/checkpoint.hpp>
#include <grpo/train/config.hpp>
#include <grpo/train/metrics.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace grpo::train {

using model::token_t;
using prompt_list = std::vector<std::vector<token_t>>;

/// What the trainer needs from a task:
///   e.draw_prompts(n, rng, prompts)   replaces `prompts` by n fresh training prompts (drawn with
///                                     `rng` only, so the run is reproducible from the RNG)
///   e.score(rollout, table, reflective) scores the completions of the LAST draw (group p of the
///                                     rollout answers prompt p) into a reward table, and writes
///                                     per completion a count of reflective words (may be left
///                                     empty when the task has no text)
template <class E>
concept environment = requires(E& e, index_t n, model::rng_type& rng, prompt_list& prompts,
                               const model::rollout& r, reward::reward_table& t,
                               std::vector<double>& reflective) {
  { e.draw_prompts(n, rng, prompts) } -> std::same_as<status>;
  { e.score(r, t, reflective) } -> std::same_as<status>;
};

/// What one step did (also returned as a metrics_record by `trainer::step`).
struct step_report {
  index_t step = 0;              // the step just taken (0-based)
  bool updated = false;          // false when dynamic sampling kept no group
  index_t groups_kept = 0, sampling_rounds = 0;
};

/// In-place all-reduces over the data-parallel ranks (grpo/dist/mpi.hpp makes them from an MPI
/// communicator): `sum`/`max` of host doubles, `sum_gradients` of the policy's gradient.
/// `agree` is the fail-together point: every rank passes its status and gets an error when any
/// rank's was one (the trainer calls it before each collective, so one rank's bad input ends the
/// step on every rank instead of leaving the others waiting). Rank 0 writes the checkpoints.
template <class S>
struct data_parallel {
  std::function<void(double*, index_t)> sum, max;
  std::function<void(S*, index_t)> sum_gradients;
  std::function<status(const status&)> agree;
  int rank = 0;
  [[nodiscard]] bool active() const { return static_cast<bool>(sum); }
};

namespace detail {
/// The trainer's data-parallel hooks as a grpo::batch_reduction (nothing when inactive).
template <class S>
struct hook_reduction {
  const data_parallel<S>* dp = nullptr;
  void sum(double* v, index_t n) const {
    if (dp && dp->active()) dp->sum(v, n);
  }
  void max(double* v, index_t n) const {
    if (dp && dp->active()) dp->max(v, n);
  }
};
}  // namespace detail

/// Rollouts sampled elsewhere for the prompts of `trainer::draw_prompts`: `batch` holds G
/// consecutive sequences (prompt + completion) per prompt, in the order of the prompts;
/// `sampler_logp` the sampler's log-prob of every completion token, sequence after sequence (or
/// empty: no sampler log-probs, the policy's own are used); `finished` 1 where the completion
/// ended with the stop token, 0 where it was cut off.
struct external_rollout {
  model::sequence_batch batch;
  index_t group_size = 0;
  std::vector<float> sampler_logp;
  std::vector<std::uint8_t> finished;
};

template <model::policy Policy, environment Env, advantage_estimator Estimator, class Objective,
          class Exec = exec::parallel>
  requires is_objective<Objective>
class trainer {
 public:
  using scalar_type = typename Policy::scalar_type;
  using S = scalar_type;

  /// The policy and the environment are the caller's and must outlive the trainer. The
  /// reference model is frozen from the policy now.
  trainer(Policy& policy, Env& env, Estimator estimator, Objective objective, trainer_config cfg)
      : policy_(policy), env_(env), estimator_(estimator),
        objective_(objective), cfg_(std::move(cfg)),
        ref_(policy, cfg_.ref_refresh_every), opt_(cfg_.adamw), rng_(cfg_.seed) {
    throw_if_error(validate());
    exec_ = make_exec();
  }

  [[nodiscard]] status validate() const {
    GRPO_TRY(train::validate(cfg_));
    GRPO_TRY(grpo::validate_config(objective_));
    const auto sch = schedule(1);
    GRPO_TRY(optim::validate(sch));
    return {};
  }

  /// Makes this trainer one rank of a data-parallel run (see the file comment). Refused with
  /// dynamic sampling; incomplete hooks (sum without max, sum_gradients or agree) are refused.
  status set_data_parallel(data_parallel<S> dp) {
    if (dp.active() && cfg_.dynamic_sampling)
      return {errc::bad_config, "dynamic_sampling", -1, "dynamic sampling's rounds differ between ranks: not with data parallelism"};
    if (dp.active() && (!dp.max || !dp.sum_gradients || !dp.agree))
      return {errc::bad_config, "data_parallel", -1, "sum, max, sum_gradients and agree are all needed"};
    dp_ = std::move(dp);
    return {};
  }

  /// Parameter ranges excluded from weight decay (e.g. the transformer's biases and gains).
  void exclude_from_decay(std::vector<optim::decay_exclusion> r) { opt_.exclude_from_decay(std::move(r)); }

  [[nodiscard]] index_t step_count() const { return step_; }
  [[nodiscard]] const trainer_config& config() const { return cfg_; }
  [[nodiscard]] model::rng_type& rng() { return rng_; }
  [[nodiscard]] optim::adamw& optimizer() { return opt_; }
  [[nodiscard]] model::reference_model<Policy>& reference() { return ref_; }
  /// The groups the last step kept (empty when dynamic sampling kept none).
  [[nodiscard]] const model::rollout& last_rollout() const { return rollout_; }
  /// [N] per sequence, or [N, T] per token for a token-level estimator.
  [[nodiscard]] const std::vector<float>& last_advantages() const { return adv_; }
  [[nodiscard]] const Objective& objective() const { return objective_; }

  /// The learning-rate schedule. A cosine decay runs to `total_steps`, or when that is 0 to the
  /// run length given by `set_run_length` (which `run()` calls).
  [[nodiscard]] optim::lr_schedule schedule(index_t run_length) const {
    optim::lr_schedule s;
    s.peak_lr = cfg_.adamw.lr;
    s.warmup_steps = cfg_.warmup_steps;
    s.total_steps = cfg_.total_steps > 0 ? cfg_.total_steps : std::max(run_length, cfg_.warmup_steps);
    s.decay = cfg_.decay;
    return s;
  }
  void set_run_length(index_t steps) { run_length_ = steps; }

  /// One GRPO step; fills `m` with the step's metrics (see the list in docs/trainer.md).
  status step(metrics_record& m, step_report* report = nullptr) {
    const auto t0 = std::chrono::steady_clock::now();
    step_report rep;
    const index_t P = cfg_.prompts_per_step, G = cfg_.group_size;
    sample_log log;
    clear_kept();
    // the local phase: a failure here ends the step on every rank (agreed)
    GRPO_TRY(agreed([&]() -> status {
      GRPO_TRY(begin_step(m, rep));
      // ---- rollout, with dynamic sampling -------------------------------------------------
      for (index_t round = 0;; ++round) {
        const index_t need = cfg_.dynamic_sampling ? P - rollout_.size() / G : P;
        GRPO_TRY(env_.draw_prompts(need, rng_, prompts_));
        if (static_cast<index_t>(prompts_.size()) != need)
          return {errc::shape_mismatch, "environment.draw_prompts", static_cast<index_t>(prompts_.size()),
                  "asked for " + std::to_string(need) + " prompts"};
        GRPO_TRY(policy_.sample(std::span<const std::vector<token_t>>(prompts_), G, cfg_.sampling, rng_, sampled_));
        GRPO_TRY(score_sampled(log));
        keep_sampled([&](index_t g) { return !cfg_.dynamic_sampling || !log.last_zero_std[static_cast<std::size_t>(g)]; });
        rep.sampling_rounds = round + 1;
        if (!cfg_.dynamic_sampling || rollout_.size() >= P * G || round >= cfg_.max_resample_rounds) break;
      }
      return {};
    }()));
    rep.groups_kept = rollout_.size() / G;
    sampler_given_ = false;
    return finish_step(log, m, rep, t0, report, 0.0, 0.0);  // the policy is the sampler
  }

  /// Draws the next step's prompts from the environment (the trainer's RNG) for an external
  /// sampler; `step(external_rollout, ...)` then trains on that sampler's completions.
  status draw_prompts(prompt_list& out) {
    GRPO_TRY(env_.draw_prompts(cfg_.prompts_per_step, rng_, prompts_));
    if (static_cast<index_t>(prompts_.size()) != cfg_.prompts_per_step)
      return {errc::shape_mismatch, "environment.draw_prompts", static_cast<index_t>(prompts_.size()),
              "asked for " + std::to_string(cfg_.prompts_per_step) + " prompts"};
    drawn_ = true;
    out = prompts_;
    return {};
  }

  /// One GRPO step on rollouts sampled elsewhere for the prompts of the last `draw_prompts`
  /// (see the file comment). Every group is kept: dynamic sampling's refill needs the sampler.
  status step(const external_rollout& r, metrics_record& m, step_report* report = nullptr) {
    const auto t0 = std::chrono::steady_clock::now();
    step_report rep;
    sample_log log;
    clear_kept();
    double gap = 0, gap_max = 0, count = 0;
    GRPO_TRY(agreed([&]() -> status {  // the local phase, agreed over the ranks
      GRPO_TRY(check_external(r));
      GRPO_TRY(begin_step(m, rep));
      drawn_ = false;
      // the old log-probs: the policy's own, at the loss temperature
      const index_t N = r.batch.size(), T = std::max<index_t>(1, r.batch.max_completion_length());
      const S tau = static_cast<S>(cfg_.sampling.temperature);
      logp_.assign(static_cast<std::size_t>(N * T), S(0));
      GRPO_TRY(policy_.logprobs(r.batch, tau, std::span<S>(logp_), {}));
      sampled_.batch = r.batch;
      sampled_.group_size = r.group_size;
      sampled_.finished = r.finished;
      model::finalize_rollout(sampled_, [&](index_t i, index_t t) { return logp_[static_cast<std::size_t>(i * T + t)]; });
      GRPO_TRY(score_sampled(log));
      keep_sampled([](index_t) { return true; });
      rep.sampling_rounds = 1;
      rep.groups_kept = N / r.group_size;
      // the sampler's log-probs on the [N, T] grid, and the gap to the policy's
      sampler_given_ = !r.sampler_logp.empty();
      if (sampler_given_) {
        const index_t W = rollout_.width;  // every group was kept
        sampler_lp_.assign(static_cast<std::size_t>(N * W), S(0));
        std::size_t k = 0;
        for (index_t i = 0; i < N; ++i)
          for (index_t t = 0; t < r.batch.completion_length(i); ++t, ++k) {
            const double sl = r.sampler_logp[k];
            const double d = static_cast<double>(rollout_.old_logp[static_cast<std::size_t>(i * W + t)]) - sl;
            sampler_lp_[static_cast<std::size_t>(i * W + t)] = static_cast<S>(sl);
            gap += d;
            gap_max = std::max(gap_max, std::abs(d));
            count += 1;
          }
      }
      return {};
    }()));
    return finish_step(log, m, rep, t0, report, count > 0 ? gap / count : 0.0, gap_max);
  }

  // ---- checkpoints ---------------------------------------------------------------------------
  /// Everything a resumed run needs: parameters, optimiser moments and step, the RNG, the step
  /// counter and the reference model (its parameters and when it was last refreshed).
  [[nodiscard]] checkpoint make_checkpoint() const {
    checkpoint c;
    c.put_parameters(std::span<const S>(policy_.parameters()));
    c.put_optimizer(opt_.state());
    c.put_rng("rng", rng_);
    c.put_i64("train.step", step_);
    // the policy concept only requires a non-const parameters(); reading through it is safe
    c.put_parameters(std::span<const S>(const_cast<Policy&>(ref_.model()).parameters()), "ref.params");
    c.put_i64("ref.last_refresh", ref_.last_refresh());
    return c;
  }
  status save(const std::filesystem::path& path) const { return save_checkpoint(path, make_checkpoint()); }

  /// Restores a checkpoint written by `save` for the same model and configuration. Nothing is
  /// changed when the file is refused.
  status load(const std::filesystem::path& path) {
    checkpoint c;
    GRPO_TRY(load_checkpoint(path, c));
    return restore(c);
  }
  status restore(const checkpoint& c) {
    std::vector<S> params(policy_.parameters().size()), ref_params(params.size());
    optim::adamw_state st;
    GRPO_TRY(c.get_model_and_optimizer(params, st));
    GRPO_TRY(c.get_parameters(std::span<S>(ref_params), "ref.params"));
    model::rng_type rng;
    GRPO_TRY(c.get_rng("rng", rng));
    std::int64_t step = 0, last = 0;
    GRPO_TRY(c.get_i64("train.step", step));
    GRPO_TRY(c.get_i64("ref.last_refresh", last));
    if (step < 0) return {errc::corrupt_data, "train.step", -1, "negative step"};
    std::copy(params.begin(), params.end(), policy_.parameters().begin());
    ref_.refresh(policy_, last);
    std::copy(ref_params.begin(), ref_params.end(), ref_.model().parameters().begin());
    opt_.state() = std::move(st);
    rng_ = rng;
    step_ = step;
    return {};
  }

 private:
  /// With data parallelism: the status every rank agrees on (an error when any rank failed).
  status agreed(const status& local) const { return dp_.active() ? dp_.agree(local) : local; }

  // what was sampled in one step (every round), for the metrics
  struct sample_log {
    std::vector<double> total, len, refl, trunc;
    std::vector<std::vector<double>> cols;
    std::vector<std::string> names;
    std::vector<std::uint8_t> last_zero_std;  // per group of the last round: rewards all equal
    index_t groups_seen = 0, zero_std_seen = 0;
  };

  status begin_step(metrics_record& m, step_report& rep) {
    m = metrics_record{};
    if (cfg_.decay == optim::decay_kind::cosine && cfg_.total_steps == 0 && run_length_ == 0)
      return {errc::bad_config, "total_steps", -1,
              "a cosine decay needs total_steps or set_run_length (run() sets it)"};
    rep.step = step_;
    // the reference refresh comes before this step's reference log-probs
    if constexpr (Objective::has_kl) ref_.maybe_refresh(step_, policy_);
    return {};
  }

  /// Scores `sampled_` with the environment and logs it.
  status score_sampled(sample_log& log) {
    GRPO_TRY(env_.score(sampled_, table_, reflective_));
    if (table_.num_completions != sampled_.size())
      return {errc::shape_mismatch, "environment.score", table_.num_completions,
              "the reward table must have one row per completion"};
    log.names = table_.names;
    log.cols.resize(log.names.size());
    for (index_t i = 0; i < sampled_.size(); ++i) {
      log.total.push_back(table_.total[static_cast<std::size_t>(i)]);
      for (index_t k = 0; k < table_.num_rewards(); ++k) log.cols[static_cast<std::size_t>(k)].push_back(table_.at(i, k));
      log.len.push_back(static_cast<double>(sampled_.batch.completion_length(i)));
      log.trunc.push_back(sampled_.finished[static_cast<std::size_t>(i)] ? 0.0 : 1.0);
      log.refl.push_back(reflective_.empty() ? 0.0 : reflective_[static_cast<std::size_t>(i)]);
    }
    const index_t G = sampled_.group_size;
    log.last_zero_std.assign(static_cast<std::size_t>(sampled_.num_prompts()), 0);
    for (index_t g = 0; g < sampled_.num_prompts(); ++g) {
      bool all_equal = true;
      for (index_t i = g * G + 1; i < (g + 1) * G; ++i)
        all_equal = all_equal && table_.total[static_cast<std::size_t>(i)] == table_.total[static_cast<std::size_t>(g * G)];
      ++log.groups_seen;
      log.zero_std_seen += all_equal;
      log.last_zero_std[static_cast<std::size_t>(g)] = all_equal;
    }
    return {};
  }

  /// The metrics of what was sampled, the update on what was kept, the step counter.
  status finish_step(const sample_log& log, metrics_record& m, step_report& rep,
                     std::chrono::steady_clock::time_point t0, step_report* report, double sampler_gap,
                     double sampler_gap_max) {
    const index_t P = cfg_.prompts_per_step, G = cfg_.group_size;
    // the sampled series in a fixed order (total, each reward, length, truncation, reflective
    // words): means and population deviations, with data parallelism over every rank's samples
    // (two all-reduces: sums and counts, then squared deviations from the global means)
    std::vector<const std::vector<double>*> series = {&log.total};
    for (const auto& c : log.cols) series.push_back(&c);
    series.insert(series.end(), {&log.len, &log.trunc, &log.refl});
    const std::size_t K = series.size();
    std::vector<double> sums(2 * K + 2, 0.0), dev(K, 0.0), mean(K, 0.0), sd(K, 0.0);
    for (std::size_t k = 0; k < K; ++k) {
      for (const double x : *series[k]) sums[k] += x;
      sums[K + k] = static_cast<double>(series[k]->size());
    }
    sums[2 * K] = static_cast<double>(log.groups_seen);
    sums[2 * K + 1] = static_cast<double>(log.zero_std_seen);
    if (dp_.active()) dp_.sum(sums.data(), static_cast<index_t>(sums.size()));
    for (std::size_t k = 0; k < K; ++k) {
      mean[k] = sums[K + k] > 0 ? sums[k] / sums[K + k] : 0.0;
      for (const double x : *series[k]) dev[k] += (x - mean[k]) * (x - mean[k]);
    }
    if (dp_.active()) dp_.sum(dev.data(), static_cast<index_t>(K));
    for (std::size_t k = 0; k < K; ++k) sd[k] = sums[K + k] > 0 ? std::sqrt(dev[k] / sums[K + k]) : 0.0;
    const std::size_t len_at = K - 3;
    m.set("step", static_cast<double>(step_ + 1));
    m.set("reward_mean", mean[0]);
    m.set("reward_std", sd[0]);
    for (std::size_t k = 0; k < log.names.size(); ++k) {
      m.set("reward_" + log.names[k] + "_mean", mean[1 + k]);
      m.set("reward_" + log.names[k] + "_std", sd[1 + k]);
    }
    for (std::size_t k = 0; k < log.names.size(); ++k)
      if (log.names[k] == "accuracy") m.set("accuracy", mean[1 + k]);
    m.set("completion_length", mean[len_at]);
    m.set("truncated_fraction", mean[len_at + 1]);
    m.set("reflective_words", mean[len_at + 2]);
    m.set("zero_std_fraction", sums[2 * K] > 0 ? sums[2 * K + 1] / sums[2 * K] : 0.0);
    m.set("groups_kept", static_cast<double>(rep.groups_kept));
    m.set("sampling_rounds", static_cast<double>(rep.sampling_rounds));
    m.set("sampler_logp_gap", sampler_gap);
    m.set("sampler_logp_gap_max", sampler_gap_max);
    const double lr = schedule(run_length_)(step_);
    m.set("lr", lr);

    double loss = 0, kl = 0, clip_lo = 0, clip_hi = 0, entropy = 0, ratio = 0, tokens = 0, gnorm = 0;
    if (rollout_.size() >= G) {
      // keep at most P groups (the last round may overshoot)
      if (rollout_.num_prompts() > P) {
        model::truncate_rollout(rollout_, P * G);
        kept_total_.resize(static_cast<std::size_t>(P * G * table_.num_rewards()));
      }
      GRPO_TRY(update(lr, loss, kl, clip_lo, clip_hi, entropy, ratio, tokens, gnorm));
      rep.updated = true;
    }
    m.set("loss", loss);
    m.set("kl", kl);
    m.set("clip_fraction_low", clip_lo);
    m.set("clip_fraction_high", clip_hi);
    m.set("entropy", entropy);
    m.set("ratio_mean", ratio);
    m.set("grad_norm", gnorm);
    m.set("updated", rep.updated ? 1.0 : 0.0);
    ++step_;
    if (cfg_.checkpoint_every > 0 && step_ % cfg_.checkpoint_every == 0)
      GRPO_TRY(agreed(dp_.rank == 0 ? save(cfg_.checkpoint_path) : status{}));  // rank 0 writes
    m.set("seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    if (report) *report = rep;
    return {};
  }

  /// An external rollout answers the last draw: whole groups of G, the drawn prompts in order,
  /// one finished flag per sequence, one finite log-prob ≤ 0 per completion token (or none).
  status check_external(const external_rollout& r) const {
    if (!drawn_) return {errc::bad_config, "external_rollout", -1, "call draw_prompts first: the rollout answers its prompts"};
    const index_t G = cfg_.group_size, N = r.batch.size(), P = static_cast<index_t>(prompts_.size());
    if (r.group_size != G)
      return {errc::bad_group, "external_rollout.group_size", -1,
              "the trainer's group size is " + std::to_string(G) + ", the rollout's " + std::to_string(r.group_size)};
    if (N != P * G)
      return {errc::shape_mismatch, "external_rollout.batch", -1,
              std::to_string(N) + " sequences for " + std::to_string(P) + " prompts of " + std::to_string(G)};
    for (index_t i = 0; i < N; ++i) {
      const auto& want = prompts_[static_cast<std::size_t>(i / G)];
      const index_t pl = r.batch.prompt_length(i);
      if (pl != static_cast<index_t>(want.size()) || !std::equal(want.begin(), want.end(), r.batch.sequence(i)))
        return {errc::shape_mismatch, "external_rollout.batch", i,
                "sequence " + std::to_string(i) + " does not start with prompt " + std::to_string(i / G) + " of the draw"};
    }
    if (static_cast<index_t>(r.finished.size()) != N)
      return {errc::shape_mismatch, "external_rollout.finished", static_cast<index_t>(r.finished.size()),
              "one flag per sequence is needed (" + std::to_string(N) + ")"};
    if (!r.sampler_logp.empty()) {
      if (static_cast<index_t>(r.sampler_logp.size()) != r.batch.num_completion_tokens())
        return {errc::shape_mismatch, "external_rollout.sampler_logp", static_cast<index_t>(r.sampler_logp.size()),
                "one log-prob per completion token is needed (" + std::to_string(r.batch.num_completion_tokens()) + ")"};
      for (std::size_t k = 0; k < r.sampler_logp.size(); ++k)
        if (!(r.sampler_logp[k] <= 0.0f) || !std::isfinite(r.sampler_logp[k]))
          return {errc::non_finite, "external_rollout.sampler_logp", static_cast<index_t>(k),
                  "a log-prob must be finite and <= 0, got " + std::to_string(r.sampler_logp[k])};
    }
    return {};
  }

  Exec make_exec() const {
    if constexpr (std::is_same_v<Exec, exec::parallel>) return exec::parallel{cfg_.threads};
    else return Exec{};
  }

  /// The kept groups of this step go to `rollout_`, their rewards [N, K] to `kept_total_`.
  void clear_kept() {
    rollout_.batch.clear();
    rollout_.finished.clear();
    rollout_.old_logp.clear();
    rollout_.mask.clear();
    rollout_.width = 0;
    kept_total_.clear();
  }
  /// Keeps the groups g of `sampled_` for which keep(g): the whole rollout is moved when every
  /// group of the first round is kept (no copy), the kept groups are appended otherwise.
  template <class Keep>
  void keep_sampled(Keep&& keep) {
    const index_t G = sampled_.group_size, K = table_.num_rewards();
    bool all = rollout_.size() == 0;
    for (index_t g = 0; g < sampled_.num_prompts(); ++g) {
      if (!keep(g)) {
        all = false;
        continue;
      }
      for (index_t i = g * G; i < (g + 1) * G; ++i)
        for (index_t k = 0; k < K; ++k) kept_total_.push_back(table_.at(i, k));
    }
    if (all) {
      std::swap(rollout_, sampled_);  // sampled_ keeps the old buffers for the next draw
      return;
    }
    for (index_t g = 0; g < sampled_.num_prompts(); ++g)
      if (keep(g)) model::append_group(rollout_, sampled_, g);
  }

  /// Advantages, then μ optimiser updates on the rollout in `rollout_` with its rewards
  /// [N, K] in `kept_total_`.
  status update(double lr, double& loss, double& kl, double& clip_lo, double& clip_hi, double& entropy,
                double& ratio, double& tokens, double& gnorm) {
    const index_t N = rollout_.size(), T = rollout_.width, G = cfg_.group_size;
    if (T <= 0) return agreed({errc::shape_mismatch, "rollout", -1, "every completion is empty"});
    // rewards [N, K] (as float for the estimator) and their weights
    const index_t K = table_.num_rewards();
    rewards_.assign(static_cast<std::size_t>(N * K), 0.0f);
    for (index_t j = 0; j < N * K; ++j) rewards_[static_cast<std::size_t>(j)] = static_cast<float>(kept_total_[static_cast<std::size_t>(j)]);
    weights_.assign(table_.weights.begin(), table_.weights.end());
    lengths_.resize(static_cast<std::size_t>(N));
    truncated_.resize(static_cast<std::size_t>(N));
    for (index_t i = 0; i < N; ++i) {
      lengths_[static_cast<std::size_t>(i)] = static_cast<std::int32_t>(rollout_.batch.completion_length(i));
      truncated_[static_cast<std::size_t>(i)] = rollout_.finished[static_cast<std::size_t>(i)] ? 0 : 1;
    }
    reward_view v;
    v.rewards = rewards_.data();
    v.num_sequences = N;
    v.num_rewards = K;
    v.reward_weights = weights_.data();
    v.max_length = T;
    v.lengths = lengths_.data();  // the same array the objective reads
    constexpr bool token_adv = Estimator::token_level;
    adv_.assign(static_cast<std::size_t>(token_adv ? N * T : N), 0.0f);
    advantage_stats astats;
    // validated on every rank before the estimator's collectives
    GRPO_TRY(agreed(validate_advantage_inputs(estimator_, v, group_layout::fixed(N, G), adv_.data())));
    GRPO_TRY(compute_advantages_unchecked(estimator_, v, group_layout::fixed(N, G), adv_.data(), astats,
                                          detail::hook_reduction<S>{&dp_}));
    adv_s_.assign(adv_.begin(), adv_.end());

    // per-token inputs in the policy's scalar type
    mask_ = rollout_.mask;
    if (cfg_.mask_truncated)
      for (index_t i = 0; i < N; ++i)
        if (truncated_[static_cast<std::size_t>(i)])
          std::fill_n(mask_.begin() + i * T, T, std::uint8_t{0});
    old_.assign(rollout_.old_logp.begin(), rollout_.old_logp.end());

    // micro-batches: contiguous runs of whole groups
    const index_t groups = N / G, M = std::min<index_t>(cfg_.micro_batches, groups);
    std::vector<index_t> row_begin(static_cast<std::size_t>(M + 1));
    for (index_t mb = 0; mb <= M; ++mb) row_begin[static_cast<std::size_t>(mb)] = (groups * mb / M) * G;
    std::vector<model::sequence_view> subs(static_cast<std::size_t>(M));  // views: no copy
    for (index_t mb = 0; mb < M; ++mb)
      subs[static_cast<std::size_t>(mb)] =
          rollout_.batch.rows(row_begin[static_cast<std::size_t>(mb)], row_begin[static_cast<std::size_t>(mb + 1)]);

    // reference log-probs, once per rollout
    const S tau = static_cast<S>(cfg_.sampling.temperature);
    const bool use_ref = Objective::has_kl && objective_.beta != 0;
    if (use_ref) {
      ref_lp_.assign(static_cast<std::size_t>(N * T), S(0));
      GRPO_TRY(agreed([&]() -> status {  // local, agreed before the totals' all-reduce
        for (index_t mb = 0; mb < M; ++mb) {
          const index_t r0 = row_begin[static_cast<std::size_t>(mb)], n = row_begin[static_cast<std::size_t>(mb + 1)] - r0;
          GRPO_TRY(ref_.logprobs(subs[static_cast<std::size_t>(mb)], tau,
                                 std::span<S>(ref_lp_.data() + r0 * T, static_cast<std::size_t>(n * T)), {}));
        }
        return status{};
      }()));
    }

    auto batch_of = [&](index_t mb, const S* logp, const S* ent) {
      const index_t r0 = row_begin[static_cast<std::size_t>(mb)];
      token_batch<S> b;
      b.N = row_begin[static_cast<std::size_t>(mb + 1)] - r0;
      b.T = T;
      b.logp = logp;
      b.old = old_.data() + r0 * T;
      b.ref = use_ref ? ref_lp_.data() + r0 * T : nullptr;
      b.mask = mask_.data() + r0 * T;
      b.lengths = lengths_.data() + r0;
      if constexpr (token_adv) b.token_advantages = adv_s_.data() + r0 * T;
      else b.advantages = adv_s_.data() + r0;
      b.entropy = ent;
      b.truncated = truncated_.data() + r0;
      // the sampler's log-probs; with the policy's own rollouts the sampler is the policy
      b.sampler_logp = (sampler_given_ ? sampler_lp_.data() : old_.data()) + r0 * T;
      return b;
    };
    // global normalisers: the sum of the micro-batches' totals, from the objective's own prepass
    batch_totals global;
    for (index_t mb = 0; mb < M; ++mb) {
      global += totals(objective_, batch_of(mb, old_.data() + row_begin[static_cast<std::size_t>(mb)] * T, nullptr));
    }
    if (dp_.active()) {  // and over the ranks: counts add, widths max
      double sums[3] = {global.tokens, global.sequences, global.nonempty}, widths[1] = {global.max_width};
      dp_.sum(sums, 3);
      dp_.max(widths, 1);
      global.tokens = sums[0], global.sequences = sums[1], global.nonempty = sums[2], global.max_width = widths[0];
    }

    loss = kl = clip_lo = clip_hi = entropy = ratio = tokens = gnorm = 0;
    for (index_t it = 0; it < cfg_.inner_iterations; ++it) {
      policy_.zero_grad();
      double it_loss = 0, it_tokens = 0, it_kl = 0, it_lo = 0, it_hi = 0, it_ent = 0, it_ratio = 0;
      GRPO_TRY(agreed([&]() -> status {  // local, agreed before the gradient's all-reduce
        for (index_t mb = 0; mb < M; ++mb) {
          const auto sub = subs[static_cast<std::size_t>(mb)];
          const index_t n = sub.size();
          logp_.assign(static_cast<std::size_t>(n * T), S(0));
          ent_.assign(static_cast<std::size_t>(n * T), S(0));
          dlogp_.assign(static_cast<std::size_t>(n * T), S(0));
          GRPO_TRY(policy_.logprobs(sub, tau, std::span<S>(logp_), std::span<S>(ent_)));
          const auto b = batch_of(mb, logp_.data(), ent_.data());
          gradient_out<S> g;
          g.dlogp = dlogp_.data();
          if constexpr (Objective::needs_entropy) {
            dent_.assign(static_cast<std::size_t>(n * T), S(0));
            g.dentropy = dent_.data();
          }
          objective_result res;
          GRPO_TRY(evaluate(objective_, b, g, res, exec_, global));
          if constexpr (Objective::needs_entropy)
            GRPO_TRY(policy_.backward(sub, std::span<const S>(dlogp_), std::span<const S>(dent_)));
          else
            GRPO_TRY(policy_.backward(sub, std::span<const S>(dlogp_), {}));
          const double w = res.stats.token_count;
          auto stat = [&](const char* name) { return res.stats.has(name) ? res.stats[name] : 0.0; };
          it_loss += res.loss;
          it_tokens += w;
          it_kl += w * stat("kl");
          it_lo += w * stat("clip_low");
          it_hi += w * stat("clip_high");
          it_ent += w * stat("entropy");
          it_ratio += w * stat("ratio");
        }
        return status{};
      }()));
      if (dp_.active()) {
        dp_.sum_gradients(policy_.gradients().data(), static_cast<index_t>(policy_.gradients().size()));
        double sums[7] = {it_loss, it_tokens, it_kl, it_lo, it_hi, it_ent, it_ratio};
        dp_.sum(sums, 7);
        it_loss = sums[0], it_tokens = sums[1], it_kl = sums[2], it_lo = sums[3], it_hi = sums[4], it_ent = sums[5];
        it_ratio = sums[6];
      }
      const double norm = optim::clip_grad_norm(policy_.gradients(), cfg_.max_grad_norm);
      GRPO_TRY(opt_.step(policy_.parameters(), std::span<const S>(policy_.gradients()), lr));
      if (it == 0) {  // the first inner iteration reports (ratio = 1 there when μ = 1)
        const double d = std::max(it_tokens, 1.0);
        loss = it_loss;
        tokens = it_tokens;
        kl = it_kl / d;
        clip_lo = it_lo / d;
        clip_hi = it_hi / d;
        entropy = it_ent / d;
        ratio = it_ratio / d;
        gnorm = norm;
      }
    }
    return {};
  }

  Policy& policy_;
  Env& env_;
  Estimator estimator_;
  Objective objective_;
  trainer_config cfg_;
  model::reference_model<Policy> ref_;
  optim::adamw opt_;
  model::rng_type rng_;
  Exec exec_{};
  index_t step_ = 0;
  index_t run_length_ = 0;
  // scratch, reused across steps
  prompt_list prompts_;
  model::rollout sampled_, rollout_;
  reward::reward_table table_;
  std::vector<double> reflective_, kept_total_;  // kept_total_: kept rewards [N, K]
  std::vector<float> rewards_, weights_, adv_;  // adv_: [N] or [N, T] (token-level estimators)
  std::vector<S> adv_s_, old_, ref_lp_, logp_, ent_, dlogp_, dent_, sampler_lp_;
  data_parallel<S> dp_;         // inactive: one process
  bool sampler_given_ = false;  // the current rollout came with an external sampler's log-probs
  bool drawn_ = false;          // draw_prompts was called and not yet answered
  std::vector<std::uint8_t> mask_, truncated_;
  std::vector<std::int32_t> lengths_;
};

}  // namespace grpo::train
