// grpo/interop/torch.hpp against the same work done in libtorch, and against grpo's own call on
// raw memory, in one process: each pair is timed alternately (a, b, a, b, ...) and the medians
// compared, so machine noise hits both sides alike. Forward + backward each time.
//
//   loss        grpo::torch::loss(trl::grpo, beta 0.04) vs grpo::evaluate on the tensors' memory
//               (the wrapper's cost) and vs TRL's formula in libtorch tensor ops + autograd
//   selective   grpo::torch::selective_log_softmax vs log_softmax(-1).gather in libtorch
//   fused       grpo::torch::fused_linear_logprob vs matmul + log_softmax + gather in libtorch
//
//   build/benchmarks/torch_interop [--reps N] [--threads N]   (default: every core; scripts/bench.sh
//                                                            runs it when libtorch is found)
#include <grpo/interop/torch.hpp>
#include <grpo/objective/presets.hpp>

#include <torch/version.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <thread>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

/// Medians (ms) of `a` and `b`, timed alternately after one warm-up call each.
std::pair<double, double> alternate(int reps, const std::function<void()>& a, const std::function<void()>& b) {
  a(), b();
  std::vector<double> ta, tb;
  for (int r = 0; r < reps; ++r)
    for (int side = 0; side < 2; ++side) {
      const auto t0 = clock_type::now();
      (side == 0 ? a : b)();
      const double ms = std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
      (side == 0 ? ta : tb).push_back(ms);
    }
  return {median(ta), median(tb)};
}

void report(const char* what, const char* a_name, const char* b_name, std::pair<double, double> t) {
  std::printf("%-34s %-26s %9.3f ms   %-30s %9.3f ms   ratio %.2fx\n", what, a_name, t.first, b_name, t.second,
              t.second / t.first);
}

// TRL's loss_type="grpo" (trl/trainer/grpo_trainer.py, _compute_loss) in tensor ops
at::Tensor trl_grpo(const at::Tensor& logp, const at::Tensor& old, const at::Tensor& ref, const at::Tensor& m,
                    const at::Tensor& A, double eps, double beta) {
  const auto ratio = at::exp(logp - old);
  const auto adv = A.unsqueeze(1);
  auto per_token = -at::min(ratio * adv, at::clamp(ratio, 1 - eps, 1 + eps) * adv);
  per_token = per_token + beta * (at::exp(ref - logp) - (ref - logp) - 1) * ratio;
  return ((per_token * m).sum(1) / m.sum(1).clamp_min(1)).mean();
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 15, threads = static_cast<int>(std::thread::hardware_concurrency());
  for (int a = 1; a < argc; ++a) {
    if (std::strcmp(argv[a], "--reps") == 0 && a + 1 < argc) reps = std::atoi(argv[++a]);
    else if (std::strcmp(argv[a], "--threads") == 0 && a + 1 < argc) threads = std::atoi(argv[++a]);
    else return std::fprintf(stderr, "usage: %s [--reps N] [--threads N]\n", argv[0]), 2;
  }
  at::set_num_threads(std::max(1, threads));  // Debian's libtorch starts with one
  at::manual_seed(1);
  std::printf("libtorch %d.%d, %d intra-op threads (grpo::torch uses the same number)\n", TORCH_VERSION_MAJOR,
              TORCH_VERSION_MINOR,
              at::get_num_threads());

  {  // the loss: 512 x 1024 tokens, about half of them padding
    const std::int64_t N = 512, T = 1024;
    const at::Tensor logp = (-at::rand({N, T}) * 3).requires_grad_(true);
    const at::Tensor old = (logp.detach() + 0.2 * at::randn({N, T})).contiguous();
    const at::Tensor ref = (logp.detach() + 0.2 * at::randn({N, T})).contiguous();
    const at::Tensor mask = at::arange(T).unsqueeze(0) < at::randint(1, T + 1, {N, 1});
    const at::Tensor mf = mask.to(at::kFloat), A = at::randn({N});
    auto objective = grpo::presets::trl::grpo();
    objective.beta = 0.04;
    const grpo::token_batch<float> raw{.N = N, .T = T, .logp = logp.data_ptr<float>(), .old = old.data_ptr<float>(),
                                       .ref = ref.data_ptr<float>(),
                                       .mask = static_cast<const std::uint8_t*>(mask.data_ptr()),
                                       .advantages = A.data_ptr<float>()};
    std::vector<float> dlogp(static_cast<std::size_t>(N * T));
    auto ours = [&] {
      logp.mutable_grad() = at::Tensor();
      grpo::torch::loss(objective, logp, old, ref, mask, A).loss.backward();
    };
    auto direct = [&] {
      grpo::objective_result r;
      grpo::throw_if_error(grpo::evaluate(objective, raw, grpo::gradient_out<float>{dlogp.data()}, r,
                                          grpo::exec::parallel{.num_threads = at::get_num_threads()}));
    };
    auto eager = [&] {
      logp.mutable_grad() = at::Tensor();
      trl_grpo(logp, old, ref, mf, A, objective.surrogate.eps_low, objective.beta).backward();
    };
    std::printf("\n== loss, %lld tokens (%lld unmasked), float32, fwd + bwd\n", static_cast<long long>(N * T),
                static_cast<long long>(mask.sum().item<std::int64_t>()));
    report("trl::grpo, beta 0.04", "grpo::evaluate (raw)", "grpo::torch::loss", alternate(reps, direct, ours));
    report("trl::grpo, beta 0.04", "grpo::torch::loss", "libtorch eager (TRL formula)", alternate(reps, ours, eager));
  }

  {  // selective log-softmax: 1024 tokens x V 32768, float32 logits (128 MiB)
    const std::int64_t tokens = 1024, V = 32768;
    const at::Tensor logits = (at::randn({tokens, V}) * 2).requires_grad_(true);
    const at::Tensor y = at::randint(0, V, {tokens});
    auto ours = [&] {
      logits.mutable_grad() = at::Tensor();
      grpo::torch::selective_log_softmax(logits, y).sum().backward();
    };
    auto eager = [&] {
      logits.mutable_grad() = at::Tensor();
      at::log_softmax(logits, -1).gather(1, y.unsqueeze(1)).sum().backward();
    };
    std::printf("\n== selective log-softmax, %lld x %lld float32 logits, fwd + bwd\n", static_cast<long long>(tokens),
                static_cast<long long>(V));
    report("logp = z_y - logsumexp(z)", "grpo::torch", "libtorch log_softmax+gather", alternate(reps, ours, eager));
  }

  {  // fused linear: N 1024, H 512, V 16384
    const std::int64_t N = 1024, H = 512, V = 16384;
    const at::Tensor h = at::randn({N, H}).requires_grad_(true);
    const at::Tensor W = (at::randn({V, H}) * 0.05).requires_grad_(true);
    const at::Tensor y = at::randint(0, V, {N});
    auto clear = [&] { h.mutable_grad() = at::Tensor(), W.mutable_grad() = at::Tensor(); };
    auto ours = [&] {
      clear();
      grpo::torch::fused_linear_logprob(h, W, y).sum().backward();
    };
    auto eager = [&] {
      clear();
      at::log_softmax(at::matmul(h, W.t()), -1).gather(1, y.unsqueeze(1)).sum().backward();
    };
    std::printf("\n== fused linear log-prob, N %lld, H %lld, V %lld, float32, fwd + bwd (libtorch stores [N, V] "
                "logits and their log-softmax: %.0f MiB)\n",
                static_cast<long long>(N), static_cast<long long>(H), static_cast<long long>(V),
                2.0 * static_cast<double>(N * V) * 4 / (1 << 20));
    report("logp from h and W", "grpo::torch", "libtorch matmul+log_softmax", alternate(std::max(3, reps / 3), ours, eager));
  }
  return 0;
}
