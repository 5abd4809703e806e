// The per-row passes of selective log-softmax, written once over a vector policy `ops` that the
// including file defines (scalar float, AVX2 under a target pragma, scalar double for float64
// logits), computing in `ops::real`. Included inside a namespace by selective_log_softmax.hpp;
// not a header of its own.
//
// Everything runs in base-2 units, so that the scale 1/τ and log2(e) fold into one multiply:
//   t_v = z_v·c − m₂ with c = log2(e)/τ and m₂ the running max of z·c,   s = Σ 2^t_v,
//   w = Σ 2^t_v · t_v;   then lse = (m₂ + log2 s)·ln2, H = (log2 s − w/s)·ln2,
//   logp = (z_y·c − m₂ − log2 s)·ln2 (the same rounded m₂ and c on both sides of the difference).
// Forward, per row (one read of the logits from memory): the row is cut into blocks that fit in
// L1, and each element is read once. The reference m₂ is the first block's maximum (one extra
// pass over that block only); every block then adds 2^t to s and 2^t·t to w relative to the
// current m₂ while it tracks its own maximum, and afterwards m₂ moves up to that maximum
// (rescaling s and w, softmax_stats.hpp derives the rule). Terms above 1 are harmless up to a
// point: a block whose maximum lies more than 2 above m₂ (in base 2) is summed again from L1
// after the move (about once a row with real logits, when the block holding the top logits
// comes). The sums use
// exp2_floor (2^max(t, −125)): a row always holds a term 2^t ≥ 1, so the floor cannot be seen in
// s, and it saves the flush.
// Backward, per row (read + write): dL/dz_v = (g·1[v=y] − p_v·(g + g_H·(log p_v + H)))/τ, where
// log p_v = z_v/τ − lse = t_v·ln2 with t_v = z_v·c − lse·log2(e), and g_H = dL/dH, using
// dH/dz'_v = −p_v·(log p_v + H).

/// Block length in elements: 8 KB of fp32 logits, so the second read hits L1.
inline constexpr index_t block_len = 2048;
inline constexpr double ln2 = 0.69314718055994530942;
inline constexpr double log2e = 1.44269504088896340736;
using real = ops::real;  ///< float, or double for float64 logits
using row_result = row_result_t<real>;

/// Per-block sums of 2^t and 2^t·t relative to m₂, and the block's maximum logit.
struct block_sums {
  real s = 0, w = 0, max_z = -INFINITY;
};

template <class T, bool Entropy>
block_sums sum_block(const T* z, index_t b0, index_t b1, real c, real m2) {
  using vec = typename ops::vec;
  constexpr index_t W = ops::width;
  const vec vc = ops::set1(c), vneg_m = ops::set1(-m2), vfloor = ops::set1(real(-127));
  // one accumulator each for the maximum and the sums: with a second set GCC kept two of them on
  // the stack, a store-to-load chain through every iteration (the time difference was within
  // this machine's noise; the add chain is 3 cycles per 2W elements, well under the loop's cost)
  vec vs0 = ops::set1(real(0)), vw0 = ops::set1(real(0)), vmax0 = ops::set1(-INFINITY);
  index_t v = b0;
  for (; v + 2 * W <= b1; v += 2 * W) {
    // the next block streams in from memory while this one is computed
    ops::prefetch(z + v + block_len);
    vec z0, z1;
    ops::load2(z + v, z0, z1);  // 2W elements, in an order the sums and the maximum ignore
    vmax0 = ops::max_keep(z0, ops::max_keep(z1, vmax0));  // NaN never enters
    const vec t0 = ops::fmadd(z0, vc, vneg_m), t1 = ops::fmadd(z1, vc, vneg_m);
    const vec e0 = ops::exp2_sum(t0), e1 = ops::exp2_sum(t1);
    vs0 = ops::add(vs0, ops::add(e0, e1));
    // a masked entry has t = −inf: the clamp keeps e·t finite (and ≈ 0)
    if constexpr (Entropy)
      vw0 = ops::add(vw0, ops::fmadd(e0, ops::max_keep(vfloor, t0), ops::mul(e1, ops::max_keep(vfloor, t1))));
  }
  for (; v + W <= b1; v += W) {
    const vec z0 = ops::load(z + v);
    vmax0 = ops::max_keep(z0, vmax0);
    const vec t0 = ops::fmadd(z0, vc, vneg_m);
    const vec e0 = ops::exp2_sum(t0);
    vs0 = ops::add(vs0, e0);
    if constexpr (Entropy) vw0 = ops::fmadd(e0, ops::max_keep(vfloor, t0), vw0);
  }
  block_sums r;
  r.max_z = ops::hmax(vmax0);
  real ts = 0, tw = 0;
  for (; v < b1; ++v) {
    const real x = ops::scalar(z + v);
    r.max_z = x > r.max_z ? x : r.max_z;
    const real t = std::fma(x, c, -m2);
    const real e = ops::exp2_sum_1(t);
    ts += e;
    if constexpr (Entropy) tw += e * (t < real(-127) ? real(-127) : t);
  }
  r.s = ops::hsum(vs0) + ts;
  if constexpr (Entropy) r.w = ops::hsum(vw0) + tw;
  return r;
}

/// Moves the reference of the sums from m2 up to m_new (softmax_stats.hpp's rule, in base 2).
inline void rescale(double& s, double& w, real& m2, real m_new) {
  if (s != 0) {
    const double dm = static_cast<double>(m2) - static_cast<double>(m_new);
    const double k = std::exp2(dm);
    w = k * (w + s * dm);
    s *= k;
  }
  m2 = m_new;
}

template <class T, bool Entropy>
row_result row_forward(const T* z, index_t vocab, real inv_tau) {
  using vec = typename ops::vec;
  constexpr index_t W = ops::width;
  const auto c = static_cast<real>(log2e * static_cast<double>(inv_tau));
  // terms up to 2^2 within a block before it is summed again: terms of 2^h cost the entropy
  // (log2 s − w/s, both ≈ h after the move) about h·1e−7 absolute of cancellation; h = 8 was
  // measurably worse (3e−5 relative on an entropy of 0.48), 2 is as exact as h = 0
  // (tests/logprob/test_selective_log_softmax.cpp) and rarely sums a block twice
  constexpr real headroom = 2;
  real m2 = -INFINITY;  // the reference: a maximum of z·c (of the first blocks, then moved up)
  double s = 0, w = 0;   // relative to m2, accumulated across blocks in double
  for (index_t b0 = 0; b0 < vocab; b0 += block_len) {
    const index_t b1 = std::min(vocab, b0 + block_len);
    if (m2 == -INFINITY) {  // no reference yet: this block's maximum
      vec vmax = ops::set1(-INFINITY);
      index_t v = b0;
      for (; v + W <= b1; v += W) vmax = ops::max_keep(ops::load(z + v), vmax);  // NaN never enters
      real bm = ops::hmax(vmax);
      for (; v < b1; ++v) bm = std::max(bm, ops::scalar(z + v));
      if (bm == -INFINITY) {  // a fully masked block adds nothing, unless it hides a NaN
        for (v = b0; v < b1; ++v)
          if (ops::scalar(z + v) != -INFINITY) return {NAN, NAN, NAN, NAN};
        continue;
      }
      m2 = bm * c;
    }
    block_sums r = sum_block<T, Entropy>(z, b0, b1, c, m2);
    const real bm2 = r.max_z * c;
    if (bm2 > m2 + headroom) {  // too large a term (or +inf): move the reference up, sum again
      rescale(s, w, m2, bm2);
      r = sum_block<T, Entropy>(z, b0, b1, c, m2);
    }
    s += static_cast<double>(r.s);
    if constexpr (Entropy) w += static_cast<double>(r.w);
    if (bm2 > m2) rescale(s, w, m2, bm2);  // the next blocks start from the new maximum
  }
  const double log2_s = std::log2(s);
  return {static_cast<real>((static_cast<double>(m2) + log2_s) * ln2), static_cast<real>((log2_s - w / s) * ln2),
          m2, static_cast<real>(log2_s)};
}

/// logp of element y given the row's forward result (same c and m₂ as the sum).
inline real logp_of(real z_y, real inv_tau, const row_result& r) {
  const auto c = static_cast<real>(log2e * static_cast<double>(inv_tau));
  return static_cast<real>((static_cast<double>(std::fma(z_y, c, -r.m2)) - static_cast<double>(r.log2_s)) * ln2);
}

template <class T, bool Entropy>
void row_backward(const T* z, T* dz, index_t vocab, index_t target, real inv_tau, real lse, real g,
                  real g_entropy, real entropy) {
  using vec = typename ops::vec;
  constexpr index_t W = ops::width;
  // read before an in-place overwrite; target < 0: the chosen token is not in this (partial) row
  const real z_target = target >= 0 ? ops::scalar(z + target) : real(0);
  const auto c = static_cast<real>(log2e * static_cast<double>(inv_tau));
  const auto lse2 = static_cast<real>(static_cast<double>(lse) * log2e);
  // k = g + g_H·(log p + H) = (g + g_H·H) + (g_H·ln2)·t; below t = −200, p is already 0
  const real k0 = g + g_entropy * entropy, k1 = static_cast<real>(g_entropy * ln2);
  constexpr real t_floor = -200;
  const vec vc = ops::set1(c), vneg_lse2 = ops::set1(-lse2);
  const vec vneg_g_over_tau = ops::set1(-g * inv_tau), vneg_inv_tau = ops::set1(-inv_tau);
  const vec vk0 = ops::set1(k0), vk1 = ops::set1(k1);
  index_t v = 0;
  for (; v + W <= vocab; v += W) {
    if (v % 16 == 0) ops::prefetch(z + v + 1024);
    const vec t = ops::fmadd(ops::load(z + v), vc, vneg_lse2);
    const vec p = ops::exp2(t);
    if constexpr (Entropy) {
      const vec k = ops::fmadd(vk1, ops::max_keep(ops::set1(t_floor), t), vk0);
      ops::store(dz + v, ops::mul(ops::mul(p, k), vneg_inv_tau));
    } else {
      ops::store(dz + v, ops::mul(p, vneg_g_over_tau));
    }
  }
  auto k_of = [&](real t) { return Entropy ? std::fma(k1, t < t_floor ? t_floor : t, k0) : g; };
  for (; v < vocab; ++v) {
    const real t = std::fma(ops::scalar(z + v), c, -lse2);
    const real p = ops::exp2_1(t);
    ops::put(dz + v, Entropy ? p * k_of(t) * -inv_tau : p * (-g * inv_tau));
  }
  if (target < 0) return;
  const real t = std::fma(z_target, c, -lse2);
  const real p = ops::exp2_1(t);
  ops::put(dz + target, inv_tau * (g - p * k_of(t)));
}
