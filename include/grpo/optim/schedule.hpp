#pragma once
// Learning-rate schedules: linear warmup, then constant or cosine decay.
//   warmup (step < W):   η = η_peak · (step + 1)/W        (the first update already moves)
//   constant:            η = η_peak
//   cosine:              η = η_min + (η_peak − η_min)·½(1 + cos(π·s)),
//                        s = min(1, (step − W)/(total − W)),  η_min = min_ratio·η_peak
// `step` counts from 0 (the first update). HF's get_cosine_schedule_with_warmup uses step/W in
// the warmup, so its first update has η = 0; ours starts at η_peak/W.
#include <grpo/core/error.hpp>

#include <algorithm>
#include <cmath>
#include <string>

namespace grpo::optim {

enum class decay_kind { constant, cosine };

struct lr_schedule {
  double peak_lr = 1e-3;
  index_t warmup_steps = 0;
  index_t total_steps = 0;        // cosine reaches η_min here and stays there
  decay_kind decay = decay_kind::cosine;
  double min_ratio = 0.0;         // η_min / η_peak

  [[nodiscard]] double operator()(index_t step) const {
    if (step < warmup_steps) return peak_lr * static_cast<double>(step + 1) / static_cast<double>(warmup_steps);
    if (decay == decay_kind::constant) return peak_lr;
    const index_t span = total_steps - warmup_steps;
    const double s = span > 0 ? std::min(1.0, static_cast<double>(step - warmup_steps) / static_cast<double>(span)) : 1.0;
    const double lo = min_ratio * peak_lr;
    return lo + (peak_lr - lo) * 0.5 * (1.0 + std::cos(3.141592653589793 * s));
  }
};

inline status validate(const lr_schedule& s) {
  if (!(s.peak_lr >= 0) || !std::isfinite(s.peak_lr)) return {errc::bad_config, "peak_lr", -1, "must be finite and >= 0"};
  if (s.warmup_steps < 0) return {errc::bad_config, "warmup_steps", -1, "must be >= 0"};
  if (s.decay == decay_kind::cosine && s.total_steps < s.warmup_steps)
    return {errc::bad_config, "total_steps", -1, "cosine needs total_steps >= warmup_steps"};
  if (!(s.min_ratio >= 0 && s.min_ratio <= 1)) return {errc::bad_config, "min_ratio", -1, "must be in [0, 1]"};
  return {};
}

}  // namespace grpo::optim
