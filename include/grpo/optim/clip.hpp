#pragma once
// Global gradient-norm clipping: ‖g‖ = √(Σ_k g_k²) over all parameters; when ‖g‖ > c every
// gradient is scaled by c/(‖g‖ + 1e-6) (torch.nn.utils.clip_grad_norm_). Returns the norm
// before clipping, for the logs. A non-finite norm leaves the gradients untouched (the
// optimiser then refuses the step with a non_finite status).
#include <grpo/core/macros.hpp>

#include <cmath>
#include <span>

namespace grpo::optim {

/// The L2 norm of all gradients, accumulated in float64.
template <class S>
double global_norm(std::span<const S> grads) {
  double s = 0;
  for (S g : grads) s += static_cast<double>(g) * static_cast<double>(g);
  return std::sqrt(s);
}

/// Clips in place to `max_norm` (<= 0 disables clipping) and returns the pre-clip norm.
template <class S>
double clip_grad_norm(std::span<S> grads, double max_norm) {
  const double norm = global_norm(std::span<const S>(grads));
  if (max_norm > 0 && std::isfinite(norm) && norm > max_norm) {
    const S scale = static_cast<S>(max_norm / (norm + 1e-6));
    for (S& g : grads) g *= scale;
  }
  return norm;
}

}  // namespace grpo::optim
