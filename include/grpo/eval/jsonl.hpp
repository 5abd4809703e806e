#pragma once
// Streaming JSON Lines: one record per line, read with a bounded buffer, so a multi-GB file is
// read in constant memory (the longest line, at most `max_line_bytes`). Lines are numbered from
// 1; a line longer than the bound is reported (and skipped to its end) rather than read.
#include <grpo/core/error.hpp>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

namespace grpo::eval {

/// The offset of the first byte of `s` that is not well-formed UTF-8 (RFC 3629: no overlong
/// forms, no surrogates, nothing past U+10FFFF), or npos.
inline std::size_t first_invalid_utf8(std::string_view s) noexcept {
  const auto* b = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n) {
    const unsigned c = b[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    unsigned lo = 0x80, hi = 0xBF;  // the allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c == 0xE0) len = 3, lo = 0xA0;
    else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) len = 3;
    else if (c == 0xED) len = 3, hi = 0x9F;
    else if (c == 0xF0) len = 4, lo = 0x90;
    else if (c >= 0xF1 && c <= 0xF3) len = 4;
    else if (c == 0xF4) len = 4, hi = 0x8F;
    else return i;
    if (i + len > n) return i;
    if (b[i + 1] < lo || b[i + 1] > hi) return i;
    for (std::size_t k = 2; k < len; ++k)
      if (b[i + k] < 0x80 || b[i + k] > 0xBF) return i;
    i += len;
  }
  return std::string_view::npos;
}

/// Reads lines from a FILE* (not owned). `next` fills `line` without its '\n' (and '\r').
class line_reader {
 public:
  explicit line_reader(std::FILE* f, std::size_t max_line_bytes = std::size_t(256) << 20)
      : f_(f), max_(max_line_bytes) {}

  enum class result { line, too_long, end };

  /// The next line; `too_long` when it exceeds the bound (its bytes are consumed, `line` is
  /// empty); `end` at the end of the file. An I/O error is reported by `error()`.
  result next(std::string& line) {
    line.clear();
    bool over = false, any = false;
    while (true) {
      if (pos_ == len_) {
        if (eof_) break;
        len_ = std::fread(buf_, 1, sizeof buf_, f_);
        pos_ = 0;
        if (len_ == 0) {
          eof_ = true;
          break;
        }
      }
      any = true;
      const char* start = buf_ + pos_;
      const auto* nl = static_cast<const char*>(std::memchr(start, '\n', len_ - pos_));
      const std::size_t take = nl ? static_cast<std::size_t>(nl - start) : len_ - pos_;
      bytes_ += take + (nl ? 1 : 0);
      pos_ += take + (nl ? 1 : 0);
      if (!over && line.size() + take > max_) {
        over = true;
        std::string().swap(line);
      }
      if (!over) line.append(start, take);
      if (nl) break;
    }
    if (!any) return result::end;
    ++number_;
    if (over) return result::too_long;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return result::line;
  }

  /// The number of the line `next` returned last (from 1).
  [[nodiscard]] std::uint64_t line_number() const noexcept { return number_; }
  [[nodiscard]] std::uint64_t bytes_read() const noexcept { return bytes_; }
  [[nodiscard]] std::size_t max_line_bytes() const noexcept { return max_; }
  [[nodiscard]] bool error() const noexcept { return std::ferror(f_) != 0; }

 private:
  std::FILE* f_;
  std::size_t max_;
  std::uint64_t number_ = 0;
  std::uint64_t bytes_ = 0;
  bool eof_ = false;
  char buf_[1 << 16];
  std::size_t pos_ = 0, len_ = 0;
};

}  // namespace grpo::eval
