#pragma once
// Math answer equivalence: is a predicted final answer a correct statement of the reference?
//
// Three steps (docs/eval.md lists every rule with examples):
//   1. `normalize_latex`: one linear pass over the bytes that removes presentation — `$`,
//      `\left`/`\right`, spacing commands, `\text{}`-style wrappers, `\dfrac`/`\tfrac`, Unicode
//      minus, ×, π, √, ∞, thin spaces — and marks degree signs and percent signs.
//   2. `parse_answer`: the structure of the answer — a union of intervals, a set `\{…\}`, a
//      tuple or interval `(a, b]`, a bare list `1, 2`, an equation, or one expression — with
//      an assignment `x = 3` read as its value, thousands separators (`8,000`, `8\,000`) joined,
//      and trailing units and percent or degree signs taken off according to the options.
//   3. `equivalent`: compares the structures (sets and bare lists as unordered, tuples and
//      intervals in order with their brackets) and the expressions by value (expression.hpp):
//      exact rational arithmetic where it applies (so `0.333` is not `1/3`), relative 1e-12 for
//      irrational values, evaluation at seeded random points for expressions with variables.
//      What none of that reads (an unknown command, prose) is compared as normalised text.
//
// The conventions a careful grader would ask about are options with documented defaults
// (`equivalence_options`). Everything here reads untrusted bytes in time linear in the answer
// length (parsing stops at `max_answer_bytes`; longer answers compare as text).
#include <grpo/eval/answer.hpp>
#include <grpo/eval/expression.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace grpo::eval {

/// `50\%` against a reference.
enum class percent_reading {
  drop,      // the sign is a unit: 50% == 50 (default; MATH-style references write the number)
  fraction,  // 50% == 0.5
  either,    // accept both readings
};

/// `30^\circ` against a reference.
enum class degree_reading {
  drop,     // the sign is a unit: 30° == 30 (default)
  radians,  // 30° == π/6
  either,
};

struct equivalence_options {
  percent_reading percent = percent_reading::drop;
  degree_reading degrees = degree_reading::drop;
  /// Units after a number (`5\text{ cm}`, `5 cm`, `\$5`) are dropped; no conversion is done, so
  /// `1 km` is not `1000 m`, and `5 cm` equals `5 m` (the unit is not compared).
  bool drop_units = true;
  /// Text answers (`Yes`, `\text{east}`) compare without case.
  bool text_case_sensitive = false;
  /// Relative tolerance for values that are not exact rationals (`\sqrt 2`, `\pi`, > 64 bits).
  double tolerance = 1e-12;
  /// Relative tolerance for expressions with variables, evaluated at `points` seeded points.
  double symbolic_tolerance = 1e-9;
  int points = 6;
  /// Longer answers are compared as normalised text only.
  std::size_t max_answer_bytes = 4096;
};

namespace equivalence_detail {

inline constexpr char degree_mark = '\x01';
inline constexpr char percent_mark = '%';

inline bool letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
inline bool digit(char c) { return c >= '0' && c <= '9'; }
inline bool space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// Unicode that answers are written in, as the LaTeX it means.
struct unicode_entry {
  std::string_view utf8, latex;
};
inline constexpr unicode_entry unicode_table[] = {
    {"\xE2\x88\x92", "-"},          {"\xE2\x80\x93", "-"},          {"\xC3\x97", "\\times "},
    {"\xC2\xB7", "\\cdot "},        {"\xE2\x8B\x85", "\\cdot "},    {"\xC3\xB7", "\\div "},
    {"\xCF\x80", "\\pi "},          {"\xE2\x88\x9A", "\\sqrt"},     {"\xE2\x88\x9E", "\\infty "},
    {"\xC2\xB0", "\x01"},           {"\xE2\x80\x89", " "},          {"\xE2\x80\xAF", " "},
    {"\xC2\xA0", " "},              {"\xE2\x80\x8A", " "},          {"\xE2\x80\x88", " "},
    {"\xE2\x89\xA4", "\\le "},        {"\xE2\x89\xA5", "\\ge "},       {"\xE2\x89\xA0", "\\neq "},
    {"\xE2\x88\x85", "\\emptyset "}, {"\xE2\x88\xAA", "\\cup "},    {"\xE2\x80\x8B", ""},
};

// Commands that wrap text or style: their braces are dropped, their content kept.
inline bool is_wrapper(std::string_view w) {
  static constexpr std::string_view names[] = {"text",   "textbf", "textit",   "textrm", "textsf",  "texttt",
                                               "mathrm", "mathbf", "mathit",   "mathsf", "mbox",    "hbox",
                                               "boxed",  "fbox",   "operatorname", "mathbb", "emph", "textnormal"};
  for (auto n : names)
    if (n == w) return true;
  return false;
}
// Commands that only affect presentation: removed.
inline bool is_presentation(std::string_view w) {
  static constexpr std::string_view names[] = {"left", "right", "big",   "Big",   "bigl", "bigr",        "Bigl",
                                               "Bigr", "bigg",  "Bigg",  "biggl", "biggr", "displaystyle", "textstyle",
                                               "limits", "nolimits"};
  for (auto n : names)
    if (n == w) return true;
  return false;
}

// Commands written several ways, as the one form the parser reads.
inline std::optional<std::string_view> renamed_command(std::string_view w) {
  struct entry {
    std::string_view from, to;
  };
  static constexpr entry table[] = {{"dfrac", "\\frac"},     {"tfrac", "\\frac"}, {"cfrac", "\\frac"},
                                    {"circ", "\x01"},          {"degree", "\x01"},  {"quad", " "},
                                    {"qquad", " "},            {"varnothing", "\\emptyset"},
                                    {"neq", "\\neq"},           {"ne", "\\neq"}};
  for (const auto& e : table)
    if (e.from == w) return e.to;
  return std::nullopt;
}

}  // namespace equivalence_detail

/// The answer without its presentation (see the file comment). Linear in the input.
inline std::string normalize_latex(std::string_view in) {
  using namespace equivalence_detail;
  std::string out;
  out.reserve(in.size());
  std::vector<bool> wrapper_braces;  // for each open `{`: does it belong to a wrapper command?
  std::size_t i = 0;
  while (i < in.size()) {
    const char c = in[i];
    if (static_cast<unsigned char>(c) >= 0x80) {
      bool mapped = false;
      for (const auto& e : unicode_table)
        if (in.substr(i, e.utf8.size()) == e.utf8) {
          out += e.latex;
          i += e.utf8.size();
          mapped = true;
          break;
        }
      if (!mapped) out += in[i++];
      continue;
    }
    if (c == '$') {  // math delimiters (and `$5`: a currency sign, a unit)
      ++i;
      continue;
    }
    if (c == '&') {  // a matrix column break
      out += ',';
      ++i;
      continue;
    }
    if (c == '~') {
      out += ' ';
      ++i;
      continue;
    }
    if (c == '{') {
      if (in.substr(i, 3) == "{,}") {  // 8{,}000
        out += ',';
        i += 3;
        continue;
      }
      wrapper_braces.push_back(false);
      out += '{';
      ++i;
      continue;
    }
    if (c == '}') {
      const bool wrapped = !wrapper_braces.empty() && wrapper_braces.back();
      if (!wrapper_braces.empty()) wrapper_braces.pop_back();
      out += wrapped ? ' ' : '}';
      ++i;
      continue;
    }
    if (c == '^') {  // ^\circ, ^{\circ}, ^\degree: a degree sign
      std::size_t j = i + 1;
      while (j < in.size() && space(in[j])) ++j;
      for (std::string_view form : {"\\circ", "{\\circ}", "\\degree", "{\\degree}"}) {
        if (in.substr(j, form.size()) == form && (j + form.size() >= in.size() || !letter(in[j + form.size()]))) {
          out += degree_mark;
          i = j + form.size();
          goto next;
        }
      }
      out += '^';
      ++i;
      continue;
    }
    if (c == '\\') {
      if (i + 1 >= in.size()) {
        ++i;
        continue;
      }
      const char n = in[i + 1];
      if (!letter(n)) {
        // \, \; \: \  → a space; \! → nothing; \$ \% \{ \} kept (as $-less, %, braces of sets)
        if (n == ',' || n == ';' || n == ':' || n == ' ') out += ' ';
        else if (n == '\\') out += ',';  // a matrix row break
        else if (n == '%') out += percent_mark;
        else if (n == '$' || n == '!') {
        } else if (n == '{' || n == '}' || n == '|') out += in.substr(i, 2);
        else out += n;
        i += 2;
        continue;
      }
      std::size_t j = i + 1;
      while (j < in.size() && letter(in[j])) ++j;
      const std::string_view w = in.substr(i + 1, j - i - 1);
      if (is_presentation(w)) {
        i = j;
        if ((w == "left" || w == "right") && i < in.size() && in[i] == '.') ++i;  // \left. \right.
        continue;
      }
      if (const auto renamed = renamed_command(w)) {
        out += *renamed;
        i = j;
        continue;
      }
      if (w == "mathbb" && in.substr(j, 3) == "{R}") {  // the real line
        out += "(-\\infty,\\infty)";
        i = j + 3;
        continue;
      }
      if (w == "begin" || w == "end") {  // a matrix or vector: a tuple of its entries
        const auto close = in.find('}', j);
        const auto env = close == std::string_view::npos ? std::string_view{} : in.substr(j, close - j + 1);
        if (env.size() > 2 && env.front() == '{' && env.find("matrix") != std::string_view::npos) {
          out += w == "begin" ? '(' : ')';
          i = close + 1;
          continue;
        }
      }
      if (is_wrapper(w)) {
        std::size_t k = j;
        while (k < in.size() && space(in[k])) ++k;
        if (k < in.size() && in[k] == '{') {
          out += ' ';
          wrapper_braces.push_back(true);
          i = k + 1;
          continue;
        }
        i = j;  // a wrapper without braces wraps the next token: drop the command
        continue;
      }
      out += in.substr(i, j - i);
      i = j;
      continue;
    }
    out += c;
    ++i;
  next:;
  }
  // collapse whitespace, trim, drop a final full stop
  std::string tidy;
  tidy.reserve(out.size());
  for (char ch : out) {
    if (space(ch)) {
      if (!tidy.empty() && tidy.back() != ' ') tidy += ' ';
    } else {
      tidy += ch;
    }
  }
  while (!tidy.empty() && (tidy.back() == ' ' || tidy.back() == '.')) {
    // a trailing '.' after a digit is a decimal point (`3.`): dropping it keeps the value
    tidy.pop_back();
  }
  while (!tidy.empty() && tidy.front() == ' ') tidy.erase(tidy.begin());
  return tidy;
}

/// The structure of a normalised answer.
struct answer_structure {
  enum class kind : std::uint8_t {
    expression,  // `text` is one expression (possibly with a percent/degree mark taken off)
    text,        // words: compared as normalised text
    list,        // `1, 2` without brackets: unordered (the solutions of an equation)
    set,         // `\{1, 2\}`: unordered
    ordered,     // `(1, 2]`: a tuple or an interval, in order, with its brackets
    union_of,    // `(1,2) \cup (3,4)`: unordered parts
    equation,    // `lhs = rhs` that is not an assignment to one variable
  };
  kind what = kind::expression;
  std::string text;
  char open = 0, close = 0;  // ordered
  bool percent = false;      // a percent sign was taken off
  bool degree = false;       // a degree sign was taken off
  std::vector<answer_structure> parts;
};

namespace equivalence_detail {

// Positions of `sep` at bracket depth 0 (braces, parentheses, brackets; `\{` `\}` count).
// Intervals mix brackets — `[1, 2)` — so any opener matches any closer.
inline std::vector<std::size_t> split_points(std::string_view s, std::string_view sep) {
  std::vector<std::size_t> at;
  int depth = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '\\' && i + 1 < s.size() && (s[i + 1] == '{' || s[i + 1] == '}')) {
      depth += s[i + 1] == '{' ? 1 : -1;
      ++i;
      continue;
    }
    if (c == '(' || c == '[' || c == '{') ++depth;
    else if (c == ')' || c == ']' || c == '}') --depth;
    else if (depth == 0 && s.substr(i, sep.size()) == sep) {
      // `\cup` must not be the start of a longer command; `,` inside digits is handled earlier
      if (sep.front() == '\\' && i + sep.size() < s.size() && letter(s[i + sep.size()])) continue;
      at.push_back(i);
      i += sep.size() - 1;
    }
  }
  return at;
}

inline std::vector<std::string_view> split(std::string_view s, std::string_view sep) {
  std::vector<std::string_view> parts;
  std::size_t from = 0;
  for (auto p : split_points(s, sep)) {
    parts.push_back(trim(s.substr(from, p - from)));
    from = p + sep.size();
  }
  parts.push_back(trim(s.substr(from)));
  return parts;
}

// Whether the bracket opening at 0 closes at the last character.
inline bool enclosed(std::string_view s, std::size_t open_len, std::size_t close_len) {
  int depth = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '\\' && i + 1 < s.size() && (s[i + 1] == '{' || s[i + 1] == '}')) {
      depth += s[i + 1] == '{' ? 1 : -1;
      ++i;
    } else if (c == '(' || c == '[' || c == '{') {
      ++depth;
    } else if (c == ')' || c == ']' || c == '}') {
      --depth;
    } else {
      continue;
    }
    if (depth == 0) return i + 1 == s.size() && s.size() >= open_len + close_len;
  }
  return false;
}

// 8,000 / 8 000 / 12,345,678 -> digits only: groups of three after a first group of 1..3.
inline std::string join_digit_groups(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    if (!digit(s[i]) || (i > 0 && (digit(s[i - 1]) || s[i - 1] == '.' || letter(s[i - 1])))) {
      out += s[i++];
      continue;
    }
    std::size_t j = i;
    while (j < s.size() && digit(s[j])) ++j;
    const std::size_t head = j - i;
    std::size_t k = j;
    std::string joined(s.substr(i, head));
    std::size_t groups = 0;
    char sep = 0;
    while (head <= 3 && k + 3 < s.size() + 0 && (s[k] == ',' || s[k] == ' ') && (sep == 0 || s[k] == sep) &&
           digit(s[k + 1]) && digit(s[k + 2]) && digit(s[k + 3]) && (k + 4 >= s.size() || !digit(s[k + 4]))) {
      sep = s[k];
      joined.append(s.substr(k + 1, 3));
      k += 4;
      ++groups;
    }
    // a space-separated group of exactly one is ambiguous with `2 100` (a product); accept it
    // only when nothing but the number follows
    if (groups > 0 && !(sep == ' ' && groups == 1 && k < s.size() && s[k] == ' ')) {
      out += joined;
      i = k;
    } else {
      out.append(s.substr(i, head));
      i = j;
    }
  }
  return out;
}

inline bool is_unit_word(std::string_view w) {
  static constexpr std::string_view units[] = {
      "cm", "mm", "km", "m", "meter", "meters", "metre", "metres", "centimeters", "millimeters", "kilometers",
      "in", "inch", "inches", "ft", "foot", "feet", "yd", "yard", "yards", "mi", "mile", "miles",
      "g", "kg", "mg", "gram", "grams", "kilograms", "lb", "lbs", "pound", "pounds", "oz", "ounce", "ounces",
      "s", "sec", "second", "seconds", "min", "minute", "minutes", "h", "hr", "hrs", "hour", "hours",
      "day", "days", "week", "weeks", "month", "months", "year", "years",
      "l", "L", "ml", "mL", "liter", "liters", "litre", "litres", "gallon", "gallons",
      "dollar", "dollars", "cent", "cents", "euro", "euros", "unit", "units", "square", "sq", "cubic",
      "mph", "kmh", "people", "students", "times", "ways", "points", "items", "apples", "marbles", "books",
      "percent", "degree", "degrees", "radian", "radians"};
  for (auto u : units)
    if (u == w) return true;
  return false;
}

// Takes trailing unit words (and `^2`, `/`) off `s` when what stays is a number-like
// expression. Sets `degree`/`percent` when the word was `degrees`/`percent`.
inline std::string_view drop_units(std::string_view s, bool& degree, bool& percent) {
  std::string_view rest = s;
  bool dropped = false;
  while (true) {
    rest = trim(rest);
    std::size_t e = rest.size();
    // a trailing ^2 / ^3 of a unit (m^2, `\text{ cm}^2`)
    if (e >= 2 && rest[e - 2] == '^' && digit(rest[e - 1])) {
      e -= 2;
      while (e > 0 && rest[e - 1] == ' ') --e;
    }
    std::size_t b = e;
    while (b > 0 && letter(rest[b - 1])) --b;
    if (b == e) break;
    const auto word = rest.substr(b, e - b);
    if (!is_unit_word(word) || b == 0) break;
    const char before = rest[b - 1];
    if (!(before == ' ' || before == '/' || digit(before) || before == '}' || before == ')' ||
          before == degree_mark || before == percent_mark))
      break;
    if (word == "degree" || word == "degrees") degree = true;
    if (word == "percent") percent = true;
    rest = rest.substr(0, b);
    if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
    dropped = true;
  }
  if (!dropped) return s;
  // what stays must contain no letters of its own (else `2x m` would lose a variable);
  // commands (`36\pi`) are fine
  for (std::size_t i = 0; i < rest.size(); ++i) {
    if (rest[i] == '\\') {
      while (i + 1 < rest.size() && letter(rest[i + 1])) ++i;
      continue;
    }
    if (letter(rest[i])) return s;
  }
  return trim(rest);
}

// Whether `s` is words (prose), not an expression: no digits, no operators, and a word of two
// or more letters that is not a function name.
inline bool is_prose(std::string_view s) {
  bool long_word = false;
  std::size_t run = 0;
  std::size_t run_start = 0;
  for (std::size_t i = 0; i <= s.size(); ++i) {
    const char c = i < s.size() ? s[i] : ' ';
    if (letter(c)) {
      if (run == 0) run_start = i;
      ++run;
      continue;
    }
    if (run >= 2) {
      const bool command = run_start > 0 && s[run_start - 1] == '\\';
      const auto w = s.substr(run_start, run);
      // `ab` is a product; `no`, `or` are words
      static constexpr std::string_view two[] = {"no", "No", "NO", "or", "is", "an", "of", "to", "on", "at",
                                                 "by", "up", "it", "if", "be", "we", "so"};
      const bool word = run >= 3 || std::find(std::begin(two), std::end(two), w) != std::end(two);
      if (!command && word && !expr::detail::function_named(w)) long_word = true;
      if (command) return false;
    }
    run = 0;
    if (i < s.size() && (digit(c) || c == '\\' || c == '^' || c == '_' || c == '=' || c == '+' || c == '*' ||
                         c == '/' || c == '{' || c == '}'))
      return false;
  }
  return long_word;
}

inline bool is_variable_name(std::string_view s) {
  s = trim(s);
  if (s.empty()) return false;
  std::size_t i = 0;
  if (letter(s[0])) {
    i = 1;
  } else if (s[0] == '\\') {
    i = 1;
    while (i < s.size() && letter(s[i])) ++i;
    if (!expr::detail::is_greek(s.substr(1, i - 1))) return false;
  } else {
    return false;
  }
  if (i == s.size()) return true;
  if (s[i] != '_') return false;
  return i + 1 < s.size();  // x_1, a_{n}
}

// `x > 3` -> `(3,\infty)`, `-2 \le x \le 5` -> `[-2,5]`: an inequality in one variable as the
// interval it describes.
inline std::optional<std::string> inequality_interval(std::string_view s) {
  struct op {
    std::string_view text;
    bool less, strict;
  };
  static constexpr op ops[] = {{"\\leq", true, false}, {"\\le", true, false},  {"\\geq", false, false},
                               {"\\ge", false, false}, {"\\lt", true, true},   {"\\gt", false, true},
                               {"<=", true, false},     {">=", false, false},     {"<", true, true},
                               {">", false, true}};
  std::vector<std::string_view> sides;
  std::vector<op> found;
  std::size_t from = 0;
  int depth = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '(' || c == '[' || c == '{') ++depth;
    if (c == ')' || c == ']' || c == '}') --depth;
    if (depth != 0) continue;
    for (const auto& o : ops)
      if (s.substr(i, o.text.size()) == o.text &&
          (o.text[0] != '\\' || i + o.text.size() >= s.size() || !letter(s[i + o.text.size()]))) {
        sides.push_back(trim(s.substr(from, i - from)));
        found.push_back(o);
        i += o.text.size() - 1;
        from = i + 1;
        break;
      }
  }
  if (found.empty() || found.size() > 2) return std::nullopt;
  sides.push_back(trim(s.substr(from)));
  for (auto side : sides)
    if (side.empty()) return std::nullopt;
  auto bound = [](std::string_view v) { return std::string(v); };
  if (found.size() == 1) {
    op o = found[0];
    std::string_view value;
    if (is_variable_name(sides[0])) {
      value = sides[1];
    } else if (is_variable_name(sides[1])) {
      value = sides[0];
      o.less = !o.less;  // 3 < x is x > 3
    } else {
      return std::nullopt;
    }
    if (o.less) return "(-\\infty," + bound(value) + (o.strict ? ")" : "]");
    return (o.strict ? "(" : "[") + bound(value) + ",\\infty)";
  }
  if (!is_variable_name(sides[1]) || found[0].less != found[1].less) return std::nullopt;
  // a < x < b, or b > x > a
  const bool less = found[0].less;
  const auto lo = less ? sides[0] : sides[2], hi = less ? sides[2] : sides[0];
  const bool lo_strict = less ? found[0].strict : found[1].strict, hi_strict = less ? found[1].strict : found[0].strict;
  return (lo_strict ? "(" : "[") + bound(lo) + "," + bound(hi) + (hi_strict ? ")" : "]");
}

// Answers written as words: number words, "infinity", "no solution".
inline std::optional<std::string> word_meaning(std::string_view s) {
  std::string w;
  for (char c : trim(s)) w += (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c;
  static constexpr std::string_view numbers[] = {"zero", "one", "two", "three", "four", "five", "six",
                                                 "seven", "eight", "nine", "ten", "eleven", "twelve"};
  for (std::size_t i = 0; i < std::size(numbers); ++i)
    if (w == numbers[i]) return std::to_string(i);
  if (w == "infinity" || w == "infinite") return std::string("\\infty");
  if (w == "no solution" || w == "no solutions" || w == "none" || w == "empty set" || w == "the empty set")
    return std::string("\\emptyset");
  if (w == "does not exist" || w == "doesn't exist") return std::string("DNE");
  return std::nullopt;
}

}  // namespace equivalence_detail

/// The structure of a normalised answer (`normalize_latex` first). `depth` bounds the nesting of
/// brackets this reads (deeper answers are read as one expression or as text).
inline answer_structure parse_answer(std::string_view s, const equivalence_options& opt = {}, int depth = 0) {
  using namespace equivalence_detail;
  using kind = answer_structure::kind;
  answer_structure a;
  s = trim(s);
  if (depth > 8 || s.size() > opt.max_answer_bytes) {
    a.what = kind::text;
    a.text = std::string(s);
    return a;
  }
  auto parts_of = [&](const std::vector<std::string_view>& pieces) {
    for (auto p : pieces) a.parts.push_back(parse_answer(p, opt, depth + 1));
  };
  if (s == "\\emptyset" || s == "\\{\\}" || s == "\\{ \\}") {
    a.what = kind::set;
    return a;
  }
  if (auto u = split(s, "\\cup"); u.size() > 1) {
    a.what = kind::union_of;
    parts_of(u);
    return a;
  }
  if (s.size() >= 4 && s.substr(0, 2) == "\\{" && s.substr(s.size() - 2) == "\\}" && enclosed(s, 2, 2)) {
    a.what = kind::set;
    const auto inner = trim(s.substr(2, s.size() - 4));
    if (!inner.empty()) parts_of(split(inner, ","));
    return a;
  }
  if (s.size() >= 2 && (s.front() == '(' || s.front() == '[') && (s.back() == ')' || s.back() == ']') &&
      enclosed(s, 1, 1)) {
    const auto inner = s.substr(1, s.size() - 2);
    if (auto items = split(inner, ","); items.size() > 1) {
      a.what = kind::ordered;
      a.open = s.front();
      a.close = s.back();
      parts_of(items);
      return a;
    }
  }
  // bare lists: commas, semicolons, and "or" / "and" between answers (`x = 1 \text{ or } x = 2`)
  for (std::string_view sep : {",", ";", " or ", " and "})
    if (auto items = split(s, sep); items.size() > 1) {
      a.what = kind::list;
      parts_of(items);
      return a;
    }
  // a ± b: the two values
  if (auto pm = split_points(s, "\\pm"); pm.size() == 1) {
    const auto head = s.substr(0, pm[0]), tail = s.substr(pm[0] + 3);
    a.what = kind::list;
    a.parts.push_back(parse_answer(std::string(head) + "+" + std::string(tail), opt, depth + 1));
    a.parts.push_back(parse_answer(std::string(head) + "-" + std::string(tail), opt, depth + 1));
    return a;
  }
  if (auto interval = inequality_interval(s)) return parse_answer(*interval, opt, depth + 1);
  if (auto eq = split(s, "="); eq.size() == 2 && !eq[0].empty() && !eq[1].empty()) {
    a.what = kind::equation;
    parts_of(eq);
    return a;
  }
  // one expression: take off units and a trailing percent or degree sign
  std::string_view body = s;
  bool degree = false, percent = false;
  if (opt.drop_units) body = drop_units(body, degree, percent);
  while (!body.empty() && (body.back() == percent_mark || body.back() == degree_mark)) {
    (body.back() == percent_mark ? percent : degree) = true;
    body = trim(body.substr(0, body.size() - 1));
  }
  if (opt.drop_units) body = drop_units(body, degree, percent);
  a.percent = percent;
  a.degree = degree;
  a.text = std::string(body);
  a.what = is_prose(body) ? kind::text : kind::expression;
  if (a.what == kind::text)
    if (auto meaning = word_meaning(body)) return parse_answer(*meaning, opt, depth + 1);
  return a;
}

namespace equivalence_detail {

inline std::string text_key(std::string_view s, bool case_sensitive) {
  std::string k;
  for (char c : s) {
    if (space(c)) continue;
    k += (!case_sensitive && c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c;
  }
  // (A) -> a: a parenthesised choice letter
  if (k.size() == 3 && k[0] == '(' && k[2] == ')' && letter(k[1])) k = k.substr(1, 1);
  return k;
}

// 2 1/2 (a mixed number in plain text) -> 2\frac{1}{2}, which the expression parser reads.
inline std::string mixed_plain(std::string_view s) {
  std::size_t i = 0;
  std::string sign;
  if (i < s.size() && s[i] == '-') sign = "-", ++i;
  const std::size_t a = i;
  while (i < s.size() && digit(s[i])) ++i;
  if (i == a || i >= s.size() || s[i] != ' ') return std::string(s);
  const std::string whole(s.substr(a, i - a));
  ++i;
  const std::size_t b = i;
  while (i < s.size() && digit(s[i])) ++i;
  if (i == b || i >= s.size() || s[i] != '/') return std::string(s);
  const std::string num(s.substr(b, i - b));
  ++i;
  const std::size_t c = i;
  while (i < s.size() && digit(s[i])) ++i;
  if (i == c || i != s.size()) return std::string(s);
  return sign + whole + "\\frac{" + num + "}{" + std::string(s.substr(c)) + "}";
}

// A deterministic value in [0.5, 2.5) for variable `name` at point `k`.
inline double sample_point(std::string_view name, int k) {
  std::uint64_t h = 1469598103934665603ull;
  for (char c : name) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  h ^= static_cast<std::uint64_t>(k + 1) * 0x9E3779B97F4A7C15ull;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  const double magnitude = 0.5 + 2.0 * static_cast<double>(h >> 11) * 0x1.0p-53;
  // the first two points are positive (the domain of \sqrt x and \ln x); later ones may be
  // negative, so that |x| and x, or \sqrt{x^2} and x, differ
  return k >= 2 && (h & 1) ? -magnitude : magnitude;
}

inline bool close(double a, double b, double tol) {
  if (std::isnan(a) || std::isnan(b)) return false;
  if (std::isinf(a) || std::isinf(b)) return a == b;
  return std::abs(a - b) <= tol * std::max({1.0, std::abs(a), std::abs(b)});
}

inline bool same_rational(const expr::rational& a, const expr::rational& b) { return a.p == b.p && a.q == b.q; }

// The readings of an expression leaf: its value times 1, 1/100 (percent), π/180 (degrees).
inline std::vector<expr::value> scales(const answer_structure& a, const equivalence_options& opt) {
  std::vector<expr::value> out{expr::value::of({1, 1})};
  auto multiply = [](const std::vector<expr::value>& in, const expr::value& f, bool keep) {
    std::vector<expr::value> r;
    for (const auto& v : in) {
      if (keep) r.push_back(v);
      expr::value m;
      m.d = v.d * f.d;
      if (v.exact && f.exact) m.exact = expr::detail::mul(*v.exact, *f.exact);
      r.push_back(m);
    }
    return r;
  };
  if (a.percent && opt.percent != percent_reading::drop)
    out = multiply(out, expr::value::of({1, 100}), opt.percent == percent_reading::either);
  if (a.degree && opt.degrees != degree_reading::drop)
    out = multiply(out, expr::value::approx(3.14159265358979323846 / 180.0), opt.degrees == degree_reading::either);
  return out;
}

inline bool leaves_equal(const answer_structure& g, const answer_structure& p, const equivalence_options& opt) {
  using kind = answer_structure::kind;
  if (g.what == kind::text || p.what == kind::text)
    return text_key(g.text, opt.text_case_sensitive) == text_key(p.text, opt.text_case_sensitive);
  const auto gs = scales(g, opt), ps = scales(p, opt);
  auto is_one = [](const expr::value& v) { return v.exact && v.exact->p == 1 && v.exact->q == 1; };
  const bool unscaled = gs.size() == 1 && ps.size() == 1 && is_one(gs[0]) && is_one(ps[0]);
  // plain numbers compare by their canonical digits (exact past 64 bits)
  if (unscaled) {
    const auto gn = normalize_number(g.text), pn = normalize_number(p.text);
    if (gn && pn) return *gn == *pn;
  }
  const auto ge = expr::parse(mixed_plain(g.text)), pe = expr::parse(mixed_plain(p.text));
  if (!ge || !pe)
    return text_key(g.text, opt.text_case_sensitive) == text_key(p.text, opt.text_case_sensitive);
  // the union of the variables, by name
  std::vector<std::string> names = ge->variables;
  for (const auto& v : pe->variables)
    if (std::find(names.begin(), names.end(), v) == names.end()) names.push_back(v);
  auto values_for = [&](const expr::expression& e, int k) {
    std::vector<double> vals;
    for (const auto& v : e.variables) vals.push_back(sample_point(v, k));
    return vals;
  };
  for (const auto& gscale : gs)
    for (const auto& pscale : ps) {
      if (names.empty()) {
        auto gv = expr::evaluate(*ge), pv = expr::evaluate(*pe);
        expr::value a{gv.d * gscale.d, gv.exact && gscale.exact ? expr::detail::mul(*gv.exact, *gscale.exact) : std::nullopt};
        expr::value b{pv.d * pscale.d, pv.exact && pscale.exact ? expr::detail::mul(*pv.exact, *pscale.exact) : std::nullopt};
        if (a.exact && b.exact ? same_rational(*a.exact, *b.exact) : close(a.d, b.d, opt.tolerance)) return true;
        continue;
      }
      int valid = 0;
      bool all = true;
      for (int k = 0; k < opt.points && all; ++k) {
        const double a = expr::evaluate(*ge, values_for(*ge, k)).d * gscale.d;
        const double b = expr::evaluate(*pe, values_for(*pe, k)).d * pscale.d;
        if (!std::isfinite(a) || !std::isfinite(b)) continue;
        ++valid;
        all = close(a, b, opt.symbolic_tolerance);
      }
      if (all && valid >= (opt.points + 1) / 2) return true;
    }
  return false;
}

inline bool structures_equal(const answer_structure& g, const answer_structure& p, const equivalence_options& opt);

// Every part of `a` matches a distinct part of `b` and the reverse, after removing duplicates.
inline bool unordered_equal(const std::vector<answer_structure>& a, const std::vector<answer_structure>& b,
                            const equivalence_options& opt) {
  auto dedupe = [&](const std::vector<answer_structure>& v) {
    std::vector<const answer_structure*> u;
    for (const auto& x : v) {
      bool seen = false;
      for (auto* y : u) seen = seen || structures_equal(*y, x, opt);
      if (!seen) u.push_back(&x);
    }
    return u;
  };
  if (a.size() > 256 || b.size() > 256) return false;
  const auto ua = dedupe(a), ub = dedupe(b);
  if (ua.size() != ub.size()) return false;
  std::vector<bool> used(ub.size(), false);
  for (auto* x : ua) {
    bool found = false;
    for (std::size_t j = 0; j < ub.size() && !found; ++j)
      if (!used[j] && structures_equal(*x, *ub[j], opt)) used[j] = found = true;
    if (!found) return false;
  }
  return true;
}

inline bool ordered_equal(const std::vector<answer_structure>& a, const std::vector<answer_structure>& b,
                          const equivalence_options& opt) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (!structures_equal(a[i], b[i], opt)) return false;
  return true;
}

inline bool has_variables(const answer_structure& a) {
  if (a.what != answer_structure::kind::expression) return false;
  const auto e = expr::parse(a.text);
  return e && !e->variables.empty();
}

inline bool names_variables(const answer_structure& a) {
  using kind = answer_structure::kind;
  if (a.what == kind::expression) return is_variable_name(a.text);
  if (a.what != kind::ordered || a.open != '(') return false;
  for (const auto& p : a.parts)
    if (!names_variables(p)) return false;
  return true;
}

// The side of an equation that is its value: the right of `x = 3` or `(a, b) = (2, 5)`, the left
// of `3 = x`, the constant side of `a + b = 6`; else the equation itself (which then matches
// nothing but an equation).
inline const answer_structure& assigned_value(const answer_structure& eq) {
  const auto& l = eq.parts[0];
  const auto& r = eq.parts[1];
  if (names_variables(l)) return r;
  if (names_variables(r)) return l;
  const bool lv = has_variables(l), rv = has_variables(r);
  if (lv && !rv && r.what == answer_structure::kind::expression) return r;
  if (rv && !lv && l.what == answer_structure::kind::expression) return l;
  return eq;
}

// Two equations are the same when lhs − rhs of one is a non-zero multiple of the other's
// (`y = 2x + 1`, `2x - y + 1 = 0`, `2y = 4x + 2`), checked at the seeded points.
inline bool equations_equal(const answer_structure& g, const answer_structure& p, const equivalence_options& opt) {
  using kind = answer_structure::kind;
  for (const auto* e : {&g, &p})
    for (const auto& side : e->parts)
      if (side.what != kind::expression) {
        return (structures_equal(g.parts[0], p.parts[0], opt) && structures_equal(g.parts[1], p.parts[1], opt)) ||
               (structures_equal(g.parts[0], p.parts[1], opt) && structures_equal(g.parts[1], p.parts[0], opt));
      }
  const auto fg = expr::parse("(" + g.parts[0].text + ")-(" + g.parts[1].text + ")");
  const auto fp = expr::parse("(" + p.parts[0].text + ")-(" + p.parts[1].text + ")");
  if (!fg || !fp) return false;
  std::optional<double> ratio;
  int valid = 0;
  for (int k = 0; k < opt.points; ++k) {
    std::vector<double> vg, vp;
    for (const auto& v : fg->variables) vg.push_back(sample_point(v, k));
    for (const auto& v : fp->variables) vp.push_back(sample_point(v, k));
    const double a = expr::evaluate(*fg, vg).d, b = expr::evaluate(*fp, vp).d;
    if (!std::isfinite(a) || !std::isfinite(b)) continue;
    ++valid;
    const bool a0 = close(a, 0, opt.symbolic_tolerance), b0 = close(b, 0, opt.symbolic_tolerance);
    if (a0 != b0) return false;
    if (a0) continue;
    if (!ratio) ratio = b / a;
    else if (!close(b / a, *ratio, opt.symbolic_tolerance)) return false;
  }
  return valid >= (opt.points + 1) / 2;
}

inline bool structures_equal(const answer_structure& g, const answer_structure& p, const equivalence_options& opt) {
  using kind = answer_structure::kind;
  const bool g_leaf = g.what == kind::expression || g.what == kind::text;
  const bool p_leaf = p.what == kind::expression || p.what == kind::text;
  if (g_leaf && p_leaf) return leaves_equal(g, p, opt);
  // a one-element set against its element: {3} and 3
  if (g.what == kind::set && g.parts.size() == 1 && p_leaf) return structures_equal(g.parts[0], p, opt);
  if (p.what == kind::set && p.parts.size() == 1 && g_leaf) return structures_equal(g, p.parts[0], opt);
  const auto unordered = [](kind k) { return k == kind::set || k == kind::list; };
  if (unordered(g.what) && unordered(p.what)) return unordered_equal(g.parts, p.parts, opt);
  if (g.what == kind::ordered && p.what == kind::ordered)
    return g.open == p.open && g.close == p.close && ordered_equal(g.parts, p.parts, opt);
  // a tuple written without its parentheses (but a list of solutions is not a tuple)
  if (g.what == kind::ordered && g.open == '(' && g.close == ')' && p.what == kind::list)
    return ordered_equal(g.parts, p.parts, opt);
  if (g.what == kind::union_of && p.what == kind::union_of) return unordered_equal(g.parts, p.parts, opt);
  if (g.what == kind::equation && p.what == kind::equation) return equations_equal(g, p, opt);
  // `x = 3` against `3`: the value of an assignment (or the constant side of `a + b = 6`)
  if (g.what == kind::equation) {
    const auto& v = assigned_value(g);
    return &v != &g && structures_equal(v, p, opt);
  }
  if (p.what == kind::equation) {
    const auto& v = assigned_value(p);
    return &v != &p && structures_equal(g, v, opt);
  }
  return false;
}

}  // namespace equivalence_detail

/// Whether `predicted` is a correct statement of `reference` (see the file comment). An empty
/// prediction is never correct.
inline bool equivalent(std::string_view reference, std::string_view predicted, const equivalence_options& opt = {}) {
  const std::string g = normalize_latex(reference), p = normalize_latex(predicted);
  if (p.empty()) return false;
  if (g == p) return true;
  const std::string gj = equivalence_detail::join_digit_groups(g), pj = equivalence_detail::join_digit_groups(p);
  return equivalence_detail::structures_equal(parse_answer(gj, opt), parse_answer(pj, opt), opt);
}

}  // namespace grpo::eval
