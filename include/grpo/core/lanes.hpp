#pragma once
// Lanes: the types every per-token formula is written over, so that one formula serves the
// scalar path (float or double, host or CUDA thread), and the 8-wide AVX2 float path.
//
//   L            float, double, or lane::f8 (8 floats in a __m256)
//   mask_of<L>   bool for the scalars, lane::m8 for f8
//
// A formula uses ordinary arithmetic (+ − * /), comparisons (which give a mask), the mask
// operators & | ! and the functions below: select, min, max, clamp, exp, sigmoid, abs, when,
// isfinite. Each has the same NaN behaviour on every lane type:
//   min(a, b) = b < a ? b : a       max(a, b) = a < b ? b : a      (a NaN `a` is returned as is)
//   clamp(x, lo, hi)                NaN passes through, and counts as "inside" (derivative 1),
//                                   so a NaN is never hidden (as torch.clamp's gradient).
// Formulas are instantiated for f8 only inside functions marked GRPO_LANE_KERNEL (AVX2 + FMA,
// everything inlined), chosen at run time by simd::has_avx2().
#include <grpo/core/macros.hpp>
#include <grpo/core/vexp.hpp>

#include <math.h>

#include <cstdint>

namespace grpo::lane {

/// +Inf without <limits> (usable in device code).
GRPO_HD constexpr double inf() { return __builtin_huge_val(); }

// ---- scalar lanes ------------------------------------------------------------------------------

template <class L>
struct traits {
  static constexpr int width = 1;
  using mask = bool;
  using real = L;
};

template <class L>
using mask_of = typename traits<L>::mask;

GRPO_HD float select(bool m, float a, float b) { return m ? a : b; }
GRPO_HD double select(bool m, double a, double b) { return m ? a : b; }
template <class R>
GRPO_HD R min(R a, R b) { return b < a ? b : a; }
template <class R>
GRPO_HD R max(R a, R b) { return a < b ? b : a; }
/// x clamped to [lo, hi]; `inside` is false where a bound is active (NaN counts as inside).
template <class R>
GRPO_HD R clamp(R x, R lo, R hi, bool& inside) {
  inside = !(x < lo) && !(x > hi);
  return x < lo ? lo : (x > hi ? hi : x);
}
/// x clamped to [lo, hi] given as doubles (hyper-parameters, ±inf for "no bound"): the same as
/// clamp, and nothing at all to compute when both bounds are infinite.
template <class L>
GRPO_HD L clamp_to(const L& x, double lo, double hi, mask_of<L>& inside);
GRPO_HD float exp(float x) { return ::expf(x); }
GRPO_HD double exp(double x) { return ::exp(x); }
GRPO_HD float log(float x) { return ::logf(x); }
GRPO_HD double log(double x) { return ::log(x); }
GRPO_HD float abs(float x) { return ::fabsf(x); }
GRPO_HD double abs(double x) { return ::fabs(x); }
/// x where m holds, +0 elsewhere (whatever x holds there, NaN included).
template <class R>
GRPO_HD R when(bool m, R x) { return m ? x : R(0); }
/// False for NaN and ±Inf.
template <class R>
GRPO_HD bool isfinite(R x) { return x - x == R(0); }
GRPO_HD bool any(bool m) { return m; }
GRPO_HD int popcount(bool m) { return m ? 1 : 0; }
GRPO_HD bool all(bool m) { return m; }
/// Index of the first lane where m holds (m must hold somewhere).
GRPO_HD int first(bool) { return 0; }
/// Index of the last lane where m holds (m must hold somewhere).
GRPO_HD int last(bool) { return 0; }
GRPO_HD bool test(bool m, int) { return m; }
template <class R>
GRPO_HD R sigmoid(const R& x) { return R(1) / (R(1) + exp(-x)); }

/// Sums (a double), minimum and maximum over the lanes of one value.
template <class R>
GRPO_HD double reduce_sum(R x) { return double(x); }
template <class R>
GRPO_HD double reduce_min(R x) { return double(x); }
template <class R>
GRPO_HD double reduce_max(R x) { return double(x); }

/// `n` consecutive values from p (n == width: a full lane; fewer: the rest are 0).
template <class L, class R>
GRPO_HD L load(const R* p, int) { return L(*p); }
template <class R>
GRPO_HD void store(R* p, R x, int) { *p = x; }
/// Lanes j < n whose mask byte is non-zero.
template <class L>
GRPO_HD mask_of<L> load_mask(const std::uint8_t* m, int) { return *m != 0; }
/// Lanes j with j < n (n may be negative or above the width).
template <class L>
GRPO_HD mask_of<L> first_lanes(index_t n) { return n > 0; }
/// A mask that holds in every lane.
template <class L>
GRPO_HD mask_of<L> all_lanes() { return true; }
template <class L>
GRPO_HD L clamp_to(const L& x, double lo, double hi, mask_of<L>& inside) {
  if (lo == -inf() && hi == inf()) {
    inside = all_lanes<L>();  // what clamp gives for any x, NaN included
    return x;
  }
  return clamp(x, L(lo), L(hi), inside);
}
/// Of n bytes (a mask row): how many are non-zero, and one past the last that is (0: none).
struct extent {
  index_t count = 0, end = 0;
};
template <class L>
GRPO_HD extent mask_extent(const std::uint8_t* m, index_t n) {
  extent e;
  for (index_t j = 0; j < n; ++j)
    if (m[j] != 0) ++e.count, e.end = j + 1;
  return e;
}

// ---- AVX2 lanes: 8 floats -----------------------------------------------------------------------

#if GRPO_HAVE_X86_SIMD
/// Functions over f8 are compiled for AVX2 + FMA. A GRPO_LANE_KERNEL inlines its whole call tree,
/// so formulas written as ordinary templates become AVX2 code there (and nowhere else).
#define GRPO_LANE_FN __attribute__((target("avx2,fma"))) inline
#define GRPO_LANE_KERNEL __attribute__((target("avx2,fma"), flatten))

struct m8 {
  __m256 v;
};
struct f8 {
  __m256 v;
  f8() = default;
  GRPO_LANE_FN f8(__m256 x) : v(x) {}
  GRPO_LANE_FN f8(float x) : v(_mm256_set1_ps(x)) {}
  GRPO_LANE_FN f8(double x) : v(_mm256_set1_ps(float(x))) {}
  GRPO_LANE_FN f8(int x) : v(_mm256_set1_ps(float(x))) {}
};

template <>
struct traits<f8> {
  static constexpr int width = 8;
  using mask = m8;
  using real = float;
};

GRPO_LANE_FN f8 operator+(f8 a, f8 b) { return _mm256_add_ps(a.v, b.v); }
GRPO_LANE_FN f8 operator-(f8 a, f8 b) { return _mm256_sub_ps(a.v, b.v); }
GRPO_LANE_FN f8 operator*(f8 a, f8 b) { return _mm256_mul_ps(a.v, b.v); }
GRPO_LANE_FN f8 operator/(f8 a, f8 b) { return _mm256_div_ps(a.v, b.v); }
GRPO_LANE_FN f8 operator-(f8 a) { return _mm256_xor_ps(a.v, _mm256_set1_ps(-0.0f)); }
GRPO_LANE_FN f8& operator+=(f8& a, f8 b) { return a = a + b; }
GRPO_LANE_FN f8& operator-=(f8& a, f8 b) { return a = a - b; }
GRPO_LANE_FN f8& operator*=(f8& a, f8 b) { return a = a * b; }
// ordered comparisons are false on NaN; != is true on NaN (as for scalars)
GRPO_LANE_FN m8 operator<(f8 a, f8 b) { return {_mm256_cmp_ps(a.v, b.v, _CMP_LT_OQ)}; }
GRPO_LANE_FN m8 operator<=(f8 a, f8 b) { return {_mm256_cmp_ps(a.v, b.v, _CMP_LE_OQ)}; }
GRPO_LANE_FN m8 operator>(f8 a, f8 b) { return {_mm256_cmp_ps(a.v, b.v, _CMP_GT_OQ)}; }
GRPO_LANE_FN m8 operator>=(f8 a, f8 b) { return {_mm256_cmp_ps(a.v, b.v, _CMP_GE_OQ)}; }
GRPO_LANE_FN m8 operator==(f8 a, f8 b) { return {_mm256_cmp_ps(a.v, b.v, _CMP_EQ_OQ)}; }
GRPO_LANE_FN m8 operator!=(f8 a, f8 b) { return {_mm256_cmp_ps(a.v, b.v, _CMP_NEQ_UQ)}; }
GRPO_LANE_FN m8 operator&(m8 a, m8 b) { return {_mm256_and_ps(a.v, b.v)}; }
GRPO_LANE_FN m8 operator|(m8 a, m8 b) { return {_mm256_or_ps(a.v, b.v)}; }
GRPO_LANE_FN m8 operator!(m8 a) { return {_mm256_xor_ps(a.v, _mm256_castsi256_ps(_mm256_set1_epi32(-1)))}; }
GRPO_LANE_FN m8& operator&=(m8& a, m8 b) { return a = a & b; }
GRPO_LANE_FN m8& operator|=(m8& a, m8 b) { return a = a | b; }

GRPO_LANE_FN f8 select(m8 m, f8 a, f8 b) { return _mm256_blendv_ps(b.v, a.v, m.v); }
GRPO_LANE_FN f8 min(f8 a, f8 b) { return _mm256_min_ps(b.v, a.v); }  // b < a ? b : a
GRPO_LANE_FN f8 max(f8 a, f8 b) { return _mm256_max_ps(b.v, a.v); }  // b > a ? b : a
GRPO_LANE_FN f8 clamp(f8 x, f8 lo, f8 hi, m8& inside) {
  inside = !((x < lo) | (x > hi));
  return _mm256_min_ps(hi.v, _mm256_max_ps(lo.v, x.v));  // NaN passes (second operands)
}
/// The bounded exp when every lane is within its bound (bit for bit the full-range exp there, with
/// fewer operations), the full-range one otherwise.
GRPO_LANE_FN f8 exp(f8 x) {
  const __m256 a = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x.v);
  const __m256 ok = _mm256_cmp_ps(a, _mm256_set1_ps(float(simd::exp_bounded_limit)), _CMP_LE_OQ);
  return _mm256_movemask_ps(ok) == 0xff ? simd::exp_avx2_bounded(x.v) : simd::exp_avx2(x.v);
}
GRPO_LANE_FN f8 abs(f8 x) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x.v); }
GRPO_LANE_FN f8 when(m8 m, f8 x) { return _mm256_and_ps(m.v, x.v); }
GRPO_LANE_FN m8 isfinite(f8 x) { return (x - x) == f8(0.0f); }
GRPO_LANE_FN bool any(m8 m) { return _mm256_movemask_ps(m.v) != 0; }
GRPO_LANE_FN int popcount(m8 m) { return __builtin_popcount(unsigned(_mm256_movemask_ps(m.v))); }
GRPO_LANE_FN bool all(m8 m) { return _mm256_movemask_ps(m.v) == 0xff; }
GRPO_LANE_FN int first(m8 m) { return __builtin_ctz(unsigned(_mm256_movemask_ps(m.v))); }
GRPO_LANE_FN int last(m8 m) { return 31 - __builtin_clz(unsigned(_mm256_movemask_ps(m.v))); }
GRPO_LANE_FN bool test(m8 m, int j) { return (_mm256_movemask_ps(m.v) >> j) & 1; }

/// ((a0 + a4) + (a2 + a6)) + ((a1 + a5) + (a3 + a7)) in double: a fixed order.
GRPO_LANE_FN double reduce_sum(f8 x) {
  const __m256d s = _mm256_add_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(x.v)),
                                  _mm256_cvtps_pd(_mm256_extractf128_ps(x.v, 1)));
  const __m128d q = _mm_add_pd(_mm256_castpd256_pd128(s), _mm256_extractf128_pd(s, 1));
  return _mm_cvtsd_f64(_mm_add_sd(q, _mm_unpackhi_pd(q, q)));
}
GRPO_LANE_FN double reduce_min(f8 x) {
  __m128 m = _mm_min_ps(_mm256_castps256_ps128(x.v), _mm256_extractf128_ps(x.v, 1));
  m = _mm_min_ps(m, _mm_movehl_ps(m, m));
  return _mm_cvtss_f32(_mm_min_ss(m, _mm_shuffle_ps(m, m, 1)));
}
GRPO_LANE_FN double reduce_max(f8 x) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(x.v), _mm256_extractf128_ps(x.v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  return _mm_cvtss_f32(_mm_max_ss(m, _mm_shuffle_ps(m, m, 1)));
}

GRPO_LANE_FN m8 first_lanes_m8(index_t n) {
  const int k = n < 0 ? 0 : (n > 8 ? 8 : int(n));
  return {_mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32(k), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)))};
}
template <>
GRPO_LANE_FN m8 first_lanes<f8>(index_t n) { return first_lanes_m8(n); }
template <>
GRPO_LANE_FN m8 all_lanes<f8>() { return {_mm256_castsi256_ps(_mm256_set1_epi32(-1))}; }

template <>
GRPO_LANE_FN f8 load<f8, float>(const float* p, int n) {
  if (n == 8) return _mm256_loadu_ps(p);
  return _mm256_maskload_ps(p, _mm256_castps_si256(first_lanes_m8(n).v));
}
GRPO_LANE_FN void store(float* p, f8 x, int n) {
  if (n == 8) _mm256_storeu_ps(p, x.v);
  else _mm256_maskstore_ps(p, _mm256_castps_si256(first_lanes_m8(n).v), x.v);
}
template <>
GRPO_LANE_FN m8 load_mask<f8>(const std::uint8_t* m, int n) {
  std::uint64_t bytes = 0;
  if (n == 8) __builtin_memcpy(&bytes, m, 8);
  else for (int j = 0; j < n; ++j) bytes |= std::uint64_t(m[j]) << (8 * j);
  const __m256i w = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(static_cast<long long>(bytes)));
  return {_mm256_castsi256_ps(_mm256_cmpgt_epi32(w, _mm256_setzero_si256()))};  // bytes are >= 0
}
/// 32 bytes a step: the bit mask of the non-zero bytes, counted, and its highest bit.
template <>
GRPO_LANE_FN extent mask_extent<f8>(const std::uint8_t* m, index_t n) {
  extent e;
  index_t j = 0;
  for (; j + 32 <= n; j += 32) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(m + j));
    const unsigned nz = ~unsigned(_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, _mm256_setzero_si256())));
    e.count += __builtin_popcount(nz);
    if (nz != 0) e.end = j + 32 - __builtin_clz(nz);
  }
  for (; j < n; ++j)
    if (m[j] != 0) ++e.count, e.end = j + 1;
  return e;
}
#else
#define GRPO_LANE_FN inline
#define GRPO_LANE_KERNEL
#endif

}  // namespace grpo::lane
