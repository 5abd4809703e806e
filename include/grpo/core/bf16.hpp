#pragma once
// A host bfloat16: the upper 16 bits of an IEEE float32 (1 sign, 8 exponent, 7 mantissa bits).
// Same bit layout as CUDA's __nv_bfloat16, so a device buffer of one is a buffer of the other.
// Conversion from float rounds to nearest, ties to even, and keeps NaN a (quiet) NaN.
#include <bit>
#include <cstdint>
#include <type_traits>

namespace grpo {

struct bf16 {
  std::uint16_t bits = 0;

  bf16() = default;
  explicit bf16(float f) noexcept : bits(from_float(f)) {}
  explicit operator float() const noexcept { return to_float(bits); }

  static constexpr bf16 from_bits(std::uint16_t b) noexcept {
    bf16 h;
    h.bits = b;
    return h;
  }
  static float to_float(std::uint16_t b) noexcept {
    return std::bit_cast<float>(static_cast<std::uint32_t>(b) << 16);
  }
  static std::uint16_t from_float(float f) noexcept {
    const std::uint32_t u = std::bit_cast<std::uint32_t>(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((u >> 16) | 0x0040u);  // quiet NaN
    // round to nearest even: add 0x7fff plus the lowest kept bit, then truncate (overflow -> inf)
    const std::uint32_t rounded = u + 0x7fffu + ((u >> 16) & 1u);
    return static_cast<std::uint16_t>(rounded >> 16);
  }
};
static_assert(sizeof(bf16) == 2);

inline float to_float(float x) noexcept { return x; }
inline float to_float(bf16 x) noexcept { return static_cast<float>(x); }

/// Store a float into an element of type T (float: as is; bf16: rounded to nearest even).
template <class T>
inline T from_float(float x) noexcept {
  if constexpr (std::is_same_v<T, float>) return x;
  else return T(x);
}

}  // namespace grpo
