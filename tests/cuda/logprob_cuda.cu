// CUDA selective log-softmax, fused-linear log-prob and the distillation losses from logits: every
// kernel against the float64 CPU reference (tests/logprob/reference.hpp, tests/distill/reference.hpp)
// on fresh random inputs, outputs poisoned with NaN before each call; then timings with CUDA events at sizes several times the L2, printed against
// a device-to-device copy bandwidth and a cuBLAS bf16 GEMM rate measured in the same run.
// Exit 77 when no GPU is present (CTest: skipped). `logprob_cuda --no-timing` runs the checks only.
#include "distill/reference.hpp"
#include "logprob/reference.hpp"

#include "cuda/support.cuh"
#include <grpo/distill/logits.cuh>
#include <grpo/distill/logits.hpp>
#include <grpo/logprob/fused_linear.cuh>
#include <grpo/logprob/selective_log_softmax.cuh>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace ref = grpo_test::logprob_ref;
using bf16 = __nv_bfloat16;
using grpo::index_t;

namespace {

int failures = 0;

void expect(bool ok, const std::string& what) {
  if (!ok) {
    ++failures;
    std::printf("FAIL: %s\n", what.c_str());
  }
}

void require(const grpo::status& s, const char* what) {
  if (!s.ok()) {
    std::printf("FAIL: %s: %s\n", what, s.message().c_str());
    std::exit(1);
  }
}

template <class T>
struct dbuf {  // a device buffer, freed at scope end
  T* p = nullptr;
  std::size_t n = 0;
  explicit dbuf(std::size_t count) : n(count) { CUDA_OK(cudaMalloc(&p, std::max<std::size_t>(count, 1) * sizeof(T))); }
  ~dbuf() { cudaFree(p); }
  dbuf(const dbuf&) = delete;
  dbuf& operator=(const dbuf&) = delete;
  void upload(const std::vector<T>& h) { CUDA_OK(cudaMemcpy(p, h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice)); }
  std::vector<T> download() const {
    std::vector<T> h(n);
    CUDA_OK(cudaMemcpy(h.data(), p, n * sizeof(T), cudaMemcpyDeviceToHost));
    return h;
  }
  void poison() { CUDA_OK(cudaMemset(p, 0xff, n * sizeof(T))); }  // all-ones bits: NaN in fp32 and bf16
};

float host_f(float x) { return x; }
float host_f(bf16 x) { return __bfloat162float(x); }
template <class T>
T host_from(float x) {
  if constexpr (std::is_same_v<T, float>) return x;
  else return __float2bfloat16_rn(x);
}

// ---- checks ------------------------------------------------------------------------------------

template <class T>
void check_log_softmax(index_t tokens, index_t vocab, index_t stride, float tau, double masked, bool entropy_grad,
                       unsigned seed) {
  const std::string name = std::string(std::is_same_v<T, float> ? "fp32" : "bf16") + " log-softmax " +
                           std::to_string(tokens) + "x" + std::to_string(vocab) + " stride " + std::to_string(stride);
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0, 3);
  std::uniform_real_distribution<double> u(0, 1);
  std::uniform_int_distribution<std::int64_t> pick(0, vocab - 1);
  std::vector<T> z(static_cast<std::size_t>(tokens * stride), host_from<T>(0.0f));
  std::vector<std::int64_t> y(static_cast<std::size_t>(tokens));
  std::vector<float> g(static_cast<std::size_t>(tokens)), gh(static_cast<std::size_t>(tokens));
  for (index_t t = 0; t < tokens; ++t) {
    y[t] = pick(rng);
    g[t] = normal(rng);
    gh[t] = normal(rng) * 0.3f;
    for (index_t v = 0; v < vocab; ++v)
      z[t * stride + v] = host_from<T>(v != y[t] && u(rng) < masked ? -INFINITY : normal(rng));
  }
  auto get = [&](std::int64_t t, std::int64_t v) { return static_cast<double>(host_f(z[t * stride + v])); };
  const auto want = ref::forward(get, tokens, vocab, y.data(), tau);
  dbuf<T> dz_in(z.size()), dz_out(z.size());
  dbuf<std::int64_t> dy(y.size());
  dbuf<float> dlogp(y.size()), dent(y.size()), dlse(y.size()), dg(y.size()), dgh(y.size());
  dbuf<unsigned char> ws(grpo::logprob::cuda_log_softmax_workspace_bytes());
  dz_in.upload(z);
  dy.upload(y);
  dg.upload(g);
  dgh.upload(gh);
  dlogp.poison();
  dent.poison();
  dlse.poison();
  require(grpo::logprob::cuda_selective_log_softmax_forward(dz_in.p, {tokens, vocab, stride}, dy.p, tau, dlogp.p, dent.p,
                                                            dlse.p, ws.p, nullptr),
          name.c_str());
  const auto logp = dlogp.download(), ent = dent.download();
  double worst = 0;
  for (index_t t = 0; t < tokens; ++t) {
    worst = std::max(worst, std::fabs(logp[t] - want.logp[t]) / std::max(1.0, std::fabs(want.logp[t])));
    worst = std::max(worst, std::fabs(ent[t] - want.entropy[t]) / std::max(1.0, std::fabs(want.entropy[t])));
  }
  expect(worst <= 2e-5, name + " forward: worst relative error " + std::to_string(worst));

  // backward, out of place and in place
  dz_out.poison();
  require(grpo::logprob::cuda_selective_log_softmax_backward(dz_in.p, {tokens, vocab, stride}, dy.p, tau, dlse.p, dg.p,
                                                             dz_out.p, dent.p, entropy_grad ? dgh.p : nullptr, ws.p,
                                                             nullptr),
          name.c_str());
  const auto dz = dz_out.download();
  std::vector<double> gd(g.begin(), g.end()), ghd;
  if (entropy_grad) ghd.assign(gh.begin(), gh.end());
  const auto dwant = ref::backward(get, tokens, vocab, y.data(), tau, gd, ghd);
  const double tol = std::is_same_v<T, float> ? 2e-5 : 1e-2;  // bf16 output: 8 significant bits
  double dworst = 0;
  for (index_t t = 0; t < tokens; ++t) {
    const double scale = (std::fabs(gd[t]) + (entropy_grad ? 10 * std::fabs(ghd[t]) : 0.0)) / tau + 1e-30;
    for (index_t v = 0; v < vocab; ++v)
      dworst = std::max(dworst, std::fabs(host_f(dz[t * stride + v]) - dwant[t * vocab + v]) / scale);
  }
  expect(dworst <= tol, name + " backward: worst scaled error " + std::to_string(dworst));
  require(grpo::logprob::cuda_selective_log_softmax_backward(dz_in.p, {tokens, vocab, stride}, dy.p, tau, dlse.p, dg.p,
                                                             dz_in.p, dent.p, entropy_grad ? dgh.p : nullptr, ws.p,
                                                             nullptr),
          name.c_str());
  CUDA_OK(cudaDeviceSynchronize());
  const auto inplace = dz_in.download();
  bool same = true;
  for (index_t t = 0; t < tokens; ++t)
    for (index_t v = 0; v < vocab; ++v)
      same = same && std::memcmp(&inplace[t * stride + v], &dz[t * stride + v], sizeof(T)) == 0;
  expect(same, name + " in-place backward equals out-of-place");
}

void check_log_softmax_errors() {
  std::vector<float> z(40, 0.0f);
  std::vector<std::int64_t> y = {1, 2, 10, 3};
  dbuf<float> dz(40), dlogp(4);
  dbuf<std::int64_t> dy(4);
  dbuf<unsigned char> ws(grpo::logprob::cuda_log_softmax_workspace_bytes());
  dz.upload(z);
  dy.upload(y);
  auto s = grpo::logprob::cuda_selective_log_softmax_forward(dz.p, {4, 10}, dy.p, 1.0f, dlogp.p, nullptr, nullptr, ws.p,
                                                             nullptr);
  expect(s.kind() == grpo::errc::out_of_range && s.input() == "targets" && s.index() == 2,
         "a target outside [0, V) is reported with its row: " + s.message());
  y[2] = 0;
  dy.upload(y);
  z[25] = NAN;
  dz.upload(z);
  // (a new status each time: nvcc reports a [[nodiscard]] class's assignment as a discarded value)
  const auto nan_logit = grpo::logprob::cuda_selective_log_softmax_forward(dz.p, {4, 10}, dy.p, 1.0f, dlogp.p, nullptr,
                                                                           nullptr, ws.p, nullptr);
  expect(nan_logit.kind() == grpo::errc::non_finite && nan_logit.index() == 2,
         "a NaN logit is reported with its row: " + nan_logit.message());
  const auto zero_tau = grpo::logprob::cuda_selective_log_softmax_forward(dz.p, {4, 10}, dy.p, 0.0f, dlogp.p, nullptr,
                                                                          nullptr, ws.p, nullptr);
  expect(zero_tau.kind() == grpo::errc::bad_config, "zero temperature rejected");
  const auto no_ws = grpo::logprob::cuda_selective_log_softmax_forward(dz.p, {4, 10}, dy.p, 1.0f, dlogp.p, nullptr,
                                                                       nullptr, nullptr, nullptr);
  expect(no_ws.kind() == grpo::errc::null_pointer && no_ws.input() == "workspace", "missing workspace rejected");
}

// Distillation from logits: the loss of every row against the float64 reference's divergence, the
// gradient against the CPU path in double (itself checked by finite differences of the reference in
// tests/distill/), masked rows zero.
template <class T>
void check_distill(index_t n, index_t vocab, double beta, double tau, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 2.0);
  std::vector<T> s(static_cast<std::size_t>(n * vocab)), t(s.size());
  std::vector<std::uint8_t> mask(static_cast<std::size_t>(n), 1);
  for (auto& x : s) x = host_from<T>(static_cast<float>(normal(rng)));
  for (auto& x : t) x = host_from<T>(static_cast<float>(normal(rng)));
  mask[1 % n] = 0;
  dbuf<T> ds(s.size()), dt(t.size()), dg(s.size());
  dbuf<float> dloss(static_cast<std::size_t>(n));
  dbuf<std::uint8_t> dmask(mask.size());
  dbuf<unsigned char> ws(grpo::distill::cuda_distill_workspace_bytes());
  ds.upload(s);
  dt.upload(t);
  dmask.upload(mask);
  dg.poison();
  dloss.poison();
  const grpo::distill::divergence d{beta, tau, 0};
  const float scale = 0.25f;
  require(grpo::distill::cuda_token_losses(d, ds.p, dt.p, {n, vocab}, dmask.p, dloss.p, dg.p, scale, ws.p, nullptr),
          "cuda_token_losses");
  const auto loss = dloss.download();
  const auto g = dg.download();
  // the CPU path in double on the same (rounded) logits
  std::vector<double> sd(s.size()), td(t.size()), lc(static_cast<std::size_t>(n)), gc(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) sd[i] = host_f(s[i]), td[i] = host_f(t[i]);
  std::vector<double> w(static_cast<std::size_t>(n), scale);
  require(grpo::distill::token_losses(d, sd.data(), td.data(), {n, vocab}, mask.data(), lc.data(), gc.data(), w.data()),
          "token_losses");
  double worst_loss = 0, worst_grad = 0;
  for (index_t r = 0; r < n; ++r) {
    const std::vector<double> a(sd.begin() + r * vocab, sd.begin() + (r + 1) * vocab);
    const std::vector<double> b(td.begin() + r * vocab, td.begin() + (r + 1) * vocab);
    const double want = mask[static_cast<std::size_t>(r)] ? grpo_test::divergence({beta, tau, 0}, a, b) : 0.0;
    worst_loss = std::max(worst_loss, std::abs(loss[static_cast<std::size_t>(r)] - want) / (1e-6 + std::abs(want)));
    for (index_t j = 0; j < vocab; ++j) {
      const std::size_t k = static_cast<std::size_t>(r * vocab + j);
      worst_grad = std::max(worst_grad, std::abs(host_f(g[k]) - gc[k]));
    }
  }
  const double gscale = std::is_same_v<T, float> ? 1.0 : 4e-3 * scale / tau;  // bf16 gradient: 8 bits of mantissa
  char what[160];
  std::snprintf(what, sizeof what, "distill %s N=%ld V=%ld beta=%.2f tau=%.2f: loss rel err %.2e, grad abs err %.2e",
                std::is_same_v<T, float> ? "fp32" : "bf16", static_cast<long>(n), static_cast<long>(vocab), beta, tau,
                worst_loss, worst_grad);
  expect(worst_loss < 2e-4 && worst_grad < std::max(2e-6, gscale), what);
}

void check_distill_errors() {
  std::vector<float> s(40, 0.0f), t(40, 0.0f);
  dbuf<float> ds(40), dt(40), dg(40), dloss(4);
  dbuf<unsigned char> ws(grpo::distill::cuda_distill_workspace_bytes());
  auto run = [&](const grpo::distill::divergence& d) {
    ds.upload(s);
    dt.upload(t);
    return grpo::distill::cuda_token_losses(d, ds.p, dt.p, {4, 10}, nullptr, dloss.p, dg.p, 1.0f, ws.p, nullptr);
  };
  s[25] = NAN;
  const auto nan_student = run(grpo::distill::forward_kl());
  expect(nan_student.input() == "student_logits" && nan_student.index() == 2, "a NaN student logit names its row: " + nan_student.message());
  s[25] = 0.0f;
  t[31] = INFINITY;
  const auto inf_teacher = run(grpo::distill::jsd(0.5));
  expect(inf_teacher.input() == "teacher_logits" && inf_teacher.index() == 3, "+inf teacher logit names its row: " + inf_teacher.message());
  t[31] = 0.0f;
  s[12] = -INFINITY;  // the teacher puts mass where the student has none: forward KL is infinite
  const auto infinite = run(grpo::distill::forward_kl());
  expect(infinite.input() == "loss" && infinite.index() == 1, "an infinite forward KL names its row: " + infinite.message());
  const auto finite_jsd = run(grpo::distill::jsd(0.5));  // the mixture keeps JSD finite
  expect(finite_jsd.ok(), "JSD with a -inf student logit is finite: " + finite_jsd.message());
  const auto top_k = run(grpo::distill::top_k(grpo::distill::forward_kl(), 3));
  expect(top_k.kind() == grpo::errc::bad_config && top_k.input() == "top_k", "top-k refused on the device");
  const auto no_ws = grpo::distill::cuda_token_losses(grpo::distill::forward_kl(), ds.p, dt.p, {4, 10}, nullptr, dloss.p,
                                                      static_cast<float*>(nullptr), 1.0f, nullptr, nullptr);
  expect(no_ws.input() == "workspace", "missing workspace rejected");
}

void check_fused_linear(index_t n, index_t h, index_t v, index_t tc, index_t vc, float tau, bool entropy_grad,
                        cublasHandle_t handle) {
  const std::string name = "fused linear bf16 N" + std::to_string(n) + " H" + std::to_string(h) + " V" +
                           std::to_string(v) + " chunks " + std::to_string(tc) + "x" + std::to_string(vc);
  std::mt19937_64 rng(n * 31 + v);
  std::normal_distribution<float> normal(0, 1);
  std::vector<bf16> hid(static_cast<std::size_t>(n * h)), w(static_cast<std::size_t>(v * h));
  for (auto& x : hid) x = __float2bfloat16_rn(normal(rng));
  for (auto& x : w) x = __float2bfloat16_rn(normal(rng) * 0.3f);
  std::vector<std::int64_t> y(static_cast<std::size_t>(n));
  std::uniform_int_distribution<std::int64_t> pick(0, v - 1);
  for (auto& t : y) t = pick(rng);
  std::vector<float> g(static_cast<std::size_t>(n)), gh(static_cast<std::size_t>(n));
  for (auto& x : g) x = normal(rng);
  for (auto& x : gh) x = normal(rng) * 0.3f;
  grpo::logprob::cuda_fused_linear_options o;
  o.temperature = tau;
  o.token_chunk = tc;
  o.vocab_chunk = vc;
  const std::size_t bytes = grpo::logprob::cuda_fused_linear_workspace_bytes(n, v, o);
  dbuf<bf16> dh_in(hid.size()), dw_in(w.size());
  dbuf<std::int64_t> dy(y.size());
  dbuf<float> dlogp(y.size()), dent(y.size()), dlse(y.size()), dg(y.size()), dgh(y.size());
  dbuf<float> ddh(hid.size()), ddw(w.size());
  dbuf<unsigned char> ws(bytes);
  dh_in.upload(hid);
  dw_in.upload(w);
  dy.upload(y);
  dg.upload(g);
  dgh.upload(gh);
  dlogp.poison();
  dent.poison();
  dlse.poison();
  ddh.poison();
  ddw.poison();
  require(grpo::logprob::cuda_fused_linear_forward(handle, dh_in.p, dw_in.p, n, h, v, dy.p, o, dlogp.p, dent.p, dlse.p,
                                                   ws.p, bytes, nullptr),
          name.c_str());
  require(grpo::logprob::cuda_fused_linear_backward(handle, dh_in.p, dw_in.p, n, h, v, dy.p, o, dlse.p, dg.p, dent.p,
                                                    entropy_grad ? dgh.p : nullptr, ddh.p, ddw.p, ws.p, bytes, nullptr),
          name.c_str());
  CUDA_OK(cudaDeviceSynchronize());
  std::vector<float> hf(hid.size()), wf(w.size());
  for (std::size_t i = 0; i < hid.size(); ++i) hf[i] = __bfloat162float(hid[i]);
  for (std::size_t i = 0; i < w.size(); ++i) wf[i] = __bfloat162float(w[i]);
  const auto z = ref::linear_logits(hf.data(), wf.data(), n, h, v);
  auto get = [&](std::int64_t t, std::int64_t k) { return z[static_cast<std::size_t>(t * v + k)]; };
  const auto f = ref::forward(get, n, v, y.data(), tau);
  const auto logp = dlogp.download(), ent = dent.download();
  double worst = 0;
  for (index_t t = 0; t < n; ++t) {  // the GEMM accumulates in fp32 on tensor cores
    worst = std::max(worst, std::fabs(logp[t] - f.logp[t]) / std::max(1.0, std::fabs(f.logp[t])));
    worst = std::max(worst, std::fabs(ent[t] - f.entropy[t]) / std::max(1.0, std::fabs(f.entropy[t])));
  }
  expect(worst <= 1e-4, name + " forward: worst relative error " + std::to_string(worst));
  std::vector<double> gd(g.begin(), g.end()), ghd;
  if (entropy_grad) ghd.assign(gh.begin(), gh.end());
  const auto G = ref::backward(get, n, v, y.data(), tau, gd, ghd);
  const auto want = ref::linear_backward(G, hf.data(), wf.data(), n, h, v);
  const double eh = ref::error_over_max(ddh.download(), want.dh), ew = ref::error_over_max(ddw.download(), want.dw);
  // G is rounded to bf16 before the gradient GEMMs (8 significant bits)
  expect(eh <= 1e-2, name + " dhidden: error / max " + std::to_string(eh));
  expect(ew <= 1e-2, name + " dweight: error / max " + std::to_string(ew));
}

// dL/dlogp functors for cuda_fused_linear_loss: a given upstream gradient, and one that depends on
// logp the way a ratio term does (g = a·exp(logp)).
struct given_gradient {
  const float* a;
  GRPO_HD float operator()(index_t t, float) const { return a[t]; }
};
struct ratio_like_gradient {
  const float* a;
  GRPO_HD float operator()(index_t t, float logp) const { return a[t] * expf(logp); }
};

template <class GradFn>
void check_fused_linear_loss(index_t n, index_t h, index_t v, index_t tc, float tau, bool ratio_like,
                             cublasHandle_t handle) {
  const std::string name = std::string("fused linear loss (one sweep") + (ratio_like ? ", g = a*exp(logp)" : "") +
                           ") N" + std::to_string(n) + " H" + std::to_string(h) + " V" + std::to_string(v) +
                           " Tc " + std::to_string(tc);
  std::mt19937_64 rng(n * 17 + v);
  std::normal_distribution<float> normal(0, 1);
  std::vector<bf16> hid(static_cast<std::size_t>(n * h)), w(static_cast<std::size_t>(v * h));
  for (auto& x : hid) x = __float2bfloat16_rn(normal(rng));
  for (auto& x : w) x = __float2bfloat16_rn(normal(rng) * 0.3f);
  std::vector<std::int64_t> y(static_cast<std::size_t>(n));
  std::uniform_int_distribution<std::int64_t> pick(0, v - 1);
  for (auto& t : y) t = pick(rng);
  std::vector<float> a(static_cast<std::size_t>(n));
  for (auto& x : a) x = normal(rng);
  grpo::logprob::cuda_fused_linear_options o;
  o.temperature = tau;
  o.token_chunk = tc;
  const std::size_t bytes = grpo::logprob::cuda_fused_linear_loss_workspace_bytes(n, v, o);
  dbuf<bf16> dh_in(hid.size()), dw_in(w.size());
  dbuf<std::int64_t> dy(y.size());
  dbuf<float> da(a.size()), dlogp(y.size()), ddh(hid.size()), ddw(w.size());
  dbuf<unsigned char> ws(bytes);
  dh_in.upload(hid);
  dw_in.upload(w);
  dy.upload(y);
  da.upload(a);
  dlogp.poison();
  ddh.poison();
  ddw.poison();
  require(grpo::logprob::cuda_fused_linear_loss(handle, dh_in.p, dw_in.p, n, h, v, dy.p, o, GradFn{da.p}, dlogp.p,
                                                ddh.p, ddw.p, ws.p, bytes, nullptr),
          name.c_str());
  std::vector<float> hf(hid.size()), wf(w.size());
  for (std::size_t i = 0; i < hid.size(); ++i) hf[i] = __bfloat162float(hid[i]);
  for (std::size_t i = 0; i < w.size(); ++i) wf[i] = __bfloat162float(w[i]);
  const auto z = ref::linear_logits(hf.data(), wf.data(), n, h, v);
  auto get = [&](std::int64_t t, std::int64_t k) { return z[static_cast<std::size_t>(t * v + k)]; };
  const auto f = ref::forward(get, n, v, y.data(), tau);
  const auto logp = dlogp.download();
  double worst = 0;
  for (index_t t = 0; t < n; ++t)
    worst = std::max(worst, std::fabs(logp[t] - f.logp[t]) / std::max(1.0, std::fabs(f.logp[t])));
  expect(worst <= 1e-4, name + " logp: worst relative error " + std::to_string(worst));
  std::vector<double> g(static_cast<std::size_t>(n));
  for (index_t t = 0; t < n; ++t) g[t] = a[t] * (ratio_like ? std::exp(f.logp[t]) : 1.0);
  const auto G = ref::backward(get, n, v, y.data(), tau, g, {});
  const auto want = ref::linear_backward(G, hf.data(), wf.data(), n, h, v);
  const double eh = ref::error_over_max(ddh.download(), want.dh), ew = ref::error_over_max(ddw.download(), want.dw);
  expect(eh <= 1e-2, name + " dhidden: error / max " + std::to_string(eh));
  expect(ew <= 1e-2, name + " dweight: error / max " + std::to_string(ew));
}

// ---- timing ------------------------------------------------------------------------------------

__global__ void fill_random(bf16* p, index_t n, unsigned seed, float scale) {
  for (index_t i = static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<index_t>(gridDim.x) * blockDim.x) {
    unsigned x = static_cast<unsigned>(i) * 2654435761u ^ static_cast<unsigned>(i >> 32) * 40503u ^ seed;
    x ^= x >> 15;
    x *= 2246822519u;
    x ^= x >> 13;
    p[i] = __float2bfloat16_rn((static_cast<float>(x & 0xffffff) / 16777216.0f - 0.5f) * scale);
  }
}

void timings(cublasHandle_t handle) {
  cudaDeviceProp prop{};
  CUDA_OK(cudaGetDeviceProperties(&prop, 0));
  std::printf("\n== timings on %s (%d SMs, L2 %d MB) ==\n", prop.name, prop.multiProcessorCount, prop.l2CacheSize >> 20);
  // ceilings measured here: device-to-device copy, and a cuBLAS bf16 GEMM
  double copy_tbs = 0, gemm_tflops = 0;
  {
    const std::size_t bytes = std::size_t{4} << 30;
    dbuf<unsigned char> a(bytes), b(bytes);
    CUDA_OK(cudaMemset(a.p, 1, bytes));
    const float ms = median_ms(10, [&] { CUDA_OK(cudaMemcpyAsync(b.p, a.p, bytes, cudaMemcpyDeviceToDevice)); });
    copy_tbs = 2.0 * static_cast<double>(bytes) / (ms * 1e-3) / 1e12;
    std::printf("copy (D2D, read + write)          %8.3f ms  %6.2f TB/s\n", ms, copy_tbs);
  }
  {
    const int m = 8192;
    dbuf<bf16> a(static_cast<std::size_t>(m) * m), b(static_cast<std::size_t>(m) * m);
    dbuf<float> c(static_cast<std::size_t>(m) * m);
    fill_random<<<1024, 256>>>(a.p, static_cast<index_t>(a.n), 1, 1.0f);
    fill_random<<<1024, 256>>>(b.p, static_cast<index_t>(b.n), 2, 1.0f);
    const float one = 1, zero = 0;
    const float ms = median_ms(10, [&] {
      cublasGemmEx(handle, CUBLAS_OP_N, CUBLAS_OP_N, m, m, m, &one, a.p, CUDA_R_16BF, m, b.p, CUDA_R_16BF, m, &zero, c.p,
                   CUDA_R_32F, m, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
    });
    gemm_tflops = 2.0 * m * static_cast<double>(m) * m / (ms * 1e-3) / 1e12;
    std::printf("cuBLAS bf16 GEMM 8192^3 (fp32 out) %8.3f ms  %6.1f TFLOP/s\n", ms, gemm_tflops);
  }
  {  // selective log-softmax 65,536 x 151,936 bf16 (19.9 GB)
    const index_t n = 65536, v = 151936;
    dbuf<bf16> z(static_cast<std::size_t>(n * v));
    dbuf<std::int64_t> y(static_cast<std::size_t>(n));
    dbuf<float> logp(n), lse(n), g(n);
    dbuf<unsigned char> ws(grpo::logprob::cuda_log_softmax_workspace_bytes());
    fill_random<<<4096, 256>>>(z.p, n * v, 3, 16.0f);
    std::vector<std::int64_t> hy(static_cast<std::size_t>(n));
    for (index_t t = 0; t < n; ++t) hy[t] = (t * 7919) % v;
    y.upload(hy);
    g.upload(std::vector<float>(static_cast<std::size_t>(n), 1.0f / n));
    const double bytes = static_cast<double>(n * v) * sizeof(bf16);
    require(grpo::logprob::cuda_selective_log_softmax_forward(z.p, {n, v}, y.p, 1.0f, logp.p, nullptr, lse.p, ws.p,
                                                              nullptr),
            "large forward");
    // spot check: the first and last rows (the last starts beyond element 2^33) against float64
    for (const index_t t : {index_t{0}, n - 1}) {
      std::vector<bf16> row(static_cast<std::size_t>(v));
      CUDA_OK(cudaMemcpy(row.data(), z.p + t * v, v * sizeof(bf16), cudaMemcpyDeviceToHost));
      float got = 0;
      CUDA_OK(cudaMemcpy(&got, logp.p + t, sizeof(float), cudaMemcpyDeviceToHost));
      const std::int64_t yt = hy[t];
      auto get = [&](std::int64_t, std::int64_t k) { return static_cast<double>(__bfloat162float(row[k])); };
      const auto r = ref::forward(get, 1, v, &yt, 1.0);
      expect(std::fabs(got - r.logp[0]) <= 1e-4 * std::max(1.0, std::fabs(r.logp[0])),
             "large log-softmax row " + std::to_string(t) + " matches float64");
    }
    const float fwd = median_ms(10, [&] {
      (void)grpo::logprob::cuda_selective_log_softmax_forward(z.p, {n, v}, y.p, 1.0f, logp.p, nullptr, lse.p, ws.p,
                                                              nullptr, false);
    });
    std::printf("log-softmax fwd 65536x151936 bf16 %8.3f ms  %6.2f TB/s  %5.1f%% of copy\n", fwd, bytes / (fwd * 1e-3) / 1e12,
                100.0 * bytes / (fwd * 1e-3) / 1e12 / copy_tbs);
    const float bwd = median_ms(10, [&] {
      (void)grpo::logprob::cuda_selective_log_softmax_backward(z.p, {n, v}, y.p, 1.0f, lse.p, g.p, z.p, nullptr, nullptr,
                                                               ws.p, nullptr);
    });
    std::printf("log-softmax bwd in place, same    %8.3f ms  %6.2f TB/s  %5.1f%% of copy\n", bwd,
                2 * bytes / (bwd * 1e-3) / 1e12, 100.0 * 2 * bytes / (bwd * 1e-3) / 1e12 / copy_tbs);
  }
  {  // fused linear N = 65,536, H = 4096, V = 151,936 bf16
    const index_t n = 65536, h = 4096, v = 151936;
    dbuf<bf16> hid(static_cast<std::size_t>(n * h)), w(static_cast<std::size_t>(v * h));
    dbuf<std::int64_t> y(static_cast<std::size_t>(n));
    dbuf<float> logp(n), lse(n), g(n), dh(static_cast<std::size_t>(n * h)), dw(static_cast<std::size_t>(v * h));
    fill_random<<<4096, 256>>>(hid.p, n * h, 4, 2.0f);
    fill_random<<<4096, 256>>>(w.p, v * h, 5, 0.05f);
    std::vector<std::int64_t> hy(static_cast<std::size_t>(n));
    for (index_t t = 0; t < n; ++t) hy[t] = (t * 104729) % v;
    y.upload(hy);
    g.upload(std::vector<float>(static_cast<std::size_t>(n), 1.0f / n));
    grpo::logprob::cuda_fused_linear_options o;
    o.token_chunk = 16384;
    o.vocab_chunk = 16384;
    const std::size_t bytes = grpo::logprob::cuda_fused_linear_workspace_bytes(n, v, o);
    dbuf<unsigned char> ws(bytes);
    std::printf("fused linear workspace: %.2f GB (materialised fp32 logits would be %.1f GB)\n", bytes / 1e9,
                static_cast<double>(n) * v * 4 / 1e9);
    const float fwd = median_ms(3, [&] {
      (void)grpo::logprob::cuda_fused_linear_forward(handle, hid.p, w.p, n, h, v, y.p, o, logp.p, nullptr, lse.p, ws.p,
                                                     bytes, nullptr, false);
    });
    const double flop = 2.0 * n * static_cast<double>(h) * v;
    std::printf("fused linear fwd N65536 H4096 V151936 %8.2f ms  %6.1f TFLOP/s  %5.1f%% of GEMM\n", fwd,
                flop / (fwd * 1e-3) / 1e12, 100.0 * flop / (fwd * 1e-3) / 1e12 / gemm_tflops);
    const float both = median_ms(3, [&] {
      (void)grpo::logprob::cuda_fused_linear_forward(handle, hid.p, w.p, n, h, v, y.p, o, logp.p, nullptr, lse.p, ws.p,
                                                     bytes, nullptr, false);
      (void)grpo::logprob::cuda_fused_linear_backward(handle, hid.p, w.p, n, h, v, y.p, o, lse.p, g.p, nullptr, nullptr,
                                                      dh.p, dw.p, ws.p, bytes, nullptr);
    });
    std::printf("fused linear fwd+bwd, same       %8.2f ms  %6.1f TFLOP/s effective (6NHV), %6.1f executed (8NHV)\n",
                both, 3 * flop / (both * 1e-3) / 1e12, 4 * flop / (both * 1e-3) / 1e12);
    // one sweep, no recompute: token chunks of 4096 with the whole vocabulary (3.7 GB workspace)
    grpo::logprob::cuda_fused_linear_options lo;
    lo.token_chunk = 4096;
    const std::size_t lbytes = grpo::logprob::cuda_fused_linear_loss_workspace_bytes(n, v, lo);
    dbuf<unsigned char> lws(lbytes);
    const float sweep = median_ms(3, [&] {
      (void)grpo::logprob::cuda_fused_linear_loss(handle, hid.p, w.p, n, h, v, y.p, lo, given_gradient{g.p}, logp.p,
                                                  dh.p, dw.p, lws.p, lbytes, nullptr, false);
    });
    std::printf("fused linear loss, one sweep     %8.2f ms  %6.1f TFLOP/s effective = executed (6NHV), %5.1f%% of GEMM; "
                "workspace %.2f GB\n",
                sweep, 3 * flop / (sweep * 1e-3) / 1e12, 100.0 * 3 * flop / (sweep * 1e-3) / 1e12 / gemm_tflops,
                lbytes / 1e9);
  }
  CUDA_OK(cudaGetLastError());
}

}  // namespace

int main(int argc, char** argv) {
  if (!cuda_device_present()) return skipped;
  const bool timing = !(argc > 1 && std::strcmp(argv[1], "--no-timing") == 0);
  cublasHandle_t handle;
  if (cublasCreate(&handle) != CUBLAS_STATUS_SUCCESS) {
    std::printf("cublasCreate failed\n");
    return 1;
  }
  for (const index_t vocab : {1, 7, 1001, 5003}) {
    check_log_softmax<float>(37, vocab, vocab, 1.0f, 0.0, false, 1);
    check_log_softmax<bf16>(37, vocab, vocab, 0.7f, 0.1, true, 2);
  }
  check_log_softmax<float>(9, 4099, 4103, 0.8f, 0.3, true, 3);  // misaligned rows, masked vocabulary
  check_log_softmax<bf16>(5, 262147, 262147, 1.0f, 0.0, false, 4);  // V > 2^18
  check_log_softmax_errors();
  check_fused_linear(64, 96, 1000, 24, 256, 1.0f, false, handle);
  check_fused_linear(50, 64, 777, 64, 1000, 0.7f, true, handle);
  check_fused_linear(33, 128, 515, 7, 129, 1.0f, true, handle);
  check_fused_linear_loss<given_gradient>(45, 96, 777, 16, 1.0f, false, handle);
  check_fused_linear_loss<ratio_like_gradient>(40, 64, 1001, 40, 0.8f, true, handle);
  for (const double beta : {0.0, 0.1, 0.5, 1.0}) {
    check_distill<float>(17, 1001, beta, 1.0, 10 + static_cast<std::uint64_t>(beta * 10));
    check_distill<float>(5, 4099, beta, 0.7, 20 + static_cast<std::uint64_t>(beta * 10));
    check_distill<bf16>(9, 777, beta, 1.3, 30 + static_cast<std::uint64_t>(beta * 10));
  }
  check_distill<float>(3, 262147, 0.5, 1.0, 40);  // V > 2^18
  check_distill_errors();
  std::printf("checks: %s (%d failures)\n", failures == 0 ? "all passed" : "FAILED", failures);
  if (timing && failures == 0) timings(handle);
  cublasDestroy(handle);
  return failures == 0 ? 0 : 1;
}
