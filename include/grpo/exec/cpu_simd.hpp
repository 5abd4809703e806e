#pragma once
// The AVX2 row kernel of the CPU backends: the token body of grpo/objective/fused.hpp for the
// PPO family — token ratio, PPO-clip (asymmetric ε, optional δ cap), KL none/k1/k2/k3 (plain or
// clamped), any aggregation, no corrections, one advantage per sequence, float — eight tokens
// at a time, with the vectorised exp of grpo/core/vexp.hpp. That family covers TRL's grpo,
// bnpo, dr_grpo and dapo, verl's vanilla and OpenRLHF's losses. Every other objective, a CPU
// without AVX2+FMA, token-level advantages or an entropy gradient take the scalar body.
//
// Same formulas, same branch choices as the scalar terms (min/max and compare masks instead of
// `?:`), so the gradient agrees with the scalar body to rounding. The exps are vexp.hpp's: the
// bounded variant (no range handling, bit for bit the same results) when the log-ratio clamp and
// k3's d clamp are both within ±86 (the default ±20 clamps are; OpenRLHF's unclamped k3 is not),
// else the general one. A row's sums are formed per lane in float and combined in double in a
// fixed order, so the CPU backends stay deterministic (serial == parallel, bit for bit); the loss
// agrees with the scalar body to ~1e-7 relative. The parity test is tests/exec/test_cpu_simd.cpp.
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

/// min(hi, max(lo, x)): x clamped, NaN passes (min/max return their second operand on NaN).
GRPO_TARGET_AVX2 inline __m256 clamp(__m256 x, __m256 lo, __m256 hi) {
  return _mm256_min_ps(hi, _mm256_max_ps(lo, x));
}
/// Lanes where a clamp (or cap) was active: clamped ≠ x, false for NaN, so a NaN keeps its
/// derivative 1 and shows in the gradient (as grpo::detail::clamp_d).
GRPO_TARGET_AVX2 inline __m256 at_bound(__m256 clamped, __m256 x) {
  return _mm256_cmp_ps(clamped, x, _CMP_NEQ_OQ);
}

/// The 8 lanes of a row's float accumulator, summed in double in a fixed order:
/// ((a0 + a4) + (a2 + a6)) + ((a1 + a5) + (a3 + a7)).
GRPO_TARGET_AVX2 inline double sum_lanes(__m256 v) {
  const __m256d s = _mm256_add_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(v)),
                                  _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
  const __m128d q = _mm_add_pd(_mm256_castpd256_pd128(s), _mm256_extractf128_pd(s, 1));
  return _mm_cvtsd_f64(_mm_add_sd(q, _mm_unpackhi_pd(q, q)));
}

/// The 8 lanes of a row's int32 counter, summed (each is at most T/8, so no overflow).
GRPO_TARGET_AVX2 inline std::int64_t sum_lanes_i(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return _mm_cvtsi128_si32(s);
}

/// Minimum and maximum of 8 lanes (the accumulators never hold a NaN).
GRPO_TARGET_AVX2 inline float hmin(__m256 v) {
  __m128 m = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_min_ps(m, _mm_movehl_ps(m, m));
  return _mm_cvtss_f32(_mm_min_ss(m, _mm_shuffle_ps(m, m, 1)));
}
GRPO_TARGET_AVX2 inline float hmax(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  return _mm_cvtss_f32(_mm_max_ss(m, _mm_shuffle_ps(m, m, 1)));
}

/// exp for the row kernel: the bounded one when every argument is behind a clamp of at most
/// simd::exp_bounded_limit (bit for bit the same result), else the general one.
template <bool Bounded>
GRPO_TARGET_AVX2 inline __m256 exp(__m256 x) {
  if constexpr (Bounded) return simd::exp_avx2_bounded(x);
  else return simd::exp_avx2(x);
}

/// Whether every exp argument of the row kernel is clamped within simd::exp_bounded_limit:
/// the log-ratio by ratio.log_clamp and, for k3, d by d_clamp.
template <class K>
double kl_exp_bound(const K& k) {
  if constexpr (requires { k.d_clamp; }) return k.d_clamp;
  else if constexpr (requires { k.inner; }) return kl_exp_bound(k.inner);
  else return 0.0;  // no exp
}
template <class O>
bool exp_bounded(const O& obj) {
  return obj.ratio.log_clamp <= simd::exp_bounded_limit && kl_exp_bound(obj.kl) <= simd::exp_bounded_limit;
}

/// KL value and ∂/∂logp of 8 tokens from logp and ref (d = logp − ref): the vector twin of
/// grpo::kl::{k1,k2,k3} and grpo::kl::clamped<K>. k3 works on −d = ref − logp, its exp argument.
template <bool Bounded, class K>
GRPO_TARGET_AVX2 inline __m256 kl(const K& k, __m256 lp, __m256 ref, __m256& grad) {
  const __m256 one = _mm256_set1_ps(1.0f);
  if constexpr (std::is_same_v<K, kl::none>) {  // instantiated under a compile-time KL switch only
    grad = _mm256_setzero_ps();
    return _mm256_setzero_ps();
  } else if constexpr (std::is_same_v<K, kl::k1>) {
    grad = one;
    return _mm256_sub_ps(lp, ref);
  } else if constexpr (std::is_same_v<K, kl::k2>) {
    const __m256 d = _mm256_sub_ps(lp, ref);
    grad = d;
    return _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), d), d);
  } else if constexpr (std::is_same_v<K, kl::k3>) {
    // x = clamp(d, ±C), e = exp(−x): k = e + x − 1, ∂k/∂logp = (1 − e)·1[not clamped]
    const __m256 neg_d = _mm256_sub_ps(ref, lp);
    const __m256 C = _mm256_set1_ps(float(k.d_clamp));
    const __m256 neg_x = clamp(neg_d, _mm256_sub_ps(_mm256_setzero_ps(), C), C);
    const __m256 e = exp<Bounded>(neg_x);
    grad = _mm256_andnot_ps(at_bound(neg_x, neg_d), _mm256_sub_ps(one, e));
    return _mm256_sub_ps(_mm256_sub_ps(e, neg_x), one);
  } else {  // clamped<inner>: the value clamped to [lo, hi], derivative 0 where it is
    __m256 g_inner;
    const __m256 v = kl<Bounded>(k.inner, lp, ref, g_inner);
    const __m256 c = clamp(v, _mm256_set1_ps(float(k.lo)), _mm256_set1_ps(float(k.hi)));
    grad = _mm256_andnot_ps(at_bound(c, v), g_inner);
    return c;
  }
}

}  // namespace simd_row

/// The token body for tokens [0, T) of sequence i, eight at a time; the tail (T mod 8 tokens)
/// goes through the scalar token_step. Precondition: simd_row_applies<O>(b, g).
///
/// Masking: `out` is all-ones in lanes that do not count (mask 0, t ≥ length). A value enters a
/// sum as andnot(out, v), which is 0 there whatever v holds (NaN and Inf garbage included); a
/// min/max takes or(v, out), a NaN there, which min/max ignore as their first operand. The clamp
/// derivatives are "not at a bound" masks (at_bound) and the PPO-clip branch a blend of masks, so
/// the gradient is the scalar body's to rounding.
///
/// Eight tokens that are all out (padding after the end of a completion, usually most of a
/// batch's tail) only get zeros in write mode: their logp, old and ref are not read.
template <bool Bounded, bool KL, class O>
GRPO_TARGET_AVX2 void sequence_step_avx2(const O& obj, const token_batch<float>& b, index_t i,
                                         const sequence_summary& s, double w_i,
                                         const gradient_out<float>& g, pass_partial& acc) {
  using namespace simd_row;
  const index_t T = b.T, row = i * T;
  const index_t vec_end = T - T % 8;
  float* const dlogp = g.dlogp != nullptr ? g.dlogp + row : nullptr;
  const bool write = g.mode == grad_mode::write;

  if (!(s.length > 0)) {  // dropped or empty: only zeros (write mode), nothing to sum
    if (dlogp != nullptr && write)
      for (index_t t = 0; t < vec_end; t += 8) _mm256_storeu_ps(dlogp + t, _mm256_setzero_ps());
    for (index_t t = vec_end; t < T; ++t) token_step(obj, b, i, t, s, w_i, g, acc);
    return;
  }

  const float* const logp = b.logp + row;
  const float* const old = (b.old != nullptr ? b.old : b.logp) + row;  // absent: old = logp
  const float* const ref = KL ? b.ref + row : nullptr;
  const float* const entropy = b.entropy != nullptr ? b.entropy + row : nullptr;
  const std::uint8_t* const mask = b.mask != nullptr ? b.mask + row : nullptr;
  const index_t len = b.lengths != nullptr ? index_t(b.lengths[i]) : T;

  const float A = b.advantages[i];
  const __m256 zero = _mm256_setzero_ps(), vA = _mm256_set1_ps(A);
  const __m256 L = _mm256_set1_ps(float(obj.ratio.log_clamp)), neg_L = _mm256_sub_ps(zero, L);
  const __m256 lo = _mm256_set1_ps(float(1 - obj.surrogate.eps_low));
  const __m256 hi = _mm256_set1_ps(float(1 + obj.surrogate.eps_high));
  const __m256 cap = _mm256_set1_ps(float(obj.surrogate.delta));
  const __m256 w = _mm256_set1_ps(float(w_i));
  const __m256 beta = _mm256_set1_ps(float(obj.beta));
  // One clip count per row: ρ < 1−ε_low if A < 0 (clipped low), ρ > 1+ε_high if A > 0 (clipped
  // high), as s·ρ > θ with s = sign A (applied by xor) and θ = 1+ε_high, −(1−ε_low) or +inf.
  const float inf = __builtin_inff();
  const __m256 clip_sign = _mm256_set1_ps(A < 0 ? -0.0f : 0.0f);
  const __m256 clip_theta = _mm256_set1_ps(A > 0 ? float(1 + obj.surrogate.eps_high)
                                                 : (A < 0 ? -float(1 - obj.surrogate.eps_low) : inf));
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);

  // Row sums per lane in float (at most T/8 terms each), then in double across lanes and rows.
  // Counts per lane in int32: a true compare lane is −1, so subtracting the mask counts it.
  __m256 loss = zero, kl_sum = zero, ratio_sum = zero, ent_sum = zero;
  __m256 kl_max = _mm256_set1_ps(-inf), r_min = _mm256_set1_ps(inf), r_max = _mm256_set1_ps(-inf);
  __m256i n_out = _mm256_setzero_si256(), n_clip = n_out;

  for (index_t t = 0; t < vec_end; t += 8) {
    __m256 out = zero;
    if (mask != nullptr) {
      const __m256i m8 = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(mask + t)));
      out = _mm256_castsi256_ps(_mm256_cmpeq_epi32(m8, _mm256_setzero_si256()));
    }
    if (t + 8 > len) {  // lanes j ≥ rem = len − t are past the length (rem < 8: 64-bit safe)
      const index_t rem = len > t ? len - t : 0;
      out = _mm256_or_ps(out, _mm256_castsi256_ps(_mm256_cmpgt_epi32(lane, _mm256_set1_epi32(int(rem) - 1))));
    }
    if (_mm256_movemask_ps(out) == 0xff) {  // all eight out
      if (dlogp != nullptr && write) _mm256_storeu_ps(dlogp + t, zero);
      n_out = _mm256_sub_epi32(n_out, _mm256_castps_si256(out));
      continue;
    }

    // token ratio: log ρ = clamp(logp − old, ±L), ρ = exp(log ρ)
    const __m256 lp = _mm256_loadu_ps(logp + t);
    const __m256 x = _mm256_sub_ps(lp, _mm256_loadu_ps(old + t));
    const __m256 lr = clamp(x, neg_L, L);
    const __m256 rho = exp<Bounded>(lr);

    // PPO-clip, as grpo::surrogate::ppo_clip: ℓ = −min(u, c), u = min(ρ, δ)·A, c = clip(ρ)·A;
    // ∂ℓ/∂log ρ = −ρA unless the chosen branch is at its bound (capped for u, clipped for c)
    const __m256 rho_capped = _mm256_min_ps(cap, rho);
    const __m256 rho_clipped = clamp(rho, lo, hi);
    const __m256 u = _mm256_mul_ps(rho_capped, vA), c = _mm256_mul_ps(rho_clipped, vA);
    const __m256 take_u = _mm256_cmp_ps(u, c, _CMP_LE_OQ);
    const __m256 min_uc = _mm256_min_ps(c, u);  // u when u ≤ c (and NaN when ρ is)
    const __m256 flat = _mm256_blendv_ps(at_bound(rho_clipped, rho), at_bound(rho_capped, rho), take_u);
    const __m256 d_surr = _mm256_andnot_ps(flat, _mm256_fnmadd_ps(rho, vA, zero));
    __m256 grad = _mm256_andnot_ps(at_bound(lr, x), d_surr);  // · d log ρ / d logp
    // (no sequence factor: without corrections it is 1)

    if constexpr (KL) {
      __m256 dk;
      const __m256 kv = kl<Bounded>(obj.kl, lp, _mm256_loadu_ps(ref + t), dk);
      loss = _mm256_add_ps(loss, _mm256_andnot_ps(out, _mm256_fmsub_ps(beta, kv, min_uc)));
      grad = _mm256_fmadd_ps(beta, dk, grad);
      kl_sum = _mm256_add_ps(kl_sum, _mm256_andnot_ps(out, kv));
      kl_max = _mm256_max_ps(_mm256_or_ps(kv, out), kl_max);
    } else {
      loss = _mm256_sub_ps(loss, _mm256_andnot_ps(out, min_uc));
    }
    if (dlogp != nullptr) {
      const __m256 gk = _mm256_andnot_ps(out, _mm256_mul_ps(w, grad));
      _mm256_storeu_ps(dlogp + t, write ? gk : _mm256_add_ps(_mm256_loadu_ps(dlogp + t), gk));
    }
    if (entropy != nullptr) ent_sum = _mm256_add_ps(ent_sum, _mm256_andnot_ps(out, _mm256_loadu_ps(entropy + t)));
    ratio_sum = _mm256_add_ps(ratio_sum, _mm256_andnot_ps(out, rho));
    const __m256 rho_or_out = _mm256_or_ps(rho, out);
    r_min = _mm256_min_ps(rho_or_out, r_min);
    r_max = _mm256_max_ps(rho_or_out, r_max);
    n_out = _mm256_sub_epi32(n_out, _mm256_castps_si256(out));
    const __m256 clip = _mm256_cmp_ps(_mm256_xor_ps(rho, clip_sign), clip_theta, _CMP_GT_OQ);
    n_clip = _mm256_sub_epi32(n_clip, _mm256_castps_si256(_mm256_andnot_ps(out, clip)));
  }

  // The weight w_i multiplies the loss once per row (the scalar body multiplies per token:
  // equal to rounding).
  acc.loss += w_i * sum_lanes(loss);
  acc.tokens += double(vec_end - sum_lanes_i(n_out));
  if (A < 0) acc.clipped_low += double(sum_lanes_i(n_clip));
  if (A > 0) acc.clipped_high += double(sum_lanes_i(n_clip));
  acc.ratio_sum += sum_lanes(ratio_sum);
  acc.entropy_sum += sum_lanes(ent_sum);
  const double rmin = hmin(r_min), rmax = hmax(r_max);
  acc.ratio_min = rmin < acc.ratio_min ? rmin : acc.ratio_min;
  acc.ratio_max = rmax > acc.ratio_max ? rmax : acc.ratio_max;
  if constexpr (KL) {
    acc.kl_sum += sum_lanes(kl_sum);
    const double kmax = hmax(kl_max);
    acc.kl_max = kmax > acc.kl_max ? kmax : acc.kl_max;
  }
  for (index_t t = vec_end; t < T; ++t) token_step(obj, b, i, t, s, w_i, g, acc);
}

/// The row kernel with its compile-time switches chosen: the bounded exp where the clamps allow
/// it, and the KL term only where β ≠ 0.
template <class O>
GRPO_TARGET_AVX2 void sequence_step_avx2(const O& obj, const token_batch<float>& b, index_t i,
                                         const sequence_summary& s, double w_i,
                                         const gradient_out<float>& g, pass_partial& acc) {
  const bool bounded = simd_row::exp_bounded(obj);
  const bool kl_on = O::has_kl && obj.beta != 0;
  if (bounded) {
    if (kl_on) sequence_step_avx2<true, O::has_kl>(obj, b, i, s, w_i, g, acc);
    else sequence_step_avx2<true, false>(obj, b, i, s, w_i, g, acc);
  } else {
    if (kl_on) sequence_step_avx2<false, O::has_kl>(obj, b, i, s, w_i, g, acc);
    else sequence_step_avx2<false, false>(obj, b, i, s, w_i, g, acc);
  }
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
