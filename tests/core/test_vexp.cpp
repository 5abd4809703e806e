// grpo::simd::exp against std::exp in double: max ulp error over a dense sweep of the whole float
// range (every float where the result is subnormal), the special values, and bitwise agreement of
// the AVX2 and scalar versions.
#include <grpo/core/vexp.hpp>

#include <catch2/catch.hpp>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace {

// Error of y in units in the last place of the float nearest to the exact value.
double ulp_error(float y, double exact) {
  if (std::isinf(exact) || exact > std::numeric_limits<float>::max()) return std::isinf(y) ? 0.0 : 1e9;
  const float nearest = static_cast<float>(exact);
  double ulp;
  if (std::fabs(exact) < std::numeric_limits<float>::min()) {
    ulp = std::ldexp(1.0, -149);  // subnormal spacing
  } else {
    int e = 0;
    std::frexp(static_cast<double>(nearest == 0 ? std::numeric_limits<float>::min() : nearest), &e);
    ulp = std::ldexp(1.0, e - 24);
  }
  return std::fabs(static_cast<double>(y) - exact) / ulp;
}

// Runs the library's dispatching array exp over xs and returns the max ulp error.
double max_ulp(const std::vector<float>& xs, float* worst_x) {
  std::vector<float> ys(xs.size());
  grpo::simd::exp(xs.data(), ys.data(), static_cast<grpo::index_t>(xs.size()));
  double worst = 0;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const double err = ulp_error(ys[i], std::exp(static_cast<double>(xs[i])));
    if (err > worst) {
      worst = err;
      *worst_x = xs[i];
    }
  }
  return worst;
}

#if GRPO_HAVE_X86_SIMD
// Lanes where an AVX2 function (through its store wrapper) and its scalar twin differ (NaN = NaN).
std::size_t avx2_mismatches(const std::vector<float>& ts, void (*avx2_store)(const float*, float*),
                            float (*scalar)(float)) {
  std::size_t mismatches = 0;
  for (std::size_t i = 0; i + 8 <= ts.size(); i += 8) {
    alignas(32) float out[8];
    avx2_store(ts.data() + i, out);
    for (int k = 0; k < 8; ++k) {
      const float s = scalar(ts[i + k]);
      mismatches += (s == out[k] || (std::isnan(s) && std::isnan(out[k]))) ? 0 : 1;
    }
  }
  return mismatches;
}
#endif

}  // namespace

TEST_CASE("vexp: max ulp error over a dense sweep of the float range", "[vexp]") {
  // every 61st float bit pattern from -104 to 89 (~35M points), through both signs
  std::vector<float> xs;
  const auto lo = std::bit_cast<std::uint32_t>(-104.0f);  // negative: bit patterns descend to -0
  for (std::uint32_t b = lo; b > 0x80000000u; b -= std::min<std::uint32_t>(61u, b - 0x80000000u))
    xs.push_back(std::bit_cast<float>(b));
  const auto hi = std::bit_cast<std::uint32_t>(89.0f);
  for (std::uint32_t b = 0; b <= hi; b += 61) xs.push_back(std::bit_cast<float>(b));
  float worst_x = 0;
  const double worst = max_ulp(xs, &worst_x);
  INFO("max ulp error " << worst << " at x = " << worst_x << " over " << xs.size() << " points");
  WARN("vexp dense sweep: max ulp error " << worst << " at x = " << worst_x);
  CHECK(worst <= 2.0);
}

TEST_CASE("vexp: every float whose exp is subnormal or near overflow", "[vexp]") {
  std::vector<float> xs;
  for (float x = -104.0f; x <= -87.0f; x = std::nextafter(x, 0.0f)) xs.push_back(x);
  for (float x = 88.0f; x <= 89.0f; x = std::nextafter(x, 100.0f)) xs.push_back(x);
  float worst_x = 0;
  const double worst = max_ulp(xs, &worst_x);
  INFO("max ulp error " << worst << " at x = " << worst_x << " over " << xs.size() << " points");
  WARN("vexp subnormal/overflow sweep: max ulp error " << worst << " at x = " << worst_x);
  CHECK(worst <= 2.0);
}

TEST_CASE("vexp: special values", "[vexp]") {
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float fmax = std::numeric_limits<float>::max();
  const std::vector<float> xs = {-inf, inf, nan, -nan, 0.0f, -0.0f, fmax, -fmax, 1e-45f, -1e-45f,
                                 88.72283f, 88.72284f, 88.7229f, -103.972f, -103.973f, -104.5f, 1000.f,
                                 -1000.f, 1.0f, -1.0f, 0.5f, 10.f, 16.f, 17.f};
  std::vector<float> ys(xs.size());
  grpo::simd::exp(xs.data(), ys.data(), static_cast<grpo::index_t>(xs.size()));
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const double exact = std::exp(static_cast<double>(xs[i]));
    INFO("x = " << xs[i] << " got " << ys[i] << " exact " << exact);
    if (std::isnan(xs[i])) {
      CHECK(std::isnan(ys[i]));
    } else if (exact > fmax) {
      CHECK(ys[i] == inf);
    } else {
      CHECK(ulp_error(ys[i], exact) <= 2.0);
      CHECK(ys[i] >= 0.0f);
    }
    if (std::isnan(xs[i])) CHECK(std::isnan(grpo::simd::exp_scalar(xs[i])));
    else CHECK(grpo::simd::exp_scalar(xs[i]) == ys[i]);
  }
  CHECK(ys[0] == 0.0f);
  CHECK(ys[1] == inf);
}

TEST_CASE("vexp: the AVX2 and scalar versions agree bit for bit", "[vexp]") {
  if (!grpo::simd::has_avx2()) {
    WARN("no AVX2 on this CPU: only the scalar path is tested");
    return;
  }
  std::vector<float> xs;
  for (std::uint32_t b = 0; b < 0xffffffffu - 4099u; b += 4099u) xs.push_back(std::bit_cast<float>(b));
  std::vector<float> ys(xs.size());
  grpo::simd::exp(xs.data(), ys.data(), static_cast<grpo::index_t>(xs.size()));
  std::size_t mismatches = 0;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const float s = grpo::simd::exp_scalar(xs[i]);
    const bool same = std::bit_cast<std::uint32_t>(s) == std::bit_cast<std::uint32_t>(ys[i]) ||
                      (std::isnan(s) && std::isnan(ys[i]));
    mismatches += same ? 0 : 1;
  }
  CHECK(mismatches == 0);
}

TEST_CASE("exp2_flush: 2^t for t <= 0 within 4 ulp, flushed below 2^-125, AVX2 = scalar", "[vexp]") {
  std::vector<float> ts;
  for (float t = -130.0f; t <= 0.5f; t += 0.000731f) ts.push_back(t);
  const float inf = std::numeric_limits<float>::infinity();
  ts.insert(ts.end(), {-inf, -0.0f, 0.0f, -125.0f, -124.99f, -125.01f, std::nanf("")});
  double worst = 0;
  for (const float t : ts) {
    const float y = grpo::simd::exp2_flush_scalar(t);
    if (std::isnan(t)) {
      CHECK(std::isnan(y));
      continue;
    }
    if (t < -125.0f) {
      CHECK(y == 0.0f);
      continue;
    }
    worst = std::max(worst, ulp_error(y, std::exp2(static_cast<double>(t))));
  }
  WARN("exp2_flush: max ulp error " << worst);
  CHECK(worst <= 4.0);
#if GRPO_HAVE_X86_SIMD
  if (grpo::simd::has_avx2())
    CHECK(avx2_mismatches(ts, grpo::simd::exp2_flush_avx2_store, grpo::simd::exp2_flush_scalar) == 0);
#endif
}

TEST_CASE("exp_avx2_bounded == exp_avx2 bit for bit on [-86, 86], NaN stays NaN", "[vexp]") {
#if GRPO_HAVE_X86_SIMD
  if (!grpo::simd::has_avx2()) {
    WARN("no AVX2 on this CPU: nothing to compare");
    return;
  }
  // every 7th float bit pattern over both signs of the bounded range (~3.1M points per sign)
  const float limit = float(grpo::simd::exp_bounded_limit);
  std::vector<float> xs{limit, -limit, 0.0f, -0.0f, std::nanf(""), -std::nanf("")};
  for (std::uint32_t b = 0; b <= std::bit_cast<std::uint32_t>(limit); b += 7) {
    xs.push_back(std::bit_cast<float>(b));
    xs.push_back(-std::bit_cast<float>(b));
  }
  while (xs.size() % 8 != 0) xs.push_back(1.0f);
  std::size_t mismatches = 0, nan_lost = 0;
  for (std::size_t i = 0; i < xs.size(); i += 8) {
    alignas(32) float fast[8], general[8];
    grpo::simd::exp_avx2_bounded_store(xs.data() + i, fast);
    grpo::simd::exp_avx2_store(xs.data() + i, general);
    for (int k = 0; k < 8; ++k) {
      if (std::isnan(xs[i + k])) nan_lost += std::isnan(fast[k]) ? 0 : 1;
      else mismatches += std::bit_cast<std::uint32_t>(fast[k]) == std::bit_cast<std::uint32_t>(general[k]) ? 0 : 1;
    }
  }
  INFO(xs.size() << " points");
  CHECK(mismatches == 0);
  CHECK(nan_lost == 0);
#else
  WARN("not an x86-64 build: nothing to compare");
#endif
}

TEST_CASE("exp2_floor: 2^max(t, -125), equal to exp2_flush from -125 up, AVX2 = scalar", "[vexp]") {
  std::vector<float> ts;
  for (float t = -140.0f; t <= 8.0f; t += 0.000913f) ts.push_back(t);
  const float inf = std::numeric_limits<float>::infinity();
  ts.insert(ts.end(), {-inf, -125.0f, -124.99f, -125.01f, std::nanf(""), 0.0f});
  while (ts.size() % 8 != 0) ts.push_back(1.0f);
  const float floor_value = grpo::simd::exp2_flush_scalar(-125.0f);
  CHECK(floor_value == std::ldexp(1.0f, -125));
  std::size_t wrong = 0;
  for (const float t : ts) {
    const float y = grpo::simd::exp2_floor_scalar(t);
    if (std::isnan(t)) wrong += std::isnan(y) ? 0 : 1;
    else if (t < -125.0f) wrong += y == floor_value ? 0 : 1;
    else wrong += y == grpo::simd::exp2_flush_scalar(t) ? 0 : 1;
  }
  CHECK(wrong == 0);
#if GRPO_HAVE_X86_SIMD
  if (grpo::simd::has_avx2())
    CHECK(avx2_mismatches(ts, grpo::simd::exp2_floor_avx2_store, grpo::simd::exp2_floor_scalar) == 0);
#endif
}
