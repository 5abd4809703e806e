#pragma once
// The AVX2 row kernel of the CPU backends: the token body of grpo/objective/fused.hpp for the
// PPO family — token ratio, PPO-clip (asymmetric ε, optional δ cap), KL none/k1/k2/k3 (plain or
// clamped), any aggregation, no corrections, one advantage per sequence, float — eight tokens
// at a time, with the vectorised exp of grpo/core/vexp.hpp. That family covers TRL's grpo,
// bnpo, dr_grpo and dapo, verl's vanilla and OpenRLHF's losses. Every other objective, a CPU
// without AVX2+FMA, token-level advantages or an entropy gradient take the scalar body.
//
// Same formulas, same branch choices as the scalar terms (compare-and-blend instead of `?:`),
// so the gradient agrees with the scalar body to rounding. A row's sums are formed per lane in
// float and combined in double in a fixed order, so the CPU backends stay deterministic
// (serial == parallel, bit for bit); the loss agrees with the scalar body to ~1e-7 relative. The parity test is tests/objective/test_simd.cpp.
#include <grpo/core/vexp.hpp>
#include <grpo/objective/fused.hpp>

#include <cstdint>
#include <type_traits>

namespace grpo::detail {

template <class K>
inline constexpr bool simd_kl = std::is_same_v<K, kl::none> || std::is_same_v<K, kl::k1> ||
                                std::is_same_v<K, kl::k2> || std::is_same_v<K, kl::k3>;
template <class K>
inline constexpr bool simd_kl<kl::clamped<K>> = simd_kl<K> && !std::is_same_v<K, kl::none>;

/// Whether the AVX2 row kernel implements this objective (the run-time conditions are checked
/// by `simd_row_applies`).
template <class O, class Real>
inline constexpr bool simd_row_supported =
    GRPO_HAVE_X86_SIMD && std::is_same_v<Real, float> && O::level == ratio_level::token &&
    std::is_same_v<typename O::surrogate_type, surrogate::ppo_clip> &&
    simd_kl<typename O::kl_type> && std::is_same_v<typename O::corrections_type, correction_set<>>;

template <class O, class Real>
bool simd_row_applies(const token_batch<Real>& b, const gradient_out<Real>& g) {
  if constexpr (simd_row_supported<O, Real>)
    return simd::has_avx2() && b.token_advantages == nullptr && g.dentropy == nullptr;
  else
    return false;
}

#if GRPO_HAVE_X86_SIMD

namespace simd_row {

/// x < lo ? lo : (x > hi ? hi : x) and its derivative (1 inside, 0 at a bound); NaN passes
/// with derivative 1, as grpo::detail::clamp_d.
GRPO_TARGET_AVX2 inline __m256 clamp_d(__m256 x, __m256 lo, __m256 hi, __m256& d) {
  const __m256 below = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
  const __m256 above = _mm256_cmp_ps(x, hi, _CMP_GT_OQ);
  d = _mm256_andnot_ps(_mm256_or_ps(below, above), _mm256_set1_ps(1.0f));
  return _mm256_blendv_ps(_mm256_blendv_ps(x, hi, above), lo, below);
}

/// acc += v where `keep` (a select, so a NaN or Inf at a masked-out position never enters).
GRPO_TARGET_AVX2 inline void add_where(__m256& acc, __m256 v, __m256 keep) {
  acc = _mm256_add_ps(acc, _mm256_blendv_ps(_mm256_setzero_ps(), v, keep));
}

/// The 8 lanes of a row's float accumulator, summed in double in a fixed order.
GRPO_TARGET_AVX2 inline double sum_lanes(__m256 v) {
  alignas(32) float a[8];
  _mm256_store_ps(a, v);
  return ((double(a[0]) + double(a[4])) + (double(a[1]) + double(a[5]))) +
         ((double(a[2]) + double(a[6])) + (double(a[3]) + double(a[7])));
}

GRPO_TARGET_AVX2 inline std::int64_t sum_lanes_i(__m256i v) {
  alignas(32) std::int32_t a[8];
  _mm256_store_si256(reinterpret_cast<__m256i*>(a), v);
  std::int64_t s = 0;
  for (int j = 0; j < 8; ++j) s += a[j];
  return s;
}

GRPO_TARGET_AVX2 inline float hmin(__m256 v) {
  alignas(32) float a[8];
  _mm256_store_ps(a, v);
  float m = a[0];
  for (int j = 1; j < 8; ++j) m = a[j] < m ? a[j] : m;
  return m;
}
GRPO_TARGET_AVX2 inline float hmax(__m256 v) {
  alignas(32) float a[8];
  _mm256_store_ps(a, v);
  float m = a[0];
  for (int j = 1; j < 8; ++j) m = a[j] > m ? a[j] : m;
  return m;
}

/// KL value and ∂/∂logp of 8 tokens, d = logp − ref: the vector twin of grpo::kl::{k1,k2,k3}
/// and grpo::kl::clamped<K>.
template <class K>
GRPO_TARGET_AVX2 inline __m256 kl(const K& k, __m256 d, __m256& grad) {
  const __m256 one = _mm256_set1_ps(1.0f);
  if constexpr (std::is_same_v<K, kl::none>) {  // instantiated under a run-time β ≠ 0 test only
    grad = _mm256_setzero_ps();
    return _mm256_setzero_ps();
  } else if constexpr (std::is_same_v<K, kl::k1>) {
    grad = one;
    return d;
  } else if constexpr (std::is_same_v<K, kl::k2>) {
    grad = d;
    return _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), d), d);
  } else if constexpr (std::is_same_v<K, kl::k3>) {
    __m256 dd;
    const __m256 x = clamp_d(d, _mm256_set1_ps(float(-k.d_clamp)), _mm256_set1_ps(float(k.d_clamp)), dd);
    const __m256 e = simd::exp_avx2(_mm256_sub_ps(_mm256_setzero_ps(), x));
    grad = _mm256_mul_ps(dd, _mm256_sub_ps(one, e));
    return _mm256_sub_ps(_mm256_add_ps(e, x), one);
  } else {  // clamped<inner>
    __m256 g_inner, dc;
    const __m256 v = kl(k.inner, d, g_inner);
    const __m256 c = clamp_d(v, _mm256_set1_ps(float(k.lo)), _mm256_set1_ps(float(k.hi)), dc);
    grad = _mm256_blendv_ps(_mm256_setzero_ps(), g_inner, _mm256_cmp_ps(dc, _mm256_setzero_ps(), _CMP_GT_OQ));
    return c;
  }
}

}  // namespace simd_row

/// The token body for tokens [0, T) of sequence i, eight at a time; the tail (T mod 8 tokens)
/// goes through the scalar token_step. Precondition: simd_row_applies<O>(b, g).
template <class O>
GRPO_TARGET_AVX2 void sequence_step_avx2(const O& obj, const token_batch<float>& b, index_t i,
                                         const sequence_summary& s, double w_i,
                                         const gradient_out<float>& g, pass_partial& acc) {
  using namespace simd_row;
  const index_t T = b.T, row = i * T;
  const bool write = g.mode == grad_mode::write;
  const index_t vec_end = T - T % 8;
  const index_t len = b.lengths != nullptr ? index_t(b.lengths[i]) : T;
  const bool alive = s.length > 0;  // dropped or empty sequences only get zeros

  const float A = b.advantages[i];
  const __m256 vA = _mm256_set1_ps(A), zero = _mm256_setzero_ps();
  const __m256 L = _mm256_set1_ps(float(obj.ratio.log_clamp));
  const __m256 lo = _mm256_set1_ps(float(1 - obj.surrogate.eps_low));
  const __m256 hi = _mm256_set1_ps(float(1 + obj.surrogate.eps_high));
  const __m256 cap = _mm256_set1_ps(float(obj.surrogate.delta));
  const __m256 w = _mm256_set1_ps(float(w_i));
  const bool kl_on = O::has_kl && obj.beta != 0;
  const __m256 beta = _mm256_set1_ps(float(obj.beta));
  const __m256 neg_L = _mm256_sub_ps(zero, L);

  // Row sums per lane in float (at most T/8 terms each), then in double across lanes and rows.
  // Counts per lane in int32: a true compare lane is −1, so subtracting the mask counts it.
  __m256 loss = zero, kl_sum = zero, ratio_sum = zero, ent_sum = zero;
  __m256i n_in = _mm256_setzero_si256(), n_below = n_in, n_above = n_in;
  const float inf = __builtin_inff();
  __m256 kl_max = _mm256_set1_ps(-inf), r_min = _mm256_set1_ps(inf), r_max = _mm256_set1_ps(-inf);
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i vlen = _mm256_set1_epi32(int(len < T ? len : T));

  for (index_t t = 0; t < vec_end; t += 8) {
    const index_t k = row + t;
    // in = mask != 0 && t < len, and the sequence is alive
    __m256 in = _mm256_castsi256_ps(_mm256_cmpgt_epi32(vlen, _mm256_add_epi32(lane, _mm256_set1_epi32(int(t)))));
    if (b.mask != nullptr) {
      const __m256i m8 = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(b.mask + k)));
      in = _mm256_and_ps(in, _mm256_castsi256_ps(_mm256_xor_si256(_mm256_cmpeq_epi32(m8, _mm256_setzero_si256()),
                                                                  _mm256_set1_epi32(-1))));
    }
    if (!alive) in = zero;

    const __m256 lp = _mm256_loadu_ps(b.logp + k);
    const __m256 old = b.old != nullptr ? _mm256_loadu_ps(b.old + k) : lp;
    __m256 dlr;
    const __m256 lr = clamp_d(_mm256_sub_ps(lp, old), neg_L, L, dlr);
    const __m256 rho = simd::exp_avx2(lr);

    // PPO-clip, as grpo::surrogate::ppo_clip
    const __m256 capped = _mm256_cmp_ps(rho, cap, _CMP_GT_OQ);
    const __m256 u = _mm256_mul_ps(_mm256_blendv_ps(rho, cap, capped), vA);
    const __m256 below = _mm256_cmp_ps(rho, lo, _CMP_LT_OQ), above = _mm256_cmp_ps(rho, hi, _CMP_GT_OQ);
    const __m256 clipped = _mm256_or_ps(below, above);
    const __m256 c = _mm256_mul_ps(_mm256_blendv_ps(_mm256_blendv_ps(rho, hi, above), lo, below), vA);
    const __m256 take_u = _mm256_cmp_ps(u, c, _CMP_LE_OQ);
    const __m256 neg_rho_A = _mm256_sub_ps(zero, _mm256_mul_ps(rho, vA));
    const __m256 d_surr = _mm256_blendv_ps(_mm256_blendv_ps(neg_rho_A, zero, clipped),
                                           _mm256_blendv_ps(neg_rho_A, zero, capped), take_u);
    // (no sequence factor: without corrections it is 1)
    __m256 value = _mm256_sub_ps(zero, _mm256_blendv_ps(c, u, take_u));
    __m256 grad = _mm256_mul_ps(d_surr, dlr);

    if (kl_on) {
      __m256 dk;
      const __m256 kv = kl(obj.kl, _mm256_sub_ps(lp, _mm256_loadu_ps(b.ref + k)), dk);
      value = _mm256_fmadd_ps(beta, kv, value);
      grad = _mm256_fmadd_ps(beta, dk, grad);
      add_where(kl_sum, kv, in);
      kl_max = _mm256_blendv_ps(kl_max, _mm256_max_ps(kl_max, kv), in);
    }
    if (g.dlogp != nullptr) {
      const __m256 gk = _mm256_blendv_ps(zero, _mm256_mul_ps(w, grad), in);
      _mm256_storeu_ps(g.dlogp + k, write ? gk : _mm256_add_ps(_mm256_loadu_ps(g.dlogp + k), gk));
    }
    add_where(loss, value, in);
    add_where(ratio_sum, rho, in);
    if (b.entropy != nullptr) add_where(ent_sum, _mm256_loadu_ps(b.entropy + k), in);
    n_in = _mm256_sub_epi32(n_in, _mm256_castps_si256(in));
    n_below = _mm256_sub_epi32(n_below, _mm256_castps_si256(_mm256_and_ps(in, below)));
    n_above = _mm256_sub_epi32(n_above, _mm256_castps_si256(_mm256_and_ps(in, above)));
    r_min = _mm256_blendv_ps(r_min, _mm256_min_ps(r_min, rho), in);
    r_max = _mm256_blendv_ps(r_max, _mm256_max_ps(r_max, rho), in);
  }

  // The weight w_i multiplies the loss once per row (the scalar body multiplies per token:
  // equal to rounding).
  acc.loss += w_i * sum_lanes(loss);
  // clipped low counts ρ < 1−ε_low where A < 0, clipped high ρ > 1+ε_high where A > 0
  acc.tokens += double(sum_lanes_i(n_in));
  if (A < 0) acc.clipped_low += double(sum_lanes_i(n_below));
  if (A > 0) acc.clipped_high += double(sum_lanes_i(n_above));
  acc.ratio_sum += sum_lanes(ratio_sum);
  acc.entropy_sum += sum_lanes(ent_sum);
  const double rmin = hmin(r_min), rmax = hmax(r_max);
  acc.ratio_min = rmin < acc.ratio_min ? rmin : acc.ratio_min;
  acc.ratio_max = rmax > acc.ratio_max ? rmax : acc.ratio_max;
  if (kl_on) {
    acc.kl_sum += sum_lanes(kl_sum);
    const double kmax = hmax(kl_max);
    acc.kl_max = kmax > acc.kl_max ? kmax : acc.kl_max;
  }
  for (index_t t = vec_end; t < T; ++t) token_step(obj, b, i, t, s, w_i, g, acc);
}

/// The prepass of sequence i for the same family: with a token ratio and no corrections it only
/// counts the in-tokens (length and Σ c_t = length), eight mask bytes at a time.
template <class O>
GRPO_TARGET_AVX2 sequence_summary summarize_sequence_avx2(const O& obj, const token_batch<float>& b,
                                                          index_t i) {
  const index_t end = b.row_end(i);
  index_t count = 0;
  if (b.mask == nullptr) {
    count = end;
  } else {
    const std::uint8_t* m = b.mask + i * b.T;
    index_t t = 0;
    __m256i ones = _mm256_setzero_si256();
    for (; t + 32 <= end; t += 32) {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(m + t));
      // lanes equal to 0 -> -1; subtracting counts the zero bytes, as 0..255 sums per 8 bytes
      ones = _mm256_add_epi64(ones, _mm256_sad_epu8(_mm256_sub_epi8(_mm256_setzero_si256(),
                                                                    _mm256_cmpeq_epi8(v, _mm256_setzero_si256())),
                                                    _mm256_setzero_si256()));
    }
    alignas(32) long long lanes[4];
    _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), ones);
    const index_t zeros = index_t(lanes[0] + lanes[1] + lanes[2] + lanes[3]);
    count = t - zeros;
    for (; t < end; ++t) count += m[t] != 0;
  }
  sequence_partial p;
  p.length = double(count);
  p.coef_sum = double(count);
  return finish_sequence(obj, b, i, p);
}

#endif  // GRPO_HAVE_X86_SIMD

/// The token body of sequence i on the CPU: the AVX2 row kernel where it applies, else the
/// scalar body.
template <class O, class Real>
void cpu_sequence_step(const O& obj, const token_batch<Real>& b, index_t i,
                       const sequence_summary& s, double w_i, const gradient_out<Real>& g,
                       pass_partial& acc, bool use_simd) {
#if GRPO_HAVE_X86_SIMD
  if constexpr (simd_row_supported<O, Real>) {
    if (use_simd) {
      sequence_step_avx2(obj, b, i, s, w_i, g, acc);
      return;
    }
  }
#endif
  (void)use_simd;
  sequence_step(obj, b, i, s, w_i, g, acc);
}

/// The prepass of sequence i on the CPU: vectorised where the row kernel applies.
template <class O, class Real>
sequence_summary cpu_summarize_sequence(const O& obj, const token_batch<Real>& b, index_t i,
                                        bool use_simd) {
#if GRPO_HAVE_X86_SIMD
  if constexpr (simd_row_supported<O, Real>)
    if (use_simd) return summarize_sequence_avx2(obj, b, i);
#endif
  (void)use_simd;
  return summarize_sequence(obj, b, i);
}

}  // namespace grpo::detail
