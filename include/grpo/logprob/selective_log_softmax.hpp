#pragma once
// Selective log-softmax on the CPU (TRL's selective_log_softmax, trl/trainer/utils.py; the online
// softmax of Milakov & Gimelshein 2018, arXiv:1805.02867): from logits z [tokens, V] and the chosen
// tokens y, the log-probability
//     logp[t] = z[t, y_t]/τ − logsumexp_v(z[t, v]/τ)
// (and, optionally, the entropy H[t] = −Σ_v p log p) in ONE online pass over each row, never
// materialising the log-softmax; and the backward
//     dL/dz[t, v] = (g_t·(1[v = y_t] − p_v) − g_H,t·p_v·(log p_v + H_t)) / τ,   g = dL/dlogp, g_H = dL/dH,
// into a separate buffer or in place over the logits. fp32 and bf16 logits on AVX2 (chosen at run
// time) or scalar kernels, fp64 logits (double outputs) on the same kernels instantiated in
// double; OpenMP over tokens; 64-bit indices throughout.
//
//   std::vector<float> logp(N), lse(N);
//   GRPO_TRY(grpo::logprob::selective_log_softmax_forward(logits, {N, V}, targets, tau,
//                                                         logp.data(), nullptr, lse.data()));
//   GRPO_TRY(grpo::logprob::selective_log_softmax_backward(logits, {N, V}, targets, tau, lse.data(),
//                                                          dlogp.data(), dlogits /* or logits */));
//
// Errors (never a silent NaN): null pointers, bad shapes, a non-finite or non-positive temperature,
// targets outside [0, V) (naming `targets` and the token), a row with a NaN or +inf logit or
// with every logit −inf (naming `logits` and the flat index), non-finite upstream gradients.
// A chosen token whose logit is −inf gets logp = −inf (it has probability 0): not an error.
#include <grpo/core/bf16.hpp>
#include <grpo/core/error.hpp>
#include <grpo/core/vexp.hpp>
#include <grpo/logprob/shape.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <limits>
#include <new>
#include <span>
#include <type_traits>
#include <vector>

#if defined(_OPENMP)
#define GRPO_LOGPROB_OMP_FOR _Pragma("omp parallel for schedule(static)")
#else
#define GRPO_LOGPROB_OMP_FOR
#endif

namespace grpo::logprob {

namespace cpu_detail {

/// One row's forward statistics, in the kernel's precision R (float, or double for float64 logits).
template <class R>
struct row_result_t {
  R lse;      ///< log Σ_v exp(z_v/τ); −inf for an all-masked row, NaN for a row with NaN/+inf
  R entropy;  ///< −Σ p log p
  R m2;       ///< max_v z_v·log2(e)/τ (as rounded in the pass)
  R log2_s;   ///< log2 Σ_v 2^(z_v·log2(e)/τ − m2)
};
using row_result = row_result_t<float>;

// ---- the scalar policy: a "vector" of one R ------------------------------------------------
// R = float for float and bf16 logits (the fast exp2 of grpo/core/vexp.hpp), R = double for
// float64 logits (std::exp2: the float64 path is for checking, exact to double rounding).
template <class R>
struct scalar_ops {
  using vec = R;
  using real = R;
  static constexpr index_t width = 1;
  static R set1(R x) { return x; }
  static R load(const R* p) { return *p; }
  static R load(const bf16* p) { return static_cast<float>(*p); }
  template <class T>
  static void load2(const T* p, R& a, R& b) {
    a = load(p);
    b = load(p + 1);
  }
  static void store(R* p, R x) { *p = x; }
  static void store(bf16* p, R x) { *p = bf16(static_cast<float>(x)); }
  static R add(R a, R b) { return a + b; }
  static R mul(R a, R b) { return a * b; }
  static R fmadd(R a, R b, R c) { return std::fma(a, b, c); }
  static R max_keep(R a, R b) { return a > b ? a : b; }  // b when either is NaN
  static R exp2(R t) {
    if constexpr (std::is_same_v<R, float>) return simd::exp2_flush_scalar(t);
    else return std::exp2(t);
  }
  static R exp2_sum(R t) {
    if constexpr (std::is_same_v<R, float>) return simd::exp2_floor_scalar(t);
    else return std::exp2(t);
  }
  static R hsum(R x) { return x; }
  static R hmax(R x) { return x; }
  template <class T>
  static void prefetch(const T*) {}
  // one element, for the rows' tails (the same in every policy)
  template <class T>
  static R scalar(const T* p) { return load(p); }
  template <class T>
  static void put(T* p, R x) { store(p, x); }
  static R exp2_1(R t) { return exp2(t); }
  static R exp2_sum_1(R t) { return exp2_sum(t); }
};

namespace scalar_kernels {
using ops = scalar_ops<float>;
#include <grpo/logprob/detail/row_kernels.inl>
}  // namespace scalar_kernels

namespace scalar64_kernels {  // float64 logits
using ops = scalar_ops<double>;
#include <grpo/logprob/detail/row_kernels.inl>
}  // namespace scalar64_kernels

// ---- the AVX2 policy: 8 floats, compiled for AVX2+FMA whatever the build flags -------------
#if GRPO_HAVE_X86_SIMD
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif
namespace avx2_kernels {
struct ops {
  using vec = __m256;
  using real = float;
  static constexpr index_t width = 8;
  template <class T>
  static float scalar(const T* p) { return to_float(*p); }
  template <class T>
  static void put(T* p, float x) { *p = from_float<T>(x); }
  static float exp2_1(float t) { return simd::exp2_flush_scalar(t); }
  static float exp2_sum_1(float t) { return simd::exp2_floor_scalar(t); }
  static __m256 set1(float x) { return _mm256_set1_ps(x); }
  static __m256 load(const float* p) { return _mm256_loadu_ps(p); }
  static __m256 load(const bf16* p) {  // bf16 -> fp32 is a 16-bit left shift of the bits
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  }
  /// Elements [0, 16) as two vectors in some order (for order-free reductions: sums, maxima).
  static void load2(const float* p, __m256& a, __m256& b) {
    a = _mm256_loadu_ps(p);
    b = _mm256_loadu_ps(p + 8);
  }
  static void load2(const bf16* p, __m256& a, __m256& b) {  // one load, two interleaves
    const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    a = _mm256_castsi256_ps(_mm256_unpacklo_epi16(_mm256_setzero_si256(), h));
    b = _mm256_castsi256_ps(_mm256_unpackhi_epi16(_mm256_setzero_si256(), h));
  }
  static void store(float* p, __m256 x) { _mm256_storeu_ps(p, x); }
  static void store(bf16* p, __m256 x) {  // round to nearest even, NaN stays a quiet NaN
    const __m256i u = _mm256_castps_si256(x);
    const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
    __m256i r = _mm256_add_epi32(u, _mm256_add_epi32(_mm256_set1_epi32(0x7fff), lsb));
    const __m256i quiet = _mm256_or_si256(u, _mm256_set1_epi32(0x00400000));
    r = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(r), _mm256_castsi256_ps(quiet),
                                             _mm256_cmp_ps(x, x, _CMP_UNORD_Q)));
    r = _mm256_srli_epi32(r, 16);
    const __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(r, r), 0xD8);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p), _mm256_castsi256_si128(packed));
  }
  template <class T>  // a hint only: prefetching past the end of the row is harmless
  static void prefetch(const T* p) { _mm_prefetch(reinterpret_cast<const char*>(p), _MM_HINT_T0); }
  static __m256 add(__m256 a, __m256 b) { return _mm256_add_ps(a, b); }
  static __m256 mul(__m256 a, __m256 b) { return _mm256_mul_ps(a, b); }
  static __m256 fmadd(__m256 a, __m256 b, __m256 c) { return _mm256_fmadd_ps(a, b, c); }
  static __m256 max_keep(__m256 a, __m256 b) { return _mm256_max_ps(a, b); }  // b on NaN
  static __m256 exp2(__m256 t) { return simd::exp2_flush_avx2(t); }
  static __m256 exp2_sum(__m256 t) { return simd::exp2_floor_avx2(t); }
  static float hsum(__m256 x) {
    const __m128 s = _mm_add_ps(_mm256_castps256_ps128(x), _mm256_extractf128_ps(x, 1));
    const __m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(t, _mm_movehdup_ps(t)));
  }
  static float hmax(__m256 x) {
    const __m128 s = _mm_max_ps(_mm256_castps256_ps128(x), _mm256_extractf128_ps(x, 1));
    const __m128 t = _mm_max_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_max_ss(t, _mm_movehdup_ps(t)));
  }
};
#include <grpo/logprob/detail/row_kernels.inl>
}  // namespace avx2_kernels
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#endif  // GRPO_HAVE_X86_SIMD

inline status resolve_path(simd_path requested, bool* use_avx2) {
  *use_avx2 = false;
  if (requested == simd_path::scalar) return {};
  if (requested == simd_path::avx2 && !simd::has_avx2())
    return {errc::bad_config, "path", -1, "AVX2 was requested but this CPU (or build) lacks it"};
  *use_avx2 = simd::has_avx2();
  return {};
}

inline void atomic_min(std::atomic<index_t>& a, index_t v) {
  index_t cur = a.load(std::memory_order_relaxed);
  while (v < cur && !a.compare_exchange_weak(cur, v, std::memory_order_relaxed)) {
  }
}

/// The error for a row whose statistics came out non-finite: the first NaN / +inf, or the row
/// start when every logit is −inf.
template <class T>
status describe_bad_row(const T* logits, const logits_shape& shape, index_t t) {
  const T* row = logits + t * shape.stride();
  for (index_t v = 0; v < shape.vocab; ++v) {
    const double x = scalar_ops<std::conditional_t<std::is_same_v<T, double>, double, float>>::scalar(row + v);
    if (std::isnan(x) || x == INFINITY)
      return {errc::non_finite, "logits", t * shape.stride() + v,
              std::string(std::isnan(x) ? "NaN" : "+inf") + " logit in row " + std::to_string(t)};
  }
  return {errc::non_finite, "logits", t * shape.stride(),
          "every logit of row " + std::to_string(t) + " is -inf (fully masked): its softmax is undefined"};
}

template <class T>
status check_forward_inputs(const T* logits, const logits_shape& shape, const std::int64_t* targets,
                            double temperature, const void* per_token, const char* per_token_name = "logp") {
  GRPO_TRY(detail::check_shape(shape));
  GRPO_TRY(detail::check_temperature(temperature));
  if (shape.tokens == 0) return {};
  GRPO_TRY(detail::check_not_null(logits, "logits"));
  GRPO_TRY(detail::check_not_null(targets, "targets"));
  GRPO_TRY(detail::check_not_null(per_token, per_token_name));
  return detail::check_targets(targets, shape.tokens, shape.vocab);
}

/// The precision of the log-probs, statistics and gradients for logits of type T: float for
/// float and bf16 logits, double for float64 logits.
template <class T>
using real_of = std::conditional_t<std::is_same_v<T, double>, double, float>;

/// The row passes for T: float64 logits run the scalar double policy; AVX2 exists for float32
/// and bf16 only (requesting it for float64 is an error).
template <class T>
status resolve_path_for(simd_path requested, bool* use_avx2) {
  if constexpr (std::is_same_v<T, double>) {
    *use_avx2 = false;
    if (requested == simd_path::avx2)
      return {errc::bad_config, "path", -1, "the AVX2 kernels take float32 and bf16 logits; float64 runs scalar"};
    return {};
  } else {
    return resolve_path(requested, use_avx2);
  }
}

template <class T, bool Entropy>
row_result_t<real_of<T>> row_forward(const T* row, index_t vocab, real_of<T> inv_tau, bool use_avx2) {
  if constexpr (std::is_same_v<T, double>) {
    (void)use_avx2;
    return scalar64_kernels::row_forward<T, Entropy>(row, vocab, inv_tau);
  } else {
#if GRPO_HAVE_X86_SIMD
    if (use_avx2) return avx2_kernels::row_forward<T, Entropy>(row, vocab, inv_tau);
#endif
    return scalar_kernels::row_forward<T, Entropy>(row, vocab, inv_tau);
  }
}

template <class T>
real_of<T> logp_of(const T* z_y, real_of<T> inv_tau, const row_result_t<real_of<T>>& r) {
  if constexpr (std::is_same_v<T, double>) return scalar64_kernels::logp_of(*z_y, inv_tau, r);
  else return scalar_kernels::logp_of(to_float(*z_y), inv_tau, r);
}

template <class T, bool Entropy>
void row_backward(const T* row, T* drow, index_t vocab, index_t target, real_of<T> inv_tau, real_of<T> lse,
                  real_of<T> g, real_of<T> gh, real_of<T> h, bool use_avx2) {
  if constexpr (std::is_same_v<T, double>) {
    (void)use_avx2;
    scalar64_kernels::row_backward<T, Entropy>(row, drow, vocab, target, inv_tau, lse, g, gh, h);
  } else {
#if GRPO_HAVE_X86_SIMD
    if (use_avx2) return avx2_kernels::row_backward<T, Entropy>(row, drow, vocab, target, inv_tau, lse, g, gh, h);
#endif
    scalar_kernels::row_backward<T, Entropy>(row, drow, vocab, target, inv_tau, lse, g, gh, h);
  }
}

}  // namespace cpu_detail

using cpu_detail::real_of;

/// Forward: logp[t] (and entropy[t], lse[t] = logsumexp(z[t,:]/τ) when those are non-null).
/// Keep `lse` (and `entropy` when its gradient is wanted) for the backward. Logits of float or
/// bf16 give float outputs; float64 logits give double outputs (the scalar kernels in double).
template <class T>
status selective_log_softmax_forward(const T* logits, const logits_shape& shape,
                                     const std::int64_t* targets, real_of<T> temperature, real_of<T>* logp,
                                     real_of<T>* entropy = nullptr, real_of<T>* lse = nullptr,
                                     simd_path path = simd_path::automatic) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, bf16> || std::is_same_v<T, double>,
                "logits must be float, grpo::bf16 or double");
  using R = real_of<T>;
  GRPO_TRY(cpu_detail::check_forward_inputs(logits, shape, targets, temperature, logp));
  bool use_avx2 = false;
  GRPO_TRY(cpu_detail::resolve_path_for<T>(path, &use_avx2));
  const R inv_tau = R(1) / temperature;
  const index_t stride = shape.stride();
  std::atomic<index_t> first_bad{shape.tokens};
  GRPO_LOGPROB_OMP_FOR
  for (index_t t = 0; t < shape.tokens; ++t) {
    const T* row = logits + t * stride;
    const cpu_detail::row_result_t<R> r = entropy ? cpu_detail::row_forward<T, true>(row, shape.vocab, inv_tau, use_avx2)
                                                  : cpu_detail::row_forward<T, false>(row, shape.vocab, inv_tau, use_avx2);
    if (!std::isfinite(r.lse)) cpu_detail::atomic_min(first_bad, t);
    logp[t] = cpu_detail::logp_of(row + targets[t], inv_tau, r);
    if (entropy) entropy[t] = r.entropy;
    if (lse) lse[t] = r.lse;
  }
  if (first_bad.load() < shape.tokens) return cpu_detail::describe_bad_row(logits, shape, first_bad.load());
  return {};
}

/// Backward: dlogits[t, v] = dL/dz[t, v] from g = dlogp (and g_H = dentropy when non-null, which
/// then needs the forward's `entropy`). `dlogits` may be `logits` itself (in place, same layout);
/// it must not overlap it otherwise. Columns between vocab and row_stride are left untouched.
template <class T>
status selective_log_softmax_backward(const T* logits, const logits_shape& shape,
                                      const std::int64_t* targets, real_of<T> temperature, const real_of<T>* lse,
                                      const real_of<T>* dlogp, T* dlogits, const real_of<T>* entropy = nullptr,
                                      const real_of<T>* dentropy = nullptr,
                                      simd_path path = simd_path::automatic) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, bf16> || std::is_same_v<T, double>,
                "logits must be float, grpo::bf16 or double");
  using R = real_of<T>;
  GRPO_TRY(cpu_detail::check_forward_inputs(logits, shape, targets, temperature, dlogp, "dlogp"));
  if (shape.tokens == 0) return {};
  GRPO_TRY(detail::check_not_null(lse, "lse"));
  GRPO_TRY(detail::check_not_null(dlogits, "dlogits"));
  GRPO_TRY(detail::check_finite(lse, shape.tokens, "lse"));
  GRPO_TRY(detail::check_finite(dlogp, shape.tokens, "dlogp"));
  if (dentropy) {
    GRPO_TRY(detail::check_not_null(entropy, "entropy"));
    GRPO_TRY(detail::check_finite(dentropy, shape.tokens, "dentropy"));
    GRPO_TRY(detail::check_finite(entropy, shape.tokens, "entropy"));
  }
  const auto bytes = static_cast<std::size_t>((shape.tokens - 1) * shape.stride() + shape.vocab) * sizeof(T);
  GRPO_TRY(detail::check_alias(logits, dlogits, bytes, "dlogits"));
  bool use_avx2 = false;
  GRPO_TRY(cpu_detail::resolve_path_for<T>(path, &use_avx2));
  const R inv_tau = R(1) / temperature;
  const index_t stride = shape.stride();
  GRPO_LOGPROB_OMP_FOR
  for (index_t t = 0; t < shape.tokens; ++t) {
    const T* row = logits + t * stride;
    T* drow = dlogits + t * stride;
    const R gh = dentropy ? dentropy[t] : R(0);
    const R h = dentropy ? entropy[t] : R(0);
    if (dentropy)
      cpu_detail::row_backward<T, true>(row, drow, shape.vocab, targets[t], inv_tau, lse[t], dlogp[t], gh, h, use_avx2);
    else
      cpu_detail::row_backward<T, false>(row, drow, shape.vocab, targets[t], inv_tau, lse[t], dlogp[t], gh, h, use_avx2);
  }
  return {};
}

/// The per-token values a loss sees, and where it writes its gradient (fused call below).
struct token_loss_io {
  std::span<const float> logp;
  std::span<const float> entropy;  ///< empty unless requested
  std::span<float> dlogp;          ///< the loss writes dL/dlogp here (zero-initialised)
  std::span<float> dentropy;       ///< and dL/dH here when entropy was requested (zero-initialised)
};

/// loss → dlogits in one call: forward (logp, lse, entropy), then `loss(token_loss_io&)` (returns
/// grpo::status or void) computes dL/dlogp from all tokens' logp (group statistics need them all),
/// then the backward writes dlogits (may be `logits`, in place). The logits are read twice and
/// dlogits written once. Per-token scratch (4 floats a token) is allocated here; a failed
/// allocation is reported as errc::out_of_memory.
template <class T, class Loss>
status selective_log_softmax_fused(const T* logits, const logits_shape& shape, const std::int64_t* targets,
                                   float temperature, Loss&& loss, T* dlogits, bool with_entropy = false,
                                   float* logp_out = nullptr, simd_path path = simd_path::automatic) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, bf16>, "the fused call takes float or grpo::bf16 logits");
  std::vector<float> scratch;
  const auto n = static_cast<std::size_t>(std::max<index_t>(shape.tokens, 0));
  try {
    scratch.assign(n * (with_entropy ? 5 : 3), 0.0f);
  } catch (const std::bad_alloc&) {
    return {errc::out_of_memory, "scratch", -1, "per-token scratch of the fused call"};
  }
  float* logp = scratch.data();
  float* lse = logp + n;
  float* dlogp = lse + n;
  float* entropy = with_entropy ? dlogp + n : nullptr;
  float* dentropy = with_entropy ? entropy + n : nullptr;
  GRPO_TRY(selective_log_softmax_forward(logits, shape, targets, temperature, logp, entropy, lse, path));
  token_loss_io io{{logp, n}, {entropy, with_entropy ? n : 0}, {dlogp, n}, {dentropy, with_entropy ? n : 0}};
  if constexpr (std::is_same_v<std::invoke_result_t<Loss, token_loss_io&>, status>) {
    GRPO_TRY(loss(io));
  } else {
    loss(io);
  }
  if (logp_out) std::copy(logp, logp + n, logp_out);
  return selective_log_softmax_backward(logits, shape, targets, temperature, lse, dlogp, dlogits, entropy,
                                        dentropy, path);
}

}  // namespace grpo::logprob
