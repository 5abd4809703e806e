#pragma once
// AdamW (Loshchilov & Hutter): Adam with bias correction and decoupled weight decay, over one
// flat parameter array. With g the gradient, t the step count after increment, λ the weight
// decay and η the learning rate of this step:
//   θ ← θ − η·λ·θ                                  (decoupled: not part of the gradient)
//   m ← β₁ m + (1 − β₁) g,     v ← β₂ v + (1 − β₂) g²
//   m̂ = m/(1 − β₁ᵗ),           v̂ = v/(1 − β₂ᵗ)
//   θ ← θ − η · m̂ / (√v̂ + ε)
// The same order as torch.optim.AdamW. The moments are kept in float64 so long runs in float32
// parameters do not drift with rounding; the state is what checkpoints save.
#include <grpo/core/error.hpp>

#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace grpo::optim {

struct adamw_config {
  double lr = 1e-3;            // peak η; a schedule scales it per step
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;   // λ
};

inline status validate(const adamw_config& c) {
  if (!(c.lr >= 0) || !std::isfinite(c.lr)) return {errc::bad_config, "lr", -1, "must be finite and >= 0"};
  if (!(c.beta1 >= 0 && c.beta1 < 1)) return {errc::bad_config, "beta1", -1, "must be in [0, 1)"};
  if (!(c.beta2 >= 0 && c.beta2 < 1)) return {errc::bad_config, "beta2", -1, "must be in [0, 1)"};
  if (!(c.eps > 0)) return {errc::bad_config, "eps", -1, "must be > 0"};
  if (!(c.weight_decay >= 0)) return {errc::bad_config, "weight_decay", -1, "must be >= 0"};
  return {};
}

/// A contiguous range of the flat parameter array that weight decay skips (biases, gains).
struct decay_exclusion {
  index_t offset = 0;
  index_t size = 0;
};

/// The optimiser's state: everything a resumed run needs.
struct adamw_state {
  std::int64_t step = 0;       // t: updates done so far
  std::vector<double> m, v;    // first and second moments, one per parameter
};

class adamw {
 public:
  explicit adamw(adamw_config cfg = {}) : cfg_(cfg) {}

  [[nodiscard]] const adamw_config& config() const { return cfg_; }
  adamw_config& config() { return cfg_; }
  [[nodiscard]] const adamw_state& state() const { return state_; }
  adamw_state& state() { return state_; }

  /// Parameters whose ranges are listed here get no weight decay (call once; ranges of the
  /// flat array, e.g. the transformer's blocks with decay == false).
  void exclude_from_decay(std::vector<decay_exclusion> ranges) {
    no_decay_ = std::move(ranges);
    decay_mask_.clear();
  }

  /// Excludes every block whose `decay` flag is false (any range of objects with `offset`,
  /// `size()` and `decay`, e.g. transformer::blocks()).
  template <class Blocks>
  void exclude_blocks_without_decay(const Blocks& blocks) {
    std::vector<decay_exclusion> r;
    for (const auto& b : blocks)
      if (!b.decay) r.push_back({b.offset, b.size()});
    exclude_from_decay(std::move(r));
  }

  /// One update with learning rate `lr` (pass the schedule's value; `config().lr` when
  /// omitted). Fails without touching θ when sizes disagree or a gradient is not finite.
  template <class S>
  status step(std::span<S> params, std::span<const S> grads, double lr) {
    GRPO_TRY(validate(cfg_));
    if (params.size() != grads.size())
      return {errc::shape_mismatch, "grads", -1,
              "size " + std::to_string(grads.size()) + " differs from params " + std::to_string(params.size())};
    if (state_.m.empty()) {
      state_.m.assign(params.size(), 0.0);
      state_.v.assign(params.size(), 0.0);
    }
    if (state_.m.size() != params.size() || state_.v.size() != params.size())
      return {errc::shape_mismatch, "params", -1, "size differs from the optimiser state"};
    for (size_t k = 0; k < grads.size(); ++k)
      if (!std::isfinite(static_cast<double>(grads[k])))
        return {errc::non_finite, "grads", static_cast<index_t>(k), "gradient is NaN or Inf; no update made"};
    if (!(lr >= 0) || !std::isfinite(lr)) return {errc::bad_config, "lr", -1, "must be finite and >= 0"};
    if (decay_mask_.size() != params.size()) {
      decay_mask_.assign(params.size(), 1);
      for (const auto& r : no_decay_)
        for (index_t k = r.offset; k < r.offset + r.size && k < static_cast<index_t>(params.size()); ++k)
          decay_mask_[static_cast<size_t>(k)] = 0;
    }
    state_.step += 1;
    const double t = static_cast<double>(state_.step);
    const double c1 = 1.0 - std::pow(cfg_.beta1, t), c2 = 1.0 - std::pow(cfg_.beta2, t);
    const double b1 = cfg_.beta1, b2 = cfg_.beta2, decay = lr * cfg_.weight_decay;
    for (size_t k = 0; k < params.size(); ++k) {
      const double g = static_cast<double>(grads[k]);
      double& m = state_.m[k];
      double& v = state_.v[k];
      m = b1 * m + (1 - b1) * g;
      v = b2 * v + (1 - b2) * g * g;
      double theta = static_cast<double>(params[k]);
      if (decay_mask_[k]) theta -= decay * theta;
      theta -= lr * (m / c1) / (std::sqrt(v / c2) + cfg_.eps);
      params[k] = static_cast<S>(theta);
    }
    return {};
  }

  template <class S>
  status step(std::span<S> params, std::span<const S> grads) {
    return step(params, grads, cfg_.lr);
  }
  template <class S>
  status step(std::span<S> params, std::span<S> grads, double lr) {
    return step(params, std::span<const S>(grads), lr);
  }
  template <class S>
  status step(std::span<S> params, std::span<S> grads) {
    return step(params, std::span<const S>(grads), cfg_.lr);
  }

 private:
  adamw_config cfg_;
  adamw_state state_;
  std::vector<decay_exclusion> no_decay_;
  std::vector<unsigned char> decay_mask_;
};

}  // namespace grpo::optim
