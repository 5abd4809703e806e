// Fused-linear log-prob (CPU) against the float64 reference that materialises z = h·Wᵀ: logp,
// entropy, dL/dh and dL/dW for chunk sizes that do and do not divide the problem, a caller
// workspace, finite differences of the reference, and every error (out of memory included).
#include "logprob/reference.hpp"

#include <grpo/logprob/fused_linear.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <thread>
#include <vector>

namespace ref = grpo_test::logprob_ref;
using grpo::index_t;
using grpo::logprob::fused_linear_options;

namespace {

struct linear_problem {
  index_t n, h, v;
  std::vector<float> hidden, weight;
  std::vector<std::int64_t> targets;
};

linear_problem make(index_t n, index_t h, index_t v, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0, 1);
  linear_problem p{n, h, v, {}, {}, {}};
  for (index_t i = 0; i < n * h; ++i) p.hidden.push_back(normal(rng));
  for (index_t i = 0; i < v * h; ++i) p.weight.push_back(normal(rng) * 0.5f);
  std::uniform_int_distribution<std::int64_t> pick(0, v - 1);
  for (index_t i = 0; i < n; ++i) p.targets.push_back(pick(rng));
  return p;
}

void check_against_reference(const linear_problem& p, fused_linear_options o, bool with_entropy) {
  const auto n = static_cast<std::size_t>(p.n);
  std::vector<float> logp(n, NAN), ent(n, NAN), lse(n, NAN), g(n), gh(n);
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0, 1);
  for (auto& x : g) x = normal(rng);
  for (auto& x : gh) x = normal(rng);
  REQUIRE(grpo::logprob::fused_linear_forward(p.hidden.data(), p.weight.data(), p.n, p.h, p.v, p.targets.data(), o,
                                              logp.data(), ent.data(), lse.data())
              .ok());
  const auto z = ref::linear_logits(p.hidden.data(), p.weight.data(), p.n, p.h, p.v);
  auto get = [&](std::int64_t t, std::int64_t v) { return z[static_cast<std::size_t>(t * p.v + v)]; };
  const auto f = ref::forward(get, p.n, p.v, p.targets.data(), o.temperature);
  for (std::size_t t = 0; t < n; ++t) {
    INFO("token " << t);
    CHECK(ref::close(logp[t], f.logp[t], 1e-5));
    CHECK(ref::close(ent[t], f.entropy[t], 1e-5));
  }
  std::vector<float> dh(static_cast<std::size_t>(p.n * p.h), NAN), dw(static_cast<std::size_t>(p.v * p.h), NAN);
  REQUIRE(grpo::logprob::fused_linear_backward(p.hidden.data(), p.weight.data(), p.n, p.h, p.v, p.targets.data(), o,
                                               lse.data(), g.data(), dh.data(), dw.data(), ent.data(),
                                               with_entropy ? gh.data() : nullptr)
              .ok());
  const std::vector<double> gd(g.begin(), g.end());
  std::vector<double> ghd;
  if (with_entropy) ghd.assign(gh.begin(), gh.end());
  const auto G = ref::backward(get, p.n, p.v, p.targets.data(), o.temperature, gd, ghd);
  const auto want = ref::linear_backward(G, p.hidden.data(), p.weight.data(), p.n, p.h, p.v);
  const double eh = ref::error_over_max(dh, want.dh), ew = ref::error_over_max(dw, want.dw);
  INFO("dh error / max " << eh << ", dW error / max " << ew);
  CHECK(eh <= 1e-5);
  CHECK(ew <= 1e-5);
}

}  // namespace

TEST_CASE("fused linear: forward and backward match the materialised float64 reference", "[fused_linear]") {
  const auto p = make(13, 17, 101, 1);
  for (const auto& [tc, vc] : {std::pair<index_t, index_t>{4, 32}, {5, 7}, {1000, 1000}, {1, 1}, {13, 101}}) {
    for (const float tau : {1.0f, 0.6f}) {
      INFO("chunks " << tc << " x " << vc << " tau " << tau);
      fused_linear_options o;
      o.token_chunk = tc;
      o.vocab_chunk = vc;
      o.temperature = tau;
      check_against_reference(p, o, false);
      check_against_reference(p, o, true);
      o.path = grpo::logprob::simd_path::scalar;
      check_against_reference(p, o, true);
    }
  }
  fused_linear_options o;
  o.token_chunk = 16;
  o.vocab_chunk = 300;
  check_against_reference(make(40, 64, 1003, 2), o, true);
}

TEST_CASE("fused linear float64: equals the materialised reference to 1e-12", "[fused_linear]") {
  const auto pf = make(13, 17, 101, 4);
  const std::vector<double> h(pf.hidden.begin(), pf.hidden.end()), w(pf.weight.begin(), pf.weight.end());
  const auto n = static_cast<std::size_t>(pf.n);
  const auto z = ref::linear_logits(h.data(), w.data(), pf.n, pf.h, pf.v);
  auto get = [&](std::int64_t t, std::int64_t v) { return z[static_cast<std::size_t>(t * pf.v + v)]; };
  std::vector<double> g(n), gh(n);
  for (std::size_t t = 0; t < n; ++t) g[t] = std::sin(1.0 + static_cast<double>(t)), gh[t] = std::cos(2.0 * t);
  for (const auto& [tc, vc] : {std::pair<index_t, index_t>{4, 32}, {5, 7}, {1000, 1000}, {1, 1}}) {
    for (const float tau : {1.0f, 0.75f}) {
      INFO("chunks " << tc << " x " << vc << " tau " << tau);
      fused_linear_options o;
      o.token_chunk = tc;
      o.vocab_chunk = vc;
      o.temperature = tau;
      std::vector<double> logp(n, NAN), ent(n, NAN), lse(n, NAN);
      REQUIRE(grpo::logprob::fused_linear_forward(h.data(), w.data(), pf.n, pf.h, pf.v, pf.targets.data(), o,
                                                  logp.data(), ent.data(), lse.data())
                  .ok());
      const auto f = ref::forward(get, pf.n, pf.v, pf.targets.data(), tau);
      for (std::size_t t = 0; t < n; ++t) {
        CHECK(ref::close(logp[t], f.logp[t], 1e-12));
        CHECK(ref::close(ent[t], f.entropy[t], 1e-12));
      }
      std::vector<double> dh(h.size(), NAN), dw(w.size(), NAN);
      REQUIRE(grpo::logprob::fused_linear_backward(h.data(), w.data(), pf.n, pf.h, pf.v, pf.targets.data(), o,
                                                   lse.data(), g.data(), dh.data(), dw.data(), ent.data(), gh.data())
                  .ok());
      const auto G = ref::backward(get, pf.n, pf.v, pf.targets.data(), tau, g, gh);
      const auto want = ref::linear_backward(G, h.data(), w.data(), pf.n, pf.h, pf.v);
      CHECK(ref::error_over_max(dh, want.dh) <= 1e-12);
      CHECK(ref::error_over_max(dw, want.dw) <= 1e-12);
    }
  }
  fused_linear_options avx2;
  avx2.path = grpo::logprob::simd_path::avx2;
  std::vector<double> logp(n);
  const auto st = grpo::logprob::fused_linear_forward(h.data(), w.data(), pf.n, pf.h, pf.v, pf.targets.data(), avx2,
                                                      logp.data());
  CHECK(st.kind() == grpo::errc::bad_config);
}

TEST_CASE("fused linear: a caller workspace gives the same result as an owned one", "[fused_linear]") {
  const auto p = make(9, 8, 50, 3);
  fused_linear_options o;
  o.token_chunk = 4;
  o.vocab_chunk = 16;
  const std::size_t bytes = grpo::logprob::fused_linear_workspace_bytes(p.n, p.h, p.v, o);
  CHECK(bytes >= static_cast<std::size_t>(4 * 16 * 4));
  std::vector<unsigned char> ws(bytes);
  std::vector<float> a(9), b(9);
  REQUIRE(grpo::logprob::fused_linear_forward(p.hidden.data(), p.weight.data(), p.n, p.h, p.v, p.targets.data(), o,
                                              a.data())
              .ok());
  REQUIRE(grpo::logprob::fused_linear_forward(p.hidden.data(), p.weight.data(), p.n, p.h, p.v, p.targets.data(), o,
                                              b.data(), nullptr, nullptr, {ws.data(), ws.size()})
              .ok());
  CHECK(a == b);
  const auto s = grpo::logprob::fused_linear_forward(p.hidden.data(), p.weight.data(), p.n, p.h, p.v,
                                                     p.targets.data(), o, b.data(), nullptr, nullptr,
                                                     {ws.data(), ws.size() - 65});
  CHECK(s.kind() == grpo::errc::out_of_memory);
  CHECK(s.input() == "workspace");
}

#if GRPO_HAVE_X86_SIMD
TEST_CASE("fused linear: GEMM packing buffers that cannot be allocated are errc::out_of_memory", "[fused_linear][errors]") {
  if (!grpo::simd::has_avx2()) {
    WARN("no AVX2 on this CPU: the GEMM is Eigen's, which allocates nothing here");
    return;
  }
  const auto p = make(9, 8, 50, 4);
  namespace d = grpo::gemm::detail;
  const d::scratch_allocator saved = d::scratch_alloc;
  d::scratch_alloc = [](std::size_t, std::size_t) -> void* { return nullptr; };
  grpo::status fwd, bwd;
  // a new thread leads its own OpenMP team, so its buffers and at least its own slice's are new
  std::thread([&] {
    std::vector<float> logp(9), lse(9), g(9, 1.f), dh(9 * 8), dw(50 * 8);
    fwd = grpo::logprob::fused_linear_forward(p.hidden.data(), p.weight.data(), p.n, p.h, p.v, p.targets.data(), {},
                                              logp.data(), nullptr, lse.data());
    std::fill(lse.begin(), lse.end(), 0.f);
    bwd = grpo::logprob::fused_linear_backward(p.hidden.data(), p.weight.data(), p.n, p.h, p.v, p.targets.data(), {},
                                               lse.data(), g.data(), dh.data(), dw.data());
  }).join();
  d::scratch_alloc = saved;
  CHECK(fwd.kind() == grpo::errc::out_of_memory);
  CHECK(fwd.input() == "workspace");
  CHECK(bwd.kind() == grpo::errc::out_of_memory);
  CHECK(bwd.input() == "workspace");
}
#endif

TEST_CASE("fused linear: the float64 reference gradient matches finite differences", "[fused_linear][fd]") {
  // L = Σ_t a_t·logp_t + b_t·H_t with z = h·Wᵀ, perturbing h and W in double
  const index_t n = 2, h = 3, v = 4;
  std::vector<double> hid = {0.5, -1.0, 0.3, 1.2, 0.1, -0.4};
  std::vector<double> w = {0.2, 0.7, -0.5, -1.1, 0.4, 0.9, 0.3, -0.2, 0.05, 1.0, 0.6, -0.8};
  const std::vector<std::int64_t> y = {1, 3};
  const std::vector<double> a = {0.9, -0.6}, b = {0.3, -0.5};
  const double tau = 0.8;
  auto loss = [&](const std::vector<double>& hh, const std::vector<double>& ww) {
    const auto z = ref::linear_logits(hh.data(), ww.data(), n, h, v);
    auto get = [&](std::int64_t t, std::int64_t k) { return z[static_cast<std::size_t>(t * v + k)]; };
    const auto f = ref::forward(get, n, v, y.data(), tau);
    return a[0] * f.logp[0] + a[1] * f.logp[1] + b[0] * f.entropy[0] + b[1] * f.entropy[1];
  };
  const auto z = ref::linear_logits(hid.data(), w.data(), n, h, v);
  auto get = [&](std::int64_t t, std::int64_t k) { return z[static_cast<std::size_t>(t * v + k)]; };
  const auto G = ref::backward(get, n, v, y.data(), tau, a, b);
  const auto g = ref::linear_backward(G, hid.data(), w.data(), n, h, v);
  const double eps = 1e-6;
  for (std::size_t i = 0; i < hid.size(); ++i) {
    auto p = hid, m = hid;
    p[i] += eps;
    m[i] -= eps;
    CHECK(std::fabs((loss(p, w) - loss(m, w)) / (2 * eps) - g.dh[i]) <= 1e-7);
  }
  for (std::size_t i = 0; i < w.size(); ++i) {
    auto p = w, m = w;
    p[i] += eps;
    m[i] -= eps;
    CHECK(std::fabs((loss(hid, p) - loss(hid, m)) / (2 * eps) - g.dw[i]) <= 1e-7);
  }
}

TEST_CASE("fused linear: every validation error", "[fused_linear][errors]") {
  const auto p = make(4, 3, 10, 4);
  std::vector<float> logp(4), lse(4), g(4, 1.0f), dh(12), dw(30);
  fused_linear_options o;
  using grpo::errc;
  auto fwd = [&](const float* hh, const float* ww, index_t n, index_t h, index_t v, const std::int64_t* y,
                 fused_linear_options oo, float* out) {
    return grpo::logprob::fused_linear_forward(hh, ww, n, h, v, y, oo, out);
  };
  const float* H = p.hidden.data();
  const float* W = p.weight.data();
  const auto* Y = p.targets.data();
  CHECK(fwd(nullptr, W, 4, 3, 10, Y, o, logp.data()).input() == "hidden");
  CHECK(fwd(H, nullptr, 4, 3, 10, Y, o, logp.data()).input() == "weight");
  CHECK(fwd(H, W, 4, 3, 10, nullptr, o, logp.data()).input() == "targets");
  CHECK(fwd(H, W, 4, 3, 10, Y, o, nullptr).kind() == errc::null_pointer);
  CHECK(fwd(H, W, -1, 3, 10, Y, o, logp.data()).kind() == errc::shape_mismatch);
  CHECK(fwd(H, W, 4, 0, 10, Y, o, logp.data()).input() == "hidden");
  CHECK(fwd(H, W, 4, 3, 0, Y, o, logp.data()).input() == "vocab");
  auto bad = o;
  bad.token_chunk = 0;
  CHECK(fwd(H, W, 4, 3, 10, Y, bad, logp.data()).input() == "token_chunk");
  bad = o;
  bad.vocab_chunk = -5;
  CHECK(fwd(H, W, 4, 3, 10, Y, bad, logp.data()).input() == "vocab_chunk");
  bad = o;
  bad.temperature = NAN;
  CHECK(fwd(H, W, 4, 3, 10, Y, bad, logp.data()).kind() == errc::non_finite);
  auto yb = p.targets;
  yb[1] = 10;
  const auto s = fwd(H, W, 4, 3, 10, yb.data(), o, logp.data());
  CHECK(s.kind() == errc::out_of_range);
  CHECK(s.index() == 1);
  // a NaN weight makes the logits of every token NaN
  auto wn = p.weight;
  wn[4] = NAN;
  CHECK(fwd(H, wn.data(), 4, 3, 10, Y, o, logp.data()).kind() == errc::non_finite);
  // a chunk far beyond memory: reported, not a crash (the inputs are never read)
  bad = o;
  bad.vocab_chunk = index_t{1} << 42;
  const index_t huge_v = index_t{1} << 42;
  const auto oom = fwd(H, W, 4, 3, huge_v, Y, bad, logp.data());
  CHECK(oom.kind() == errc::out_of_memory);
  REQUIRE(grpo::logprob::fused_linear_forward(H, W, 4, 3, 10, Y, o, logp.data(), nullptr, lse.data()).ok());
  auto bwd = [&](const float* l, const float* gg, float* dhh, float* dww, const float* e, const float* de) {
    return grpo::logprob::fused_linear_backward(H, W, 4, 3, 10, Y, o, l, gg, dhh, dww, e, de);
  };
  CHECK(bwd(nullptr, g.data(), dh.data(), dw.data(), nullptr, nullptr).input() == "lse");
  CHECK(bwd(lse.data(), nullptr, dh.data(), dw.data(), nullptr, nullptr).input() == "dlogp");
  CHECK(bwd(lse.data(), g.data(), nullptr, dw.data(), nullptr, nullptr).input() == "dhidden");
  CHECK(bwd(lse.data(), g.data(), dh.data(), nullptr, nullptr, nullptr).input() == "dweight");
  CHECK(bwd(lse.data(), g.data(), dh.data(), dw.data(), nullptr, g.data()).input() == "entropy");
  auto gb = g;
  gb[2] = INFINITY;
  CHECK(bwd(lse.data(), gb.data(), dh.data(), dw.data(), nullptr, nullptr).index() == 2);
}

TEST_CASE("fused linear loss: one sweep equals forward + backward and the reference", "[fused_linear]") {
  const auto p = make(23, 16, 301, 5);
  // a per-token loss: L = Σ_t a_t·logp_t + b_t·H_t
  std::vector<float> a(23), b(23);
  for (int t = 0; t < 23; ++t) {
    a[t] = 0.1f * static_cast<float>(t % 7) - 0.3f;
    b[t] = 0.05f * static_cast<float>(t % 3) - 0.05f;
  }
  for (const index_t tc : {index_t{1}, index_t{5}, index_t{23}, index_t{100}}) {
    INFO("token chunk " << tc);
    fused_linear_options o;
    o.token_chunk = tc;
    o.temperature = 0.9f;
    std::vector<float> dh(static_cast<std::size_t>(p.n * p.h), NAN), dw(static_cast<std::size_t>(p.v * p.h), NAN),
        logp(23, NAN);
    index_t seen = 0;
    auto loss = [&](grpo::logprob::token_chunk_io& io) {
      CHECK(io.first_token == seen);
      seen += static_cast<index_t>(io.logp.size());
      for (std::size_t i = 0; i < io.logp.size(); ++i) {
        io.dlogp[i] = a[io.first_token + static_cast<index_t>(i)];
        io.dentropy[i] = b[io.first_token + static_cast<index_t>(i)];
      }
    };
    REQUIRE(grpo::logprob::fused_linear_loss(p.hidden.data(), p.weight.data(), p.n, p.h, p.v, p.targets.data(), o, loss,
                                             dh.data(), dw.data(), true, logp.data())
                .ok());
    CHECK(seen == 23);
    const auto z = ref::linear_logits(p.hidden.data(), p.weight.data(), p.n, p.h, p.v);
    auto get = [&](std::int64_t t, std::int64_t k) { return z[static_cast<std::size_t>(t * p.v + k)]; };
    const auto f = ref::forward(get, p.n, p.v, p.targets.data(), 0.9);
    for (int t = 0; t < 23; ++t) CHECK(ref::close(logp[t], f.logp[t], 1e-5));
    const auto G = ref::backward(get, p.n, p.v, p.targets.data(), 0.9, std::vector<double>(a.begin(), a.end()),
                                 std::vector<double>(b.begin(), b.end()));
    const auto want = ref::linear_backward(G, p.hidden.data(), p.weight.data(), p.n, p.h, p.v);
    double eh = 0, sh = 0, ew = 0, sw = 0;
    for (std::size_t i = 0; i < dh.size(); ++i) {
      eh = std::max(eh, std::fabs(dh[i] - want.dh[i]));
      sh = std::max(sh, std::fabs(want.dh[i]));
    }
    for (std::size_t i = 0; i < dw.size(); ++i) {
      ew = std::max(ew, std::fabs(dw[i] - want.dw[i]));
      sw = std::max(sw, std::fabs(want.dw[i]));
    }
    CHECK(eh <= 1e-5 * sh);
    CHECK(ew <= 1e-5 * sw);
  }
  // a failing loss stops the sweep with its status; a NaN gradient is reported
  std::vector<float> dh(static_cast<std::size_t>(p.n * p.h)), dw(static_cast<std::size_t>(p.v * p.h));
  fused_linear_options o;
  o.token_chunk = 8;
  auto failing = [](grpo::logprob::token_chunk_io& io) {
    return grpo::status{grpo::errc::bad_config, "loss", io.first_token, "test"};
  };
  auto s = grpo::logprob::fused_linear_loss(p.hidden.data(), p.weight.data(), p.n, p.h, p.v, p.targets.data(), o,
                                            failing, dh.data(), dw.data());
  CHECK(s.input() == "loss");
  auto nan_loss = [](grpo::logprob::token_chunk_io& io) { io.dlogp[1] = NAN; };
  s = grpo::logprob::fused_linear_loss(p.hidden.data(), p.weight.data(), p.n, p.h, p.v, p.targets.data(), o, nan_loss,
                                       dh.data(), dw.data());
  CHECK(s.kind() == grpo::errc::non_finite);
  CHECK(s.input() == "dlogp");
  CHECK(grpo::logprob::fused_linear_loss_workspace_bytes(23, 301, o) >= static_cast<std::size_t>(8 * 301 * 4));
}
