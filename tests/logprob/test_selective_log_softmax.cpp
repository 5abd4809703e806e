// Selective log-softmax (CPU) against the float64 reference: fp32 and bf16, scalar and AVX2 paths,
// entropy, temperature, -inf logits, vocabularies that are not a multiple of the vector width or
// the block, strided rows, in-place backward, the fused loss -> dlogits call, every error, and
// 64-bit offsets through sparse (never touched) memory.
#include "logprob/reference.hpp"

#include <grpo/logprob/naive.hpp>
#include <grpo/logprob/selective_log_softmax.hpp>

#include <catch2/catch.hpp>

#include <sys/mman.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

namespace ref = grpo_test::logprob_ref;
using grpo::bf16;
using grpo::index_t;
using grpo::logprob::logits_shape;
using grpo::logprob::simd_path;

namespace {

constexpr float ninf = -std::numeric_limits<float>::infinity();

std::vector<simd_path> paths() {
  std::vector<simd_path> p{simd_path::scalar};
  if (grpo::simd::has_avx2()) p.push_back(simd_path::avx2);
  return p;
}

template <class T>
struct problem {
  logits_shape shape;
  std::vector<T> logits;
  std::vector<std::int64_t> targets;
  auto getter() const {
    return [this](std::int64_t t, std::int64_t v) {
      return ref::as_double(logits[static_cast<std::size_t>(t * shape.stride() + v)]);
    };
  }
};

// Random logits with scale `scale`; a fraction `masked` of entries set to -inf (never the target).
template <class T>
problem<T> make_problem(index_t tokens, index_t vocab, index_t stride, float scale, double masked, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, scale);
  std::uniform_real_distribution<double> u(0, 1);
  problem<T> p;
  p.shape = {tokens, vocab, stride};
  p.logits.assign(static_cast<std::size_t>(tokens * p.shape.stride()), grpo::from_float<T>(std::nanf("")));
  std::uniform_int_distribution<std::int64_t> pick(0, vocab - 1);
  for (index_t t = 0; t < tokens; ++t) {
    p.targets.push_back(pick(rng));
    for (index_t v = 0; v < vocab; ++v) {
      const bool mask = v != p.targets.back() && u(rng) < masked;
      p.logits[static_cast<std::size_t>(t * p.shape.stride() + v)] = grpo::from_float<T>(mask ? ninf : normal(rng));
    }
  }
  return p;
}

template <class T>
void check_forward(const problem<T>& p, grpo::logprob::real_of<T> tau, simd_path path, double rel) {
  const auto n = static_cast<std::size_t>(p.shape.tokens);
  std::vector<grpo::logprob::real_of<T>> logp(n, NAN), entropy(n, NAN), lse(n, NAN), logp_only(n, NAN);
  REQUIRE(grpo::logprob::selective_log_softmax_forward(p.logits.data(), p.shape, p.targets.data(), tau,
                                                       logp.data(), entropy.data(), lse.data(), path)
              .ok());
  REQUIRE(grpo::logprob::selective_log_softmax_forward(p.logits.data(), p.shape, p.targets.data(), tau,
                                                       logp_only.data(), nullptr, nullptr, path)
              .ok());
  const auto r = ref::forward(p.getter(), p.shape.tokens, p.shape.vocab, p.targets.data(), tau);
  for (std::size_t t = 0; t < n; ++t) {
    INFO("token " << t << " logp " << logp[t] << " ref " << r.logp[t] << " H " << entropy[t] << " ref "
                  << r.entropy[t]);
    CHECK(ref::close(logp[t], r.logp[t], rel));
    CHECK(logp_only[t] == logp[t]);
    CHECK(ref::close(entropy[t], r.entropy[t], rel));
    CHECK(ref::close(lse[t], r.lse[t], rel));
  }
}

template <class T>
void check_backward(const problem<T>& p, grpo::logprob::real_of<T> tau, simd_path path, bool with_entropy, double rel) {
  const auto n = static_cast<std::size_t>(p.shape.tokens);
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0, 1);
  std::vector<grpo::logprob::real_of<T>> logp(n), entropy(n), lse(n), g(n), gh(n);
  for (auto& x : g) x = normal(rng);
  for (auto& x : gh) x = normal(rng);
  REQUIRE(grpo::logprob::selective_log_softmax_forward(p.logits.data(), p.shape, p.targets.data(), tau,
                                                       logp.data(), entropy.data(), lse.data(), path)
              .ok());
  std::vector<T> dz(p.logits.size(), grpo::from_float<T>(std::nanf("")));
  REQUIRE(grpo::logprob::selective_log_softmax_backward(p.logits.data(), p.shape, p.targets.data(), tau,
                                                        lse.data(), g.data(), dz.data(), entropy.data(),
                                                        with_entropy ? gh.data() : nullptr, path)
              .ok());
  const std::vector<double> gd(g.begin(), g.end());
  std::vector<double> ghd;
  if (with_entropy) ghd.assign(gh.begin(), gh.end());
  const auto want = ref::backward(p.getter(), p.shape.tokens, p.shape.vocab, p.targets.data(), tau, gd, ghd);
  // dz is a sum of terms of size ~|g|/τ: compare on that scale
  double worst = 0;
  for (index_t t = 0; t < p.shape.tokens; ++t) {
    const double scale = (std::fabs(gd[t]) + (with_entropy ? std::fabs(gh[t]) * 10 : 0)) / tau + 1e-30;
    for (index_t v = 0; v < p.shape.vocab; ++v) {
      const double got = ref::as_double(dz[static_cast<std::size_t>(t * p.shape.stride() + v)]);
      const double w = want[static_cast<std::size_t>(t * p.shape.vocab + v)];
      worst = std::max(worst, std::fabs(got - w) / scale);
    }
    for (index_t v = p.shape.vocab; v < p.shape.stride(); ++v)  // padding untouched (still NaN)
      CHECK(std::isnan(ref::as_double(dz[static_cast<std::size_t>(t * p.shape.stride() + v)])));
  }
  INFO("worst scaled error " << worst);
  CHECK(worst <= rel);

  // in place over a copy of the logits gives the same bits
  std::vector<T> inplace = p.logits;
  REQUIRE(grpo::logprob::selective_log_softmax_backward(inplace.data(), p.shape, p.targets.data(), tau,
                                                        lse.data(), g.data(), inplace.data(), entropy.data(),
                                                        with_entropy ? gh.data() : nullptr, path)
              .ok());
  CHECK(std::memcmp(inplace.data(), dz.data(), dz.size() * sizeof(T)) == 0);
}

}  // namespace

TEST_CASE("selective log-softmax fp32 forward matches the float64 reference", "[logprob]") {
  for (const index_t vocab : {1, 7, 8, 9, 31, 2047, 2048, 2049, 5003}) {
    for (const float tau : {1.0f, 0.7f, 2.5f}) {
      for (const auto path : paths()) {
        INFO("vocab " << vocab << " tau " << tau << " path " << static_cast<int>(path));
        check_forward(make_problem<float>(13, vocab, 0, 3.0f, 0.0, 11u + static_cast<unsigned>(vocab)), tau, path, 1e-5);
      }
    }
  }
}

TEST_CASE("selective log-softmax: large logits, strided rows, masked (-inf) vocabulary", "[logprob]") {
  for (const auto path : paths()) {
    check_forward(make_problem<float>(9, 3001, 3011, 40.0f, 0.0, 3), 1.0f, path, 1e-5);
    check_forward(make_problem<float>(9, 4099, 0, 3.0f, 0.3, 4), 0.9f, path, 1e-5);
    check_forward(make_problem<float>(5, 5000, 0, 3.0f, 0.97, 5), 1.0f, path, 1e-5);  // whole blocks masked
  }
}

TEST_CASE("selective log-softmax: the reference moves across blocks (one read a row)", "[logprob]") {
  // The forward takes its reference maximum from the first 2048-element block and sums later
  // blocks against it, summing a block again when its maximum lies more than 2 (base 2) above.
  // Rows where that happens at every block (rising logits), once late (a spike in the last
  // block; a moderate spike in the third, where summing without the move would cost the entropy
  // its precision), and after a fully masked first block.
  const index_t V = 7000;  // 4 blocks, the last one partial
  auto p = make_problem<float>(4, V, 0, 1.0f, 0.0, 77);
  for (index_t v = 0; v < V; ++v) {
    p.logits[static_cast<std::size_t>(0 * V + v)] = 0.01f * static_cast<float>(v);   // rising: +20.5 a block
    if (v < 2048 && v != p.targets[3]) p.logits[static_cast<std::size_t>(3 * V + v)] = ninf;
  }
  p.logits[static_cast<std::size_t>(1 * V + 6999)] = 45.0f;  // a spike in the last block
  p.logits[static_cast<std::size_t>(2 * V + 5000)] = 10.0f;  // p ≈ 0.66 on it: entropy ≈ 3
  for (const auto path : paths())
    for (const float tau : {1.0f, 0.5f}) {
      INFO("path " << static_cast<int>(path) << " tau " << tau);
      check_forward(p, tau, path, 1e-5);
    }
}

TEST_CASE("selective log-softmax: NaN or +inf after the first block is reported with its index", "[logprob]") {
  const index_t V = 5000;
  for (const auto path : paths()) {
    for (const float bad : {NAN, INFINITY}) {
      auto p = make_problem<float>(3, V, 0, 3.0f, 0.0, 78);
      const index_t at = 1 * V + 4321;  // row 1, third block
      p.logits[static_cast<std::size_t>(at)] = bad;
      std::vector<float> logp(3), entropy(3);
      const auto s = grpo::logprob::selective_log_softmax_forward(p.logits.data(), p.shape, p.targets.data(), 1.0f,
                                                                  logp.data(), entropy.data(), nullptr, path);
      INFO("path " << static_cast<int>(path) << " bad " << bad);
      CHECK(s.kind() == grpo::errc::non_finite);
      CHECK(s.input() == "logits");
      CHECK(s.index() == at);
    }
  }
}

TEST_CASE("selective log-softmax: a masked chosen token has logp = -inf", "[logprob]") {
  auto p = make_problem<float>(3, 100, 0, 1.0f, 0.0, 6);
  p.logits[static_cast<std::size_t>(1 * 100 + p.targets[1])] = ninf;
  std::vector<float> logp(3);
  for (const auto path : paths()) {
    REQUIRE(grpo::logprob::selective_log_softmax_forward(p.logits.data(), p.shape, p.targets.data(), 1.0f,
                                                         logp.data(), nullptr, nullptr, path)
                .ok());
    CHECK(logp[1] == ninf);
    CHECK(std::isfinite(logp[0]));
  }
}

TEST_CASE("selective log-softmax bf16 forward and backward", "[logprob]") {
  for (const auto path : paths()) {
    for (const index_t vocab : {5, 8, 1000, 4111}) {
      INFO("vocab " << vocab);
      // the bf16 inputs are exact in float: the forward keeps fp32 accuracy
      check_forward(make_problem<bf16>(11, vocab, 0, 2.0f, 0.1, 20), 0.8f, path, 1e-5);
      // the gradient is rounded to bf16 (8 significant bits)
      check_backward(make_problem<bf16>(7, vocab, 0, 2.0f, 0.1, 21), 0.8f, path, false, 8e-3);
      check_backward(make_problem<bf16>(7, vocab, 0, 2.0f, 0.1, 22), 1.0f, path, true, 8e-2);
    }
  }
}

TEST_CASE("selective log-softmax float64: forward and backward equal the reference to 1e-12", "[logprob]") {
  // the same row kernels instantiated in double (std::exp2): exact up to double rounding
  for (const index_t vocab : {1, 7, 2049, 5003}) {
    for (const double tau : {1.0, 0.7}) {
      INFO("vocab " << vocab << " tau " << tau);
      check_forward(make_problem<double>(11, vocab, 0, 3.0f, 0.0, 40), tau, simd_path::automatic, 1e-12);
      check_forward(make_problem<double>(7, vocab, vocab + 5, 30.0f, 0.3, 41), tau, simd_path::scalar, 1e-12);
      check_backward(make_problem<double>(9, vocab, 0, 3.0f, 0.0, 42), tau, simd_path::automatic, false, 1e-12);
      check_backward(make_problem<double>(9, vocab, vocab + 3, 3.0f, 0.2, 43), tau, simd_path::automatic, true, 1e-12);
    }
  }
  // blocks whose maximum jumps (the reference moves) and a row past one block of 2048
  check_forward(make_problem<double>(5, 9000, 0, 80.0f, 0.5, 44), 1.0, simd_path::automatic, 1e-12);
  // the AVX2 kernels are float32: asking for them with float64 logits is an error
  const auto p = make_problem<double>(2, 9, 0, 1.0f, 0.0, 45);
  std::vector<double> logp(2);
  const auto st = grpo::logprob::selective_log_softmax_forward(p.logits.data(), p.shape, p.targets.data(), 1.0,
                                                               logp.data(), nullptr, nullptr, simd_path::avx2);
  CHECK(st.kind() == grpo::errc::bad_config);
  CHECK(st.input() == "path");
}

TEST_CASE("selective log-softmax fp32 backward, with and without the entropy gradient", "[logprob]") {
  for (const auto path : paths()) {
    for (const index_t vocab : {1, 9, 2049, 3000}) {
      INFO("vocab " << vocab);
      check_backward(make_problem<float>(9, vocab, 0, 3.0f, 0.0, 30), 1.0f, path, false, 1e-5);
      check_backward(make_problem<float>(9, vocab, vocab + 3, 3.0f, 0.2, 31), 0.6f, path, true, 1e-5);
    }
  }
}

TEST_CASE("the float64 reference gradient matches finite differences", "[logprob][fd]") {
  // L = Σ_t a_t·logp_t + b_t·H_t, perturbing each logit in double
  const index_t tokens = 3, vocab = 6;
  const double tau = 0.7;
  std::vector<double> z = {0.3, -1.2, 2.0, 0.0, 0.5, -0.7, 1.1, 1.1, -3.0, 0.2, 0.9, -0.1,
                           -std::numeric_limits<double>::infinity(), 0.4, 2.2, -1.0, 0.0, 0.6};
  const std::vector<std::int64_t> y = {2, 0, 5};
  const std::vector<double> a = {0.7, -1.3, 0.4}, b = {0.25, 0.6, -0.8};
  auto loss = [&](const std::vector<double>& zz) {
    auto get = [&](std::int64_t t, std::int64_t v) { return zz[static_cast<std::size_t>(t * vocab + v)]; };
    const auto f = ref::forward(get, tokens, vocab, y.data(), tau);
    double l = 0;
    for (index_t t = 0; t < tokens; ++t) l += a[t] * f.logp[t] + b[t] * f.entropy[t];
    return l;
  };
  auto get = [&](std::int64_t t, std::int64_t v) { return z[static_cast<std::size_t>(t * vocab + v)]; };
  const auto dz = ref::backward(get, tokens, vocab, y.data(), tau, a, b);
  for (std::size_t i = 0; i < z.size(); ++i) {
    if (std::isinf(z[i])) {
      CHECK(dz[i] == 0.0);
      continue;
    }
    const double h = 1e-6;
    auto zp = z, zm = z;
    zp[i] += h;
    zm[i] -= h;
    const double fd = (loss(zp) - loss(zm)) / (2 * h);
    INFO("element " << i << " fd " << fd << " analytic " << dz[i]);
    CHECK(std::fabs(fd - dz[i]) <= 1e-7);
  }
}

TEST_CASE("selective log-softmax: V = 262,147 (beyond 2^18, not a multiple of 8)", "[logprob]") {
  for (const auto path : paths()) {
    check_forward(make_problem<float>(3, 262147, 0, 4.0f, 0.0, 40), 1.0f, path, 1e-5);
    check_backward(make_problem<bf16>(2, 262147, 0, 4.0f, 0.0, 41), 1.0f, path, false, 8e-3);
  }
}

TEST_CASE("the naive multi-pass path agrees with the reference", "[logprob]") {
  const auto p = make_problem<float>(7, 1001, 0, 3.0f, 0.1, 50);
  std::vector<float> logp(7), g(7, 0.5f);
  REQUIRE(grpo::logprob::selective_log_softmax_naive_forward(p.logits.data(), p.shape, p.targets.data(), 1.3f,
                                                             logp.data())
              .ok());
  const auto r = ref::forward(p.getter(), 7, 1001, p.targets.data(), 1.3);
  for (int t = 0; t < 7; ++t) CHECK(ref::close(logp[t], r.logp[t], 1e-5));
  std::vector<float> dz(p.logits.size());
  REQUIRE(grpo::logprob::selective_log_softmax_naive_backward(p.logits.data(), p.shape, p.targets.data(), 1.3f,
                                                              g.data(), dz.data())
              .ok());
  const auto want = ref::backward(p.getter(), 7, 1001, p.targets.data(), 1.3, std::vector<double>(7, 0.5), {});
  for (std::size_t i = 0; i < dz.size(); ++i) CHECK(std::fabs(dz[i] - want[i]) <= 1e-6);
}

TEST_CASE("fused loss -> dlogits equals forward, loss, backward", "[logprob]") {
  const auto p = make_problem<float>(6, 777, 0, 2.0f, 0.05, 60);
  // a toy token loss: L = Σ_t c_t·logp_t − 0.01·Σ_t H_t
  const std::vector<float> c = {0.5f, -1.0f, 2.0f, 0.0f, 1.5f, -0.25f};
  auto loss = [&](grpo::logprob::token_loss_io& io) {
    for (std::size_t t = 0; t < io.logp.size(); ++t) {
      io.dlogp[t] = c[t];
      io.dentropy[t] = -0.01f;
    }
  };
  std::vector<float> fused = p.logits, logp(6);
  REQUIRE(grpo::logprob::selective_log_softmax_fused(fused.data(), p.shape, p.targets.data(), 1.0f, loss,
                                                     fused.data(), true, logp.data())
              .ok());
  std::vector<float> lp(6), h(6), lse(6), gh(6, -0.01f), dz(p.logits.size());
  REQUIRE(grpo::logprob::selective_log_softmax_forward(p.logits.data(), p.shape, p.targets.data(), 1.0f, lp.data(),
                                                       h.data(), lse.data())
              .ok());
  REQUIRE(grpo::logprob::selective_log_softmax_backward(p.logits.data(), p.shape, p.targets.data(), 1.0f,
                                                        lse.data(), c.data(), dz.data(), h.data(), gh.data())
              .ok());
  CHECK(lp == logp);
  CHECK(dz == fused);
  // a loss that fails stops the call and its status comes back
  auto failing = [](grpo::logprob::token_loss_io&) {
    return grpo::status{grpo::errc::bad_config, "loss", 3, "test"};
  };
  std::vector<float> out(p.logits.size());
  const auto s = grpo::logprob::selective_log_softmax_fused(p.logits.data(), p.shape, p.targets.data(), 1.0f,
                                                            failing, out.data());
  CHECK(s.kind() == grpo::errc::bad_config);
  CHECK(s.input() == "loss");
}

TEST_CASE("selective log-softmax: every validation error", "[logprob][errors]") {
  auto p = make_problem<float>(4, 10, 0, 1.0f, 0.0, 70);
  std::vector<float> logp(4), lse(4), g(4, 1.0f), h(4), dz(40);
  using grpo::errc;
  auto fwd = [&](const float* z, logits_shape s, const std::int64_t* y, float tau, float* out) {
    return grpo::logprob::selective_log_softmax_forward(z, s, y, tau, out);
  };
  const auto* z = p.logits.data();
  const auto* y = p.targets.data();
  CHECK(fwd(nullptr, p.shape, y, 1, logp.data()).kind() == errc::null_pointer);
  CHECK(fwd(nullptr, p.shape, y, 1, logp.data()).input() == "logits");
  CHECK(fwd(z, p.shape, nullptr, 1, logp.data()).input() == "targets");
  CHECK(fwd(z, p.shape, y, 1, nullptr).input() == "logp");
  CHECK(fwd(z, {-1, 10, 0}, y, 1, logp.data()).kind() == errc::shape_mismatch);
  CHECK(fwd(z, {4, 0, 0}, y, 1, logp.data()).input() == "vocab");
  CHECK(fwd(z, {4, 10, 9}, y, 1, logp.data()).input() == "row_stride");
  CHECK(fwd(z, {4, 10, std::numeric_limits<index_t>::max() / 2}, y, 1, logp.data()).kind() == errc::shape_mismatch);
  CHECK(fwd(z, p.shape, y, NAN, logp.data()).kind() == errc::non_finite);
  CHECK(fwd(z, p.shape, y, INFINITY, logp.data()).input() == "temperature");
  CHECK(fwd(z, p.shape, y, 0.0f, logp.data()).kind() == errc::bad_config);
  CHECK(fwd(z, p.shape, y, -1.0f, logp.data()).kind() == errc::bad_config);
  CHECK(fwd(z, {0, 10, 0}, nullptr, 1, nullptr).ok());  // nothing to do
  {
    auto bad = p.targets;
    bad[2] = 10;
    const auto s = fwd(z, p.shape, bad.data(), 1, logp.data());
    CHECK(s.kind() == errc::out_of_range);
    CHECK(s.input() == "targets");
    CHECK(s.index() == 2);
    bad[2] = -1;
    CHECK(fwd(z, p.shape, bad.data(), 1, logp.data()).index() == 2);
  }
  for (const auto path : paths()) {  // non-finite logits, named with their flat index
    auto q = p;
    q.logits[23] = NAN;
    auto s = grpo::logprob::selective_log_softmax_forward(q.logits.data(), q.shape, y, 1.0f, logp.data(),
                                                          nullptr, nullptr, path);
    CHECK(s.kind() == errc::non_finite);
    CHECK(s.input() == "logits");
    CHECK(s.index() == 23);
    q = p;
    q.logits[31] = INFINITY;
    s = grpo::logprob::selective_log_softmax_forward(q.logits.data(), q.shape, y, 1.0f, logp.data(), nullptr,
                                                     nullptr, path);
    CHECK(s.index() == 31);
    q = p;
    for (int v = 10; v < 20; ++v) q.logits[v] = ninf;  // row 1 fully masked
    s = grpo::logprob::selective_log_softmax_forward(q.logits.data(), q.shape, y, 1.0f, logp.data(), nullptr,
                                                     nullptr, path);
    CHECK(s.kind() == errc::non_finite);
    CHECK(s.index() == 10);
    q = p;  // a NaN hidden in a fully masked block
    for (int v = 10; v < 20; ++v) q.logits[v] = ninf;
    q.logits[10 + p.targets[1]] = 0.0f;
    q.logits[15 == 10 + p.targets[1] ? 16 : 15] = NAN;
    s = grpo::logprob::selective_log_softmax_forward(q.logits.data(), q.shape, y, 1.0f, logp.data(), nullptr,
                                                     nullptr, path);
    CHECK(s.kind() == errc::non_finite);
  }
  REQUIRE(grpo::logprob::selective_log_softmax_forward(z, p.shape, y, 1.0f, logp.data(), h.data(), lse.data()).ok());
  auto bwd = [&](const float* l, const float* gg, float* d, const float* ent, const float* dent) {
    return grpo::logprob::selective_log_softmax_backward(z, p.shape, y, 1.0f, l, gg, d, ent, dent);
  };
  CHECK(bwd(nullptr, g.data(), dz.data(), nullptr, nullptr).input() == "lse");
  CHECK(bwd(lse.data(), nullptr, dz.data(), nullptr, nullptr).input() == "dlogp");
  CHECK(bwd(lse.data(), g.data(), nullptr, nullptr, nullptr).input() == "dlogits");
  CHECK(bwd(lse.data(), g.data(), dz.data(), nullptr, g.data()).input() == "entropy");
  auto g_bad = g;
  g_bad[3] = NAN;
  CHECK(bwd(lse.data(), g_bad.data(), dz.data(), nullptr, nullptr).index() == 3);
  CHECK(bwd(lse.data(), g_bad.data(), dz.data(), nullptr, nullptr).kind() == errc::non_finite);
  CHECK(bwd(lse.data(), g.data(), dz.data(), h.data(), g_bad.data()).input() == "dentropy");
  {
    auto overlap = p.logits;
    overlap.resize(50);
    const auto s = grpo::logprob::selective_log_softmax_backward(overlap.data(), p.shape, y, 1.0f, lse.data(),
                                                                 g.data(), overlap.data() + 5);
    CHECK(s.input() == "dlogits");
  }
  if (!grpo::simd::has_avx2()) {
    CHECK(grpo::logprob::selective_log_softmax_forward(z, p.shape, y, 1.0f, logp.data(), nullptr, nullptr,
                                                       simd_path::avx2)
              .input() == "path");
  }
}

TEST_CASE("selective log-softmax: 64-bit offsets (rows 2^30 elements apart, a row of 2^31+ elements)",
          "[logprob][int64]") {
  // Sparse anonymous memory: untouched pages read as zero and take no RAM, so offsets beyond 2^31
  // elements are exercised without allocating gigabytes.
  const index_t stride = (index_t{1} << 30) + 5;  // row 2 starts at element 2^31 + 10
  const index_t tokens = 3, vocab = 1000;
  const std::size_t bytes = static_cast<std::size_t>(tokens * stride) * sizeof(float);
  void* mem = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (mem == MAP_FAILED) {
    WARN("mmap of " << bytes << " bytes failed: 64-bit offset test skipped");
    return;
  }
  auto* z = static_cast<float*>(mem);
  std::mt19937 rng(80);
  std::normal_distribution<float> normal(0, 2);
  for (index_t t = 0; t < tokens; ++t)
    for (index_t v = 0; v < vocab; ++v) z[t * stride + v] = normal(rng);
  const std::vector<std::int64_t> y = {3, 500, 999};
  const logits_shape shape{tokens, vocab, stride};
  auto get = [&](std::int64_t t, std::int64_t v) { return static_cast<double>(z[t * stride + v]); };
  const auto r = ref::forward(get, tokens, vocab, y.data(), 1.0);
  std::vector<float> logp(3), lse(3), g = {1.0f, -0.5f, 2.0f};
  REQUIRE(grpo::logprob::selective_log_softmax_forward(z, shape, y.data(), 1.0f, logp.data(), nullptr, lse.data()).ok());
  for (int t = 0; t < 3; ++t) CHECK(ref::close(logp[t], r.logp[t], 1e-5));
  const auto want = ref::backward(get, tokens, vocab, y.data(), 1.0, {1.0, -0.5, 2.0}, {});
  REQUIRE(grpo::logprob::selective_log_softmax_backward(z, shape, y.data(), 1.0f, lse.data(), g.data(), z).ok());
  double worst = 0;
  for (index_t t = 0; t < tokens; ++t)
    for (index_t v = 0; v < vocab; ++v)
      worst = std::max(worst, std::fabs(z[t * stride + v] - want[static_cast<std::size_t>(t * vocab + v)]));
  CHECK(worst <= 1e-6);
  munmap(mem, bytes);

  // one bf16 row of 2^31 + 24 elements: zero except a few, chosen token beyond 2^31
  const index_t big = (index_t{1} << 31) + 24;
  const std::size_t big_bytes = static_cast<std::size_t>(big) * sizeof(bf16);
  void* mem2 = mmap(nullptr, big_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (mem2 == MAP_FAILED) {
    WARN("mmap of " << big_bytes << " bytes failed: 2^31-element row skipped");
    return;
  }
  auto* zb = static_cast<bf16*>(mem2);
  const std::int64_t target = (std::int64_t{1} << 31) + 17;
  zb[target] = bf16(30.0f);
  zb[5] = bf16(25.0f);
  zb[big - 1] = bf16(ninf);
  // reference in closed form: (big − 3) zeros, 30, 25 and one −inf
  const double s = static_cast<double>(big - 3) + std::exp(30.0) + std::exp(25.0);
  const double want_logp = 30.0 - std::log(s);
  float lp = 0, ent = 0;
  REQUIRE(grpo::logprob::selective_log_softmax_forward(zb, {1, big, 0}, &target, 1.0f, &lp, &ent).ok());
  const double want_h =
      std::log(s) - (30.0 * std::exp(30.0) + 25.0 * std::exp(25.0)) / s;  // H = lse − Σ p z
  CHECK(ref::close(lp, want_logp, 1e-5));
  CHECK(ref::close(ent, want_h, 1e-4));
  munmap(mem2, big_bytes);
}
