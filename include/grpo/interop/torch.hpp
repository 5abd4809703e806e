#pragma once
// grpo inside libtorch's autograd (optional component `torch`: find_package(grpo CONFIG
// COMPONENTS torch), target grpo::torch). Three operations, each a torch::autograd::Function
// whose backward is grpo's own:
//
//   auto r = grpo::torch::loss(grpo::presets::trl::grpo(), {.logp = logp, .ref = ref,
//                                                          .mask = mask, .advantages = A});
//   r.loss.backward();                 // logp.grad() = dL/dlogp from the fused pass
//   r.stats["clip_region"], r.totals.tokens ...
//
//   auto logp = grpo::torch::selective_log_softmax(logits, targets, /*temperature=*/1.0);
//   auto logp = grpo::torch::fused_linear_logprob(hidden, weight, targets);   // never [tokens, V]
//
// loss: the fused objective pass (grpo/exec/cpu.hpp) runs once, in the forward, and writes the
// loss, the statistics and dL/dlogp (and dL/dH when `entropy` is given and requires grad); the
// backward scales the saved gradient by the upstream one. So a backward costs one multiply, and
// the loss is exact for grpo's objective, not a re-derivation in tensor ops. Inputs other than
// `logp` and `entropy` are constants of the objective (TRL detaches them too): one that requires
// grad is refused rather than silently given no gradient.
//
// selective_log_softmax: logp[..] = z[.., y]/τ − logsumexp(z[.., :]/τ) over the last dimension,
// float32 or bfloat16 logits → float32 log-probs, float64 logits → float64 log-probs
// (grpo/logprob/selective_log_softmax.hpp); the backward writes dL/dlogits once, in the logits'
// dtype.
// fused_linear_logprob: the same from hidden states h [.., H] and the output matrix W [V, H]
// (both float32 or both float64), chunked so the logits are never stored
// (grpo/logprob/fused_linear.hpp); the backward gives dL/dh and dL/dW.
//
// CPU tensors only: a tensor on another device is refused with errc::bad_tensor naming it (the
// CUDA backends take raw device pointers: grpo/exec/cuda.cuh, grpo/logprob/*.cuh). Every
// error is a grpo::error (a std::runtime_error) whose status names the input and, for values,
// the flat index: wrong dtype, device, rank or shape, a non-contiguous tensor, a non-finite value.
#include <grpo/exec/cpu.hpp>
#include <grpo/logprob/fused_linear.hpp>
#include <grpo/logprob/selective_log_softmax.hpp>
#include <grpo/objective/objective.hpp>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

namespace grpo::torch {

/// The tensors of a grpo::token_batch, by the same names. Undefined tensors are absent inputs.
struct loss_inputs {
  at::Tensor logp{};          ///< [N, T] float32 or float64: log π_θ, differentiable
  at::Tensor old{};           ///< [N, T] log π_old; absent: old = sg(logp), ratio 1
  at::Tensor ref{};           ///< [N, T] log π_ref; required iff the objective has a KL term
  at::Tensor mask{};          ///< [N, T] bool or uint8
  at::Tensor lengths{};       ///< [N] int32 completion lengths
  at::Tensor advantages{};    ///< [N], or [N, T] for per-token advantages
  at::Tensor entropy{};       ///< [N, T] per-token entropy (entropy bonus, top-entropy); differentiable
  at::Tensor sampler_logp{};  ///< [N, T] the sampler's log-probs (sampler_mismatch, off_policy_mask)
  at::Tensor truncated{};     ///< [N] bool or uint8: the completion hit the length limit
};

struct loss_options {
  bool validate = true;  ///< false: grpo::unchecked (shapes still checked, values not)
  int num_threads = 0;   ///< OpenMP threads of the pass; 0: at::get_num_threads()
};

struct loss_result {
  at::Tensor loss{};              ///< 0-dim, logp's dtype; differentiable in logp and entropy
  objective_statistics stats;   ///< the pass's named statistics (r.stats["clip_region"], ...)
  batch_totals totals;          ///< the normalisers used
};

namespace torch_detail {

using ::torch::autograd::AutogradContext;
using ::torch::autograd::variable_list;

[[noreturn]] inline void fail(errc kind, const char* input, const std::string& detail) {
  throw error(status{kind, input, -1, detail});
}

inline std::string sizes_of(const at::Tensor& t) {
  std::string s = "[";
  for (std::int64_t d = 0; d < t.dim(); ++d) s += (d ? ", " : "") + std::to_string(t.size(d));
  return s + "]";
}

/// A tensor of one of `dtypes`, on the CPU, dense and contiguous.
inline void expect(const at::Tensor& t, const char* name, std::initializer_list<at::ScalarType> dtypes) {
  bool dtype_ok = false;
  std::string wanted;
  for (at::ScalarType d : dtypes) {
    dtype_ok = dtype_ok || t.scalar_type() == d;
    wanted += (wanted.empty() ? "" : " or ") + std::string(c10::toString(d));
  }
  if (!dtype_ok)
    fail(errc::bad_tensor, name, std::string("dtype ") + c10::toString(t.scalar_type()) + ", expected " + wanted);
  if (!t.device().is_cpu())
    fail(errc::bad_tensor, name, "on device " + t.device().str() + "; grpo::torch takes CPU tensors");
  if (t.layout() != at::kStrided) fail(errc::bad_tensor, name, "not a dense (strided) tensor");
  if (!t.is_contiguous())
    fail(errc::bad_tensor, name, "not contiguous (call .contiguous() first; strides would be ignored)");
}

inline void expect_shape(const at::Tensor& t, const char* name, std::initializer_list<std::int64_t> shape) {
  if (t.sizes() != at::IntArrayRef(shape)) {
    std::string want = "[";
    for (auto d : shape) want += (want.size() > 1 ? ", " : "") + std::to_string(d);
    fail(errc::shape_mismatch, name, "shape " + sizes_of(t) + ", expected " + want + "]");
  }
}

inline void expect_constant(const at::Tensor& t, const char* name) {
  if (t.defined() && t.requires_grad())
    fail(errc::bad_tensor, name,
         "requires grad, but the objective treats it as a constant; pass it .detach()ed");
}

template <class Real>
constexpr at::ScalarType scalar_of() {
  return std::is_same_v<Real, double> ? at::kDouble : at::kFloat;
}

template <class Real>
const Real* real_ptr(const at::Tensor& t, const char* name, std::int64_t N, std::int64_t T) {
  if (!t.defined()) return nullptr;
  expect(t, name, {scalar_of<Real>()});
  expect_shape(t, name, {N, T});
  return t.data_ptr<Real>();
}

inline const std::uint8_t* byte_ptr(const at::Tensor& t, const char* name, std::initializer_list<std::int64_t> shape) {
  if (!t.defined()) return nullptr;
  expect(t, name, {at::kBool, at::kByte});
  expect_shape(t, name, shape);
  return static_cast<const std::uint8_t*>(t.data_ptr());
}

/// The token_batch over the tensors' memory, after checking every tensor.
template <class Real>
token_batch<Real> batch_of(const loss_inputs& in) {
  const at::Tensor& logp = in.logp;
  if (logp.dim() != 2) fail(errc::shape_mismatch, "logp", "shape " + sizes_of(logp) + ", expected [N, T]");
  const std::int64_t N = logp.size(0), T = logp.size(1);
  token_batch<Real> b;
  b.N = N;
  b.T = T;
  b.logp = real_ptr<Real>(logp, "logp", N, T);
  b.old = real_ptr<Real>(in.old, "old", N, T);
  b.ref = real_ptr<Real>(in.ref, "ref", N, T);
  b.entropy = real_ptr<Real>(in.entropy, "entropy", N, T);
  b.sampler_logp = real_ptr<Real>(in.sampler_logp, "sampler_logp", N, T);
  b.mask = byte_ptr(in.mask, "mask", {N, T});
  b.truncated = byte_ptr(in.truncated, "truncated", {N});
  if (in.lengths.defined()) {
    expect(in.lengths, "lengths", {at::kInt});
    expect_shape(in.lengths, "lengths", {N});
    b.lengths = in.lengths.data_ptr<std::int32_t>();
  }
  if (in.advantages.defined()) {
    expect(in.advantages, "advantages", {scalar_of<Real>()});
    if (in.advantages.dim() == 2) {
      expect_shape(in.advantages, "advantages", {N, T});
      b.token_advantages = in.advantages.data_ptr<Real>();
    } else {
      expect_shape(in.advantages, "advantages", {N});
      b.advantages = in.advantages.data_ptr<Real>();
    }
  }
  for (auto [t, name] : {std::pair{&in.old, "old"}, {&in.ref, "ref"}, {&in.mask, "mask"},
                         {&in.lengths, "lengths"}, {&in.advantages, "advantages"},
                         {&in.sampler_logp, "sampler_logp"}, {&in.truncated, "truncated"}})
    expect_constant(*t, name);
  return b;
}

/// The loss as an autograd node: forward = the fused pass (loss, statistics, dL/dlogp, dL/dH),
/// backward = the saved gradients times the upstream scalar.
template <class O, class R>
struct loss_function : ::torch::autograd::Function<loss_function<O, R>> {
  // `entropy` is optional: autograd refuses an undefined tensor as an input
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& logp, const c10::optional<at::Tensor>& entropy,
                            const O* objective, const loss_inputs* in, const loss_options* opt,
                            const R* reduction, loss_result* out, bool grad_mode) {
    // autograd runs forward with grad mode off: whether the caller's mode wants gradients comes in
    // `grad_mode` (under torch::NoGradGuard the pass computes the loss and statistics only)
    at::Tensor dlogp, dentropy;
    auto run = [&]<class Real>(Real) {
      const token_batch<Real> b = batch_of<Real>(*in);
      gradient_out<Real> g;
      if (grad_mode && logp.requires_grad()) {
        dlogp = at::empty_like(logp);
        g.dlogp = dlogp.data_ptr<Real>();
      }
      if (grad_mode && entropy && entropy->defined() && entropy->requires_grad()) {
        dentropy = at::empty_like(*entropy);
        g.dentropy = dentropy.data_ptr<Real>();
      }
      const exec::parallel exec{.num_threads = opt->num_threads > 0 ? opt->num_threads : at::get_num_threads()};
      objective_result r;
      throw_if_error(opt->validate ? evaluate(*objective, b, g, r, exec, *reduction)
                                   : evaluate(unchecked, *objective, b, g, r, exec, *reduction));
      out->stats = r.stats;
      out->totals = r.totals;
      return at::scalar_tensor(r.loss, logp.options().requires_grad(false));
    };
    at::Tensor loss = logp.scalar_type() == at::kDouble ? run(double{}) : run(float{});
    ctx->save_for_backward({dlogp, dentropy});
    return loss;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad) {
    const variable_list saved = ctx->get_saved_variables();
    const at::Tensor& up = grad[0];
    // loss.backward() passes 1: the saved gradient as it is (autograd releases the saved copy
    // before accumulating, so a leaf's .grad() takes the tensor over instead of copying it)
    const bool unit = up.defined() && up.numel() == 1 && up.item<double>() == 1.0;
    auto scaled = [&](const at::Tensor& g) {
      if (!g.defined() || !up.defined()) return at::Tensor();
      return unit ? g : g * up;
    };
    return {scaled(saved[0]), scaled(saved[1]), {}, {}, {}, {}, {}, {}};
  }
};

inline void expect_targets(const at::Tensor& targets, const at::Tensor& rows, const char* rows_name) {
  expect(targets, "targets", {at::kLong});
  if (targets.sizes() != rows.sizes().slice(0, rows.dim() - 1))
    fail(errc::shape_mismatch, "targets",
         "shape " + sizes_of(targets) + ", expected " + rows_name + "'s leading dimensions " + sizes_of(rows) +
             " without the last");
}

/// The upstream gradient in `dtype`, contiguous, or undefined when autograd passes none.
inline at::Tensor upstream(const at::Tensor& g, at::ScalarType dtype) {
  return g.defined() ? g.to(dtype).contiguous() : at::Tensor();
}

/// Calls f(T{}) with T the element type of `t`: float, grpo::bf16 or double.
template <class F>
decltype(auto) dispatch_real(const at::Tensor& t, F&& f) {
  switch (t.scalar_type()) {
    case at::kDouble: return f(double{});
    case at::kBFloat16: return f(bf16{});
    default: return f(float{});
  }
}

template <class T>
T* ptr(const at::Tensor& t) {
  return static_cast<T*>(t.data_ptr());
}
template <class T>
const T* cptr(const at::Tensor& t) {
  return t.defined() ? static_cast<const T*>(t.data_ptr()) : nullptr;
}

struct selective_log_softmax_function : ::torch::autograd::Function<selective_log_softmax_function> {
  static variable_list forward(AutogradContext* ctx, const at::Tensor& logits, const at::Tensor& targets,
                               double temperature, bool with_entropy) {
    expect(logits, "logits", {at::kFloat, at::kBFloat16, at::kDouble});
    if (logits.dim() < 1) fail(errc::shape_mismatch, "logits", "a 0-dim tensor; expected [..., V]");
    expect_targets(targets, logits, "logits");
    const logprob::logits_shape shape{targets.numel(), logits.size(-1)};
    // log-probs, entropies and lse in the kernels' precision: double for float64 logits, else float
    const auto real = logits.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
    const auto out_options = logits.options().dtype(real).requires_grad(false);
    at::Tensor logp = at::empty(targets.sizes(), out_options), lse = at::empty(targets.sizes(), out_options);
    at::Tensor entropy = with_entropy ? at::empty(targets.sizes(), out_options) : at::Tensor();
    dispatch_real(logits, [&]<class T>(T) {
      using R = logprob::real_of<T>;
      throw_if_error(logprob::selective_log_softmax_forward(cptr<T>(logits), shape, targets.data_ptr<std::int64_t>(),
                                                            static_cast<R>(temperature), ptr<R>(logp),
                                                            with_entropy ? ptr<R>(entropy) : nullptr, ptr<R>(lse)));
    });
    ctx->save_for_backward({logits, targets, lse, entropy});
    ctx->saved_data["temperature"] = temperature;
    if (!with_entropy) return {logp};
    return {logp, entropy};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad) {
    const variable_list s = ctx->get_saved_variables();
    const at::Tensor &logits = s[0], &targets = s[1], &lse = s[2], &entropy = s[3];
    const logprob::logits_shape shape{targets.numel(), logits.size(-1)};
    at::Tensor g = upstream(grad[0], lse.scalar_type());
    if (!g.defined()) g = at::zeros(targets.sizes(), lse.options());
    const at::Tensor gh = grad.size() > 1 ? upstream(grad[1], lse.scalar_type()) : at::Tensor();
    const double temperature = ctx->saved_data["temperature"].toDouble();
    at::Tensor dlogits = at::empty_like(logits);
    dispatch_real(logits, [&]<class T>(T) {
      using R = logprob::real_of<T>;
      throw_if_error(logprob::selective_log_softmax_backward(
          cptr<T>(logits), shape, targets.data_ptr<std::int64_t>(), static_cast<R>(temperature), cptr<R>(lse),
          cptr<R>(g), ptr<T>(dlogits), cptr<R>(entropy), cptr<R>(gh)));
    });
    return {dlogits, {}, {}, {}};
  }
};

struct fused_linear_function : ::torch::autograd::Function<fused_linear_function> {
  static variable_list forward(AutogradContext* ctx, const at::Tensor& hidden, const at::Tensor& weight,
                               const at::Tensor& targets, const logprob::fused_linear_options* o, bool with_entropy) {
    expect(hidden, "hidden", {at::kFloat, at::kDouble});
    expect(weight, "weight", {hidden.scalar_type()});  // the same dtype as `hidden`
    if (hidden.dim() < 1) fail(errc::shape_mismatch, "hidden", "a 0-dim tensor; expected [..., H]");
    if (weight.dim() != 2 || weight.size(1) != hidden.size(-1))
      fail(errc::shape_mismatch, "weight",
           "shape " + sizes_of(weight) + ", expected [V, " + std::to_string(hidden.size(-1)) + "] (H of `hidden`)");
    expect_targets(targets, hidden, "hidden");
    const index_t tokens = targets.numel(), H = hidden.size(-1), V = weight.size(0);
    const auto out_options = hidden.options().requires_grad(false);
    at::Tensor logp = at::empty(targets.sizes(), out_options), lse = at::empty(targets.sizes(), out_options);
    at::Tensor entropy = with_entropy ? at::empty(targets.sizes(), out_options) : at::Tensor();
    dispatch_real(hidden, [&]<class R>(R) {
      if constexpr (!std::is_same_v<R, bf16>)
        throw_if_error(logprob::fused_linear_forward(cptr<R>(hidden), cptr<R>(weight), tokens, H, V,
                                                     targets.data_ptr<std::int64_t>(), *o, ptr<R>(logp),
                                                     with_entropy ? ptr<R>(entropy) : nullptr, ptr<R>(lse)));
    });
    ctx->save_for_backward({hidden, weight, targets, lse, entropy});
    ctx->saved_data["temperature"] = static_cast<double>(o->temperature);
    ctx->saved_data["token_chunk"] = static_cast<std::int64_t>(o->token_chunk);
    ctx->saved_data["vocab_chunk"] = static_cast<std::int64_t>(o->vocab_chunk);
    ctx->saved_data["path"] = static_cast<std::int64_t>(o->path);
    if (!with_entropy) return {logp};
    return {logp, entropy};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad) {
    const variable_list s = ctx->get_saved_variables();
    const at::Tensor &hidden = s[0], &weight = s[1], &targets = s[2], &lse = s[3], &entropy = s[4];
    logprob::fused_linear_options o;
    o.temperature = static_cast<float>(ctx->saved_data["temperature"].toDouble());
    o.token_chunk = ctx->saved_data["token_chunk"].toInt();
    o.vocab_chunk = ctx->saved_data["vocab_chunk"].toInt();
    o.path = static_cast<logprob::simd_path>(ctx->saved_data["path"].toInt());
    at::Tensor g = upstream(grad[0], lse.scalar_type());
    if (!g.defined()) g = at::zeros(targets.sizes(), lse.options());
    const at::Tensor gh = grad.size() > 1 ? upstream(grad[1], lse.scalar_type()) : at::Tensor();
    at::Tensor dhidden = at::empty_like(hidden), dweight = at::empty_like(weight);
    dispatch_real(hidden, [&]<class R>(R) {
      if constexpr (!std::is_same_v<R, bf16>)
        throw_if_error(logprob::fused_linear_backward(cptr<R>(hidden), cptr<R>(weight), targets.numel(),
                                                      hidden.size(-1), weight.size(0), targets.data_ptr<std::int64_t>(),
                                                      o, cptr<R>(lse), cptr<R>(g), ptr<R>(dhidden), ptr<R>(dweight),
                                                      cptr<R>(entropy), cptr<R>(gh)));
    });
    return {dhidden, dweight, {}, {}, {}};
  }
};

}  // namespace torch_detail

/// The objective's loss over `in` (one fused pass), differentiable in `in.logp` and `in.entropy`.
/// `reduction` is the data-parallel hook (grpo/dist/mpi.hpp's mpi_reduction), as for evaluate.
template <class O, batch_reduction R = local_reduction>
  requires is_objective<O>
loss_result loss(const O& objective, const loss_inputs& in, const loss_options& options = {}, const R& reduction = {}) {
  if (!in.logp.defined()) torch_detail::fail(errc::null_pointer, "logp", "undefined tensor");
  torch_detail::expect(in.logp, "logp", {at::kFloat, at::kDouble});  // chooses the pass's Real
  loss_result out;
  c10::optional<at::Tensor> entropy;
  if (in.entropy.defined()) entropy = in.entropy;
  out.loss = torch_detail::loss_function<O, R>::apply(in.logp, entropy, &objective, &in, &options, &reduction, &out,
                                                      at::GradMode::is_enabled());
  return out;
}

/// The common call: log-probs, old and reference log-probs, mask and per-sequence advantages
/// (an undefined `old` or `ref` is absent).
template <class O>
  requires is_objective<O>
loss_result loss(const O& objective, const at::Tensor& logp, const at::Tensor& old, const at::Tensor& ref,
                 const at::Tensor& mask, const at::Tensor& advantages) {
  return loss(objective, loss_inputs{.logp = logp, .old = old, .ref = ref, .mask = mask, .advantages = advantages});
}

/// log p(targets) from logits [..., V] (float32, bfloat16 or float64) and targets [...] (int64):
/// float32 [...] (float64 for float64 logits).
inline at::Tensor selective_log_softmax(const at::Tensor& logits, const at::Tensor& targets, double temperature = 1.0) {
  return torch_detail::selective_log_softmax_function::apply(logits, targets, temperature, false)[0];
}

/// The same and the entropy of each row's tempered softmax (both differentiable).
inline std::pair<at::Tensor, at::Tensor> selective_log_softmax_with_entropy(const at::Tensor& logits,
                                                                           const at::Tensor& targets,
                                                                           double temperature = 1.0) {
  auto r = torch_detail::selective_log_softmax_function::apply(logits, targets, temperature, true);
  return {r[0], r[1]};
}

/// log p(targets) with logits z = hidden·weightᵀ / τ, never stored: hidden [..., H] and weight
/// [V, H] (float32, or both float64), targets [...] int64; [...] in their dtype, differentiable in
/// hidden and weight.
inline at::Tensor fused_linear_logprob(const at::Tensor& hidden, const at::Tensor& weight, const at::Tensor& targets,
                                       const logprob::fused_linear_options& options = {}) {
  return torch_detail::fused_linear_function::apply(hidden, weight, targets, &options, false)[0];
}

inline std::pair<at::Tensor, at::Tensor> fused_linear_logprob_with_entropy(const at::Tensor& hidden,
                                                                          const at::Tensor& weight,
                                                                          const at::Tensor& targets,
                                                                          const logprob::fused_linear_options& options = {}) {
  auto r = torch_detail::fused_linear_function::apply(hidden, weight, targets, &options, true);
  return {r[0], r[1]};
}

}  // namespace grpo::torch
