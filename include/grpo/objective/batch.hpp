#pragma once
// The inputs of one objective evaluation: non-owning views over the caller's memory, padded
// row-major [N, T] arrays. Nothing here owns or copies data, so the same struct describes host
// arrays (CPU backends) and device arrays (CUDA backend).
//
// A token (i, t) is "in" iff mask[i,t] != 0 (when a mask is given) and t < lengths[i] (when
// lengths are given); at least one of the two must be given.
#include <grpo/core/macros.hpp>

#include <cstdint>

namespace grpo {

template <class Real = float>
struct token_batch {
  using real_type = Real;

  index_t N = 0;  // sequences
  index_t T = 0;  // padded length

  const Real* logp = nullptr;  // [N,T] log π_θ (required; the only input with a gradient)
  const Real* old = nullptr;   // [N,T] log π_old; null => old = sg(logp), ratio 1
  const Real* ref = nullptr;   // [N,T] log π_ref; required iff the objective has a KL term

  const std::uint8_t* mask = nullptr;   // [N,T] 0/1
  const std::int32_t* lengths = nullptr;  // [N] completion lengths

  const Real* advantages = nullptr;        // [N], broadcast over the sequence's tokens
  const Real* token_advantages = nullptr;  // [N,T] (process supervision); exactly one of the two

  const Real* entropy = nullptr;       // [N,T] per-token entropy (entropy bonus, top-entropy)
  const Real* sampler_logp = nullptr;  // [N,T] log-probs reported by the sampler (vLLM)
  const std::uint8_t* truncated = nullptr;  // [N] 1 = completion hit the length limit (no EOS)

  GRPO_HD index_t flat(index_t i, index_t t) const { return i * T + t; }

  /// Whether token (i, t) takes part (before objective-level masks such as truncation).
  GRPO_HD bool in(index_t i, index_t t) const {
    const bool m = mask == nullptr || mask[i * T + t] != 0;
    const bool l = lengths == nullptr || t < static_cast<index_t>(lengths[i]);
    return m && l;
  }

  /// Upper bound of t for sequence i (lets loops skip the padding tail when lengths are given).
  GRPO_HD index_t row_end(index_t i) const {
    if (lengths == nullptr) return T;
    const index_t l = static_cast<index_t>(lengths[i]);
    return l < T ? (l < 0 ? 0 : l) : T;
  }

  GRPO_HD Real advantage(index_t i, index_t t) const {
    return token_advantages != nullptr ? token_advantages[i * T + t] : advantages[i];
  }
  GRPO_HD Real old_logp(index_t i, index_t t) const {
    return old != nullptr ? old[i * T + t] : logp[i * T + t];
  }
};

/// The caller's gradient buffer. `dlogp` null => loss and statistics only.
enum class grad_mode : std::uint8_t {
  write,       // dlogp[i,t] = dL/dlogp; masked-out positions get 0
  accumulate,  // dlogp[i,t] += dL/dlogp; masked-out positions untouched
};

template <class Real = float>
struct gradient_out {
  Real* dlogp = nullptr;    // [N,T]
  grad_mode mode = grad_mode::write;
  Real* dentropy = nullptr; // [N,T] optional dL/dH (entropy bonus), same write/accumulate rule
};

}  // namespace grpo
