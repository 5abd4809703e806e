#pragma once
// Distillation losses from the logits of a student and a teacher, [tokens, V] each (row-major,
// the same `logprob::logits_shape` for both): the per-token divergence of divergence.hpp, its
// gradient with respect to the student's logits, and TRL's "batchmean" reduction over the tokens
// a mask keeps (the sum over kept tokens divided by their count).
//
//   grpo::distill::divergence d = grpo::distill::jsd(0.5, /*temperature=*/0.9);
//   double loss = 0;
//   GRPO_TRY(grpo::distill::token_mean_loss(d, student, teacher, {N, V}, mask, loss, dstudent));
//
// Errors (never a silent NaN): null pointers, bad shapes or configuration, a NaN or +inf logit
// (naming `student_logits` / `teacher_logits` and the flat index), a row whose logits are all
// −inf on the support, and an infinite divergence (`loss`, naming the token).
#include <grpo/distill/divergence.hpp>
#include <grpo/logprob/shape.hpp>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace grpo::distill {

namespace detail {

inline status row_error(const row_outcome& r, index_t token, index_t stride) {
  const index_t flat = r.at >= 0 ? token * stride + r.at : -1;
  switch (r.what) {
    case row_outcome::kind::ok: return {};
    case row_outcome::kind::bad_student:
      return r.at >= 0 ? status{errc::non_finite, "student_logits", flat, "NaN or +inf logit at token " + std::to_string(token)}
                       : status{errc::out_of_range, "student_logits", token * stride,
                                "every logit of token " + std::to_string(token) + " is -inf on the support"};
    case row_outcome::kind::bad_teacher:
      return r.at >= 0 ? status{errc::non_finite, "teacher_logits", flat, "NaN or +inf logit at token " + std::to_string(token)}
                       : status{errc::out_of_range, "teacher_logits", token * stride,
                                "every logit of token " + std::to_string(token) + " is -inf on the support"};
    case row_outcome::kind::infinite:
      return {errc::non_finite, "loss", token,
              "the divergence is infinite: one model gives vocabulary index " + std::to_string(r.at) +
                  " probability 0 where the other does not"};
  }
  return {};
}

}  // namespace detail

/// Per-token losses: loss[t] for every token (0 where mask[t] == 0; `mask` may be null: every
/// token), and, when `dstudent` is not null, dstudent[t, :] = weight[t] · ∂loss[t]/∂student[t, :]
/// (weight null: 1; masked tokens get zero rows). `dstudent` has the logits' row stride. Logits
/// are float or double (T).
template <class T>
status token_losses(const divergence& d, const T* student, const T* teacher, const logprob::logits_shape& shape,
                    const std::uint8_t* mask, double* loss, T* dstudent = nullptr, const double* weight = nullptr) {
  GRPO_TRY(check(d));
  GRPO_TRY(logprob::detail::check_shape(shape));
  if (shape.tokens == 0) return {};
  GRPO_TRY(logprob::detail::check_not_null(student, "student_logits"));
  GRPO_TRY(logprob::detail::check_not_null(teacher, "teacher_logits"));
  GRPO_TRY(logprob::detail::check_not_null(loss, "loss"));
  if (weight)
    for (index_t t = 0; t < shape.tokens; ++t)
      if (!std::isfinite(weight[t])) return {errc::non_finite, "weight", t, "value " + std::to_string(weight[t])};
  const index_t N = shape.tokens, V = shape.vocab, stride = shape.stride();
  std::vector<row_outcome> outcomes(static_cast<std::size_t>(N));
#if defined(_OPENMP)
#pragma omp parallel
#endif
  {
    std::vector<index_t> order;
#if defined(_OPENMP)
#pragma omp for schedule(dynamic, 16)
#endif
    for (index_t t = 0; t < N; ++t) {
      T* g = dstudent ? dstudent + t * stride : nullptr;
      if (mask && mask[t] == 0) {
        loss[t] = 0;
        if (g) std::fill(g, g + V, T(0));
        continue;
      }
      const auto r = divergence_row(d, student + t * stride, teacher + t * stride, V, g, weight ? weight[t] : 1.0, order);
      outcomes[static_cast<std::size_t>(t)] = r;
      loss[t] = r.loss;
    }
  }
  for (index_t t = 0; t < N; ++t)  // the first bad token, in order
    if (outcomes[static_cast<std::size_t>(t)].what != row_outcome::kind::ok)
      return detail::row_error(outcomes[static_cast<std::size_t>(t)], t, stride);
  return {};
}

/// TRL's "batchmean": the mean of the per-token divergence over the tokens `mask` keeps (all
/// when null), and its gradient with respect to the student's logits when `dstudent` is not
/// null. No kept token: the loss is 0 and the gradient zero.
template <class T>
status token_mean_loss(const divergence& d, const T* student, const T* teacher, const logprob::logits_shape& shape,
                       const std::uint8_t* mask, double& loss, T* dstudent = nullptr) {
  GRPO_TRY(logprob::detail::check_shape(shape));
  const index_t N = shape.tokens;
  index_t kept = 0;
  for (index_t t = 0; t < N; ++t) kept += !mask || mask[t] != 0;
  std::vector<double> per_token(static_cast<std::size_t>(N));
  std::vector<double> weight(static_cast<std::size_t>(N), kept ? 1.0 / static_cast<double>(kept) : 0.0);
  GRPO_TRY(token_losses(d, student, teacher, shape, mask, per_token.data(), dstudent, weight.data()));
  double sum = 0;
  for (index_t t = 0; t < N; ++t) sum += per_token[static_cast<std::size_t>(t)];
  loss = kept ? sum / static_cast<double>(kept) : 0.0;
  return {};
}

}  // namespace grpo::distill
