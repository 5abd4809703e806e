#pragma once
// The layout of a logits matrix [tokens, vocab] (row-major, rows `row_stride` elements apart) and
// the host-side checks shared by the CPU and CUDA entry points of selective log-softmax.
#include <grpo/core/error.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

namespace grpo::logprob {

struct logits_shape {
  index_t tokens = 0;
  index_t vocab = 0;
  index_t row_stride = 0;  ///< elements between row starts; 0 means `vocab` (dense)

  [[nodiscard]] index_t stride() const noexcept { return row_stride == 0 ? vocab : row_stride; }
};

/// Which implementation the CPU entry points use. `automatic`: AVX2 when the CPU has it.
enum class simd_path { automatic, scalar, avx2 };

namespace detail {

inline status check_shape(const logits_shape& shape) {
  if (shape.tokens < 0)
    return {errc::shape_mismatch, "tokens", -1, "negative token count " + std::to_string(shape.tokens)};
  if (shape.vocab <= 0)
    return {errc::shape_mismatch, "vocab", -1, "vocabulary size must be positive, got " +
                                                   std::to_string(shape.vocab)};
  if (shape.row_stride != 0 && shape.row_stride < shape.vocab)
    return {errc::shape_mismatch, "row_stride", -1, "row stride " + std::to_string(shape.row_stride) +
                                                        " is smaller than vocab " + std::to_string(shape.vocab)};
  if (shape.tokens > 0 && shape.stride() > std::numeric_limits<index_t>::max() / shape.tokens)
    return {errc::shape_mismatch, "logits", -1, "tokens x row_stride overflows a 64-bit index"};
  return {};
}

inline status check_temperature(double temperature) {
  if (!std::isfinite(temperature))
    return {errc::non_finite, "temperature", -1, "the temperature must be finite"};
  if (!(temperature > 0.0))
    return {errc::bad_config, "temperature", -1,
            "the temperature must be positive, got " + std::to_string(temperature)};
  return {};
}

/// Every target must be a vocabulary index: t in [0, vocab).
inline status check_targets(const std::int64_t* targets, index_t tokens, index_t vocab) {
  for (index_t t = 0; t < tokens; ++t) {
    if (targets[t] < 0 || targets[t] >= vocab)
      return {errc::out_of_range, "targets", t,
              "target " + std::to_string(targets[t]) + " is outside [0, " + std::to_string(vocab) + ")"};
  }
  return {};
}

/// A per-token input that must be finite (an upstream gradient, a saved statistic).
template <class Real>
status check_finite(const Real* x, index_t n, const char* name) {
  for (index_t t = 0; t < n; ++t)
    if (!std::isfinite(x[t])) return {errc::non_finite, name, t, "value " + std::to_string(x[t])};
  return {};
}

inline status check_not_null(const void* p, const char* name) {
  if (p == nullptr) return {errc::null_pointer, name, -1, "a required pointer is null"};
  return {};
}

/// `out` must be `in` itself (in place) or not overlap it at all.
inline status check_alias(const void* in, const void* out, std::size_t bytes, const char* out_name) {
  if (in == out) return {};
  const auto a = reinterpret_cast<std::uintptr_t>(in);
  const auto b = reinterpret_cast<std::uintptr_t>(out);
  if (a < b + bytes && b < a + bytes)
    return {errc::shape_mismatch, out_name, -1, "overlaps the input without being the same buffer"};
  return {};
}

}  // namespace detail
}  // namespace grpo::logprob
