#pragma once
// A vectorised exp(x) for float that is correct on the whole float range:
//   exp(-inf) = 0, exp(+inf) = +inf, exp(NaN) = NaN, overflow to +inf above ln(FLT_MAX),
//   gradual underflow through the subnormals and 0 below ln(2^-150).
// GCC only vectorises std::exp under -ffast-math, which also assumes there is no NaN or Inf and so
// breaks masked (-inf) log-probabilities; this header needs no such flag.
//
// Method (Cephes' expf, evaluated with FMA):
//   n = round(x·log2 e),  r = x − n·ln2  (ln2 split in a short high part and a low part, so r is
//   exact to a few ulp),  exp(r) ≈ 1 + r + r²·P(r) on |r| ≤ ln2/2 (degree-5 P, by Estrin's scheme:
//   three dependent FMA steps instead of Horner's five, the same five FMAs; no speed difference
//   measured on Zen 3, docs/performance.md),  exp(x) = exp(r)·2ⁿ.
// The scale 2ⁿ (n in [−150, 128] after clamping x) is applied as 2^⌊n/2⌋ · 2^(n−⌊n/2⌋): both factors
// are normal floats, the first product is exact, so the result is rounded once, also when it is
// subnormal or overflows. Measured error: tests/core/test_vexp.cpp.
//
// Two implementations of the same arithmetic: `exp_scalar` (any machine) and, on x86-64 with
// GCC/Clang, `exp_avx2` on 8 floats, compiled for AVX2+FMA by a function attribute and chosen at
// run time (`has_avx2()`), so a library built without -mavx2 still uses it and an older CPU still
// runs correctly. `exp_avx2_bounded` is the same arithmetic for arguments behind a clamp of
// |x| <= 86 (bit for bit equal there, without the range handling), used by the token-loss kernel.
#include <grpo/core/macros.hpp>

#include <bit>
#include <cmath>
#include <cstdint>

#if (defined(__x86_64__) || defined(__i386__)) && !defined(__CUDACC__) && \
    (defined(__GNUC__) || defined(__clang__))
#define GRPO_HAVE_X86_SIMD 1
#include <immintrin.h>
/// Marks a function compiled for AVX2 + FMA whatever the translation unit's flags. Call such a
/// function only after `grpo::simd::has_avx2()` returned true.
#define GRPO_TARGET_AVX2 __attribute__((target("avx2,fma")))
#else
#define GRPO_HAVE_X86_SIMD 0
#endif

namespace grpo::simd {

namespace exp_detail {
inline constexpr float log2e = 1.44269504088896341f;
inline constexpr float ln2_hi = 0.693359375f;      // 8 significant bits: n·ln2_hi is exact
inline constexpr float ln2_lo = -2.12194440e-4f;   // ln2 − ln2_hi
inline constexpr float x_max = 89.0f;     // above ln(FLT_MAX) ≈ 88.7228: the product overflows to inf
inline constexpr float x_min = -104.0f;   // below ln(2^-150) ≈ −103.97: the product rounds to 0
inline constexpr float p0 = 1.9875691500e-4f;
inline constexpr float p1 = 1.3981999507e-3f;
inline constexpr float p2 = 8.3334519073e-3f;
inline constexpr float p3 = 4.1665795894e-2f;
inline constexpr float p4 = 1.6666665459e-1f;
inline constexpr float p5 = 5.0000001201e-1f;
}  // namespace exp_detail

/// exp(x) for one float, the same arithmetic as the vector version.
inline float exp_scalar(float x) noexcept {
  using namespace exp_detail;
  if (x != x) return x;  // NaN
  x = x > x_max ? x_max : (x < x_min ? x_min : x);
  const float n = std::nearbyint(x * log2e);
  float r = std::fma(n, -ln2_hi, x);
  r = std::fma(n, -ln2_lo, r);
  // P(r) = p0·r⁵ + … + p5 as ((p0·r + p1)·r² + (p2·r + p3))·r² + (p4·r + p5) (Estrin): the same
  // five FMAs as Horner's rule, in three steps of dependent latency instead of five
  const float r2 = r * r;
  const float p = std::fma(std::fma(std::fma(p0, r, p1), r2, std::fma(p2, r, p3)), r2, std::fma(p4, r, p5));
  const float y = std::fma(p, r2, r + 1.0f);
  const auto ni = static_cast<std::int32_t>(n);
  const std::int32_t n1 = ni >> 1;  // floor(n/2)
  const std::int32_t n2 = ni - n1;
  const float s1 = std::bit_cast<float>(static_cast<std::uint32_t>(n1 + 127) << 23);
  const float s2 = std::bit_cast<float>(static_cast<std::uint32_t>(n2 + 127) << 23);
  return (y * s1) * s2;
}

// ---- 2^t for t <= 0, the inner loop of softmax sums and gradients --------------------------
// A cheaper kernel for the log-softmax passes, where every argument is t = (z − max)·log2(e)/τ ≤ 0
// (rounding may make it a few ulp positive): n = round(t), f = t − n in [−½, ½], 2^f by a degree-5
// polynomial (relative-error fit, max relative error 1.9e-7 ≈ 3 ulp), and 2^n added straight
// into the exponent bits. Results below 2^−125 are flushed to 0 (a sum of V such terms is off by
// less than V·2^−125 ≈ 1e−32 relative), −inf gives 0, NaN stays NaN. Valid for t ≤ 127.
namespace exp2_detail {
inline constexpr float t_min = -125.0f;  // below: flushed to 0
inline constexpr float q1 = 0.6931470036506653f;
inline constexpr float q2 = 0.24022242426872253f;
inline constexpr float q3 = 0.05550733953714371f;
inline constexpr float q4 = 0.009671513922512531f;
inline constexpr float q5 = 0.0013264714507386088f;
}  // namespace exp2_detail

/// 2^t for t in [−127, 127] (no checks): 2^f by the polynomial, 2ⁿ added into the exponent bits.
inline float exp2_core_scalar(float t) noexcept {
  using namespace exp2_detail;
  const float n = std::nearbyint(t);
  const float f = t - n;
  float p = std::fma(q5, f, q4);
  p = std::fma(p, f, q3);
  p = std::fma(p, f, q2);
  p = std::fma(p, f, q1);
  p = std::fma(p, f, 1.0f);
  // n as _mm256_cvtps_epi32 converts it: out of the int32 range (and NaN) it becomes INT32_MIN,
  // so an out-of-contract t (+inf from a bad logit) gives what the vector lanes give, without the
  // undefined float-to-int conversion
  const std::int32_t ni = (n >= -2147483648.0f && n < 2147483648.0f) ? static_cast<std::int32_t>(n) : INT32_MIN;
  const auto bits = std::bit_cast<std::uint32_t>(p) + (static_cast<std::uint32_t>(ni) << 23);
  return std::bit_cast<float>(bits);
}

inline float exp2_flush_scalar(float t) noexcept {
  using namespace exp2_detail;
  if (t != t) return t;
  if (t < t_min) return 0.0f;
  return exp2_core_scalar(t);
}

/// 2^max(t, −125) for t ≤ 127, NaN stays NaN: exp2_flush without the flush, for the forward sums
/// of log-softmax, where every row has a term 2^0 = 1 and a floored term changes the sum by less
/// than 2^−125 (V·2^−125 ≈ 1e−32 relative): two operations fewer a vector. Not for gradients,
/// where a masked (−inf) logit must give exactly 0.
inline float exp2_floor_scalar(float t) noexcept {
  using namespace exp2_detail;
  if (t != t) return t;
  return exp2_core_scalar(t < t_min ? t_min : t);
}

#if GRPO_HAVE_X86_SIMD
/// True when this CPU runs AVX2 and FMA (checked once).
inline bool has_avx2() noexcept {
  static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return yes;
}

/// The shared core of both vector exps: n = round(x·log2 e) and y = exp(r) ≈ 1 + r + r²·P(r) for
/// r = x − n·ln2, so that exp(x) = y·2ⁿ.
GRPO_TARGET_AVX2 inline __m256 exp_reduced_avx2(__m256 x, __m256& n) noexcept {
  using namespace exp_detail;
  n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(log2e)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(ln2_hi), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(ln2_lo), r);
  const __m256 r2 = _mm256_mul_ps(r, r);  // Estrin, as exp_scalar
  const __m256 a = _mm256_fmadd_ps(_mm256_set1_ps(p0), r, _mm256_set1_ps(p1));
  const __m256 b = _mm256_fmadd_ps(_mm256_set1_ps(p2), r, _mm256_set1_ps(p3));
  const __m256 c = _mm256_fmadd_ps(_mm256_set1_ps(p4), r, _mm256_set1_ps(p5));
  const __m256 p = _mm256_fmadd_ps(_mm256_fmadd_ps(a, r2, b), r2, c);
  return _mm256_fmadd_ps(p, r2, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
}

/// exp of 8 floats. The clamps keep a NaN (min/max return their second operand on NaN).
GRPO_TARGET_AVX2 inline __m256 exp_avx2(__m256 x) noexcept {
  using namespace exp_detail;
  x = _mm256_min_ps(_mm256_set1_ps(x_max), x);
  x = _mm256_max_ps(_mm256_set1_ps(x_min), x);
  __m256 n;
  const __m256 y = exp_reduced_avx2(x, n);
  const __m256i ni = _mm256_cvtps_epi32(n);
  const __m256i n1 = _mm256_srai_epi32(ni, 1);
  const __m256i n2 = _mm256_sub_epi32(ni, n1);
  const __m256i bias = _mm256_set1_epi32(127);
  const __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
  const __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23));
  return _mm256_mul_ps(_mm256_mul_ps(y, s1), s2);
}

/// The argument bound of exp_avx2_bounded: with |x| <= 86, n = round(x·log2 e) lies in
/// [−125, 125] and exp(r)·2ⁿ is a normal float.
inline constexpr double exp_bounded_limit = 86.0;

/// exp of 8 floats known to lie in [−exp_bounded_limit, exp_bounded_limit] (a finite clamp ahead
/// of it, such as the log-ratio's ±20): exp_avx2's arithmetic without the range clamps, with 2ⁿ
/// added straight into the exponent bits. On that range the result is bit for bit exp_avx2's
/// (both scalings are exact for a normal result); a NaN stays NaN. Outside it the result is
/// meaningless.
GRPO_TARGET_AVX2 inline __m256 exp_avx2_bounded(__m256 x) noexcept {
  __m256 n;
  const __m256 y = exp_reduced_avx2(x, n);
  // NaN: n converts to INT_MIN, whose shift is 0, so y's NaN comes through unchanged
  return _mm256_castsi256_ps(
      _mm256_add_epi32(_mm256_castps_si256(y), _mm256_slli_epi32(_mm256_cvtps_epi32(n), 23)));
}

/// y[0..8) = exp_avx2_bounded(x[0..8)) (for callers not compiled for AVX2, such as tests).
GRPO_TARGET_AVX2 inline void exp_avx2_bounded_store(const float* x, float* y) noexcept {
  _mm256_storeu_ps(y, exp_avx2_bounded(_mm256_loadu_ps(x)));
}
/// y[0..8) = exp_avx2(x[0..8)).
GRPO_TARGET_AVX2 inline void exp_avx2_store(const float* x, float* y) noexcept {
  _mm256_storeu_ps(y, exp_avx2(_mm256_loadu_ps(x)));
}

/// 8 lanes of exp2_core_scalar, bit for bit.
GRPO_TARGET_AVX2 inline __m256 exp2_core_avx2(__m256 t) noexcept {
  using namespace exp2_detail;
  const __m256 n = _mm256_round_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m256 f = _mm256_sub_ps(t, n);
  __m256 p = _mm256_fmadd_ps(_mm256_set1_ps(q5), f, _mm256_set1_ps(q4));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(q3));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(q2));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(q1));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.0f));
  return _mm256_castsi256_ps(
      _mm256_add_epi32(_mm256_castps_si256(p), _mm256_slli_epi32(_mm256_cvtps_epi32(n), 23)));
}

/// 8 lanes of exp2_flush_scalar, bit for bit.
GRPO_TARGET_AVX2 inline __m256 exp2_flush_avx2(__m256 t) noexcept {
  using namespace exp2_detail;
  const __m256 keep = _mm256_cmp_ps(t, _mm256_set1_ps(t_min), _CMP_NLT_UQ);  // t >= t_min or NaN
  const __m256 tc = _mm256_max_ps(_mm256_set1_ps(-127.0f), t);             // NaN stays
  return _mm256_and_ps(exp2_core_avx2(tc), keep);
}

/// 8 lanes of exp2_floor_scalar, bit for bit (max returns its second operand, t, on NaN).
GRPO_TARGET_AVX2 inline __m256 exp2_floor_avx2(__m256 t) noexcept {
  return exp2_core_avx2(_mm256_max_ps(_mm256_set1_ps(exp2_detail::t_min), t));
}

/// y[0..8) = exp2_floor_avx2(t[0..8)) (for callers not compiled for AVX2, such as tests).
GRPO_TARGET_AVX2 inline void exp2_floor_avx2_store(const float* t, float* y) noexcept {
  _mm256_storeu_ps(y, exp2_floor_avx2(_mm256_loadu_ps(t)));
}

/// y[0..8) = 2^t[0..8) by exp2_flush_avx2 (for callers not compiled for AVX2, such as tests).
GRPO_TARGET_AVX2 inline void exp2_flush_avx2_store(const float* t, float* y) noexcept {
  _mm256_storeu_ps(y, exp2_flush_avx2(_mm256_loadu_ps(t)));
}

GRPO_TARGET_AVX2 inline void exp_avx2(const float* x, float* y, index_t n) noexcept {
  index_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, exp_avx2(_mm256_loadu_ps(x + i)));
  for (; i < n; ++i) y[i] = exp_scalar(x[i]);
}
#else
inline bool has_avx2() noexcept { return false; }
#endif

/// y[i] = exp(x[i]) for i in [0, n), vectorised where the CPU allows. x and y may be the same.
inline void exp(const float* x, float* y, index_t n) noexcept {
#if GRPO_HAVE_X86_SIMD
  if (has_avx2()) {
    exp_avx2(x, y, n);
    return;
  }
#endif
  for (index_t i = 0; i < n; ++i) y[i] = exp_scalar(x[i]);
}

}  // namespace grpo::simd
