// The CUDA backend of the fused objective, against the CPU backend evaluated in float64 (which
// tests/objective checks against the independent float64 reference and finite differences):
// every objective of tests/objective/objectives.hpp (each ratio, surrogate, KL estimator,
// aggregation and correction at least once), a few presets and the user-defined terms of
// examples/04_custom_term.hpp, on fresh random inputs with
// ragged masks and lengths, gradients poisoned with NaN before the call so that a position the
// kernel forgets shows up. Also: the Thrust backend on the CUDA system, the asynchronous API
// (pinned result, synchronize), bitwise determinism, accumulate mode, validation with the input
// and index of the first bad value, and the token-loss timing at 4M+ tokens against a
// device-to-device copy measured in the same run. Without a GPU: exit 77 (skipped).
#include "../../examples/04_custom_term.hpp"
#include "cuda/support.cuh"
#include "objective/objectives.hpp"
#include "objective/support.hpp"

#include <grpo/exec/cuda.cuh>
#include <grpo/exec/thrust.hpp>
#include <grpo/objective/presets.hpp>

#include <cuda_runtime.h>
#include <thrust/system/cuda/execution_policy.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

namespace {

int failures = 0;
int checks = 0;

void expect(bool ok, const std::string& what) {
  ++checks;
  if (!ok) {
    ++failures;
    std::printf("FAIL %s\n", what.c_str());
  }
}

template <class T>
struct device_array {
  T* p = nullptr;
  explicit device_array(const std::vector<T>& h) {
    if (h.empty()) return;
    CUDA_OK(cudaMalloc(&p, h.size() * sizeof(T)));
    CUDA_OK(cudaMemcpy(p, h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice));
  }
  device_array(const device_array&) = delete;
  ~device_array() { if (p != nullptr) cudaFree(p); }
  std::vector<T> download(std::size_t n) const {
    std::vector<T> h(n);
    CUDA_OK(cudaMemcpy(h.data(), p, n * sizeof(T), cudaMemcpyDeviceToHost));
    return h;
  }
};

/// A float copy of a test batch on the device.
struct device_batch {
  objtest::data::view<float> host;
  device_array<float> logp, old, ref, entropy, sampler, adv, token_adv;
  device_array<std::uint8_t> mask, truncated;
  device_array<std::int32_t> lengths;
  grpo::token_batch<float> b;
  explicit device_batch(const objtest::data& d)
      : host(d.make<float>()), logp(host.logp), old(host.old), ref(host.ref), entropy(host.entropy),
        sampler(host.sampler), adv(host.adv), token_adv(host.token_adv), mask(d.mask), truncated(d.truncated),
        lengths(d.lengths) {
    b = host.b;
    b.logp = logp.p, b.old = old.p, b.ref = ref.p, b.entropy = entropy.p, b.sampler_logp = sampler.p;
    b.advantages = adv.p, b.token_advantages = token_adv.p;
    b.mask = mask.p, b.truncated = truncated.p, b.lengths = lengths.p;
  }
};

struct device_workspace {
  void* p = nullptr;
  std::size_t bytes = 0;
  explicit device_workspace(std::size_t n) : bytes(n) { CUDA_OK(cudaMalloc(&p, n)); }
  ~device_workspace() { cudaFree(p); }
  grpo::exec::cuda exec(void* pinned = nullptr) const { return {nullptr, {p, bytes}, pinned}; }
};

bool close(double a, double b, double rel, double abs) {
  return std::abs(a - b) <= abs + rel * std::max(std::abs(a), std::abs(b));
}

template <class O>
void check_thrust(const std::string& tag, const O& obj, const device_batch& db, const objtest::run_result<double>& want);

template <bool ThrustToo = false, class O>
void check_objective(const std::string& name, O obj, int N, int T, std::uint64_t seed) {
  objtest::options opt;
  opt.lengths = true;
  opt = objtest::needs(obj, opt);
  const objtest::data d = objtest::random_data(N, T, opt, seed);
  const auto want = objtest::run<double>(obj, d);  // the CPU in float64
  const std::string tag = name + " N=" + std::to_string(N) + " T=" + std::to_string(T);
  if (!want.st.ok()) return expect(false, tag + ": CPU reference: " + want.st.message());

  device_batch db(d);
  grpo::prepare(obj, db.host.b);  // top-entropy's quantile, on the host copy (a no-op for the rest)
  const std::size_t n = std::size_t(N) * std::size_t(T);
  const device_workspace ws(grpo::workspace_bytes(grpo::exec::cuda{}, obj, N, T));
  device_array<float> grad(std::vector<float>(n, std::nanf("")));
  grpo::objective_result got;
  const grpo::status s = grpo::evaluate(obj, db.b, grpo::gradient_out<float>{grad.p}, got, ws.exec());
  if (!s.ok()) return expect(false, tag + ": " + s.message());
  const std::vector<float> g = grad.download(n);

  bool ok = close(got.loss, want.r.loss, 2e-5, 1e-6);
  if (!ok) std::printf("  loss %.9g, float64 CPU %.9g\n", got.loss, want.r.loss);
  ok = ok && got.stats.size == want.r.stats.size && got.stats.token_count == want.r.stats.token_count;
  for (const auto& e : want.r.stats)
    if (!close(got.stats[e.name()], e.value, 1e-4, 1e-5)) {
      std::printf("  statistic %s: %.9g, float64 CPU %.9g\n", e.name().c_str(), got.stats[e.name()], e.value);
      ok = false;
    }
  double worst = 0;
  for (std::size_t k = 0; k < n; ++k) {
    const double err = std::abs(double(g[k]) - want.grad[k]);
    if (!(err <= 2e-4 * std::abs(want.grad[k]) + 1e-7)) ok = false;
    worst = std::max(worst, err / (1e-6 + std::abs(want.grad[k])));
  }
  std::printf("%s %-44s loss %.9g vs %.9g, grad worst rel %.2e\n", ok ? "ok  " : "FAIL", tag.c_str(), got.loss,
              want.r.loss, worst);
  expect(ok, tag + ": against the float64 CPU pass");

  // unchecked: the same kernels without the flags, so the same bits
  device_array<float> grad_u(std::vector<float>(n, std::nanf("")));
  grpo::objective_result got_u;
  expect(grpo::evaluate(grpo::unchecked, obj, db.b, grpo::gradient_out<float>{grad_u.p}, got_u, ws.exec()).ok() &&
             got_u.loss == got.loss && grad_u.download(n) == g,
         tag + ": unchecked == validated, bit for bit");

  // asynchronous: enqueue with a pinned result buffer, then synchronize; and run-to-run identical
  void* pinned = nullptr;
  CUDA_OK(cudaMallocHost(&pinned, grpo::cuda_result_bytes(obj)));
  device_array<float> grad_a(std::vector<float>(n, std::nanf("")));
  grpo::objective_result got_a;
  const grpo::status sa = grpo::evaluate(obj, db.b, grpo::gradient_out<float>{grad_a.p}, ws.exec(pinned));
  const grpo::status sy = grpo::synchronize(obj, db.b, ws.exec(pinned), got_a);
  expect(sa.ok() && sy.ok() && got_a.loss == got.loss && grad_a.download(n) == g,
         tag + ": enqueue + synchronize (pinned result) == evaluate, bit for bit");
  CUDA_OK(cudaFreeHost(pinned));

  // accumulate mode adds to what is there
  device_array<float> grad_acc(std::vector<float>(n, 1.0f));
  grpo::objective_result got_acc;
  expect(grpo::evaluate(obj, db.b, grpo::gradient_out<float>{grad_acc.p, grpo::grad_mode::accumulate}, got_acc,
                        ws.exec()).ok(),
         tag + ": accumulate mode runs");
  const std::vector<float> ga = grad_acc.download(n);
  bool acc_ok = true;
  for (std::size_t k = 0; k < n; ++k) acc_ok = acc_ok && ga[k] == 1.0f + g[k];
  expect(acc_ok, tag + ": accumulate mode adds dL/dlogp");

  if constexpr (ThrustToo) check_thrust(tag, obj, db, want);
}

// The Thrust backend on the CUDA system: the same node code, its own loops. (Instantiating
// Thrust's device algorithms costs ~30 s of nvcc per objective, so two objectives take it.)
template <class O>
void check_thrust(const std::string& tag, const O& obj, const device_batch& db, const objtest::run_result<double>& want) {
  const std::size_t n = want.grad.size();
  device_array<float> grad_t(std::vector<float>(n, std::nanf("")));
  const device_workspace ws_t(grpo::workspace_bytes(grpo::exec::on_thrust(thrust::cuda::par, {}), obj, db.b.N, db.b.T));
  grpo::objective_result got_t;
  const grpo::status st = grpo::evaluate(grpo::unchecked, obj, db.b, grpo::gradient_out<float>{grad_t.p}, got_t,
                                         grpo::exec::on_thrust(thrust::cuda::par, {ws_t.p, ws_t.bytes}));
  bool t_ok = st.ok() && close(got_t.loss, want.r.loss, 2e-5, 1e-6);
  const std::vector<float> gt = grad_t.download(n);
  for (std::size_t k = 0; k < n && t_ok; ++k) t_ok = close(gt[k], want.grad[k], 2e-4, 1e-7);
  expect(t_ok, tag + ": Thrust on CUDA against the float64 CPU pass" + (st.ok() ? "" : ": " + st.message()));
}

/// "ratio/surrogate/kl/aggregation[+correction...]" from the parts' names.
template <class O>
std::string name_of(const O& obj) {
  std::string s;
  grpo::for_each_node(obj, [&](auto I, const auto& node) {
    s += (decltype(I)::value == 0 ? "" : decltype(I)::value < 4 ? "/" : "+");
    s += std::remove_cvref_t<decltype(node)>::name;
  });
  return s;
}

template <class... O>
void check_types(int N, int T, std::uint64_t seed) {
  (check_objective(name_of(objtest::types::configure<O>()), objtest::types::configure<O>(), N, T, seed++), ...);
}

// The presets are these parts with other hyper-parameters (tests/peers checks each against its
// peer on the CPU); a few of the most used, so that the clamps and defaults they set run here too.
void check_presets(int N, int T, std::uint64_t seed) {
  namespace p = grpo::presets;
  auto with_kl = [](auto o) { o.beta = 0.04; return o; };
  check_objective("trl::grpo + k3", with_kl(p::trl::grpo()), N, T, seed++);
  check_objective<true>("trl::dapo + k3", with_kl(p::trl::dapo()), N, T, seed++);
  check_objective("trl::sapo", p::trl::sapo(), N, T, seed++);
  check_objective<true>("verl::gspo", p::verl::gspo(), N, T, seed++);
  check_objective("openrlhf::ppo<k3>", p::openrlhf::ppo<grpo::kl::k3>(0.01), N, T, seed++);
  check_objective("liger::grpo", p::liger::grpo(), N, T, seed++);
  check_objective("examples/04: soft_clip + length_penalty", my::make_objective(), N, T, seed++);
}

/// A NaN at a masked-in position is reported with its input and flat index, and in accumulate
/// mode it leaves the caller's gradient as it was.
void check_validation() {
  objtest::options opt;
  opt.mask = false;
  objtest::data d = objtest::random_data(4, 8, opt, 99);
  d.lengths.assign(4, 8);
  d.old[13] = std::nan("");
  device_batch db(d);
  const auto obj = grpo::presets::trl::grpo();
  const device_workspace ws(grpo::workspace_bytes(grpo::exec::cuda{}, obj, 4, 8));
  grpo::objective_result r;
  const grpo::status s = grpo::evaluate(obj, db.b, grpo::gradient_out<float>{}, r, ws.exec());
  expect(s.kind() == grpo::errc::non_finite && s.input() == "old" && s.index() == 13,
         "validation reports the NaN in old at 13: " + s.message());
  device_array<float> grad(std::vector<float>(32, 2.5f));
  const grpo::status sa =
      grpo::evaluate(obj, db.b, grpo::gradient_out<float>{grad.p, grpo::grad_mode::accumulate}, r, ws.exec());
  const std::vector<float> g = grad.download(32);
  expect(!sa.ok() && std::all_of(g.begin(), g.end(), [](float x) { return x == 2.5f; }),
         "a failed check in accumulate mode leaves the gradient untouched");
  d.lengths[2] = 9;
  device_batch bad_len(d);
  const grpo::status sl = grpo::evaluate(obj, bad_len.b, grpo::gradient_out<float>{}, r, ws.exec());
  expect(sl.kind() == grpo::errc::out_of_range && sl.input() == "lengths" && sl.index() == 2,
         "a length above T is reported with its row: " + sl.message());
  const grpo::status sw =
      grpo::evaluate(obj, db.b, grpo::gradient_out<float>{}, r, grpo::exec::cuda{nullptr, {ws.p, 16}});
  expect(sw.kind() == grpo::errc::out_of_range && sw.input() == "workspace", "a short workspace is refused");
  auto top = grpo::objective<grpo::ratio::token, grpo::surrogate::ppo_clip, grpo::kl::none, grpo::aggregation::token_mean,
                             grpo::correction::top_entropy>{};
  const grpo::status sp = grpo::evaluate(top, db.b, grpo::gradient_out<float>{}, r, ws.exec());
  expect(sp.kind() == grpo::errc::bad_config && sp.input() == "top_entropy",
         "top_entropy without grpo::prepare is refused: " + sp.message());
}

void time_token_loss(grpo::index_t N, grpo::index_t T) {
  const std::size_t n = std::size_t(N * T);
  device_array<float> logp{std::vector<float>(n, -1.f)}, old{std::vector<float>(n, -1.1f)},
      ref{std::vector<float>(n, -0.9f)}, adv{std::vector<float>(std::size_t(N), 0.5f)}, grad{std::vector<float>(n)};
  device_array<std::uint8_t> mask{std::vector<std::uint8_t>(n, 1)};
  grpo::token_batch<float> d{.N = N, .T = T, .logp = logp.p, .old = old.p, .ref = ref.p, .mask = mask.p,
                             .advantages = adv.p};
  auto obj = grpo::presets::trl::dapo();
  obj.beta = 0.04;
  const device_workspace ws(grpo::workspace_bytes(grpo::exec::cuda{}, obj, N, T));
  // enqueue only (the default call, validated): the result stays on the device
  const float loss_ms = median_ms(50, [&] {
    (void)grpo::evaluate(obj, d, grpo::gradient_out<float>{grad.p}, ws.exec());
  });
  const float unchecked_ms = median_ms(50, [&] {
    (void)grpo::evaluate(grpo::unchecked, obj, d, grpo::gradient_out<float>{grad.p}, ws.exec());
  });
  // the floor: reading logp, old, ref (12 B), the mask (1 B) and writing dL/dlogp (4 B)
  const double bytes_moved = double(n) * 17.0;
  device_array<float> a{std::vector<float>(4 * n)}, b{std::vector<float>(4 * n)};
  const float copy_ms =
      median_ms(50, [&] { CUDA_OK(cudaMemcpyAsync(b.p, a.p, 4 * n * sizeof(float), cudaMemcpyDeviceToDevice)); });
  const double copy_bw = 2.0 * 4.0 * double(n) * 4.0 / (copy_ms * 1e-3);
  const double loss_bw = bytes_moved / (loss_ms * 1e-3);
  std::printf("token loss fwd+bwd (dapo + k3), %lld tokens: validated %.3f ms (unchecked %.3f ms), %.2f TB/s = %.0f%% "
              "of the measured copy bandwidth %.2f TB/s\n",
              (long long)n, loss_ms, unchecked_ms, loss_bw / 1e12, 100.0 * loss_bw / copy_bw, copy_bw / 1e12);
}

}  // namespace

int main() {
  if (!cuda_device_present()) return skipped;
  for (auto [N, T] : {std::pair<int, int>{3, 1}, {9, 37}, {64, 36}, {33, 300}}) {
    check_types<OBJTEST_ALL_TYPES>(N, T, 1000);
    check_presets(N, T, 2000);
  }
  check_validation();
  time_token_loss(2048, 2048);  // 4.2M tokens
  time_token_loss(4096, 4096);  // 16.8M tokens
  std::printf("%d passed, %d failed\n", checks - failures, failures);
  return failures == 0 ? 0 : 1;
}
