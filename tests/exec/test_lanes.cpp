// The lane types every per-token formula is written over (grpo/core/lanes.hpp): each operation of
// the 8-wide AVX2 lane against the scalar float lane, lane by lane, on values that include
// NaN, ±Inf, ±0 and ties, and the tail loads and stores that the pass uses for the last partial
// lane of a row. The fused pass instantiated over both lanes is compared with the float64
// reference for every objective in tests/objective/test_reference.cpp.
#include <catch2/catch.hpp>
#include <grpo/core/lanes.hpp>
#include <grpo/exec/cpu.hpp>
#include <grpo/objective/presets.hpp>

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

namespace {

constexpr float pinf = std::numeric_limits<float>::infinity();
constexpr float qnan = std::numeric_limits<float>::quiet_NaN();

// Two columns of operands: random values and the special ones, paired every way.
struct operands {
  std::vector<float> a, b;
};

operands make_operands() {
  const float special[] = {0.f, -0.f, 1.f, -1.f, 0.5f, 2.f, pinf, -pinf, qnan, 1e-38f, -3e38f, 88.f, -100.f};
  operands o;
  for (float x : special)
    for (float y : special) o.a.push_back(x), o.b.push_back(y);
  std::mt19937 rng(7);
  std::normal_distribution<float> g(0.f, 3.f);
  for (int k = 0; k < 256; ++k) o.a.push_back(g(rng)), o.b.push_back(k % 5 == 0 ? o.a.back() : g(rng));
  while (o.a.size() % 8 != 0) o.a.push_back(1.f), o.b.push_back(2.f);
  return o;
}

// Same bits, or both NaN (a NaN's payload is not part of the contract).
bool same(float x, float y) { return (std::isnan(x) && std::isnan(y)) || std::bit_cast<std::uint32_t>(x) == std::bit_cast<std::uint32_t>(y); }

// Every operation of a lane type, applied to a and b: one output column per operation.
constexpr int n_ops = 16;
template <class L>
GRPO_LANE_FN void apply(L a, L b, L (&out)[n_ops]) {
  using namespace grpo::lane;
  mask_of<L> inside{};
  out[0] = a + b;
  out[1] = a - b;
  out[2] = a * b;
  out[3] = a / b;
  out[4] = -a;
  out[5] = min(a, b);
  out[6] = max(a, b);
  out[7] = select(a < b, a, b);
  out[8] = clamp(a, L(-1.0f), L(2.0f), inside);
  out[9] = select(inside, L(1.0f), L(0.0f));
  out[10] = grpo::lane::abs(a);
  out[11] = when(a >= b, b);
  out[12] = select(isfinite(a), L(1.0f), L(0.0f));
  out[13] = select((a <= b) | !(a != b), L(1.0f), L(0.0f));
  out[14] = select((a > b) & (a == a), L(1.0f), L(0.0f));
  out[15] = sigmoid(a);
}

void apply_scalar(const operands& o, std::vector<float> (&out)[n_ops]) {
  for (std::size_t k = 0; k < o.a.size(); ++k) {
    float r[n_ops];
    apply<float>(o.a[k], o.b[k], r);
    for (int j = 0; j < n_ops; ++j) out[j].push_back(r[j]);
  }
}

#if GRPO_HAVE_X86_SIMD
GRPO_LANE_KERNEL void apply_f8(const operands& o, std::vector<float> (&out)[n_ops]) {
  using grpo::lane::f8;
  for (auto& v : out) v.resize(o.a.size());
  for (std::size_t k = 0; k < o.a.size(); k += 8) {
    f8 r[n_ops];
    apply<f8>(grpo::lane::load<f8>(&o.a[k], 8), grpo::lane::load<f8>(&o.b[k], 8), r);
    for (int j = 0; j < n_ops; ++j) grpo::lane::store(&out[j][k], r[j], 8);
  }
}

struct reduced {
  double sum, lo, hi;
  int count, first, last;
  bool any, all;
};
GRPO_LANE_KERNEL reduced reduce_f8(const float* x) {
  using namespace grpo::lane;
  const f8 v = load<f8>(x, 8);
  const m8 m = v > f8(0.0f);
  return {reduce_sum(v), reduce_min(v), reduce_max(v), popcount(m), any(m) ? first(m) : -1, any(m) ? last(m) : -1,
          any(m), all(m)};
}
GRPO_LANE_KERNEL void tail_f8(const float* in, const std::uint8_t* mask, int n, float* out, float* mask_out) {
  using namespace grpo::lane;
  const f8 v = load<f8>(in, n);
  store(out, v + f8(1.0f), n);
  store(mask_out, select(load_mask<f8>(mask, n), f8(1.0f), f8(0.0f)), 8);
}
GRPO_LANE_KERNEL void first_lanes_f8(grpo::index_t n, float* out) {
  using namespace grpo::lane;
  store(out, select(first_lanes<f8>(n), f8(1.0f), f8(0.0f)), 8);
}
GRPO_LANE_KERNEL void exp_f8(const float* x, float* out) {
  using namespace grpo::lane;
  store(out, grpo::lane::exp(load<f8>(x, 8)), 8);
}
GRPO_LANE_KERNEL grpo::lane::extent extent_f8(const std::uint8_t* m, grpo::index_t n) {
  return grpo::lane::mask_extent<grpo::lane::f8>(m, n);
}
// clamp_to(x, lo, hi) and clamp(x, L(lo), L(hi)) side by side, values and "inside" masks.
GRPO_LANE_KERNEL void clamp_to_f8(const float* x, double lo, double hi, float* to, float* to_in, float* cl, float* cl_in) {
  using namespace grpo::lane;
  m8 a, b;
  const f8 v = load<f8>(x, 8);
  store(to, clamp_to(v, lo, hi, a), 8);
  store(to_in, select(a, f8(1.0f), f8(0.0f)), 8);
  store(cl, clamp(v, f8(lo), f8(hi), b), 8);
  store(cl_in, select(b, f8(1.0f), f8(0.0f)), 8);
}
#endif

}  // namespace

TEST_CASE("the AVX2 lane computes what the scalar float lane computes", "[exec][lanes]") {
#if GRPO_HAVE_X86_SIMD
  if (!grpo::simd::has_avx2()) {
    WARN("this CPU has no AVX2: nothing to compare");
    return;
  }
  const operands o = make_operands();
  std::vector<float> scalar[n_ops], wide[n_ops];
  apply_scalar(o, scalar);
  apply_f8(o, wide);
  const char* names[n_ops] = {"+", "-", "*", "/", "neg", "min", "max", "select", "clamp", "inside",
                              "abs", "when", "isfinite", "<= | ==", "> & ordered", "sigmoid"};
  for (int j = 0; j < n_ops; ++j) {
    int bad = 0;
    for (std::size_t k = 0; k < o.a.size(); ++k) {
      const bool ok = j == 15  // sigmoid: vectorised exp, a few ulp from expf
                          ? (same(wide[j][k], scalar[j][k]) ||
                             std::abs(wide[j][k] - scalar[j][k]) <= 4e-7f * std::abs(scalar[j][k]))
                          : same(wide[j][k], scalar[j][k]);
      if (!ok && bad++ < 3)
        UNSCOPED_INFO(names[j] << "(" << o.a[k] << ", " << o.b[k] << "): f8 " << wide[j][k] << " float "
                               << scalar[j][k]);
    }
    CHECK(bad == 0);
  }
#else
  WARN("built without x86 SIMD: nothing to compare");
#endif
}

TEST_CASE("AVX2 lane reductions, masks and tails", "[exec][lanes]") {
#if GRPO_HAVE_X86_SIMD
  if (!grpo::simd::has_avx2()) {
    WARN("this CPU has no AVX2: nothing to compare");
    return;
  }
  SECTION("reductions over the 8 lanes") {
    const float x[8] = {-2.f, 3.f, 0.25f, -0.f, 7.f, -9.5f, 1e-7f, 4.f};
    const reduced r = reduce_f8(x);
    double sum = 0;
    for (float v : x) sum += v;
    CHECK(r.sum == sum);
    CHECK(r.lo == -9.5);
    CHECK(r.hi == 7.0);
    CHECK(r.count == 5);
    CHECK(r.first == 1);
    CHECK(r.last == 7);
    const float one[8] = {-1, -1, 2, -1, -1, -1, -1, -1};
    CHECK(reduce_f8(one).first == 2);
    CHECK(reduce_f8(one).last == 2);
    CHECK(r.any);
    CHECK_FALSE(r.all);
    const float neg[8] = {-1, -1, -1, -1, -1, -1, -1, -1};
    CHECK_FALSE(reduce_f8(neg).any);
    CHECK(reduce_f8(neg).count == 0);
  }
  SECTION("a partial lane reads and writes only its first n values") {
    for (int n = 0; n <= 8; ++n) {
      float in[8], out[8], got_mask[8];
      std::uint8_t mask[8];
      for (int j = 0; j < 8; ++j) {
        in[j] = j < n ? float(j) : qnan;  // beyond n: garbage that must not be read
        out[j] = -5.f;
        mask[j] = std::uint8_t(j < n ? (j % 3 == 0 ? 0 : 1 + 40 * j) : 255);  // any non-zero byte is "in"
      }
      tail_f8(in, mask, n, out, got_mask);
      for (int j = 0; j < 8; ++j) {
        INFO("n = " << n << ", lane " << j);
        CHECK(out[j] == (j < n ? float(j) + 1.f : -5.f));
        CHECK(got_mask[j] == (j < n && j % 3 != 0 ? 1.f : 0.f));
      }
    }
  }
  SECTION("first_lanes clamps its count to [0, 8]") {
    for (grpo::index_t n : {grpo::index_t(-3), grpo::index_t(0), grpo::index_t(5), grpo::index_t(8), grpo::index_t(1) << 40}) {
      float out[8];
      first_lanes_f8(n, out);
      for (int j = 0; j < 8; ++j) CHECK(out[j] == (j < n ? 1.f : 0.f));
    }
  }
#else
  WARN("built without x86 SIMD: nothing to compare");
#endif
}

namespace {
struct small_batch {
  grpo::index_t N = 9, T = 21;
  std::vector<float> logp, old, ref, adv;
  std::vector<std::uint8_t> mask;
  std::vector<std::int32_t> lengths;
  explicit small_batch(unsigned seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> g(0.f, 1.f);
    for (grpo::index_t k = 0; k < N * T; ++k) {
      const bool in = rng() % 6 != 0;
      mask.push_back(in);
      logp.push_back(in ? -std::abs(g(rng)) - 0.05f : qnan);  // garbage where masked out
      old.push_back(in ? logp.back() + 0.3f * g(rng) : -pinf);
      ref.push_back(in ? logp.back() + 0.3f * g(rng) : qnan);
    }
    for (grpo::index_t i = 0; i < N; ++i) adv.push_back(g(rng)), lengths.push_back(std::int32_t(rng() % (T + 1)));
  }
  grpo::token_batch<float> view() const {
    return {.N = N, .T = T, .logp = logp.data(), .old = old.data(), .ref = ref.data(), .mask = mask.data(),
            .lengths = lengths.data(), .advantages = adv.data()};
  }
};
}  // namespace

TEST_CASE("accumulate mode adds, and leaves masked-out positions alone, on every CPU path", "[exec][lanes]") {
  const small_batch d(5);
  auto obj = grpo::presets::trl::dapo();
  obj.beta = 0.04;
  for (bool vectorize : {true, false}) {
    std::vector<float> once(std::size_t(d.N * d.T), 3.f), twice(std::size_t(d.N * d.T), 0.f);
    grpo::objective_result r;
    REQUIRE(grpo::evaluate(obj, d.view(), grpo::gradient_out<float>{once.data()}, r,
                           grpo::exec::serial{.vectorize = vectorize}).ok());
    for (int rep = 0; rep < 2; ++rep)
      REQUIRE(grpo::evaluate(obj, d.view(), grpo::gradient_out<float>{twice.data(), grpo::grad_mode::accumulate}, r,
                             grpo::exec::parallel{.num_threads = 2, .vectorize = vectorize}).ok());
    for (std::size_t k = 0; k < once.size(); ++k) {
      INFO("vectorize " << vectorize << " k " << k);
      CHECK(twice[k] == 2.f * once[k]);  // write mode writes 0 at masked-out positions
    }
  }
}

TEST_CASE("a NaN at a masked-in position is reported when validated and kept when unchecked", "[exec][lanes]") {
  small_batch d(9);
  std::fill(d.mask.begin(), d.mask.end(), 1);
  d.lengths.assign(std::size_t(d.N), std::int32_t(d.T));
  for (auto* v : {&d.logp, &d.old, &d.ref})
    for (float& x : *v)
      if (!std::isfinite(x)) x = -1.f;
  d.logp[21] = qnan;
  auto obj = grpo::presets::trl::dapo();
  obj.beta = 0.04;
  for (bool vectorize : {true, false}) {
    std::vector<float> g(std::size_t(d.N * d.T));
    grpo::objective_result r;
    const auto s = grpo::evaluate(obj, d.view(), grpo::gradient_out<float>{g.data()}, r,
                                  grpo::exec::serial{.vectorize = vectorize});
    CHECK(s.kind() == grpo::errc::non_finite);
    CHECK(s.input() == std::string("logp"));
    CHECK(s.index() == 21);
    REQUIRE(grpo::evaluate(grpo::unchecked, obj, d.view(), grpo::gradient_out<float>{g.data()}, r,
                           grpo::exec::serial{.vectorize = vectorize}).ok());
    CHECK(std::isnan(r.loss));
    CHECK(std::isnan(g[21]));
  }
}

TEST_CASE("clamp_to is clamp, and with both bounds infinite passes every value through", "[exec][lanes]") {
  const double inf = std::numeric_limits<double>::infinity();
  const float xs[] = {0.f, -0.f, 1.5f, -7.f, 30.f, pinf, -pinf, qnan, -1.f, 2.f, 1e-38f, -3e38f, 0.5f, 10.f, 11.f, -20.f};
  const double bounds[][2] = {{-1.0, 2.0}, {-inf, inf}, {-inf, 10.0}, {-20.0, inf}};
  for (const auto& bd : bounds) {
    INFO("bounds [" << bd[0] << ", " << bd[1] << "]");
    for (float x : xs) {
      bool in_to = false, in_cl = false;
      const float to = grpo::lane::clamp_to(x, bd[0], bd[1], in_to);
      const float cl = grpo::lane::clamp(x, float(bd[0]), float(bd[1]), in_cl);
      INFO("x = " << x);
      CHECK(same(to, cl));
      CHECK(in_to == in_cl);
      if (bd[0] == -inf && bd[1] == inf) {
        CHECK(same(to, x));
        CHECK(in_to);
      }
    }
#if GRPO_HAVE_X86_SIMD
    if (grpo::simd::has_avx2())
      for (std::size_t k = 0; k + 8 <= std::size(xs); k += 8) {
        float to[8], to_in[8], cl[8], cl_in[8];
        clamp_to_f8(xs + k, bd[0], bd[1], to, to_in, cl, cl_in);
        for (int j = 0; j < 8; ++j) {
          INFO("lane " << j << ", x = " << xs[k + j]);
          CHECK(same(to[j], cl[j]));
          CHECK(to_in[j] == cl_in[j]);
        }
      }
#endif
  }
}

TEST_CASE("the AVX2 lane's exp equals the full-range exp bit for bit, whichever lanes are in the bounded range", "[exec][lanes]") {
#if GRPO_HAVE_X86_SIMD
  if (!grpo::simd::has_avx2()) {
    WARN("this CPU has no AVX2: nothing to compare");
    return;
  }
  // each lane drawn from the bounded range or beyond it (overflow, subnormal results, ±inf, NaN),
  // so the vectors are all-bounded, all-unbounded and mixed
  const float outside[] = {86.5f, 88.7f, 89.f, 200.f, -87.f, -95.f, -103.9f, -110.f, pinf, -pinf, qnan};
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> inside(-86.f, 86.f);
  std::uniform_int_distribution<int> pick(0, int(std::size(outside)) - 1), coin(0, 3);
  int bad = 0, mixed = 0;
  for (int v = 0; v < 20000; ++v) {
    alignas(32) float x[8], got[8], want[8];
    int out = 0;
    for (float& e : x) {
      const bool far = v % 3 == 0 ? false : coin(rng) == 0;  // a third of the vectors all bounded
      e = far ? outside[pick(rng)] : inside(rng);
      out += far;
    }
    mixed += out > 0 && out < 8;
    exp_f8(x, got);
    grpo::simd::exp_avx2_store(x, want);
    for (int j = 0; j < 8; ++j)
      if (!same(got[j], want[j]) && bad++ < 3) UNSCOPED_INFO("exp(" << x[j] << "): " << got[j] << " vs " << want[j]);
  }
  CHECK(mixed > 1000);
  CHECK(bad == 0);
#else
  WARN("built without x86 SIMD: nothing to compare");
#endif
}

TEST_CASE("mask_extent counts the non-zero bytes and finds the last, on every lane type", "[exec][lanes]") {
  std::mt19937 rng(5);
  for (int trial = 0; trial < 600; ++trial) {
    const grpo::index_t n = trial < 100 ? trial : grpo::index_t(rng() % 300);
    std::vector<std::uint8_t> m(std::size_t(n) + 1, 0);
    const grpo::index_t live = n > 0 ? grpo::index_t(rng() % std::uint32_t(n + 1)) : 0;  // a zero tail after it
    for (grpo::index_t j = 0; j < live; ++j) m[j] = rng() % 4 == 0 ? 0 : std::uint8_t(1 + rng() % 255);
    m[std::size_t(n)] = 7;  // a non-zero byte just past the end: never read
    grpo::index_t count = 0, end = 0;
    for (grpo::index_t j = 0; j < n; ++j)
      if (m[j] != 0) ++count, end = j + 1;
    INFO("n = " << n << ", live = " << live);
    const grpo::lane::extent s = grpo::lane::mask_extent<float>(m.data(), n);
    CHECK(s.count == count);
    CHECK(s.end == end);
#if GRPO_HAVE_X86_SIMD
    if (grpo::simd::has_avx2()) {
      const grpo::lane::extent w = extent_f8(m.data(), n);
      CHECK(w.count == count);
      CHECK(w.end == end);
    }
#endif
  }
}
