#pragma once
// The library's own naive multi-pass selective log-softmax: the baseline the benchmarks compare
// the fused path with. It does what an eager framework does: materialises z/τ and then the full
// log-softmax [tokens, V] in fp32 (several passes over memory, scalar std::exp), then gathers the
// chosen column. Correct, slow, and O(tokens × V) extra memory; not meant for production.
#include <grpo/core/bf16.hpp>
#include <grpo/logprob/selective_log_softmax.hpp>

#include <cmath>
#include <new>
#include <vector>

namespace grpo::logprob {

namespace naive_detail {
/// log_softmax(z/τ) for every row, materialised: passes 1 (scale, write), 2 (max), 3 (sum of
/// exponentials), 4 (subtract logsumexp, write).
template <class T>
status materialise_log_softmax(const T* logits, const logits_shape& shape, float temperature,
                               std::vector<float>& out) {
  try {
    out.resize(static_cast<std::size_t>(shape.tokens * shape.vocab));
  } catch (const std::bad_alloc&) {
    return {errc::out_of_memory, "log_softmax", -1, "the naive path materialises [tokens, vocab]"};
  }
  const index_t V = shape.vocab;
  GRPO_LOGPROB_OMP_FOR
  for (index_t t = 0; t < shape.tokens; ++t) {
    float* y = out.data() + t * V;
    const T* z = logits + t * shape.stride();
    for (index_t v = 0; v < V; ++v) y[v] = to_float(z[v]) / temperature;
  }
  GRPO_LOGPROB_OMP_FOR
  for (index_t t = 0; t < shape.tokens; ++t) {
    float* y = out.data() + t * V;
    float m = -INFINITY;
    for (index_t v = 0; v < V; ++v) m = std::max(m, y[v]);
    float s = 0;
    for (index_t v = 0; v < V; ++v) s += std::exp(y[v] - m);
    const float lse = m + std::log(s);
    for (index_t v = 0; v < V; ++v) y[v] -= lse;
  }
  return {};
}
}  // namespace naive_detail

/// Naive forward: logp[t] = log_softmax(z[t,:]/τ)[y_t], through a materialised log-softmax.
template <class T>
status selective_log_softmax_naive_forward(const T* logits, const logits_shape& shape,
                                           const std::int64_t* targets, float temperature, float* logp) {
  GRPO_TRY(cpu_detail::check_forward_inputs(logits, shape, targets, temperature, logp));
  std::vector<float> lsm;
  GRPO_TRY(naive_detail::materialise_log_softmax(logits, shape, temperature, lsm));
  for (index_t t = 0; t < shape.tokens; ++t) logp[t] = lsm[static_cast<std::size_t>(t * shape.vocab + targets[t])];
  return {};
}

/// Naive backward: recomputes the materialised log-softmax, then
/// dlogits = g·(onehot(y) − exp(log_softmax))/τ in a further pass.
template <class T>
status selective_log_softmax_naive_backward(const T* logits, const logits_shape& shape,
                                            const std::int64_t* targets, float temperature,
                                            const float* dlogp, T* dlogits) {
  GRPO_TRY(cpu_detail::check_forward_inputs(logits, shape, targets, temperature, dlogp, "dlogp"));
  GRPO_TRY(detail::check_not_null(dlogits, "dlogits"));
  std::vector<float> lsm;
  GRPO_TRY(naive_detail::materialise_log_softmax(logits, shape, temperature, lsm));
  const index_t V = shape.vocab;
  GRPO_LOGPROB_OMP_FOR
  for (index_t t = 0; t < shape.tokens; ++t) {
    const float* y = lsm.data() + t * V;
    T* dz = dlogits + t * shape.stride();
    for (index_t v = 0; v < V; ++v) {
      const float onehot = v == targets[t] ? 1.0f : 0.0f;
      dz[v] = from_float<T>(dlogp[t] * (onehot - std::exp(y[v])) / temperature);
    }
  }
  return {};
}

}  // namespace grpo::logprob
