#pragma once
// A small LaTeX-math expression parser and evaluator, for answer equivalence (equivalence.hpp).
//
// It reads what final answers are written in: numbers (`1.5e3`, repeating `0.1\overline{6}`),
// `+ - * / ^ !`, `\cdot`, `\times`, implicit products (`2\pi r^2`, `(x+1)(x-1)`), `\frac{a}{b}`
// and `\frac12`, mixed numbers (`2\frac{1}{2}` = 5/2), `\sqrt{x}`, `\sqrt[n]{x}`, `\binom{n}{k}`,
// `\pi`, `e`, `\infty`, the elementary functions (`\sin^2 x`, `\log_2 8`, `\exp(x)`), single-letter
// and Greek variables with subscripts.
//
// Evaluation is exact where it can be: every value carries an exact rational (128-bit numerator
// and denominator) while the arithmetic stays rational and does not overflow, and a double
// always. So `0.1 + 0.2` equals `0.3` exactly and `0.333` is not `1/3`; `\sqrt{8}/\sqrt{2}`,
// `\pi` and values past 126 bits compare as doubles.
//
// Bounds (the input is untrusted): at most `max_nodes` nodes and `max_depth` nesting levels;
// past either the parse fails (the caller then compares text). Sums and products are n-ary
// nodes, so evaluation recurses only as deep as the written nesting.
#include <cmath>
#include <cstdint>
#include <numeric>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace grpo::eval::expr {

/// Exact integers: 128-bit, kept below 2^126 in magnitude so that a sum of two never overflows
/// (`2^{64}`, `3^{40}` and 30-digit literals stay exact).
__extension__ using integer = __int128;
inline constexpr integer integer_bound = integer(1) << 126;

/// p/q in lowest terms, q > 0, |p| and q below integer_bound.
struct rational {
  integer p = 0;
  integer q = 1;
};

namespace detail {
inline integer magnitude(integer v) { return v < 0 ? -v : v; }
inline integer gcd(integer a, integer b) {
  a = magnitude(a), b = magnitude(b);
  while (b != 0) {
    const integer t = a % b;
    a = b, b = t;
  }
  return a;
}
inline bool in_bounds(integer v) { return magnitude(v) < integer_bound; }
// a·b, or false when |a·b| would reach the bound (a and b are within it, so |a|/|b| cannot overflow)
inline bool times(integer a, integer b, integer& out) {
  if (a == 0 || b == 0) return out = 0, true;
  if (magnitude(a) >= integer_bound / magnitude(b)) return false;
  out = a * b;
  return true;
}
inline std::optional<rational> make_rational(integer p, integer q) {
  if (q == 0 || !in_bounds(p) || !in_bounds(q)) return std::nullopt;
  if (q < 0) p = -p, q = -q;
  const integer g = gcd(p, q);
  if (g > 1) p /= g, q /= g;
  return rational{p, q};
}
inline std::optional<rational> add(rational a, rational b) {
  const integer g = gcd(a.q, b.q);
  integer x = 0, y = 0, den = 0;
  if (!times(a.p, b.q / g, x) || !times(b.p, a.q / g, y) || !times(a.q / g, b.q, den)) return std::nullopt;
  return make_rational(x + y, den);  // |x|, |y| < 2^126: the sum fits, make_rational bounds it
}
inline std::optional<rational> mul(rational a, rational b) {
  // cross-reduce first so that products of reduced fractions overflow as late as possible
  const integer g1 = gcd(a.p, b.q), g2 = gcd(b.p, a.q);
  const integer ap = g1 ? a.p / g1 : a.p, bq = g1 ? b.q / g1 : b.q;
  const integer bp = g2 ? b.p / g2 : b.p, aq = g2 ? a.q / g2 : a.q;
  integer num = 0, den = 0;
  if (!times(ap, bp, num) || !times(aq, bq, den)) return std::nullopt;
  return make_rational(num, den);
}
inline std::optional<rational> inverse(rational a) { return make_rational(a.q, a.p); }
inline std::optional<rational> integer_power(rational a, std::int64_t e) {
  if (e < 0) {
    auto inv = inverse(a);
    if (!inv || e == INT64_MIN) return std::nullopt;
    return integer_power(*inv, -e);
  }
  if (e > 4096) return a.p == 0 || ((a.p == 1 || a.p == -1) && a.q == 1)
                          ? std::optional<rational>(rational{(a.p == -1 && (e & 1)) ? -1 : (a.p != 0 ? 1 : 0), 1})
                          : std::nullopt;
  rational r{1, 1};
  for (std::int64_t k = 0; k < e; ++k) {
    auto next = mul(r, a);
    if (!next) return std::nullopt;
    r = *next;
  }
  return r;
}
// The exact n-th root of a non-negative integer, if it is one.
inline std::optional<integer> integer_root(integer v, std::int64_t n) {
  if (v < 0 || n < 1) return std::nullopt;
  if (v < 2 || n == 1) return v;
  const double estimate = std::round(std::pow(static_cast<double>(v), 1.0 / static_cast<double>(n)));
  if (!(estimate < 1e37)) return std::nullopt;
  const auto r = static_cast<integer>(estimate);
  for (integer c = r > 2 ? r - 2 : 0; c <= r + 2; ++c) {
    integer x = 1;
    bool fits = true;
    for (std::int64_t k = 0; k < n && fits; ++k) fits = times(x, c, x);
    if (fits && x == v) return c;
  }
  return std::nullopt;
}
}  // namespace detail

/// A value: always a double; also an exact rational while the arithmetic allows.
struct value {
  double d = 0;
  std::optional<rational> exact;

  static value of(rational r) {
    return {static_cast<double>(r.p) / static_cast<double>(r.q), r};
  }
  static value approx(double d) { return {d, std::nullopt}; }
};

enum class node_kind : std::uint8_t {
  number,     // exact rational literal
  constant,   // pi, e, infinity (value in `number`'s double)
  variable,   // `name` indexes the expression's variables
  sum,        // children, each with `negate`
  product,    // children, each with `invert` (division)
  power,      // children[0] ^ children[1]
  function,   // `fn` of children[0] (and children[1] for log base)
  factorial,  // children[0]!
  binomial,   // C(children[0], children[1])
  root,       // children[0] ^ (1 / children[1])
};

enum class function_id : std::uint8_t { sin, cos, tan, cot, sec, csc, asin, acos, atan, ln, log, exp, abs };

struct node {
  node_kind kind = node_kind::number;
  function_id fn = function_id::sin;
  value literal;                   // number / constant
  std::uint32_t variable = 0;      // variable
  std::vector<std::uint32_t> children;
  std::vector<std::uint8_t> flags;  // sum: negate; product: invert
};

/// A parsed expression: nodes in an arena, the root last, variable names in first-seen order.
struct expression {
  std::vector<node> nodes;
  std::vector<std::string> variables;
  std::uint32_t root = 0;
};

inline constexpr std::size_t max_nodes = 4096;
inline constexpr int max_depth = 64;

namespace detail {

inline bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
inline bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Greek letters read as variables (`\pi` is the constant).
inline bool is_greek(std::string_view w) {
  static constexpr std::string_view names[] = {
      "alpha", "beta",  "gamma", "delta", "epsilon", "varepsilon", "zeta",  "eta",
      "theta", "vartheta", "iota", "kappa", "lambda", "mu",  "nu",    "xi",
      "rho",   "sigma", "tau",   "upsilon", "phi", "varphi", "chi",   "psi",   "omega",
      "Gamma", "Delta", "Theta", "Lambda", "Xi", "Sigma", "Phi", "Psi", "Omega"};
  for (auto n : names)
    if (n == w) return true;
  return false;
}

inline std::optional<function_id> function_named(std::string_view w) {
  struct entry {
    std::string_view name;
    function_id id;
  };
  static constexpr entry table[] = {
      {"sin", function_id::sin},     {"cos", function_id::cos},       {"tan", function_id::tan},
      {"cot", function_id::cot},     {"sec", function_id::sec},       {"csc", function_id::csc},
      {"arcsin", function_id::asin}, {"arccos", function_id::acos},   {"arctan", function_id::atan},
      {"ln", function_id::ln},       {"log", function_id::log},       {"exp", function_id::exp}};
  for (auto e : table)
    if (e.name == w) return e.id;
  return std::nullopt;
}

class parser {
 public:
  explicit parser(std::string_view s) : s_(s) {}

  std::optional<expression> run() {
    skip();
    auto r = sum();
    skip();
    if (!r || failed_ || pos_ != s_.size()) return std::nullopt;
    out_.root = *r;
    return std::move(out_);
  }

 private:
  std::string_view s_;
  std::size_t pos_ = 0;
  int depth_ = 0;
  bool failed_ = false;
  expression out_;

  struct depth_guard {
    parser& p;
    bool ok;
    explicit depth_guard(parser& q) : p(q), ok(++q.depth_ <= max_depth) {}
    ~depth_guard() { --p.depth_; }
  };

  void skip() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r'))
      ++pos_;
  }
  bool at_end() const { return pos_ >= s_.size(); }
  char peek() const { return at_end() ? '\0' : s_[pos_]; }
  bool eat(char c) {
    skip();
    if (peek() != c) return false;
    ++pos_;
    return true;
  }
  // A backslash command name at pos_ (without consuming it).
  std::string_view command() const {
    if (peek() != '\\') return {};
    std::size_t e = pos_ + 1;
    while (e < s_.size() && is_letter(s_[e])) ++e;
    return s_.substr(pos_ + 1, e - pos_ - 1);
  }
  bool eat_command(std::string_view name) {
    skip();
    if (command() != name) return false;
    pos_ += 1 + name.size();
    return true;
  }

  std::optional<std::uint32_t> add(node n) {
    if (out_.nodes.size() >= max_nodes) {
      failed_ = true;
      return std::nullopt;
    }
    out_.nodes.push_back(std::move(n));
    return static_cast<std::uint32_t>(out_.nodes.size() - 1);
  }
  std::optional<std::uint32_t> number_node(rational r) {
    node n;
    n.kind = node_kind::number;
    n.literal = value::of(r);
    return add(std::move(n));
  }
  std::optional<std::uint32_t> approx_node(double d) {
    node n;
    n.kind = node_kind::constant;
    n.literal = value::approx(d);
    return add(std::move(n));
  }
  std::optional<std::uint32_t> unary(node_kind k, std::uint32_t child, function_id fn = function_id::sin) {
    node n;
    n.kind = k;
    n.fn = fn;
    n.children = {child};
    return add(std::move(n));
  }
  std::optional<std::uint32_t> binary(node_kind k, std::uint32_t a, std::uint32_t b) {
    node n;
    n.kind = k;
    n.children = {a, b};
    return add(std::move(n));
  }
  std::optional<std::uint32_t> variable(std::string name) {
    node n;
    n.kind = node_kind::variable;
    std::uint32_t id = 0;
    while (id < out_.variables.size() && out_.variables[id] != name) ++id;
    if (id == out_.variables.size()) out_.variables.push_back(std::move(name));
    n.variable = id;
    return add(std::move(n));
  }

  // sum := ['+'|'-'] product { ('+'|'-') product }
  std::optional<std::uint32_t> sum() {
    depth_guard g(*this);
    if (!g.ok) return fail();
    node n;
    n.kind = node_kind::sum;
    bool negate = false;
    skip();
    while (peek() == '+' || peek() == '-') {  // leading signs: "-5", "+3", "--5"
      negate ^= peek() == '-';
      ++pos_;
      skip();
    }
    while (true) {
      auto t = product();
      if (!t) return fail();
      n.children.push_back(*t);
      n.flags.push_back(negate);
      skip();
      if (peek() == '+' || peek() == '-') {
        negate = peek() == '-';
        ++pos_;
        continue;
      }
      if (eat_command("pm") || eat_command("mp")) return fail();  // two values, not one
      break;
    }
    if (n.children.size() == 1 && !n.flags[0]) return n.children[0];
    return add(std::move(n));
  }

  // Whether the next token can start an implicit-product factor.
  bool starts_factor() {
    skip();
    const char c = peek();
    if (is_digit(c) || c == '.' || is_letter(c) || c == '(' || c == '{') return true;
    if (c == '\\') {
      const auto w = command();
      return w == "frac" || w == "sqrt" || w == "pi" || w == "infty" || w == "binom" || w == "exp" ||
             w == "left" || is_greek(w) || function_named(w).has_value() || w == "e";
    }
    return false;
  }

  bool starts_function() {
    skip();
    if (peek() == '\\') {
      const auto w = command();
      return function_named(w).has_value() || w == "frac" || w == "sqrt" || w == "binom";
    }
    std::size_t e = pos_;
    while (e < s_.size() && is_letter(s_[e])) ++e;
    return e - pos_ >= 2 && function_named(s_.substr(pos_, e - pos_)).has_value();
  }

  // product := power { ('*'|'/'|'\cdot'|'\times'|'\div'|implicit) power }
  std::optional<std::uint32_t> product() {
    depth_guard g(*this);
    if (!g.ok) return fail();
    node n;
    n.kind = node_kind::product;
    bool invert = false;
    while (true) {
      auto f = power();
      if (!f) return fail();
      n.children.push_back(*f);
      n.flags.push_back(invert);
      skip();
      if (peek() == '*') {
        ++pos_, invert = false;
      } else if (peek() == '/') {
        ++pos_, invert = true;
      } else if (eat_command("cdot") || eat_command("times") || eat_command("ast")) {
        invert = false;
      } else if (eat_command("div")) {
        invert = true;
      } else if (starts_factor()) {
        invert = false;
      } else {
        break;
      }
    }
    if (n.children.size() == 1 && !n.flags[0]) return n.children[0];
    return add(std::move(n));
  }

  // power := postfix [ '^' unary-or-atom ]   (right-associative)
  std::optional<std::uint32_t> power() {
    depth_guard g(*this);
    if (!g.ok) return fail();
    auto base = postfix();
    if (!base) return fail();
    skip();
    if (peek() != '^') return base;
    ++pos_;
    skip();
    std::optional<std::uint32_t> e;
    if (peek() == '-' || peek() == '+') {  // 2^-1
      const bool neg = peek() == '-';
      ++pos_;
      auto inner = power();
      if (!inner) return fail();
      if (!neg) {
        e = inner;
      } else {
        node s;
        s.kind = node_kind::sum;
        s.children = {*inner};
        s.flags = {1};
        e = add(std::move(s));
      }
    } else {
      e = exponent_atom();
      if (e) e = postfix_of(*e);
      if (e) {
        skip();
        if (peek() == '^') {  // a^b^c = a^(b^c)
          ++pos_;
          auto rest = exponent_atom();
          if (!rest) return fail();
          e = binary(node_kind::power, *e, *rest);
        }
      }
    }
    if (!e) return fail();
    return binary(node_kind::power, *base, *e);
  }

  // An exponent without braces is one character (`x^23` is x²·3 in TeX) or a group/command.
  std::optional<std::uint32_t> exponent_atom() {
    skip();
    if (is_digit(peek())) {
      const auto d = static_cast<std::int64_t>(s_[pos_++] - '0');
      return number_node({d, 1});
    }
    if (is_letter(peek())) return letter_atom(true);
    return atom();
  }

  std::optional<std::uint32_t> postfix() {
    auto a = atom();
    if (!a) return fail();
    return postfix_of(*a);
  }
  std::optional<std::uint32_t> postfix_of(std::uint32_t a) {
    while (true) {
      skip();
      if (peek() == '!') {
        ++pos_;
        auto f = unary(node_kind::factorial, a);
        if (!f) return fail();
        a = *f;
        continue;
      }
      break;
    }
    return a;
  }

  std::optional<std::uint32_t> fail() {
    failed_ = true;
    return std::nullopt;
  }

  // A brace group `{...}` or, as TeX reads `\frac12`, one character.
  std::optional<std::uint32_t> argument() {
    skip();
    if (peek() == '{') {
      ++pos_;
      auto v = sum();
      if (!v || !eat('}')) return fail();
      return v;
    }
    if (is_digit(peek())) return number_node({static_cast<std::int64_t>(s_[pos_++] - '0'), 1});
    if (is_letter(peek())) return letter_atom(true);
    if (peek() == '\\') return atom();
    return fail();
  }

  std::optional<std::uint32_t> group(char open, char close) {
    ++pos_;
    auto v = sum();
    if (!v) return fail();
    skip();
    if (open == '{' && eat_command("over")) {  // {a \over b}: TeX's primitive fraction
      auto d = sum();
      if (!d) return fail();
      node n;
      n.kind = node_kind::product;
      n.children = {*v, *d};
      n.flags = {0, 1};
      v = add(std::move(n));
      if (!v) return fail();
      skip();
    }
    if (eat_command("right")) skip();
    if (!eat(close)) return fail();
    return v;
  }

  // digits [ '.' digits ] [ \overline{digits} ] [ (e|E) [sign] digits ]
  std::optional<std::uint32_t> number() {
    const std::size_t start = pos_;
    std::string int_digits, frac_digits, repeat_digits;
    while (is_digit(peek())) int_digits += s_[pos_++];
    if (peek() == '.') {
      ++pos_;
      while (is_digit(peek())) frac_digits += s_[pos_++];
      if (command() == "overline" || command() == "dot") {  // 0.\overline{3}, 0.1\dot{6}
        pos_ += 1 + command().size();
        skip();
        if (eat('{')) {
          while (is_digit(peek())) repeat_digits += s_[pos_++];
          if (repeat_digits.empty() || !eat('}')) return fail();
        } else if (is_digit(peek())) {
          repeat_digits += s_[pos_++];
        } else {
          return fail();
        }
      } else if (!frac_digits.empty() && ellipsis()) {
        // 0.333\ldots, 0.142857142857...: the block that ends the digits, seen at least twice
        // (a single digit three times), repeats
        for (std::size_t len = 1; len <= 9 && repeat_digits.empty(); ++len) {
          const std::size_t times = len == 1 ? 3 : 2;
          if (frac_digits.size() < len * times) continue;
          const std::string block = frac_digits.substr(frac_digits.size() - len);
          bool repeats = true;
          for (std::size_t t = 2; t <= times && repeats; ++t)
            repeats = frac_digits.compare(frac_digits.size() - t * len, len, block) == 0;
          if (repeats) {
            repeat_digits = block;
            frac_digits.resize(frac_digits.size() - len * times);
          }
        }
        if (repeat_digits.empty()) return fail();  // "0.12..." says nothing exact
      }
    }
    if (int_digits.empty() && frac_digits.empty() && repeat_digits.empty()) return fail();
    std::int64_t exp10 = 0;
    if ((peek() == 'e' || peek() == 'E') && pos_ + 1 < s_.size()) {
      std::size_t q = pos_ + 1;
      bool neg = false;
      if (s_[q] == '+' || s_[q] == '-') neg = s_[q++] == '-';
      if (q < s_.size() && is_digit(s_[q])) {
        std::int64_t v = 0;
        while (q < s_.size() && is_digit(s_[q])) {
          if (v < 100000) v = v * 10 + (s_[q] - '0');
          ++q;
        }
        exp10 = neg ? -v : v;
        pos_ = q;
      }
    }
    const std::string_view text = s_.substr(start, pos_ - start);
    if (auto r = literal(int_digits, frac_digits, repeat_digits, exp10)) return number_node(*r);
    return approx_node(std::strtod(std::string(text).c_str(), nullptr));  // past 64 bits
  }

  // `\ldots`, `\dots`, `\cdots` or `...` (consumed when present).
  bool ellipsis() {
    const std::size_t save = pos_;
    skip();
    for (std::string_view w : {"ldots", "dots", "cdots"})
      if (command() == w) {
        pos_ += 1 + w.size();
        return true;
      }
    if (s_.substr(pos_, 3) == "...") {
      pos_ += 3;
      return true;
    }
    pos_ = save;
    return false;
  }

  // i.f(r) × 10^e exactly: (i f r − i f) / (10^|f| (10^|r| − 1)), or i.f when r is empty.
  static std::optional<rational> literal(const std::string& i, const std::string& f, const std::string& r,
                                          std::int64_t exp10) {
    auto digits_value = [](const std::string& d) -> std::optional<integer> {
      integer v = 0;
      for (char c : d)
        if (!times(v, 10, v) || !in_bounds(v += c - '0')) return std::nullopt;
      return v;
    };
    auto pow10 = [](std::size_t n) -> std::optional<integer> {
      integer v = 1;
      for (std::size_t k = 0; k < n; ++k)
        if (!times(v, 10, v)) return std::nullopt;
      return v;
    };
    std::optional<rational> out;
    if (r.empty()) {
      auto num = digits_value(i + f);
      auto den = pow10(f.size());
      if (!num || !den) return std::nullopt;
      out = make_rational(*num, *den);
    } else {
      auto all = digits_value(i + f + r), head = digits_value(i + f);
      auto a = pow10(f.size()), b = pow10(r.size());
      if (!all || !head || !a || !b) return std::nullopt;
      integer den = 0;
      if (!times(*a, *b - 1, den)) return std::nullopt;
      out = make_rational(*all - *head, den);
    }
    if (!out || exp10 == 0) return out;
    if (exp10 > 40 || exp10 < -40) return std::nullopt;
    auto scale = integer_power(rational{10, 1}, exp10);
    if (!scale) return std::nullopt;
    return mul(*out, *scale);
  }

  // A letter: `e` is Euler's number, a word that names a function is that function, else a
  // variable (one letter, with an optional subscript `x_1`, `a_{n}`). In an exponent or a
  // `\frac` argument only one letter is read (`x^ab` = x^a·b).
  std::optional<std::uint32_t> letter_atom(bool single) {
    if (!single) {
      std::size_t e = pos_;
      while (e < s_.size() && is_letter(s_[e])) ++e;
      const auto word = s_.substr(pos_, e - pos_);
      if (auto fn = function_named(word)) {
        pos_ = e;
        return function_call(*fn);
      }
    }
    const char c = s_[pos_++];
    std::string name(1, c);
    if (c == 'e' && peek() != '_') return approx_node(std::exp(1.0));
    subscript(name);
    return variable(std::move(name));
  }

  void subscript(std::string& name) {
    if (peek() != '_') return;
    ++pos_;
    name += '_';
    if (peek() == '{') {
      ++pos_;
      while (!at_end() && peek() != '}') name += s_[pos_++];
      if (!at_end()) ++pos_;
    } else if (!at_end()) {
      name += s_[pos_++];
    }
  }

  // f(x), f x, f^2 x (= (f x)^2), \log_b x
  std::optional<std::uint32_t> function_call(function_id fn) {
    skip();
    std::optional<std::uint32_t> pow_of;
    std::optional<std::uint32_t> base;
    if (peek() == '_' && fn == function_id::log) {
      ++pos_;
      base = argument();
      if (!base) return fail();
      skip();
    }
    if (peek() == '^') {
      ++pos_;
      pow_of = exponent_atom();
      if (!pow_of) return fail();
      skip();
    }
    std::optional<std::uint32_t> arg;
    if (peek() == '(' || command() == "left") {
      if (command() == "left") pos_ += 5, skip();
      arg = group('(', ')');
    } else {
      // \sin x, \cos 2x = cos(2x), \sin 2\pi x: the implicit product that follows, up to the
      // next function (\sin x \cos x) or operator
      arg = power();
      node prod;
      prod.kind = node_kind::product;
      if (arg) prod.children.push_back(*arg), prod.flags.push_back(0);
      while (arg && starts_factor() && peek() != '(' && peek() != '{' && !starts_function()) {
        auto f = power();
        if (!f) return fail();
        prod.children.push_back(*f);
        prod.flags.push_back(0);
      }
      if (prod.children.size() > 1) arg = add(std::move(prod));
    }
    if (!arg) return fail();
    node n;
    n.kind = node_kind::function;
    n.fn = fn;
    n.children = {*arg};
    if (base) n.children.push_back(*base);
    auto call = add(std::move(n));
    if (!call) return fail();
    if (pow_of) return binary(node_kind::power, *call, *pow_of);
    return call;
  }

  std::optional<std::uint32_t> atom() {
    depth_guard g(*this);
    if (!g.ok) return fail();
    skip();
    const char c = peek();
    if (is_digit(c) || (c == '.' && pos_ + 1 < s_.size() && is_digit(s_[pos_ + 1]))) {
      auto n = number();
      if (!n) return fail();
      return mixed_number(*n);
    }
    if (c == '(') return group('(', ')');
    if (c == '[') return group('[', ']');
    if (c == '{') return group('{', '}');
    if (c == '|') {
      auto v = group('|', '|');
      if (!v) return fail();
      return unary(node_kind::function, *v, function_id::abs);
    }
    if (c == '-' || c == '+') {  // a sign inside a product: 2 \cdot -3
      const bool neg = c == '-';
      ++pos_;
      auto v = power();
      if (!v) return fail();
      if (!neg) return v;
      node s;
      s.kind = node_kind::sum;
      s.children = {*v};
      s.flags = {1};
      return add(std::move(s));
    }
    if (is_letter(c)) return letter_atom(false);
    if (c != '\\') return fail();
    const auto w = command();
    pos_ += 1 + w.size();
    if (w == "left") {
      skip();
      if (peek() == '(') return group('(', ')');
      if (peek() == '[') return group('[', ']');
      if (peek() == '|') {
        auto v = group('|', '|');
        if (!v) return fail();
        return unary(node_kind::function, *v, function_id::abs);
      }
      return fail();
    }
    if (w == "frac") {
      auto a = argument();
      if (!a) return fail();
      auto b = argument();
      if (!b) return fail();
      node n;
      n.kind = node_kind::product;
      n.children = {*a, *b};
      n.flags = {0, 1};
      return add(std::move(n));
    }
    if (w == "sqrt") {
      skip();
      std::optional<std::uint32_t> degree;
      if (peek() == '[') {
        degree = group('[', ']');
        if (!degree) return fail();
      } else {
        degree = number_node({2, 1});
      }
      auto a = argument();
      if (!a || !degree) return fail();
      return binary(node_kind::root, *a, *degree);
    }
    if (w == "binom") {
      auto a = argument();
      if (!a) return fail();
      auto b = argument();
      if (!b) return fail();
      return binary(node_kind::binomial, *a, *b);
    }
    if (w == "pi") return approx_node(3.14159265358979323846);
    if (w == "infty") return approx_node(HUGE_VAL);
    if (w == "e") return approx_node(std::exp(1.0));
    if (auto fn = function_named(w)) return function_call(*fn);
    if (is_greek(w)) {
      std::string name = "\\" + std::string(w);
      subscript(name);
      return variable(std::move(name));
    }
    return fail();  // an unknown command: not an expression this parser reads
  }

  // `2\frac{1}{2}` and `2 \frac12` are 2½ (mixed numbers) when both parts are integers.
  std::optional<std::uint32_t> mixed_number(std::uint32_t whole) {
    const node& w = out_.nodes[whole];
    if (w.kind != node_kind::number || !w.literal.exact || w.literal.exact->q != 1) return whole;
    const std::size_t save = pos_;
    skip();
    if (command() != "frac") return whole;
    pos_ += 5;
    auto int_arg = [&]() -> std::optional<std::int64_t> {
      skip();
      std::string d;
      if (peek() == '{') {
        ++pos_;
        skip();
        while (is_digit(peek())) d += s_[pos_++];
        skip();
        if (peek() != '}') return std::nullopt;
        ++pos_;
      } else if (is_digit(peek())) {
        d += s_[pos_++];
      }
      if (d.empty() || d.size() > 18) return std::nullopt;
      return std::stoll(d);
    };
    const auto a = int_arg();
    const auto b = a ? int_arg() : std::nullopt;
    if (!a || !b || *b == 0) {
      pos_ = save;
      return whole;
    }
    auto frac = make_rational(*a, *b);
    auto total = frac ? detail::add(*w.literal.exact, *frac) : std::nullopt;
    if (!total) return fail();
    out_.nodes[whole].literal = value::of(*total);
    return whole;
  }
};

}  // namespace detail

/// Parses `text` (already normalised by equivalence.hpp: no `$`, `\left`, `\text`) or nullopt.
inline std::optional<expression> parse(std::string_view text) { return detail::parser(text).run(); }

namespace detail {

inline value apply_function(function_id fn, const value& x, const value* base) {
  const double v = x.d;
  switch (fn) {
    case function_id::sin: return value::approx(std::sin(v));
    case function_id::cos: return value::approx(std::cos(v));
    case function_id::tan: return value::approx(std::tan(v));
    case function_id::cot: return value::approx(1.0 / std::tan(v));
    case function_id::sec: return value::approx(1.0 / std::cos(v));
    case function_id::csc: return value::approx(1.0 / std::sin(v));
    case function_id::asin: return value::approx(std::asin(v));
    case function_id::acos: return value::approx(std::acos(v));
    case function_id::atan: return value::approx(std::atan(v));
    case function_id::ln: return value::approx(std::log(v));
    case function_id::log: {
      // \log without a base is read as base 10 (the school convention; `\ln` is natural)
      const double b = base ? base->d : 10.0;
      const double r = std::log(v) / std::log(b);
      const double rounded = std::round(r);
      if (x.exact && base && base->exact && std::abs(r - rounded) < 1e-12 && std::abs(rounded) < 64) {
        // log_b x is an integer n exactly when b^n == x
        if (auto back = integer_power(*base->exact, static_cast<std::int64_t>(rounded));
            back && back->p == x.exact->p && back->q == x.exact->q)
          return value::of({static_cast<std::int64_t>(rounded), 1});
      }
      return value::approx(r);
    }
    case function_id::exp: return value::approx(std::exp(v));
    case function_id::abs:
      if (x.exact) return value::of({x.exact->p < 0 ? -x.exact->p : x.exact->p, x.exact->q});
      return value::approx(std::abs(v));
  }
  return value::approx(NAN);
}

inline value power_of(const value& b, const value& e) {
  if (b.exact && e.exact) {
    if (e.exact->q == 1 && magnitude(e.exact->p) <= 100000) {
      if (auto r = integer_power(*b.exact, static_cast<std::int64_t>(e.exact->p))) return value::of(*r);
    } else if (b.exact->p >= 0 && e.exact->q <= 64) {  // b^(p/q) = (q-th root of b)^p
      const auto n = static_cast<std::int64_t>(e.exact->q);
      auto num = integer_root(b.exact->p, n), den = integer_root(b.exact->q, n);
      if (num && den && magnitude(e.exact->p) <= 100000)
        if (auto r = integer_power({*num, *den}, static_cast<std::int64_t>(e.exact->p))) return value::of(*r);
    }
  }
  return value::approx(std::pow(b.d, e.d));
}

class evaluator {
 public:
  evaluator(const expression& e, const std::vector<double>& vars) : e_(e), vars_(vars) {}
  value at(std::uint32_t i) const {
    const node& n = e_.nodes[i];
    switch (n.kind) {
      case node_kind::number:
      case node_kind::constant: return n.literal;
      case node_kind::variable: return value::approx(vars_[n.variable]);
      case node_kind::sum: {
        value acc = value::of({0, 1});
        for (std::size_t k = 0; k < n.children.size(); ++k) {
          value v = at(n.children[k]);
          if (n.flags[k]) v = negate(v);
          acc.exact = acc.exact && v.exact ? add(*acc.exact, *v.exact) : std::nullopt;
          acc.d += v.d;
        }
        if (acc.exact) acc.d = value::of(*acc.exact).d;
        return acc;
      }
      case node_kind::product: {
        value acc = value::of({1, 1});
        for (std::size_t k = 0; k < n.children.size(); ++k) {
          value v = at(n.children[k]);
          if (n.flags[k]) {
            v.exact = v.exact ? inverse(*v.exact) : std::nullopt;
            v.d = 1.0 / v.d;
          }
          acc.exact = acc.exact && v.exact ? mul(*acc.exact, *v.exact) : std::nullopt;
          acc.d *= v.d;
        }
        if (acc.exact) acc.d = value::of(*acc.exact).d;
        return acc;
      }
      case node_kind::power: return power_of(at(n.children[0]), at(n.children[1]));
      case node_kind::root: {
        const value x = at(n.children[0]), deg = at(n.children[1]);
        if (deg.exact && deg.exact->q == 1 && deg.exact->p > 0) {
          if (auto inv = inverse(*deg.exact)) {
            if (x.d < 0 && (deg.exact->p & 1))  // odd roots of negatives: −(|x|^(1/n))
              return negate(power_of(negate(x), value::of(*inv)));
            return power_of(x, value::of(*inv));
          }
        }
        return value::approx(std::pow(x.d, 1.0 / deg.d));
      }
      case node_kind::function: {
        const value x = at(n.children[0]);
        if (n.children.size() > 1) {
          const value b = at(n.children[1]);
          return apply_function(n.fn, x, &b);
        }
        return apply_function(n.fn, x, nullptr);
      }
      case node_kind::factorial: {
        const value x = at(n.children[0]);
        if (!x.exact || x.exact->q != 1 || x.exact->p < 0 || x.exact->p > 170) return value::approx(NAN);
        rational r{1, 1};
        bool exact = true;
        double d = 1;
        for (integer k = 2; k <= x.exact->p; ++k) {
          d *= static_cast<double>(k);
          if (exact) {
            auto next = mul(r, {k, 1});
            exact = next.has_value();
            if (next) r = *next;
          }
        }
        return exact ? value::of(r) : value::approx(d);
      }
      case node_kind::binomial: {
        const value a = at(n.children[0]), b = at(n.children[1]);
        if (!a.exact || !b.exact || a.exact->q != 1 || b.exact->q != 1 || b.exact->p < 0 || a.exact->p < 0)
          return value::approx(NAN);
        if (b.exact->p > a.exact->p) return value::of({0, 1});
        rational r{1, 1};
        const integer k = std::min(b.exact->p, a.exact->p - b.exact->p);
        for (integer j = 1; j <= k; ++j) {
          auto next = mul(r, {a.exact->p - k + j, j});
          if (!next) return value::approx(std::exp(std::lgamma(double(a.exact->p) + 1) -
                                                   std::lgamma(double(b.exact->p) + 1) -
                                                   std::lgamma(double(a.exact->p - b.exact->p) + 1)));
          r = *next;
        }
        return value::of(r);
      }
    }
    return value::approx(NAN);
  }

 private:
  static value negate(value v) {
    if (v.exact) v.exact = rational{-v.exact->p, v.exact->q};
    v.d = -v.d;
    return v;
  }
  const expression& e_;
  const std::vector<double>& vars_;
};

}  // namespace detail

/// The value of `e` with its variables set to `vars` (in `e.variables` order).
inline value evaluate(const expression& e, const std::vector<double>& vars = {}) {
  return detail::evaluator(e, vars).at(e.root);
}

}  // namespace grpo::eval::expr
