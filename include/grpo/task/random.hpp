#pragma once
// A small, portable, seeded generator for task generation and bootstrap resampling. The standard
// distributions are implementation-defined (libstdc++ and libc++ draw different numbers from the
// same engine), so tasks draw through these functions and reproduce on every platform.
#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>

namespace grpo::task {

/// SplitMix64 (Steele, Lea, Flood 2014): 64-bit state, passes BigCrush, one multiply-xorshift
/// per draw.
class splitmix64 {
 public:
  explicit splitmix64(std::uint64_t seed = 0) noexcept : state_(seed) {}

  std::uint64_t next() noexcept {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }

  /// Uniform in [0, n), unbiased (rejection of the short last bucket). n > 0.
  std::uint64_t below(std::uint64_t n) noexcept {
    const std::uint64_t limit = ~std::uint64_t{0} - (~std::uint64_t{0} % n);
    std::uint64_t x = next();
    while (x >= limit) x = next();
    return x % n;
  }

  /// Uniform integer in [lo, hi] (lo <= hi).
  std::int64_t between(std::int64_t lo, std::int64_t hi) noexcept {
    return lo + static_cast<std::int64_t>(
                    below(static_cast<std::uint64_t>(hi) - static_cast<std::uint64_t>(lo) + 1));
  }

  /// Uniform in [0, 1) with 53 random bits.
  double uniform() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

  std::uint64_t state() const noexcept { return state_; }

 private:
  std::uint64_t state_;
};

/// The finaliser of SplitMix64 as a hash of one word.
inline std::uint64_t mix64(std::uint64_t x) noexcept {
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

/// FNV-1a over bytes followed by mix64: the hash of a problem instance's canonical key.
inline std::uint64_t hash_key(std::string_view key) noexcept {
  std::uint64_t h = 0xCBF29CE484222325ull;
  for (unsigned char c : key) {
    h ^= c;
    h *= 0x100000001B3ull;
  }
  return mix64(h);
}

/// Text from pieces: strings, single characters and integers (written in decimal). Appending
/// piece by piece also avoids GCC 12's false -Wrestrict on `"literal" + std::string`.
template <class... Pieces>
std::string concat(const Pieces&... pieces) {
  std::string out;
  auto add = [&out](const auto& piece) {
    using P = std::decay_t<decltype(piece)>;
    if constexpr (std::same_as<P, char>)
      out.push_back(piece);
    else if constexpr (std::integral<P>)
      out.append(std::to_string(piece));
    else
      out.append(std::string_view(piece));
  };
  (add(pieces), ...);
  return out;
}

}  // namespace grpo::task
