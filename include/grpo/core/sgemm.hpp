#pragma once
// A single-precision GEMM for x86-64 with AVX2 + FMA, single-threaded (callers split the work
// across threads), used by the CPU fused-linear log-prob: 1.1–1.6× Eigen's GEMM on one core of
// the 2-core test machine (`bench_logprob --benchmark_filter=gemm`, docs/performance.md):
//
//   C = A·B   or   C += A·B,   A: m×k, B: k×n, C: m×n row-major with leading dimension ldc,
//
// A and B given as strided views (element (i, j) at data[i·rs + j·cs]), so transposes cost
// nothing at the call. The method is the BLIS one (Goto's algorithm): B is packed in KC×NC blocks
// into NR-wide column panels, A in MC×KC blocks into MR-tall row panels, and a 6×16 micro-kernel
// keeps its C tile in 12 ymm registers while it streams KC rank-1 updates (one B panel row:
// 2 loads; one A panel column: 6 broadcasts; 12 FMAs). The B panel (KC·NR floats, 16 KiB) stays
// in L1 while the A block (MC·KC floats, 120 KiB) comes from L2. Edge tiles are padded with zeros
// in the packed panels and written through a small tile buffer. Accumulation order: over k in
// blocks of KC, each block in order, so the result does not depend on the thread split of the
// caller (the caller splits rows or columns of C, never k).
//
// Compiled for AVX2+FMA by function attributes whatever the build flags; call only after
// grpo::simd::has_avx2(). Parity: tests/core/test_sgemm.cpp against a float64 product.
#include <grpo/core/vexp.hpp>  // GRPO_HAVE_X86_SIMD, GRPO_TARGET_AVX2, simd::has_avx2

#include <algorithm>
#include <cstdlib>
#include <memory>

namespace grpo::gemm {

/// A read-only strided matrix view: element (i, j) at data[i·rs + j·cs] (a transpose is a swap
/// of the strides). Defined on every platform: the fused linear passes it to Eigen's GEMM too
/// (float, or double on its float64 path); sgemm takes the float one.
template <class T>
struct basic_cview {
  const T* data;
  index_t rs, cs;
  T operator()(index_t i, index_t j) const { return data[i * rs + j * cs]; }
};
using cview = basic_cview<float>;

}  // namespace grpo::gemm

#if GRPO_HAVE_X86_SIMD

namespace grpo::gemm {

namespace detail {

inline constexpr index_t MR = 6, NR = 16;      // micro-tile (12 accumulators of 8 floats)
inline constexpr index_t KC = 256, MC = 120, NC = 2048;  // cache blocks: A block in L2, B panel in L1

/// The allocator of the packing buffers: std::aligned_alloc. A test may swap in one that fails,
/// to check that the failure is reported (set it before any GEMM runs, never during one).
using scratch_allocator = void* (*)(std::size_t alignment, std::size_t bytes);
inline scratch_allocator scratch_alloc = [](std::size_t alignment, std::size_t bytes) -> void* {
  return std::aligned_alloc(alignment, bytes);
};

/// A 64-byte aligned scratch buffer per thread, grown on demand.
struct scratch {
  struct free_deleter {
    void operator()(float* p) const { std::free(p); }
  };
  std::unique_ptr<float, free_deleter> mem;
  index_t size = 0;
  float* get(index_t n) {  // nullptr when the allocation fails
    if (n > size) {
      const std::size_t bytes = (static_cast<std::size_t>(n) * sizeof(float) + 63) & ~std::size_t{63};
      mem.reset(static_cast<float*>(scratch_alloc(64, bytes)));
      size = mem ? n : 0;
    }
    return mem.get();
  }
};

/// Packs X[i0 .. i0+mc, p0 .. p0+kc) into W-tall panels: panel r holds, for each p, the W values
/// X(i0 + r·W + 0..W−1, p0 + p), rows past mc as zeros. A is packed as is (W = MR), B through its
/// transpose (W = NR: panel c holds B(p0 + p, j0 + c·NR + 0..NR−1)).
template <index_t W>
void pack_panels(cview X, index_t i0, index_t mc, index_t p0, index_t kc, float* out) {
  for (index_t ir = 0; ir < mc; ir += W) {
    const index_t w = std::min(W, mc - ir);
    for (index_t p = 0; p < kc; ++p) {
      const float* col = X.data + (i0 + ir) * X.rs + (p0 + p) * X.cs;
      index_t r = 0;
      if (X.rs == 1)
        for (; r < w; ++r) out[r] = col[r];
      else
        for (; r < w; ++r) out[r] = col[r * X.rs];
      for (; r < W; ++r) out[r] = 0.0f;
      out += W;
    }
  }
}

/// One row of a rank-1 update: (lo, hi) += a_r · (b0, b1).
GRPO_TARGET_AVX2 inline void rank1_row(const float* a_r, __m256 b0, __m256 b1, __m256& lo, __m256& hi) {
  const __m256 ar = _mm256_broadcast_ss(a_r);
  lo = _mm256_fmadd_ps(ar, b0, lo);
  hi = _mm256_fmadd_ps(ar, b1, hi);
}

/// One 16-float row of a C tile: stored (write) or added (accumulate); with a partial tile
/// (nr < 16 or the row past mr), into the tile buffer instead.
GRPO_TARGET_AVX2 inline void put_row(float* row, __m256 lo, __m256 hi, bool accumulate) {
  if (accumulate) {
    lo = _mm256_add_ps(_mm256_loadu_ps(row), lo);
    hi = _mm256_add_ps(_mm256_loadu_ps(row + 8), hi);
  }
  _mm256_storeu_ps(row, lo);
  _mm256_storeu_ps(row + 8, hi);
}

/// C tile (mr×nr valid of MR×NR) = or += the product of an A panel and a B panel over kc. The 12
/// accumulators are named variables: an array of them ends up on the stack when this is not
/// inlined (measured: half the speed).
GRPO_TARGET_AVX2 inline void micro_kernel(index_t kc, const float* a, const float* b, float* c, index_t ldc,
                                          bool accumulate, index_t mr, index_t nr) {
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
#pragma GCC unroll 4
  for (index_t p = 0; p < kc; ++p) {
    const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
    rank1_row(a + 0, b0, b1, c00, c01);
    rank1_row(a + 1, b0, b1, c10, c11);
    rank1_row(a + 2, b0, b1, c20, c21);
    rank1_row(a + 3, b0, b1, c30, c31);
    rank1_row(a + 4, b0, b1, c40, c41);
    rank1_row(a + 5, b0, b1, c50, c51);
    a += MR;
    b += NR;
  }
  const bool full = mr == MR && nr == NR;
  alignas(32) float buf[MR][NR];
  float* const out = full ? c : &buf[0][0];
  const index_t ld = full ? ldc : NR;
  const bool acc = full && accumulate;
  put_row(out + 0 * ld, c00, c01, acc);
  put_row(out + 1 * ld, c10, c11, acc);
  put_row(out + 2 * ld, c20, c21, acc);
  put_row(out + 3 * ld, c30, c31, acc);
  put_row(out + 4 * ld, c40, c41, acc);
  put_row(out + 5 * ld, c50, c51, acc);
  if (full) return;
  for (index_t r = 0; r < mr; ++r)
    for (index_t j = 0; j < nr; ++j) c[r * ldc + j] = accumulate ? c[r * ldc + j] + buf[r][j] : buf[r][j];
}

}  // namespace detail

/// C = A·B (accumulate = false) or C += A·B, A m×k, B k×n, C row-major m×n with leading
/// dimension ldc ≥ n. Single-threaded; k = 0 leaves C (accumulate) or zeroes it. Returns false,
/// with C untouched, when its packing buffers (about 2.1 MiB a thread, kept for reuse) cannot be
/// allocated.
GRPO_TARGET_AVX2 inline bool sgemm(index_t m, index_t n, index_t k, cview A, cview B, float* C, index_t ldc,
                                   bool accumulate) {
  using namespace detail;
  if (m <= 0 || n <= 0) return true;
  if (k <= 0) {
    if (!accumulate)
      for (index_t i = 0; i < m; ++i) std::fill(C + i * ldc, C + i * ldc + n, 0.0f);
    return true;
  }
  thread_local scratch a_buf, b_buf;
  float* const ap = a_buf.get(MC * KC);
  float* const bp = b_buf.get(KC * ((NC + NR - 1) / NR) * NR);
  if (ap == nullptr || bp == nullptr) return false;
  for (index_t j0 = 0; j0 < n; j0 += NC) {
    const index_t nc = std::min(NC, n - j0);
    for (index_t p0 = 0; p0 < k; p0 += KC) {
      const index_t kc = std::min(KC, k - p0);
      const bool acc = accumulate || p0 > 0;
      pack_panels<NR>({B.data, B.cs, B.rs}, j0, nc, p0, kc, bp);  // Bᵀ: n×k
      for (index_t i0 = 0; i0 < m; i0 += MC) {
        const index_t mc = std::min(MC, m - i0);
        pack_panels<MR>(A, i0, mc, p0, kc, ap);
        for (index_t jr = 0; jr < nc; jr += NR) {
          const float* bpanel = bp + jr * kc;
          for (index_t ir = 0; ir < mc; ir += MR)
            micro_kernel(kc, ap + ir * kc, bpanel, C + (i0 + ir) * ldc + j0 + jr, ldc, acc, std::min(MR, mc - ir),
                         std::min(NR, nc - jr));
        }
      }
    }
  }
  return true;
}

}  // namespace grpo::gemm

#endif  // GRPO_HAVE_X86_SIMD
