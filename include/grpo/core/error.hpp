#pragma once
// Errors as values. Host-side validation and every entry point return a `status`: either ok, or
// the kind of problem, the name of the offending input and the index where it was found.
#include <grpo/core/macros.hpp>

#include <stdexcept>
#include <string>
#include <utility>

namespace grpo {

enum class errc {
  ok = 0,
  null_pointer,     // a required input pointer is null
  shape_mismatch,   // sizes of two inputs disagree, or a size is not positive
  bad_group,        // group size does not divide N, offsets not increasing, ...
  group_too_small,  // G < 2 where the estimator needs two members
  non_finite,       // NaN or Inf where a finite value is required
  out_of_range,     // a value outside its allowed range (a length > T, a negative count, ...)
  bad_config,       // a hyper-parameter outside its domain (eps < 0, beta < 0, ...)
  out_of_memory,    // an allocation failed
  cuda_error,       // a CUDA runtime call failed
  io_error,         // a file could not be read or written
  corrupt_data,     // a file failed its integrity check
  peer_failed,      // another rank of a data-parallel run failed (its message is in the detail)
  bad_tensor,       // a framework tensor of the wrong dtype, device or memory layout (grpo::torch)
};

inline const char* to_string(errc e) noexcept {
  switch (e) {
    case errc::ok: return "ok";
    case errc::null_pointer: return "null pointer";
    case errc::shape_mismatch: return "shape mismatch";
    case errc::bad_group: return "bad group layout";
    case errc::group_too_small: return "group too small";
    case errc::non_finite: return "non-finite value";
    case errc::out_of_range: return "value out of range";
    case errc::bad_config: return "bad configuration";
    case errc::out_of_memory: return "out of memory";
    case errc::cuda_error: return "CUDA error";
    case errc::io_error: return "I/O error";
    case errc::corrupt_data: return "corrupt data";
    case errc::peer_failed: return "another rank failed";
    case errc::bad_tensor: return "unsupported tensor";
  }
  return "unknown error";
}

/// The outcome of a host-side call. `index` is the flat position of the offending element
/// (or -1 when the problem is not at one position).
class [[nodiscard]] status {
 public:
  status() = default;
  status(errc kind, std::string input, index_t index, std::string detail)
      : kind_(kind), input_(std::move(input)), index_(index), detail_(std::move(detail)) {}

  static status success() { return {}; }

  [[nodiscard]] bool ok() const noexcept { return kind_ == errc::ok; }
  explicit operator bool() const noexcept { return ok(); }
  [[nodiscard]] errc kind() const noexcept { return kind_; }
  [[nodiscard]] const std::string& input() const noexcept { return input_; }
  [[nodiscard]] index_t index() const noexcept { return index_; }
  [[nodiscard]] const std::string& detail() const noexcept { return detail_; }

  /// "non-finite value in `logp` at index 17: NaN at a masked-in position"
  [[nodiscard]] std::string message() const {
    if (ok()) return "ok";
    std::string m = to_string(kind_);
    if (!input_.empty()) m += " in `" + input_ + "`";
    if (index_ >= 0) m += " at index " + std::to_string(index_);
    if (!detail_.empty()) m += ": " + detail_;
    return m;
  }

 private:
  errc kind_ = errc::ok;
  std::string input_;
  index_t index_ = -1;
  std::string detail_;
};

/// Thrown by the convenience wrappers (`*_or_throw`) for users who prefer exceptions.
class error : public std::runtime_error {
 public:
  explicit error(status s) : std::runtime_error(s.message()), status_(std::move(s)) {}
  [[nodiscard]] const grpo::status& get_status() const noexcept { return status_; }

 private:
  grpo::status status_;
};

inline void throw_if_error(const status& s) {
  if (!s.ok()) throw error(s);
}

}  // namespace grpo

/// Early return of a failed status: GRPO_TRY(validate(x));
#define GRPO_TRY(expr)                         \
  do {                                         \
    ::grpo::status grpo_try_status_ = (expr);  \
    if (!grpo_try_status_.ok()) return grpo_try_status_; \
  } while (0)
