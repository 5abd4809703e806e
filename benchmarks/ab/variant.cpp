// One side of scripts/ab.sh: the library's hot paths behind plain functions. This file is
// compiled twice, against two versions of include/grpo/, with the namespace renamed by the
// preprocessor (-Dgrpo=grpo_va, -DVARIANT=a, and likewise b), so that both versions live in one
// program and can be timed call by call, alternately, on the same inputs (see main.cpp).
#include <grpo/exec/cpu.hpp>
#include <grpo/logprob/selective_log_softmax.hpp>
#include <grpo/objective/presets.hpp>

#include <chrono>
#include <cstdint>
#include <vector>

#define GRPO_AB_CAT2(a, b) a##b
#define GRPO_AB_CAT(a, b) GRPO_AB_CAT2(a, b)

namespace {
double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
}  // namespace

namespace {
// The token-loss call in either API: the execution policy carrying its workspace (since the
// node protocol), or the workspace as a trailing argument (before it), so that scripts/ab.sh
// can time a revision on either side of that change.
template <class Exec, class O, class B, class G>
grpo::status call_token_loss(Exec exec, bool validated, const O& obj, const B& b, const G& g,
                             grpo::objective_result& r) {
  static std::vector<unsigned char> ws;
  if constexpr (requires { exec.ws; }) {
    ws.resize(grpo::workspace_bytes(exec, obj, b.N, b.T));
    exec.ws = {ws.data(), ws.size()};
    return validated ? grpo::evaluate(obj, b, g, r, exec) : grpo::evaluate(grpo::unchecked, obj, b, g, r, exec);
  } else {
    ws.resize(grpo::workspace_bytes(obj, b.N));
    return validated ? grpo::evaluate(obj, b, g, r, exec, grpo::local_reduction{}, {ws.data(), ws.size()})
                     : grpo::evaluate(grpo::unchecked, obj, b, g, r, exec, grpo::local_reduction{},
                                      {ws.data(), ws.size()});
  }
}
}  // namespace

/// TRL's grpo loss (k3, β = 0.04), forward + backward over n sequences of t tokens: seconds.
/// The default call (validated) or grpo::unchecked; exec::parallel or exec::serial.
double GRPO_AB_CAT(token_loss_, VARIANT)(long n, long t, const float* logp, const float* old, const float* ref,
                                         const std::uint8_t* mask, const float* adv, float* dlogp, double* loss,
                                         bool parallel, bool validated) {
  grpo::token_batch<float> b{.N = n, .T = t, .logp = logp, .old = old, .ref = ref, .mask = mask, .advantages = adv};
  auto obj = grpo::presets::trl::grpo();
  obj.beta = 0.04;
  grpo::objective_result r;
  const grpo::gradient_out<float> g{dlogp};
  const auto t0 = std::chrono::steady_clock::now();
  const grpo::status s = parallel ? call_token_loss(grpo::exec::parallel{}, validated, obj, b, g, r)
                                  : call_token_loss(grpo::exec::serial{}, validated, obj, b, g, r);
  const double sec = seconds_since(t0);
  grpo::throw_if_error(s);
  *loss = r.loss;
  return sec;
}

/// Selective log-softmax forward (logp and lse) over n rows of v bf16 logits (raw bits): seconds.
double GRPO_AB_CAT(logsoftmax_bf16_, VARIANT)(long n, long v, const std::uint16_t* z, const std::int64_t* y,
                                              float* logp, float* lse) {
  const auto t0 = std::chrono::steady_clock::now();
  grpo::throw_if_error(grpo::logprob::selective_log_softmax_forward(reinterpret_cast<const grpo::bf16*>(z), {n, v},
                                                                    y, 1.0f, logp, nullptr, lse));
  return seconds_since(t0);
}
