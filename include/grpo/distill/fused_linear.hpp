#pragma once
// Distillation from hidden states without a [tokens, V] logits matrix: the student's and the
// teacher's last hidden states h_s [N, Hs] and h_t [N, Ht] (row-major fp32) and their output
// matrices W_s [V, Hs] and W_t [V, Ht] (row-major; the same vocabulary, the hidden sizes may
// differ) give the token mean over the kept tokens of a divergence.hpp divergence between
// softmax(h_s·W_sᵀ/τ) and softmax(h_t·W_tᵀ/τ) (token_mean_loss's "batchmean"), and the gradients
// with respect to the student's hidden states and output matrix.
//
// Per chunk of Tc tokens (the last one may be shorter), as Liger-Kernel's fused linear JSD
// (src/liger_kernel/ops/fused_linear_jsd.py, the public source of the token-chunking idea):
//   z_s = h_s[c]·W_sᵀ, z_t = h_t[c]·W_tᵀ                 ([Tc, V] each, in the workspace)
//   loss_t, dz = token_losses(d, z_s, z_t, mask[c], weight 1/kept)       (logits.hpp)
//   dh_s[c] = dz·W_s,  dW_s += dzᵀ·h_s[c]
// where kept is the number of tokens `mask` keeps in the whole batch, counted first. The
// temperature, β and top-k are the divergence's own (token_losses applies them: ∂/∂z carries
// the 1/τ, and no τ² factor, as TRL). A chunk whose tokens are all masked is skipped.
//
// Memory: three [Tc, V] float blocks (both models' logits, and dz, which token_losses cannot
// write over either model's logits because it reads both while writing it), 2·Tc doubles, and
// 64 bytes of alignment slack: fused_linear_distill_workspace_bytes. A call without gradients
// uses only the first two blocks. Outside the workspace, token_losses keeps Tc row outcomes (and,
// with top-k, V indices per OpenMP thread), and the AVX2 GEMM its packing buffers of about
// 2.1 MiB per thread (fused_linear.hpp).
// FLOPs: the forward is 2·N·V·(Hs + Ht), the backward 4·N·V·Hs (dh and dW, 2·N·V·Hs each), plus
// O(N·V) for the divergences (O(N·V·log k) with top-k). Nothing is recomputed: every chunk's
// logits are made once.
//
//   grpo::distill::fused_linear_distill_options opt;   // token_chunk, path
//   double loss = 0;
//   GRPO_TRY(grpo::distill::fused_linear_distill(grpo::distill::jsd(0.5, 0.9),
//                                                hs, Ws, Hs, ht, Wt, Ht, N, V, mask, opt, loss, dhs, dWs));
//
// Errors (status{errc, input, index, detail}), checked before any work where they can be:
//   - a bad divergence (`beta`, `temperature`, `top_k`), a size < 0 (`tokens`) or < 1 (`vocab`,
//     `student_hidden_size`, `teacher_hidden_size`), `token_chunk` < 1, a null required pointer;
//   - no kept token (`mask`, errc::out_of_range; token_mean_loss returns 0 there instead, but a
//     fused step with nothing to learn from is taken to be a caller's bug);
//   - a NaN or ±inf in any hidden state (a masked token's too: its row goes through the GEMMs)
//     or in either output matrix: `student_hidden`, `teacher_hidden`, `student_weight` or
//     `teacher_weight` with the flat index into it (one O((N + V)·(Hs + Ht)) scan);
//   - a caller workspace too small, or an allocation that fails (errc::out_of_memory,
//     `workspace`; the GEMM's packing buffers may also fail during the sweep);
//   - during the sweep, token_losses' errors on logits that overflow float: `student_logits` or
//     `teacher_logits` with the flat index token·V + column over the whole batch, `loss` (an
//     infinite divergence) with the token.
// After an error during the sweep the gradient outputs are partly written: dstudent_weight may
// already hold some chunks' contributions.
#include <grpo/distill/logits.hpp>
#include <grpo/logprob/fused_linear.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>

namespace grpo::distill {

using logprob::simd_path;
using logprob::workspace;

struct fused_linear_distill_options {
  index_t token_chunk = 64;  ///< Tc: tokens per chunk (need not divide the token count)
  simd_path path = simd_path::automatic;
};

namespace fused_distill_detail {

inline constexpr std::size_t round_up_64(std::size_t n) { return (n + 63) & ~std::size_t{63}; }

inline index_t chunk_tokens(index_t tokens, const fused_linear_distill_options& o) {
  return std::max<index_t>(1, std::min(o.token_chunk, tokens));
}

/// The workspace's layout: blocks [Tc, V] floats of student logits, teacher logits, then Tc
/// per-token losses and Tc weights (doubles), then (with gradients) dz [Tc, V] floats, each on a
/// 64-byte boundary. 0 when the size would overflow.
struct layout {
  std::size_t block = 0, losses = 0, weights = 0, dz = 0, total = 0;
};

inline layout make_layout(index_t tokens, index_t vocab, const fused_linear_distill_options& o, bool gradients) {
  layout l;
  const index_t tc = chunk_tokens(tokens, o);
  const index_t v = std::max<index_t>(vocab, 1);
  if (tc > std::numeric_limits<index_t>::max() / 16 / v) return l;
  l.block = round_up_64(static_cast<std::size_t>(tc * v) * sizeof(float));
  l.losses = 2 * l.block;
  l.weights = l.losses + round_up_64(static_cast<std::size_t>(tc) * sizeof(double));
  l.dz = l.weights + round_up_64(static_cast<std::size_t>(tc) * sizeof(double));
  l.total = (gradients ? l.dz + l.block : l.dz) + 64;  // + alignment slack of the start
  return l;
}

/// The first flat index of x[0, n) that is NaN or ±inf, or -1.
inline index_t first_non_finite(const float* x, index_t n) {
  std::atomic<index_t> first{n};
  GRPO_LOGPROB_OMP_FOR
  for (index_t i = 0; i < n; ++i)
    if (!std::isfinite(x[i])) logprob::cpu_detail::atomic_min(first, i);
  return first.load() < n ? first.load() : -1;
}

/// Every value of a row-major [rows, cols] matrix must be finite; the error names the flat index
/// and, in words, the row (`row_word`: "token" for hidden states, "vocabulary row" for weights).
/// A masked token's hidden state too: its row goes through the GEMMs, and dW's 0·NaN would be NaN.
inline status check_matrix(const float* m, index_t rows, index_t cols, const char* name, const char* row_word) {
  const index_t at = first_non_finite(m, rows * cols);
  if (at < 0) return {};
  return {errc::non_finite, name, at,
          "value " + std::to_string(m[at]) + " at " + row_word + " " + std::to_string(at / cols) + ", column " +
              std::to_string(at % cols)};
}

/// token_losses' error on the chunk starting at token t0, with its indices made the whole
/// batch's: logits errors are flat (token·V + column), `loss` errors name the token.
inline status whole_batch(const status& s, index_t t0, index_t vocab) {
  if (s.ok()) return s;
  if (s.input() == "loss" && s.index() >= 0)
    return {s.kind(), s.input(), t0 + s.index(), "token " + std::to_string(t0 + s.index()) + ": " + s.detail()};
  if ((s.input() == "student_logits" || s.input() == "teacher_logits") && s.index() >= 0) {
    const index_t flat = t0 * vocab + s.index();
    const index_t token = flat / vocab, column = flat % vocab;
    const char* model = s.input() == "student_logits" ? "student" : "teacher";
    if (s.kind() == errc::out_of_range)
      return {s.kind(), s.input(), flat,
              "every logit of token " + std::to_string(token) + " is -inf on the support (the " + model +
                  "'s h·Wᵀ overflows float)"};
    return {s.kind(), s.input(), flat,
            "NaN or +inf logit at token " + std::to_string(token) + ", vocabulary index " + std::to_string(column) +
                " (the " + model + "'s h·Wᵀ overflows float)"};
  }
  return s;
}

}  // namespace fused_distill_detail

/// Bytes of workspace fused_linear_distill needs with gradients: 3·Tc·V floats + 2·Tc doubles
/// (each block 64-byte aligned) + 64. Without gradients, one [Tc, V] block less is enough. 0 when
/// the count would overflow (then the call fails with errc::out_of_memory).
inline std::size_t fused_linear_distill_workspace_bytes(index_t tokens, index_t vocab,
                                                        const fused_linear_distill_options& o) {
  return fused_distill_detail::make_layout(tokens, vocab, o, true).total;
}

/// The token mean over the tokens `mask` keeps (null: all) of divergence `d` between the
/// student's logits h_s·W_sᵀ and the teacher's h_t·W_tᵀ, chunk by chunk (see the file comment).
/// `dstudent_hidden` [tokens, Hs] (nullable) is overwritten with ∂loss/∂h_s (zero rows for masked
/// tokens); `dstudent_weight` [V, Hs] (nullable) has ∂loss/∂W_s ADDED to it, so that several
/// calls (micro-batches, or a loss summed with another) accumulate. `ws`: an optional caller
/// workspace of fused_linear_distill_workspace_bytes; without one the call allocates it.
inline status fused_linear_distill(const divergence& d, const float* student_hidden, const float* student_weight,
                                   index_t student_hidden_size, const float* teacher_hidden,
                                   const float* teacher_weight, index_t teacher_hidden_size, index_t tokens,
                                   index_t vocab, const std::uint8_t* mask, const fused_linear_distill_options& o,
                                   double& loss, float* dstudent_hidden = nullptr, float* dstudent_weight = nullptr,
                                   workspace ws = {}) {
  namespace lfd = logprob::fused_detail;
  namespace lpd = logprob::detail;
  GRPO_TRY(check(d));
  if (tokens < 0) return {errc::shape_mismatch, "tokens", -1, "negative token count " + std::to_string(tokens)};
  if (vocab <= 0)
    return {errc::shape_mismatch, "vocab", -1, "vocabulary size must be positive, got " + std::to_string(vocab)};
  if (student_hidden_size <= 0)
    return {errc::shape_mismatch, "student_hidden_size", -1,
            "hidden size must be positive, got " + std::to_string(student_hidden_size)};
  if (teacher_hidden_size <= 0)
    return {errc::shape_mismatch, "teacher_hidden_size", -1,
            "hidden size must be positive, got " + std::to_string(teacher_hidden_size)};
  if (o.token_chunk <= 0)
    return {errc::bad_config, "token_chunk", -1, "need token_chunk >= 1, got " + std::to_string(o.token_chunk)};
  const index_t big = std::numeric_limits<index_t>::max();
  const index_t hs = student_hidden_size, ht = teacher_hidden_size;
  if (std::max(hs, ht) > big / vocab || (tokens > 0 && std::max(hs, ht) > big / tokens))
    return {errc::shape_mismatch, "hidden", -1, "the matrix sizes overflow a 64-bit index"};
  GRPO_TRY(lpd::check_not_null(student_hidden, "student_hidden"));
  GRPO_TRY(lpd::check_not_null(student_weight, "student_weight"));
  GRPO_TRY(lpd::check_not_null(teacher_hidden, "teacher_hidden"));
  GRPO_TRY(lpd::check_not_null(teacher_weight, "teacher_weight"));
  bool avx2 = false;
  GRPO_TRY(logprob::cpu_detail::resolve_path(o.path, &avx2));

  index_t kept = 0;
  for (index_t t = 0; t < tokens; ++t) kept += !mask || mask[t] != 0;
  if (kept == 0)
    return {errc::out_of_range, "mask", -1,
            "no token is kept (" + std::to_string(tokens) + " tokens): the token mean is undefined"};
  GRPO_TRY(fused_distill_detail::check_matrix(student_hidden, tokens, hs, "student_hidden", "token"));
  GRPO_TRY(fused_distill_detail::check_matrix(teacher_hidden, tokens, ht, "teacher_hidden", "token"));
  GRPO_TRY(fused_distill_detail::check_matrix(student_weight, vocab, hs, "student_weight", "vocabulary row"));
  GRPO_TRY(fused_distill_detail::check_matrix(teacher_weight, vocab, ht, "teacher_weight", "vocabulary row"));

  const bool gradients = dstudent_hidden != nullptr || dstudent_weight != nullptr;
  const auto lay = fused_distill_detail::make_layout(tokens, vocab, o, gradients);
  std::unique_ptr<unsigned char[]> owned;
  float* first = nullptr;
  GRPO_TRY(lfd::workspace_floats(ws, lay.total, owned, &first));
  auto* base = reinterpret_cast<unsigned char*>(first);
  float* zs = first;
  float* zt = reinterpret_cast<float*>(base + lay.block);
  double* per_token = reinterpret_cast<double*>(base + lay.losses);
  double* weight = reinterpret_cast<double*>(base + lay.weights);
  float* dz = gradients ? reinterpret_cast<float*>(base + lay.dz) : nullptr;

  const index_t tcmax = fused_distill_detail::chunk_tokens(tokens, o);
  std::fill(weight, weight + tcmax, 1.0 / static_cast<double>(kept));
  double sum = 0;
  for (index_t t0 = 0; t0 < tokens; t0 += tcmax) {
    const index_t tc = std::min(tcmax, tokens - t0);
    const std::uint8_t* m = mask ? mask + t0 : nullptr;
    float* dh = dstudent_hidden ? dstudent_hidden + t0 * hs : nullptr;
    if (m && std::all_of(m, m + tc, [](std::uint8_t x) { return x == 0; })) {
      if (dh) std::fill(dh, dh + tc * hs, 0.0f);
      continue;
    }
    const float* h_s = student_hidden + t0 * hs;
    const float* h_t = teacher_hidden + t0 * ht;
    // z [tc, V] = h [tc, H] · Wᵀ for each model
    if (!lfd::matmul_cols(avx2, tc, vocab, hs, {h_s, hs, 1}, {student_weight, 1, hs}, zs, vocab, false) ||
        !lfd::matmul_cols(avx2, tc, vocab, ht, {h_t, ht, 1}, {teacher_weight, 1, ht}, zt, vocab, false))
      return lfd::gemm_out_of_memory();
    GRPO_TRY(fused_distill_detail::whole_batch(
        token_losses(d, static_cast<const float*>(zs), static_cast<const float*>(zt), {tc, vocab}, m, per_token, dz,
                     weight),
        t0, vocab));
    for (index_t i = 0; i < tc; ++i) sum += per_token[i];  // 0 for masked tokens
    if (!gradients) continue;
    // dh [tc, Hs] = dz [tc, V] · W_s;  dW_s [V, Hs] += dzᵀ · h_s
    if ((dh && !lfd::matmul_cols(avx2, tc, hs, vocab, {dz, vocab, 1}, {student_weight, hs, 1}, dh, hs, false)) ||
        (dstudent_weight &&
         !lfd::matmul_rows(avx2, vocab, hs, tc, {dz, 1, vocab}, {h_s, hs, 1}, dstudent_weight, hs, true)))
      return lfd::gemm_out_of_memory();
  }
  loss = sum / static_cast<double>(kept);
  return {};
}

}  // namespace grpo::distill
