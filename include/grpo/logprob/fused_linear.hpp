#pragma once
// Fused-linear log-prob on the CPU (as Liger-Kernel's fused linear cross-entropy,
// src/liger_kernel/ops/fused_linear_cross_entropy.py; docs/performance.md): from hidden states
// h [tokens, H] and the output matrix W [V, H] (both row-major fp32), the logits z = h·Wᵀ are
// made one chunk [Tc, Vc] at a time by a GEMM and folded straight into the online softmax
// statistics of each token, so [tokens, V] never exists: the extra memory is Tc·Vc floats plus a
// few numbers per token of the chunk. The GEMM is grpo/core/sgemm.hpp's AVX2 kernel where the CPU
// has AVX2 + FMA (and `path` allows it), Eigen's otherwise; either runs one slice of the output
// per OpenMP thread.
//   forward : logp[t] = z[t,y_t]/τ − lse_t  (+ entropy H_t, + lse_t kept for the backward)
//   backward: G = dL/dz chunk (selective_log_softmax.hpp's formula, from the saved lse and H),
//             dL/dh += G·W_c,  dL/dW_c += Gᵀ·h_c   (3 GEMMs per chunk: 6·N·H·V flops in all,
//             the backward recomputes z: 2·N·H·V more)
//
//   grpo::logprob::fused_linear_options opt;            // temperature, token_chunk, vocab_chunk
//   auto bytes = grpo::logprob::fused_linear_workspace_bytes(N, H, V, opt);
//   GRPO_TRY(fused_linear_forward(h, W, N, H, V, y, opt, logp, nullptr, lse));          // workspace
//   GRPO_TRY(fused_linear_backward(h, W, N, H, V, y, opt, lse, dlogp, dh, dW));         // allocated
// or, for a per-token loss, everything in one sweep without recomputing the logits:
//   GRPO_TRY(fused_linear_loss(h, W, N, H, V, y, opt, [&](token_chunk_io& io) { ... io.dlogp ... }, dh, dW));
// Both take an optional caller workspace {ptr, bytes}; without one they allocate it and report a
// failed allocation as errc::out_of_memory. Outside the workspace, the AVX2 GEMM keeps packing
// buffers of about 2.1 MiB per OpenMP thread (allocated on a thread's first call and reused;
// grpo::gemm::sgemm); a failure to get them is errc::out_of_memory too.
#include <grpo/core/sgemm.hpp>
#include <grpo/logprob/selective_log_softmax.hpp>
#include <grpo/logprob/softmax_stats.hpp>

#include <Eigen/Core>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <limits>
#include <memory>
#include <new>
#include <span>
#include <type_traits>

namespace grpo::logprob {

struct fused_linear_options {
  float temperature = 1.0f;
  index_t token_chunk = 1024;  ///< Tc: tokens per chunk (need not divide the token count)
  index_t vocab_chunk = 4096;  ///< Vc: vocabulary rows of W per chunk (need not divide V)
  simd_path path = simd_path::automatic;
};

/// A caller-provided workspace; {nullptr, 0} lets the call allocate its own.
struct workspace {
  void* data = nullptr;
  std::size_t bytes = 0;
};

namespace fused_detail {
struct chunk_dims {
  index_t tc, vc;
};
inline chunk_dims dims(index_t tokens, index_t vocab, const fused_linear_options& o) {
  return {std::max<index_t>(1, std::min(o.token_chunk, tokens)), std::max<index_t>(1, std::min(o.vocab_chunk, vocab))};
}
}  // namespace fused_detail

/// Bytes of workspace the forward and backward need: Tc·Vc floats for a logits chunk plus the
/// running statistics of Tc tokens. 0 when the count would overflow (then the call fails with
/// errc::out_of_memory).
namespace fused_detail {
inline constexpr std::size_t round_up_64(std::size_t n) { return (n + 63) & ~std::size_t{63}; }
/// A token's running statistics over the vocabulary chunks: sums in double, the maximum in Real.
template <class Real>
using stats_of = softmax_stats<double, Real>;
}  // namespace fused_detail

/// `Real`: float, or double for float64 hidden states and weights.
template <class Real = float>
std::size_t fused_linear_workspace_bytes(index_t tokens, index_t /*hidden*/, index_t vocab,
                                         const fused_linear_options& o) {
  const auto d = fused_detail::dims(tokens, vocab, o);
  if (d.tc > std::numeric_limits<index_t>::max() / static_cast<index_t>(sizeof(Real)) / d.vc) return 0;
  const auto chunk = fused_detail::round_up_64(static_cast<std::size_t>(d.tc * d.vc) * sizeof(Real));
  const auto stats = static_cast<std::size_t>(d.tc) * (sizeof(fused_detail::stats_of<Real>) + sizeof(Real));
  return chunk + stats + 64;  // + alignment slack of the start
}

namespace fused_detail {

template <class Real>
using row_major_t = Eigen::Matrix<Real, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class Real>
using map_t = Eigen::Map<row_major_t<Real>>;
using map = map_t<float>;

template <class Real>
using mview = gemm::basic_cview<Real>;

template <class Real>
status check(const Real* h, const Real* w, index_t tokens, index_t hidden, index_t vocab,
             const std::int64_t* targets, const fused_linear_options& o, const Real* out, const char* out_name) {
  if (tokens < 0) return {errc::shape_mismatch, "tokens", -1, "negative token count"};
  if (hidden <= 0) return {errc::shape_mismatch, "hidden", -1, "hidden size must be positive"};
  if (vocab <= 0) return {errc::shape_mismatch, "vocab", -1, "vocabulary size must be positive"};
  if (o.token_chunk <= 0) return {errc::bad_config, "token_chunk", -1, "chunk sizes must be positive"};
  if (o.vocab_chunk <= 0) return {errc::bad_config, "vocab_chunk", -1, "chunk sizes must be positive"};
  GRPO_TRY(detail::check_temperature(o.temperature));
  if (tokens == 0) return {};
  GRPO_TRY(detail::check_not_null(h, "hidden"));
  GRPO_TRY(detail::check_not_null(w, "weight"));
  GRPO_TRY(detail::check_not_null(targets, "targets"));
  GRPO_TRY(detail::check_not_null(out, out_name));
  return detail::check_targets(targets, tokens, vocab);
}

/// The first 64-byte aligned Real of the caller's workspace, or of `owned`, allocated here when
/// the caller gave none. `need` (0: the size overflowed) includes the 64 bytes of alignment slack.
template <class Real>
status workspace_floats(workspace ws, std::size_t need, std::unique_ptr<unsigned char[]>& owned, Real** first) {
  if (need == 0) return {errc::out_of_memory, "workspace", -1, "the chunk size overflows"};
  unsigned char* base = static_cast<unsigned char*>(ws.data);
  if (base == nullptr) {
    owned.reset(new (std::nothrow) unsigned char[need]);
    if (!owned) return {errc::out_of_memory, "workspace", -1, "could not allocate " + std::to_string(need) + " bytes"};
    base = owned.get();
  } else if (ws.bytes < need) {
    return {errc::out_of_memory, "workspace", -1,
            "needs " + std::to_string(need) + " bytes, got " + std::to_string(ws.bytes)};
  }
  *first = reinterpret_cast<Real*>((reinterpret_cast<std::uintptr_t>(base) + 63) & ~std::uintptr_t{63});
  return {};
}

/// Carves the logits chunk and the per-token statistics out of the workspace (or allocates it).
template <class Real>
struct scratch {
  std::unique_ptr<unsigned char[]> owned;
  Real* chunk = nullptr;
  stats_of<Real>* stats = nullptr;
  Real* z_target = nullptr;

  status acquire(workspace ws, index_t tokens, index_t hidden, index_t vocab, const fused_linear_options& o) {
    GRPO_TRY(workspace_floats(ws, fused_linear_workspace_bytes<Real>(tokens, hidden, vocab, o), owned, &chunk));
    const auto d = dims(tokens, vocab, o);
    // the statistics (doubles) start on the next 64-byte boundary after the chunk
    stats = reinterpret_cast<stats_of<Real>*>(reinterpret_cast<unsigned char*>(chunk) +
                                              round_up_64(static_cast<std::size_t>(d.tc * d.vc) * sizeof(Real)));
    z_target = reinterpret_cast<Real*>(stats + d.tc);
    return {};
  }
};

/// Runs f(first, count) over [0, n) cut into one slice per OpenMP thread: each thread multiplies
/// its own slice of a GEMM's output (sgemm is single-threaded, and Eigen's GEMM does not nest its
/// own threads inside a parallel region).
template <class F>
void parallel_slices(index_t n, F&& f) {
#if defined(_OPENMP)
#pragma omp parallel
  {
    const index_t nt = omp_get_num_threads(), id = omp_get_thread_num();
    const index_t lo = n * id / nt, hi = n * (id + 1) / nt;
    if (hi > lo) f(lo, hi - lo);
  }
#else
  f(index_t{0}, n);
#endif
}

/// C = A·B, or C += A·B when `accumulate`: A m×k, B k×n, C row-major with leading dimension ldc.
/// With AVX2 the GEMM of grpo/core/sgemm.hpp (1.1–1.6× Eigen's here, docs/performance.md),
/// else Eigen's (always Eigen's in double). Single-threaded; false when sgemm's packing buffers
/// cannot be allocated.
template <class Real>
bool matmul(bool avx2, index_t m, index_t n, index_t k, mview<Real> A, mview<Real> B, Real* C, index_t ldc,
            bool accumulate) {
#if GRPO_HAVE_X86_SIMD
  if constexpr (std::is_same_v<Real, float>)
    if (avx2) return gemm::sgemm(m, n, k, A, B, C, ldc, accumulate);
#endif
  (void)avx2;
  using smap = Eigen::Map<const row_major_t<Real>, 0, Eigen::Stride<Eigen::Dynamic, Eigen::Dynamic>>;
  using stride = Eigen::Stride<Eigen::Dynamic, Eigen::Dynamic>;
  const smap a(A.data, m, k, stride(A.rs, A.cs)), b(B.data, k, n, stride(B.rs, B.cs));
  Eigen::Map<row_major_t<Real>, 0, Eigen::OuterStride<>> c(C, m, n, Eigen::OuterStride<>(ldc));
  if (accumulate) c.noalias() += a * b;
  else c.noalias() = a * b;
  return true;
}

/// matmul over one slice per OpenMP thread (parallel_slices) of C's columns [0, n): slice
/// (lo, cnt) multiplies A by B's columns lo.. and writes C's columns lo... False if any failed.
template <class Real>
bool matmul_cols(bool avx2, index_t m, index_t n, index_t k, mview<Real> A, mview<Real> B, Real* C, index_t ldc,
                 bool accumulate) {
  std::atomic<bool> ok{true};
  parallel_slices(n, [&](index_t lo, index_t cnt) {
    if (!matmul(avx2, m, cnt, k, A, {B.data + lo * B.cs, B.rs, B.cs}, C + lo, ldc, accumulate)) ok = false;
  });
  return ok.load();
}

/// matmul over one slice per OpenMP thread of C's rows [0, m): slice (lo, cnt) multiplies A's
/// rows lo.. by B and writes C's rows lo... False if any failed.
template <class Real>
bool matmul_rows(bool avx2, index_t m, index_t n, index_t k, mview<Real> A, mview<Real> B, Real* C, index_t ldc,
                 bool accumulate) {
  std::atomic<bool> ok{true};
  parallel_slices(m, [&](index_t lo, index_t cnt) {
    if (!matmul(avx2, cnt, n, k, {A.data + lo * A.rs, A.rs, A.cs}, B, C + lo * ldc, ldc, accumulate)) ok = false;
  });
  return ok.load();
}

inline status gemm_out_of_memory() {
  return {errc::out_of_memory, "workspace", -1, "could not allocate the GEMM packing buffers (about 2 MiB a thread)"};
}

template <class Real>
cpu_detail::row_result_t<Real> row_forward(const Real* row, index_t n, Real inv_tau, bool entropy, bool avx2) {
  return entropy ? cpu_detail::row_forward<Real, true>(row, n, inv_tau, avx2)
                 : cpu_detail::row_forward<Real, false>(row, n, inv_tau, avx2);
}

/// G = dL/dz over the logits row, in place
template <class Real>
void row_backward(Real* row, index_t n, index_t target, Real inv_tau, Real lse, Real g, Real gh, Real h, bool avx2) {
  if (gh != 0) cpu_detail::row_backward<Real, true>(row, row, n, target, inv_tau, lse, g, gh, h, avx2);
  else cpu_detail::row_backward<Real, false>(row, row, n, target, inv_tau, lse, g, gh, h, avx2);
}

}  // namespace fused_detail

/// Forward: logp [tokens] (and entropy, lse when non-null; keep lse, and entropy if its gradient
/// is wanted, for the backward). Real: float (AVX2 or Eigen), or double (Eigen and the scalar
/// row kernels in double; requesting simd_path::avx2 for double is an error).
template <class Real>
  requires(std::is_same_v<Real, float> || std::is_same_v<Real, double>)
status fused_linear_forward(const Real* hidden, const std::type_identity_t<Real>* weight, index_t tokens,
                            index_t hidden_size, index_t vocab, const std::int64_t* targets,
                            const fused_linear_options& o, std::type_identity_t<Real>* logp,
                            std::type_identity_t<Real>* entropy = nullptr, std::type_identity_t<Real>* lse = nullptr,
                            workspace ws = {}) {
  using namespace fused_detail;
  GRPO_TRY(check<Real>(hidden, weight, tokens, hidden_size, vocab, targets, o, logp, "logp"));
  if (tokens == 0) return {};
  bool avx2 = false;
  GRPO_TRY(cpu_detail::resolve_path_for<Real>(o.path, &avx2));
  scratch<Real> sc;
  GRPO_TRY(sc.acquire(ws, tokens, hidden_size, vocab, o));
  const auto d = dims(tokens, vocab, o);
  const Real inv_tau = Real(1) / static_cast<Real>(o.temperature);
  std::atomic<index_t> first_bad{tokens};
  for (index_t t0 = 0; t0 < tokens; t0 += d.tc) {
    const index_t tc = std::min(d.tc, tokens - t0);
    for (index_t i = 0; i < tc; ++i) sc.stats[i] = {};
    const Real* h = hidden + t0 * hidden_size;
    for (index_t v0 = 0; v0 < vocab; v0 += d.vc) {
      const index_t vc = std::min(d.vc, vocab - v0);
      // z [tc, vc] = h [tc, H] · W[v0 .., :]ᵀ
      if (!matmul_cols<Real>(avx2, tc, vc, hidden_size, {h, hidden_size, 1}, {weight + v0 * hidden_size, 1, hidden_size},
                             sc.chunk, vc, false))
        return gemm_out_of_memory();
      GRPO_LOGPROB_OMP_FOR
      for (index_t i = 0; i < tc; ++i) {
        const Real* row = sc.chunk + i * vc;
        const cpu_detail::row_result_t<Real> r = row_forward(row, vc, inv_tau, entropy != nullptr, avx2);
        // the chunk's statistics relative to its own logsumexp: s = 1, w = Σ p (z' − lse_c) = −H_c
        stats_of<Real> part;
        if (std::isnan(r.lse)) part.s = NAN;
        else if (r.lse != -INFINITY) part = {r.lse, 1.0, -static_cast<double>(r.entropy)};
        sc.stats[i].merge(part);
        const index_t y = targets[t0 + i] - v0;
        if (y >= 0 && y < vc) sc.z_target[i] = row[y];  // logp = z_y/τ − lse once all chunks are in
      }
    }
    for (index_t i = 0; i < tc; ++i) {
      const auto l = static_cast<Real>(sc.stats[i].lse());
      if (!std::isfinite(l)) cpu_detail::atomic_min(first_bad, t0 + i);
      logp[t0 + i] = sc.z_target[i] * inv_tau - l;
      if (entropy) entropy[t0 + i] = sc.stats[i].entropy();
      if (lse) lse[t0 + i] = l;
    }
  }
  if (first_bad.load() < tokens)
    return {errc::non_finite, "logits", first_bad.load(),
            "the logits h·Wᵀ of this token hold a NaN or +inf (check `hidden` and `weight`)"};
  return {};
}

/// Backward: dhidden [tokens, H] and dweight [V, H] (both overwritten) from g = dlogp (and
/// g_H = dentropy with the forward's entropy, when non-null).
template <class Real>
  requires(std::is_same_v<Real, float> || std::is_same_v<Real, double>)
status fused_linear_backward(const Real* hidden, const std::type_identity_t<Real>* weight, index_t tokens,
                             index_t hidden_size, index_t vocab, const std::int64_t* targets,
                             const fused_linear_options& o, const std::type_identity_t<Real>* lse,
                             const std::type_identity_t<Real>* dlogp, std::type_identity_t<Real>* dhidden,
                             std::type_identity_t<Real>* dweight, const std::type_identity_t<Real>* entropy = nullptr,
                             const std::type_identity_t<Real>* dentropy = nullptr, workspace ws = {}) {
  using namespace fused_detail;
  GRPO_TRY(check<Real>(hidden, weight, tokens, hidden_size, vocab, targets, o, dlogp, "dlogp"));
  GRPO_TRY(detail::check_not_null(dweight, "dweight"));
  map_t<Real> dw(dweight, vocab, hidden_size);
  dw.setZero();
  if (tokens == 0) return {};
  GRPO_TRY(detail::check_not_null(lse, "lse"));
  GRPO_TRY(detail::check_not_null(dhidden, "dhidden"));
  GRPO_TRY(detail::check_finite(lse, tokens, "lse"));
  GRPO_TRY(detail::check_finite(dlogp, tokens, "dlogp"));
  if (dentropy) {
    GRPO_TRY(detail::check_not_null(entropy, "entropy"));
    GRPO_TRY(detail::check_finite(entropy, tokens, "entropy"));
    GRPO_TRY(detail::check_finite(dentropy, tokens, "dentropy"));
  }
  bool avx2 = false;
  GRPO_TRY(cpu_detail::resolve_path_for<Real>(o.path, &avx2));
  scratch<Real> sc;
  GRPO_TRY(sc.acquire(ws, tokens, hidden_size, vocab, o));
  const auto d = dims(tokens, vocab, o);
  const Real inv_tau = Real(1) / static_cast<Real>(o.temperature);
  map_t<Real>(dhidden, tokens, hidden_size).setZero();
  for (index_t t0 = 0; t0 < tokens; t0 += d.tc) {
    const index_t tc = std::min(d.tc, tokens - t0);
    const Real* h = hidden + t0 * hidden_size;
    Real* dh = dhidden + t0 * hidden_size;
    for (index_t v0 = 0; v0 < vocab; v0 += d.vc) {
      const index_t vc = std::min(d.vc, vocab - v0);
      const Real* wc = weight + v0 * hidden_size;
      // recompute the logits chunk, then turn it into G = dL/dz in place
      if (!matmul_cols<Real>(avx2, tc, vc, hidden_size, {h, hidden_size, 1}, {wc, 1, hidden_size}, sc.chunk, vc, false))
        return gemm_out_of_memory();
      GRPO_LOGPROB_OMP_FOR
      for (index_t i = 0; i < tc; ++i) {
        const index_t t = t0 + i;
        const index_t y = targets[t] - v0;
        row_backward<Real>(sc.chunk + i * vc, vc, (y >= 0 && y < vc) ? y : -1, inv_tau, lse[t], dlogp[t],
                           dentropy ? dentropy[t] : Real(0), dentropy ? entropy[t] : Real(0), avx2);
      }
      // dh [tc, H] += G [tc, vc] · W[v0 .., :];  dW[v0 .., :] [vc, H] += Gᵀ · h
      if (!matmul_cols<Real>(avx2, tc, hidden_size, vc, {sc.chunk, vc, 1}, {wc, hidden_size, 1}, dh, hidden_size, true) ||
          !matmul_rows<Real>(avx2, vc, hidden_size, tc, {sc.chunk, 1, vc}, {h, hidden_size, 1}, dweight + v0 * hidden_size,
                       hidden_size, true))
        return gemm_out_of_memory();
    }
  }
  return {};
}

/// What a per-chunk loss sees in fused_linear_loss: the chunk's first token and its per-token
/// values, and where it writes dL/dlogp (and dL/dH when entropy was requested; both zeroed).
struct token_chunk_io {
  index_t first_token;
  std::span<const float> logp;
  std::span<const float> entropy;  ///< empty unless requested
  std::span<float> dlogp;
  std::span<float> dentropy;       ///< empty unless requested
};

/// Bytes of workspace fused_linear_loss needs: Tc·V floats (the chunk's full logits rows) plus
/// 5 floats a token of the chunk. 0 when the count would overflow.
inline std::size_t fused_linear_loss_workspace_bytes(index_t tokens, index_t vocab, const fused_linear_options& o) {
  const index_t tc = std::max<index_t>(1, std::min(o.token_chunk, tokens));
  if (tc > std::numeric_limits<index_t>::max() / 8 / std::max<index_t>(vocab, 1)) return 0;
  return static_cast<std::size_t>(tc * vocab + 5 * tc) * sizeof(float) + 64;
}

/// Forward + loss + backward in one sweep over token chunks, for losses whose dL/dlogp of a token
/// does not depend on other tokens' logp (every GRPO-family objective of docs/objective.md: the
/// normalisers of §5 depend on masks and lengths only, advantages are inputs). Per chunk of Tc
/// tokens the full logits rows [Tc, V] are made once (extra memory O(Tc·V), never [N, V]), their
/// logp (and entropy) handed to `loss(token_chunk_io&)` (returns grpo::status or void), turned
/// into G in place, and dL/dh, dL/dW accumulated: 6·N·H·V flops, no recompute of the logits.
/// logp_out (nullable) receives every token's logp; dhidden and dweight are overwritten.
template <class Loss>
status fused_linear_loss(const float* hidden, const float* weight, index_t tokens, index_t hidden_size, index_t vocab,
                         const std::int64_t* targets, const fused_linear_options& o, Loss&& loss, float* dhidden,
                         float* dweight, bool with_entropy = false, float* logp_out = nullptr, workspace ws = {}) {
  using namespace fused_detail;
  GRPO_TRY(check<float>(hidden, weight, tokens, hidden_size, vocab, targets, o, dweight, "dweight"));
  map dw(dweight, vocab, hidden_size);
  dw.setZero();
  if (tokens == 0) return {};
  GRPO_TRY(detail::check_not_null(dhidden, "dhidden"));
  bool avx2 = false;
  GRPO_TRY(cpu_detail::resolve_path(o.path, &avx2));
  std::unique_ptr<unsigned char[]> owned;
  float* z = nullptr;
  GRPO_TRY(workspace_floats(ws, fused_linear_loss_workspace_bytes(tokens, vocab, o), owned, &z));
  const index_t tcmax = std::max<index_t>(1, std::min(o.token_chunk, tokens));
  float* logp = z + tcmax * vocab;
  float* lse = logp + tcmax;
  float* ent = lse + tcmax;
  float* dlogp = ent + tcmax;
  float* dent = dlogp + tcmax;
  const float inv_tau = 1.0f / o.temperature;
  for (index_t t0 = 0; t0 < tokens; t0 += tcmax) {
    const index_t tc = std::min(tcmax, tokens - t0);
    const float* h = hidden + t0 * hidden_size;
    // z [tc, V] = h [tc, H] · Wᵀ
    if (!matmul_cols<float>(avx2, tc, vocab, hidden_size, {h, hidden_size, 1}, {weight, 1, hidden_size}, z, vocab, false))
      return gemm_out_of_memory();
    std::atomic<index_t> first_bad{tokens};
    GRPO_LOGPROB_OMP_FOR
    for (index_t i = 0; i < tc; ++i) {
      const float* row = z + i * vocab;
      const cpu_detail::row_result r = row_forward<float>(row, vocab, inv_tau, with_entropy, avx2);
      if (!std::isfinite(r.lse)) cpu_detail::atomic_min(first_bad, t0 + i);
      logp[i] = cpu_detail::scalar_kernels::logp_of(row[targets[t0 + i]], inv_tau, r);
      lse[i] = r.lse;
      ent[i] = r.entropy;
      dlogp[i] = 0.0f;
      dent[i] = 0.0f;
    }
    if (first_bad.load() < tokens)
      return {errc::non_finite, "logits", first_bad.load(),
              "the logits h·Wᵀ of this token hold a NaN or +inf (check `hidden` and `weight`)"};
    const auto n = static_cast<std::size_t>(tc);
    token_chunk_io io{t0, {logp, n}, {ent, with_entropy ? n : 0}, {dlogp, n}, {dent, with_entropy ? n : 0}};
    if constexpr (std::is_same_v<std::invoke_result_t<Loss, token_chunk_io&>, status>) {
      GRPO_TRY(loss(io));
    } else {
      loss(io);
    }
    GRPO_TRY(detail::check_finite(dlogp, tc, "dlogp"));
    if (with_entropy) GRPO_TRY(detail::check_finite(dent, tc, "dentropy"));
    if (logp_out) std::copy(logp, logp + tc, logp_out + t0);
    GRPO_LOGPROB_OMP_FOR
    for (index_t i = 0; i < tc; ++i)
      row_backward<float>(z + i * vocab, vocab, targets[t0 + i], inv_tau, lse[i], dlogp[i],
                          with_entropy ? dent[i] : 0.0f, ent[i], avx2);
    // dh [tc, H] = G [tc, V] · W;  dW [V, H] += Gᵀ · h
    if (!matmul_cols<float>(avx2, tc, hidden_size, vocab, {z, vocab, 1}, {weight, hidden_size, 1},
                            dhidden + t0 * hidden_size, hidden_size, false) ||
        !matmul_rows<float>(avx2, vocab, hidden_size, tc, {z, 1, vocab}, {h, hidden_size, 1}, dweight, hidden_size, true))
      return gemm_out_of_memory();
  }
  return {};
}

}  // namespace grpo::logprob
