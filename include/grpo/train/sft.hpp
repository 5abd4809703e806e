#pragma once
// Supervised fine-tuning: the cold-start and rejection-sampling SFT stages of DeepSeek-R1
// (arXiv:2501.12948, §2.3.1 and §2.3.3). A dataset of (prompt, completion) token sequences; the
// loss is the next-token cross-entropy of the completion tokens only,
//     L = −(1/M) Σ_examples Σ_{t in completion} log π(y_t | prompt, y_<t),   M = completion tokens,
// averaged over the tokens of the whole optimiser batch, so that splitting the batch into
// `micro_batches` (gradient accumulation) gives the same gradient: each micro-batch contributes
// ∂L/∂logp = −1/M on its completion tokens, with M the batch's total.
//
// Examples are packed end to end in a `model::sequence_batch` (no padding); the prompt is
// context only. Each epoch visits the examples in a fresh order drawn from (seed, epoch), so the
// order is a function of the step counter alone and a checkpoint of (parameters, optimiser,
// step) resumes the run bit for bit. It works with any `model::differentiable_policy`.
//
//   grpo::train::sft_trainer sft(policy, examples, cfg);
//   while (!sft.done()) { grpo::train::sft_step_result r; GRPO_TRY(sft.step(r)); }
#include <grpo/core/error.hpp>
#include <grpo/model/policy.hpp>
#include <grpo/optim/adamw.hpp>
#include <grpo/optim/clip.hpp>
#include <grpo/optim/schedule.hpp>
#include <grpo/task/random.hpp>
#include <grpo/train/checkpoint.hpp>
#include <grpo/train/metrics.hpp>
#include <grpo/train/pretrain.hpp>

#include <cstdint>
#include <filesystem>
#include <numeric>
#include <span>
#include <string>
#include <vector>

namespace grpo::train {

struct sft_example {
  std::vector<model::token_t> prompt;      // context: at least one token
  std::vector<model::token_t> completion;  // predicted: at least one token
};

struct sft_config {
  index_t epochs = 1;
  index_t batch_size = 16;    // examples per optimiser step
  index_t micro_batches = 1;  // gradient accumulation: the batch is split into this many parts
  bool shuffle = true;        // a fresh order every epoch (from seed and epoch)
  bool drop_last = false;     // drop an epoch's last, smaller batch instead of stepping on it
  /// peak_lr is the learning rate; total_steps = 0 means "the run's length" for the cosine.
  optim::lr_schedule schedule{1e-3, 0, 0, optim::decay_kind::cosine, 0.0};
  double max_grad_norm = 1.0;  // 0 = no clipping
  std::uint64_t seed = 0;
  index_t checkpoint_every = 0;  // steps; 0 = never
  std::filesystem::path checkpoint_path = "sft.ckpt";
};

inline status validate(const sft_config& c) {
  if (c.epochs < 1) return {errc::bad_config, "epochs", -1, "need at least one epoch"};
  if (c.batch_size < 1) return {errc::bad_config, "batch_size", -1, "need batch_size >= 1"};
  if (c.micro_batches < 1 || c.micro_batches > c.batch_size)
    return {errc::bad_config, "micro_batches", -1,
            "need 1 <= micro_batches <= batch_size = " + std::to_string(c.batch_size)};
  if (!(c.max_grad_norm >= 0)) return {errc::bad_config, "max_grad_norm", -1, "must be >= 0"};
  if (c.checkpoint_every < 0) return {errc::bad_config, "checkpoint_every", -1, "must be >= 0"};
  optim::lr_schedule s = c.schedule;
  if (s.total_steps == 0) s.total_steps = s.warmup_steps;
  return optim::validate(s);
}

/// Every example has a prompt and a completion (each at least one token).
inline status validate(std::span<const sft_example> data) {
  if (data.empty()) return {errc::shape_mismatch, "examples", -1, "no examples"};
  for (std::size_t i = 0; i < data.size(); ++i) {
    if (data[i].prompt.empty())
      return {errc::shape_mismatch, "examples.prompt", static_cast<index_t>(i), "an empty prompt (it needs at least one token of context)"};
    if (data[i].completion.empty())
      return {errc::shape_mismatch, "examples.completion", static_cast<index_t>(i), "an empty completion (nothing to learn)"};
  }
  return {};
}

struct sft_step_result {
  index_t step = 0;       // 0-based index of this optimiser step
  index_t epoch = 0;
  double loss = 0;        // mean negative log-likelihood per completion token (nats)
  double tokens = 0;      // completion tokens in the batch
  double grad_norm = 0;   // before clipping
  double lr = 0;
};

/// The examples of epoch `epoch` in the order it visits them: the identity, or a Fisher–Yates
/// permutation drawn from (seed, epoch) only.
inline std::vector<index_t> epoch_order(index_t n, index_t epoch, std::uint64_t seed, bool shuffle) {
  std::vector<index_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), index_t{0});
  if (!shuffle) return order;
  task::splitmix64 rng(seed ^ (0x9E3779B97F4A7C15ull * static_cast<std::uint64_t>(epoch + 1)));
  for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
  return order;
}

template <model::differentiable_policy P>
class sft_trainer {
 public:
  using S = typename P::scalar_type;

  sft_trainer(P& policy, std::span<const sft_example> data, sft_config cfg, optim::adamw_config opt = {})
      : policy_(policy), data_(data), cfg_(std::move(cfg)), opt_(opt) {}

  [[nodiscard]] index_t steps_per_epoch() const {
    const auto n = static_cast<index_t>(data_.size());
    return cfg_.drop_last ? n / cfg_.batch_size : (n + cfg_.batch_size - 1) / cfg_.batch_size;
  }
  [[nodiscard]] index_t total_steps() const { return cfg_.epochs * steps_per_epoch(); }
  [[nodiscard]] index_t step_index() const { return step_; }
  [[nodiscard]] bool done() const { return step_ >= total_steps(); }
  [[nodiscard]] const optim::adamw& optimizer() const { return opt_; }

  /// The learning rate of step `k`: the schedule, its cosine spanning the run when
  /// total_steps = 0.
  [[nodiscard]] double learning_rate(index_t k) const {
    optim::lr_schedule s = cfg_.schedule;
    if (s.total_steps == 0) s.total_steps = std::max(total_steps(), s.warmup_steps);
    return s(k);
  }

  /// The examples of step `k`, in order.
  [[nodiscard]] std::vector<index_t> batch_of(index_t k) const {
    const index_t per_epoch = steps_per_epoch();
    const index_t epoch = k / per_epoch, within = k % per_epoch;
    const auto order = epoch_order(static_cast<index_t>(data_.size()), epoch, cfg_.seed, cfg_.shuffle);
    const index_t b = within * cfg_.batch_size;
    const index_t e = std::min<index_t>(b + cfg_.batch_size, static_cast<index_t>(order.size()));
    return {order.begin() + b, order.begin() + e};
  }

  /// One optimiser step on the next batch (micro-batches accumulate into one update).
  status step(sft_step_result& out) {
    if (!checked_) {
      GRPO_TRY(validate(cfg_));
      GRPO_TRY(validate(data_));
      if (steps_per_epoch() == 0)
        return {errc::bad_config, "batch_size", -1, "drop_last with fewer examples than one batch leaves no step"};
      checked_ = true;
    }
    if (done()) return {errc::out_of_range, "step", step_, "the run is over (" + std::to_string(total_steps()) + " steps)"};
    const auto members = batch_of(step_);
    // the batch's completion tokens: the normaliser of every micro-batch
    index_t M = 0;
    for (index_t i : members) M += static_cast<index_t>(data_[static_cast<std::size_t>(i)].completion.size());
    const S g = static_cast<S>(-1.0 / static_cast<double>(M));
    const auto parts = std::min<index_t>(cfg_.micro_batches, static_cast<index_t>(members.size()));
    policy_.zero_grad();
    double nll = 0;
    for (index_t mb = 0; mb < parts; ++mb) {
      const auto b = members.size() * static_cast<std::size_t>(mb) / static_cast<std::size_t>(parts);
      const auto e = members.size() * static_cast<std::size_t>(mb + 1) / static_cast<std::size_t>(parts);
      model::sequence_batch batch;
      for (std::size_t k = b; k < e; ++k) {
        const auto& ex = data_[static_cast<std::size_t>(members[k])];
        batch.add(ex.prompt, ex.completion);
      }
      const index_t n = batch.size(), T = batch.max_completion_length();
      std::vector<S> logp(static_cast<std::size_t>(n * T)), dlogp(static_cast<std::size_t>(n * T), S(0));
      GRPO_TRY(policy_.logprobs(batch, S(1), std::span<S>(logp), {}));
      nll += completion_nll(batch, T, std::span<const S>(logp), g, std::span<S>(dlogp));
      GRPO_TRY(policy_.backward(batch, std::span<const S>(dlogp), {}));  // adds to the gradients
    }
    out = {};
    out.step = step_;
    out.epoch = step_ / steps_per_epoch();
    out.tokens = static_cast<double>(M);
    out.loss = nll / static_cast<double>(M);
    out.lr = learning_rate(step_);
    out.grad_norm = cfg_.max_grad_norm > 0 ? optim::clip_grad_norm(policy_.gradients(), cfg_.max_grad_norm)
                                           : optim::clip_grad_norm(policy_.gradients(), 0.0);
    GRPO_TRY(opt_.step(policy_.parameters(), std::span<const S>(policy_.gradients()), out.lr));
    ++step_;
    if (cfg_.checkpoint_every > 0 && step_ % cfg_.checkpoint_every == 0) GRPO_TRY(save(cfg_.checkpoint_path));
    return {};
  }

  /// Every remaining step; each step's metrics go to `log` when it is open.
  status run(metrics_writer* log = nullptr) {
    while (!done()) {
      sft_step_result r;
      GRPO_TRY(step(r));
      if (log && log->is_open()) {
        metrics_record m;
        m.set("step", static_cast<double>(r.step));
        m.set("epoch", static_cast<double>(r.epoch));
        m.set("loss", r.loss);
        m.set("tokens", r.tokens);
        m.set("grad_norm", r.grad_norm);
        m.set("lr", r.lr);
        GRPO_TRY(log->write(m));
      }
    }
    return {};
  }

  // ---- checkpoints: parameters, optimiser, step (the data order follows from the step) --------
  [[nodiscard]] checkpoint make_checkpoint() const {
    checkpoint c;
    c.put_parameters(std::span<const S>(const_cast<P&>(policy_).parameters()));
    c.put_optimizer(opt_.state());
    c.put_i64("sft.step", step_);
    c.put_i64("sft.examples", static_cast<std::int64_t>(data_.size()));
    return c;
  }
  status save(const std::filesystem::path& path) const { return save_checkpoint(path, make_checkpoint()); }
  status load(const std::filesystem::path& path) {
    checkpoint c;
    GRPO_TRY(load_checkpoint(path, c));
    return restore(c);
  }
  /// Restores a checkpoint of the same model, data and configuration; nothing changes when it
  /// is refused.
  status restore(const checkpoint& c) {
    std::vector<S> params(policy_.parameters().size());
    optim::adamw_state st;
    GRPO_TRY(c.get_model_and_optimizer(params, st));
    std::int64_t step = 0, examples = 0;
    GRPO_TRY(c.get_i64("sft.step", step));
    GRPO_TRY(c.get_i64("sft.examples", examples));
    if (examples != static_cast<std::int64_t>(data_.size()))
      return {errc::shape_mismatch, "sft.examples", -1,
              "the checkpoint was made with " + std::to_string(examples) + " examples, this run has " +
                  std::to_string(data_.size())};
    if (step < 0 || step > total_steps()) return {errc::corrupt_data, "sft.step", -1, "step outside the run"};
    std::copy(params.begin(), params.end(), policy_.parameters().begin());
    opt_.state() = std::move(st);
    step_ = step;
    return {};
  }

 private:
  P& policy_;
  std::span<const sft_example> data_;
  sft_config cfg_;
  optim::adamw opt_;
  index_t step_ = 0;
  bool checked_ = false;
};

}  // namespace grpo::train
