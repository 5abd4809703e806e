#pragma once
// A small JSON reader (RFC 8259, plus the NaN / Infinity / -Infinity that Python's json module
// writes): a document becomes a tree of grpo::json::value. Numbers are read with
// std::from_chars, so a double written by Python's repr round-trips exactly. Errors are values:
// grpo::status naming the byte offset; nesting deeper than max_depth is refused (no unbounded
// recursion on hostile input).
#include <grpo/core/error.hpp>

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace grpo::json {

enum class kind : std::uint8_t { null, boolean, number, string, array, object };

struct member;  // a key and its value (std::pair would need value complete here)

struct value {
  kind type = kind::null;
  bool boolean = false;
  double number = 0;
  std::string text;
  std::vector<value> items;     // array
  std::vector<member> members;  // object, in document order

  [[nodiscard]] bool is(kind k) const { return type == k; }
  /// The member `key` of an object, or nullptr.
  [[nodiscard]] const value* find(std::string_view key) const;
  /// find(key) that is present and not null.
  [[nodiscard]] bool has(std::string_view key) const {
    const value* v = find(key);
    return v != nullptr && !v->is(kind::null);
  }
};

struct member {
  std::string key;
  value val;
};

inline const value* value::find(std::string_view key) const {
  for (const auto& m : members)
    if (m.key == key) return &m.val;
  return nullptr;
}

inline constexpr int max_depth = 256;

namespace detail {

struct parser {
  std::string_view s;
  std::size_t pos = 0;

  status fail(const std::string& what) const {
    return {errc::corrupt_data, "json", static_cast<index_t>(pos), what};
  }
  void skip_space() {
    while (pos < s.size() && (s[pos] == ' ' || s[pos] == '\t' || s[pos] == '\n' || s[pos] == '\r')) ++pos;
  }
  bool literal(std::string_view w) {
    if (s.substr(pos, w.size()) != w) return false;
    pos += w.size();
    return true;
  }
  static void put_utf8(std::string& out, std::uint32_t c) {
    if (c < 0x80) out += char(c);
    else if (c < 0x800) out += char(0xC0 | (c >> 6)), out += char(0x80 | (c & 0x3F));
    else if (c < 0x10000) out += char(0xE0 | (c >> 12)), out += char(0x80 | ((c >> 6) & 0x3F)), out += char(0x80 | (c & 0x3F));
    else
      out += char(0xF0 | (c >> 18)), out += char(0x80 | ((c >> 12) & 0x3F)), out += char(0x80 | ((c >> 6) & 0x3F)),
          out += char(0x80 | (c & 0x3F));
  }
  status hex4(std::uint32_t& c) {
    if (pos + 4 > s.size()) return fail("truncated \\u escape");
    c = 0;
    for (int k = 0; k < 4; ++k) {
      const char h = s[pos++];
      c <<= 4;
      if (h >= '0' && h <= '9') c |= std::uint32_t(h - '0');
      else if (h >= 'a' && h <= 'f') c |= std::uint32_t(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F') c |= std::uint32_t(h - 'A' + 10);
      else return fail("bad hex digit in \\u escape");
    }
    return {};
  }
  status string(std::string& out) {
    ++pos;  // the opening quote
    while (true) {
      if (pos >= s.size()) return fail("unterminated string");
      const char ch = s[pos++];
      if (ch == '"') return {};
      if (static_cast<unsigned char>(ch) < 0x20) return fail("control character in a string");
      if (ch != '\\') {
        out += ch;
        continue;
      }
      if (pos >= s.size()) return fail("unterminated escape");
      const char e = s[pos++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          std::uint32_t c = 0;
          GRPO_TRY(hex4(c));
          if (c >= 0xD800 && c < 0xDC00) {  // a surrogate pair
            std::uint32_t lo = 0;
            if (!literal("\\u")) return fail("unpaired surrogate");
            GRPO_TRY(hex4(lo));
            if (lo < 0xDC00 || lo >= 0xE000) return fail("unpaired surrogate");
            c = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
          } else if (c >= 0xDC00 && c < 0xE000) {
            return fail("unpaired surrogate");
          }
          put_utf8(out, c);
          break;
        }
        default: return fail(std::string("bad escape \\") + e);
      }
    }
  }
  status number(double& out) {
    const std::size_t start = pos;
    if (pos < s.size() && s[pos] == '-') ++pos;
    if (literal("Infinity")) {
      out = s[start] == '-' ? -__builtin_huge_val() : __builtin_huge_val();
      return {};
    }
    while (pos < s.size() && (std::string_view("0123456789+-.eE").find(s[pos]) != std::string_view::npos)) ++pos;
    const auto r = std::from_chars(s.data() + start, s.data() + pos, out);
    if (r.ec != std::errc() || r.ptr != s.data() + pos) {
      pos = start;
      return fail("bad number");
    }
    return {};
  }
  status parse(value& v, int depth) {
    if (depth > max_depth) return fail("nested deeper than " + std::to_string(max_depth));
    skip_space();
    if (pos >= s.size()) return fail("unexpected end");
    const char ch = s[pos];
    if (ch == '{') {
      v.type = kind::object;
      ++pos;
      skip_space();
      if (pos < s.size() && s[pos] == '}') return ++pos, status{};
      while (true) {
        skip_space();
        if (pos >= s.size() || s[pos] != '"') return fail("expected a member name");
        std::string key;
        GRPO_TRY(string(key));
        skip_space();
        if (pos >= s.size() || s[pos] != ':') return fail("expected ':'");
        ++pos;
        value m;
        GRPO_TRY(parse(m, depth + 1));
        v.members.push_back(member{std::move(key), std::move(m)});
        skip_space();
        if (pos < s.size() && s[pos] == ',') { ++pos; continue; }
        if (pos < s.size() && s[pos] == '}') return ++pos, status{};
        return fail("expected ',' or '}'");
      }
    }
    if (ch == '[') {
      v.type = kind::array;
      ++pos;
      skip_space();
      if (pos < s.size() && s[pos] == ']') return ++pos, status{};
      while (true) {
        value m;
        GRPO_TRY(parse(m, depth + 1));
        v.items.push_back(std::move(m));
        skip_space();
        if (pos < s.size() && s[pos] == ',') { ++pos; continue; }
        if (pos < s.size() && s[pos] == ']') return ++pos, status{};
        return fail("expected ',' or ']'");
      }
    }
    if (ch == '"') {
      v.type = kind::string;
      return string(v.text);
    }
    if (literal("true")) return v.type = kind::boolean, v.boolean = true, status{};
    if (literal("false")) return v.type = kind::boolean, v.boolean = false, status{};
    if (literal("null")) return v.type = kind::null, status{};
    if (literal("NaN")) return v.type = kind::number, v.number = __builtin_nan(""), status{};
    v.type = kind::number;
    return number(v.number);
  }
};

}  // namespace detail

/// Parses one JSON document (surrounding whitespace allowed, nothing else).
inline status parse(std::string_view text, value& out) {
  detail::parser p{text};
  out = value{};
  GRPO_TRY(p.parse(out, 0));
  p.skip_space();
  if (p.pos != text.size()) return p.fail("trailing characters after the document");
  return {};
}

}  // namespace grpo::json
