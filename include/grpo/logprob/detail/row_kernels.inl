// The per-row passes of selective log-softmax, written once over a vector policy `ops` that the
// including file defines (scalar, or AVX2 under a target pragma). Included inside a namespace by
// selective_log_softmax.hpp; not a header of its own.
//
// Forward, per row (one read of the logits from memory): the row is cut into blocks that fit in
// L1. A block's maximum is taken first, the running maximum m moves up to it (rescaling s and w,
// softmax_stats.hpp derives the rule), then the block is read again from L1 to add
// exp(z'−m) to s and exp(z'−m)·(z'−m) to w.
// Backward, per row (read + write): dL/dz_v = (g·1[v=y] − p_v·(g + g_H·(log p_v + H)))/τ, where
// log p_v = z_v/τ − lse and g_H = dL/dH is the entropy's upstream gradient, using
// dH/dz'_v = −p_v·(log p_v + H).

/// Block length in elements: 8 KB of fp32 logits, so the second read hits L1.
inline constexpr index_t block_len = 2048;

template <class T, bool Entropy>
row_result row_forward(const T* z, index_t vocab, float inv_tau) {
  using vec = typename ops::vec;
  constexpr index_t W = ops::width;
  constexpr float lowest = -std::numeric_limits<float>::max();
  float m = -INFINITY;  // running max of z/τ
  double s = 0, w = 0;  // relative to m, accumulated across blocks in double
  for (index_t b0 = 0; b0 < vocab; b0 += block_len) {
    const index_t b1 = std::min(vocab, b0 + block_len);
    vec vmax = ops::set1(-INFINITY);
    index_t v = b0;
    for (; v + W <= b1; v += W) vmax = ops::max_keep(ops::load(z + v), vmax);  // NaN never enters
    float bm = ops::hmax(vmax);
    for (; v < b1; ++v) bm = std::max(bm, to_float(z[v]));
    if (bm == -INFINITY) {  // a fully masked block adds nothing, unless it hides a NaN
      for (v = b0; v < b1; ++v)
        if (to_float(z[v]) != -INFINITY) return {NAN, NAN};
      continue;
    }
    const float bm_scaled = bm * inv_tau;
    if (bm_scaled > m) {
      if (s != 0) {
        const double dm = static_cast<double>(m) - static_cast<double>(bm_scaled);
        const double c = std::exp(dm);
        w = c * (w + s * dm);
        s *= c;
      }
      m = bm_scaled;
    }
    const vec vt = ops::set1(inv_tau), vneg_m = ops::set1(-m);
    vec vs = ops::set1(0.0f), vw = ops::set1(0.0f);
    for (v = b0; v + W <= b1; v += W) {
      const vec x = ops::fmadd(ops::load(z + v), vt, vneg_m);  // z'/τ − m ≤ 0
      const vec e = ops::exp(x);
      vs = ops::add(vs, e);
      // a masked entry has e = 0 and x = −inf; clamping x to the lowest float keeps 0·x = 0
      if constexpr (Entropy) vw = ops::fmadd(e, ops::max_keep(ops::set1(lowest), x), vw);
    }
    float ts = 0, tw = 0;
    for (; v < b1; ++v) {
      const float x = std::fma(to_float(z[v]), inv_tau, -m);
      const float e = simd::exp_scalar(x);
      ts += e;
      if constexpr (Entropy) tw += x == -INFINITY ? 0.0f : e * x;
    }
    s += static_cast<double>(ops::hsum(vs)) + ts;
    if constexpr (Entropy) w += static_cast<double>(ops::hsum(vw)) + tw;
  }
  const double log_s = std::log(s);
  return {static_cast<float>(static_cast<double>(m) + log_s), static_cast<float>(log_s - w / s)};
}

template <class T, bool Entropy>
void row_backward(const T* z, T* dz, index_t vocab, index_t target, float inv_tau, float lse, float g,
                  float g_entropy, float entropy) {
  using vec = typename ops::vec;
  constexpr index_t W = ops::width;
  // read before an in-place overwrite; target < 0: the chosen token is not in this (partial) row
  const float z_target = target >= 0 ? to_float(z[target]) : 0.0f;
  // below −150, p = exp(log p) is already 0: the clamp keeps 0·(−inf) out of the entropy term
  constexpr float log_p_floor = -150.0f;
  const vec vt = ops::set1(inv_tau), vneg_lse = ops::set1(-lse);
  const vec vneg_g_over_tau = ops::set1(-g * inv_tau), vneg_inv_tau = ops::set1(-inv_tau);
  const vec vg = ops::set1(g), vgh = ops::set1(g_entropy), vh = ops::set1(entropy);
  index_t v = 0;
  for (; v + W <= vocab; v += W) {
    const vec log_p = ops::fmadd(ops::load(z + v), vt, vneg_lse);
    const vec p = ops::exp(log_p);
    if constexpr (Entropy) {
      const vec k = ops::fmadd(vgh, ops::add(ops::max_keep(ops::set1(log_p_floor), log_p), vh), vg);
      ops::store(dz + v, ops::mul(ops::mul(p, k), vneg_inv_tau));
    } else {
      ops::store(dz + v, ops::mul(p, vneg_g_over_tau));
    }
  }
  for (; v < vocab; ++v) {
    const float log_p = std::fma(to_float(z[v]), inv_tau, -lse);
    const float p = simd::exp_scalar(log_p);
    float k = g;
    if constexpr (Entropy) k += g_entropy * ((log_p < log_p_floor ? log_p_floor : log_p) + entropy);
    dz[v] = from_float<T>(-inv_tau * p * k);
  }
  if (target < 0) return;
  const float log_p = std::fma(z_target, inv_tau, -lse);
  const float p = simd::exp_scalar(log_p);
  float k = g;
  if constexpr (Entropy) k += g_entropy * ((log_p < log_p_floor ? log_p_floor : log_p) + entropy);
  dz[target] = from_float<T>(inv_tau * (g - p * k));
}
