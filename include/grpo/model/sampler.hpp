#pragma once
// Drawing one token from a row of logits: temperature, top-k, top-p, and the log-probability
// that the loss will later compare against.
//
// The recorded log-probability is ALWAYS log softmax(z/τ)[token] of the full tempered
// distribution, whatever top-k / top-p removed, the same choice as TRL and vLLM (their sampler
// returns the logprobs of the tempered distribution before the top-k/top-p filter). The trainer
// recomputes logp with the same τ and no filter, so ratio = 1 exactly on the first inner step.
// The filter is then a (small) sampler/trainer mismatch that `correction::sampler_mismatch` can correct (docs/objective.md).
//
// Filter order (as HF and vLLM): top-k on the tempered probabilities, then top-p on the
// probabilities renormalised over the top-k survivors. Top-p keeps the smallest prefix, in
// descending probability (ties broken by lower token id), whose mass reaches p; at least one
// token always survives. temperature == 0 means greedy (argmax, lowest id on ties); the
// recorded logp is then that of softmax(z) (τ = 1).
#include <grpo/core/error.hpp>
#include <grpo/model/tempered_softmax.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <random>
#include <string>
#include <vector>

namespace grpo::model {

using token_t = std::int32_t;
/// The one random engine of the model layer: its state is what checkpoints save.
using rng_type = std::mt19937_64;

struct sampler_config {
  double temperature = 1.0;     // τ; 0 = greedy
  index_t top_k = 0;            // 0 = off
  double top_p = 1.0;           // 1 = off
  index_t max_new_tokens = 32;  // completion length cap (the context length caps it too)
  token_t stop_token = -1;      // generation of a sequence ends after this token; -1 = none
};

inline status validate(const sampler_config& c) {
  if (!(c.temperature >= 0.0) || !std::isfinite(c.temperature))
    return {errc::bad_config, "temperature", -1, "must be finite and >= 0"};
  if (c.top_k < 0) return {errc::bad_config, "top_k", -1, "must be >= 0 (0 = off)"};
  if (!(c.top_p > 0.0 && c.top_p <= 1.0))
    return {errc::bad_config, "top_p", -1, "must be in (0, 1]"};
  if (c.max_new_tokens <= 0) return {errc::bad_config, "max_new_tokens", -1, "must be > 0"};
  return {};
}

/// A uniform double in [0, 1) from the top 53 bits: the same sequence on every standard library
/// (std::uniform_real_distribution is not specified bit for bit).
inline double uniform01(rng_type& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

template <class S>
struct token_draw {
  token_t token;
  S logp;  // log softmax(z/τ)[token], full distribution (see the header comment)
};

/// Scratch space reused across draws so the decode loop allocates nothing.
template <class S>
struct sampler_workspace {
  std::vector<S> probs;
  std::vector<index_t> order;
};

/// The candidate set after top-k and top-p, in descending probability, and its total mass
/// (of the tempered distribution `probs`). Exposed for the tests, which check it against a
/// direct computation.
template <class S>
inline S filter_candidates(const std::vector<S>& probs, index_t top_k, double top_p,
                           std::vector<index_t>& order) {
  const auto vocab = static_cast<index_t>(probs.size());
  order.resize(static_cast<size_t>(vocab));
  std::iota(order.begin(), order.end(), index_t{0});
  std::sort(order.begin(), order.end(), [&](index_t a, index_t b) {
    return probs[a] > probs[b] || (probs[a] == probs[b] && a < b);
  });
  index_t keep = vocab;
  if (top_k > 0 && top_k < keep) keep = top_k;
  S mass = 0;
  for (index_t r = 0; r < keep; ++r) mass += probs[order[r]];
  if (top_p < 1.0) {
    // smallest prefix whose renormalised mass reaches p
    const S target = static_cast<S>(top_p) * mass;
    S cum = 0;
    index_t r = 0;
    while (r < keep) {
      cum += probs[order[r]];
      ++r;
      if (cum >= target) break;
    }
    keep = r;
    mass = cum;
  }
  order.resize(static_cast<size_t>(keep));
  return mass;
}

/// Draws one token from logits z[0..V) under `cfg` (its max_new_tokens / stop_token are not
/// used here). The caller validates `cfg` once.
template <class S>
inline token_draw<S> sample_token(const S* z, index_t vocab, const sampler_config& cfg,
                                  rng_type& rng, sampler_workspace<S>& ws) {
  ws.probs.resize(static_cast<size_t>(vocab));
  if (cfg.temperature == 0.0) {
    const index_t y = static_cast<index_t>(std::max_element(z, z + vocab) - z);
    const auto row = tempered_softmax_row<S>(z, vocab, y, S(1), nullptr);
    return {static_cast<token_t>(y), row.logp};
  }
  const S tau = static_cast<S>(cfg.temperature);
  tempered_softmax_row<S>(z, vocab, 0, tau, ws.probs.data());
  index_t y = vocab - 1;
  if (cfg.top_k == 0 && cfg.top_p >= 1.0) {
    // inverse CDF over the full distribution
    const double u = uniform01(rng);
    double cum = 0;
    for (index_t v = 0; v < vocab; ++v) {
      cum += static_cast<double>(ws.probs[v]);
      if (u < cum) { y = v; break; }
    }
    // rounding can leave cum slightly below 1: fall back to the last token with p > 0
    if (u >= cum)
      while (y > 0 && ws.probs[y] == S(0)) --y;
  } else {
    const S mass = filter_candidates(ws.probs, cfg.top_k, cfg.top_p, ws.order);
    const double u = uniform01(rng) * static_cast<double>(mass);
    double cum = 0;
    y = ws.order.back();
    for (index_t v : ws.order) {
      cum += static_cast<double>(ws.probs[v]);
      if (u < cum) { y = v; break; }
    }
  }
  // log p from the logits directly: more accurate than log(probs[y]) for tiny p
  const auto row = tempered_softmax_row<S>(z, vocab, y, tau, nullptr);
  return {static_cast<token_t>(y), row.logp};
}

}  // namespace grpo::model
