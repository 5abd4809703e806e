#pragma once
// language consistency (DeepSeek-R1, arXiv:2501.12948 §2.3.2): the fraction of the chain of
// thought written in the target language. At character level a "word" is one code point of the
// <think> block; two predicates on code points say which ones count (all but whitespace by
// default) and which of those are in the target language (ASCII by default: English and math
// notation, against e.g. CJK mixing). Bytes that are not valid UTF-8 count as one code point
// each, outside every class (U+FFFD). No <think> block, or one with nothing counted, scores 0:
// there is no chain of thought to be consistent. grpo/task/script.hpp uses the counted class to
// look at numerals only, in a toy world with two scripts for them.
#include <grpo/reward/completion.hpp>

#include <cstdint>

namespace grpo::reward {

/// Decodes one UTF-8 code point at s[i], advancing i; invalid sequences yield U+FFFD and one byte.
inline char32_t next_code_point(std::string_view s, std::size_t& i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  auto cont = [&](std::size_t k) {
    return i + k < s.size() && (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
  };
  auto bits = [&](std::size_t k) {
    return static_cast<char32_t>(static_cast<unsigned char>(s[i + k]) & 0x3F);
  };
  if (b0 < 0x80) {
    ++i;
    return b0;
  }
  if (b0 >= 0xC2 && b0 <= 0xDF && cont(1)) {
    const char32_t cp = (static_cast<char32_t>(b0 & 0x1F) << 6) | bits(1);
    i += 2;
    return cp;
  }
  if (b0 >= 0xE0 && b0 <= 0xEF && cont(1) && cont(2)) {
    const char32_t cp = (static_cast<char32_t>(b0 & 0x0F) << 12) | (bits(1) << 6) | bits(2);
    if (cp >= 0x800 && (cp < 0xD800 || cp > 0xDFFF)) {
      i += 3;
      return cp;
    }
  }
  if (b0 >= 0xF0 && b0 <= 0xF4 && cont(1) && cont(2) && cont(3)) {
    const char32_t cp =
        (static_cast<char32_t>(b0 & 0x07) << 18) | (bits(1) << 12) | (bits(2) << 6) | bits(3);
    if (cp >= 0x10000 && cp <= 0x10FFFF) {
      i += 4;
      return cp;
    }
  }
  ++i;
  return U'\uFFFD';
}

/// The default target class: ASCII.
struct is_ascii {
  bool operator()(char32_t cp) const noexcept { return cp < 0x80; }
};

/// The default counted class: every code point but whitespace.
struct is_not_whitespace {
  bool operator()(char32_t cp) const noexcept {
    return cp != U' ' && cp != U'\t' && cp != U'\n' && cp != U'\r';
  }
};

template <class TargetClass = is_ascii, class CountedClass = is_not_whitespace>
struct language_consistency {
  TargetClass in_target{};
  CountedClass counted{};

  double operator()(const completion& c) const {
    const auto thought = think_block(c.text);
    if (!thought) return 0.0;
    std::int64_t total = 0, in_class = 0;
    for (std::size_t i = 0; i < thought->size();) {
      const char32_t cp = next_code_point(*thought, i);
      if (!counted(cp)) continue;
      ++total;
      in_class += in_target(cp) ? 1 : 0;
    }
    return total == 0 ? 0.0 : static_cast<double>(in_class) / static_cast<double>(total);
  }
};

}  // namespace grpo::reward
