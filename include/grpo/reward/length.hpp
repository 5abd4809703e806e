#pragma once
// Length-shaped rewards: Kimi k1.5's length penalty (arXiv:2501.12599 §2.3.3), the cosine
// scaling of Yeo et al. 2025 (arXiv:2502.03373), DAPO's overlong shaping (arXiv:2503.14476
// eq. 13). `len` is the completion's token count.
//   kimi_length (group):  λ = 0.5 − (len − min)/(max − min) over the group; λ if correct,
//                         min(0, λ) if wrong; 0 for all when max = min.
//   cosine_scaled:        lo + ½(hi − lo)(1 + cos(π·len/L)), (lo, hi) = (0.5, 1.0) if correct,
//                         (−0.5, −1.0) if wrong; len is clamped to L.
//   soft_overlong:        (DAPO eq. 13) 0 if len ≤ L_max − L_cache;
//                         (L_max − L_cache − len)/L_cache if len ≤ L_max; −1 beyond.
#include <grpo/reward/accuracy.hpp>

#include <algorithm>
#include <cmath>
#include <numbers>

namespace grpo::reward {

struct kimi_length {
  accuracy is_correct{};

  void operator()(std::span<const completion> group, std::span<double> out) const {
    if (group.empty()) return;
    index_t lo = group[0].num_tokens, hi = group[0].num_tokens;
    for (const auto& c : group) {
      lo = std::min(lo, c.num_tokens);
      hi = std::max(hi, c.num_tokens);
    }
    for (std::size_t i = 0; i < group.size(); ++i) {
      if (hi == lo) {
        out[i] = 0.0;
        continue;
      }
      const double lambda =
          0.5 - static_cast<double>(group[i].num_tokens - lo) / static_cast<double>(hi - lo);
      out[i] = is_correct.correct(group[i]) ? lambda : std::min(0.0, lambda);
    }
  }
};

struct cosine_scaled {
  index_t max_length = 256;  // L
  double min_value_correct = 0.5, max_value_correct = 1.0;
  double min_value_wrong = -0.5, max_value_wrong = -1.0;
  accuracy is_correct{};

  [[nodiscard]] status validate() const {
    if (max_length < 1) return {errc::bad_config, "cosine_scaled.max_length", -1, "need L >= 1"};
    return {};
  }

  double operator()(const completion& c) const {
    const bool ok = is_correct.correct(c);
    const double lo = ok ? min_value_correct : min_value_wrong;
    const double hi = ok ? max_value_correct : max_value_wrong;
    const double len = static_cast<double>(std::clamp<index_t>(c.num_tokens, 0, max_length));
    const double L = static_cast<double>(std::max<index_t>(max_length, 1));
    return lo + 0.5 * (hi - lo) * (1.0 + std::cos(std::numbers::pi * len / L));
  }
};

struct soft_overlong {
  index_t max_length = 256;   // L_max
  index_t cache_length = 64;  // L_cache: the soft band below L_max

  [[nodiscard]] status validate() const {
    if (cache_length < 1 || cache_length > max_length)
      return {errc::bad_config, "soft_overlong.cache_length", -1,
              "need 1 <= L_cache <= L_max, got L_cache = " + std::to_string(cache_length) +
                  ", L_max = " + std::to_string(max_length)};
    return {};
  }

  double operator()(const completion& c) const {
    const index_t len = c.num_tokens;
    if (len <= max_length - cache_length) return 0.0;
    if (len <= max_length)
      return static_cast<double>(max_length - cache_length - len) /
             static_cast<double>(std::max<index_t>(cache_length, 1));
    return -1.0;
  }
};

}  // namespace grpo::reward
