// grpo::gemm::sgemm (grpo/core/sgemm.hpp) against a float64 product: every layout of A and B
// (row-major, transposed), write and accumulate, shapes that are not multiples of the micro-tile
// (6×16) or of the cache blocks (KC = 256, MC = 120, NC = 2048), and a C with a wider leading
// dimension whose extra columns must stay untouched.
#include <grpo/core/sgemm.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <thread>
#include <vector>

#if GRPO_HAVE_X86_SIMD

namespace {

using grpo::index_t;

struct shape {
  index_t m, n, k;
};

// A as stored: row-major m×k (a_trans = false) or k×m (a_trans = true, A = storedᵀ); B likewise.
void check(shape s, bool a_trans, bool b_trans, bool accumulate, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<float> a(std::size_t(s.m * s.k)), b(std::size_t(s.k * s.n));
  for (auto& x : a) x = u(rng);
  for (auto& x : b) x = u(rng);
  const grpo::gemm::cview A = a_trans ? grpo::gemm::cview{a.data(), 1, s.m} : grpo::gemm::cview{a.data(), s.k, 1};
  const grpo::gemm::cview B = b_trans ? grpo::gemm::cview{b.data(), 1, s.k} : grpo::gemm::cview{b.data(), s.n, 1};
  const index_t ldc = s.n + 3;  // 3 guard columns per row
  std::vector<float> c(std::size_t(s.m * ldc));
  for (auto& x : c) x = u(rng);
  const std::vector<float> c0 = c;
  REQUIRE(grpo::gemm::sgemm(s.m, s.n, s.k, A, B, c.data(), ldc, accumulate));
  index_t bad = 0, guard_changed = 0;
  double worst = 0;
  for (index_t i = 0; i < s.m; ++i) {
    for (index_t j = 0; j < s.n; ++j) {
      double want = accumulate ? double(c0[std::size_t(i * ldc + j)]) : 0.0, scale = std::abs(want);
      for (index_t p = 0; p < s.k; ++p) {
        want += double(A(i, p)) * double(B(p, j));
        scale += std::abs(double(A(i, p)) * double(B(p, j)));
      }
      const double err = std::abs(double(c[std::size_t(i * ldc + j)]) - want);
      worst = std::max(worst, err / (scale + 1e-30));
      // float accumulation over k terms: a few ulp of the sum of magnitudes per term at most
      if (err > 2e-7 * double(s.k + 1) * scale + 1e-30) ++bad;
    }
    for (index_t j = s.n; j < ldc; ++j) guard_changed += c[std::size_t(i * ldc + j)] != c0[std::size_t(i * ldc + j)];
  }
  INFO("m " << s.m << " n " << s.n << " k " << s.k << " A^T " << a_trans << " B^T " << b_trans << " acc "
            << accumulate << " worst relative error " << worst);
  CHECK(bad == 0);
  CHECK(guard_changed == 0);
}

}  // namespace

TEST_CASE("sgemm == float64 product: small and edge shapes, every layout", "[sgemm]") {
  if (!grpo::simd::has_avx2()) {
    WARN("no AVX2 on this CPU: sgemm is not used");
    return;
  }
  unsigned seed = 1;
  for (const shape s : {shape{1, 1, 1}, {6, 16, 1}, {5, 15, 3}, {7, 17, 9}, {13, 33, 64}, {12, 32, 255}, {1, 40, 7},
                        {40, 1, 7}})
    for (bool at : {false, true})
      for (bool bt : {false, true})
        for (bool acc : {false, true}) check(s, at, bt, acc, seed++);
}

TEST_CASE("sgemm == float64 product: shapes that cross the cache blocks", "[sgemm]") {
  if (!grpo::simd::has_avx2()) {
    WARN("no AVX2 on this CPU: sgemm is not used");
    return;
  }
  // k > KC (two k blocks, the second accumulating), m > MC (two A blocks), n > NC (two B blocks)
  check({127, 70, 300}, false, true, false, 91);
  check({250, 33, 513}, true, false, true, 92);
  check({9, 2100, 40}, false, false, false, 93);
  check({130, 2060, 260}, true, true, true, 94);
}

TEST_CASE("sgemm: k = 0 zeroes C or leaves it; empty m or n does nothing", "[sgemm]") {
  if (!grpo::simd::has_avx2()) {
    WARN("no AVX2 on this CPU: sgemm is not used");
    return;
  }
  std::vector<float> c(6, 5.f);
  const float one = 1.f;
  REQUIRE(grpo::gemm::sgemm(2, 3, 0, {&one, 1, 1}, {&one, 1, 1}, c.data(), 3, true));
  CHECK(c == std::vector<float>(6, 5.f));
  REQUIRE(grpo::gemm::sgemm(2, 3, 0, {&one, 1, 1}, {&one, 1, 1}, c.data(), 3, false));
  CHECK(c == std::vector<float>(6, 0.f));
  REQUIRE(grpo::gemm::sgemm(0, 3, 4, {&one, 1, 1}, {&one, 1, 1}, nullptr, 3, false));
  REQUIRE(grpo::gemm::sgemm(2, 0, 4, {&one, 1, 1}, {&one, 1, 1}, nullptr, 3, false));
}

TEST_CASE("sgemm: packing buffers that cannot be allocated give false and leave C untouched", "[sgemm][errors]") {
  if (!grpo::simd::has_avx2()) {
    WARN("no AVX2 on this CPU: sgemm is not used");
    return;
  }
  namespace d = grpo::gemm::detail;
  const d::scratch_allocator saved = d::scratch_alloc;
  d::scratch_alloc = [](std::size_t, std::size_t) -> void* { return nullptr; };
  bool ok = true, untouched = false;
  std::thread([&] {  // a new thread: its (thread_local) buffers are not allocated yet
    std::vector<float> a(6 * 8, 1.f), b(8 * 16, 1.f), c(6 * 16, 7.f);
    ok = grpo::gemm::sgemm(6, 16, 8, {a.data(), 8, 1}, {b.data(), 16, 1}, c.data(), 16, false);
    untouched = std::all_of(c.begin(), c.end(), [](float x) { return x == 7.f; });
  }).join();
  d::scratch_alloc = saved;
  CHECK_FALSE(ok);
  CHECK(untouched);
}

#endif  // GRPO_HAVE_X86_SIMD
