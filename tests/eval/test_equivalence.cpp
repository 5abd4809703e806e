// Math answer equivalence (grpo/eval/equivalence.hpp): the hand-judged corpora under
// equivalence/ (verdicts by a careful reader, and math-verify's on the same pairs), the
// conventions as options, and bad input (nesting, length, random bytes).
#include <catch2/catch.hpp>
#include <grpo/eval/equivalence.hpp>
#include <grpo/io/json.hpp>
#include <grpo/task/random.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

using grpo::eval::equivalence_options;
using grpo::eval::equivalent;

namespace {

struct corpus_score {
  int pairs = 0, ours = 0, math_verify = 0;
  std::vector<std::string> misses;
};

corpus_score score_corpus(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in.good());
  corpus_score s;
  std::string line;
  while (std::getline(in, line)) {
    grpo::json::value v;
    REQUIRE(grpo::json::parse(line, v).ok());
    if (!v.find("convention")->text.empty()) continue;  // judged separately, by option
    const bool careful = v.find("careful")->boolean;
    const auto* mv = v.find("math_verify");
    const bool mv_verdict = mv->is(grpo::json::kind::boolean) && mv->boolean;
    const bool got = equivalent(v.find("gold")->text, v.find("pred")->text);
    ++s.pairs;
    s.ours += got == careful;
    s.math_verify += mv_verdict == careful;
    if (got != careful) s.misses.push_back(v.find("id")->text + ": " + v.find("gold")->text + " vs " + v.find("pred")->text);
  }
  return s;
}

}  // namespace

// At least `min_pairs` pairs, ≥ 97% agreement with the careful verdicts, and more than math-verify.
static void check_corpus(const char* name, const std::string& path, int min_pairs) {
  const auto s = score_corpus(path);
  for (const auto& m : s.misses) UNSCOPED_INFO(m);
  const double ours = double(s.ours) / s.pairs, mv = double(s.math_verify) / s.pairs;
  std::printf("%s: %d pairs (not convention-dependent): grpo %.1f%%, math-verify %.1f%%\n", name, s.pairs,
              100 * ours, 100 * mv);
  CHECK(s.pairs >= min_pairs);
  CHECK(ours >= 0.97);
  CHECK(ours > mv);
}

TEST_CASE("equivalence: the development corpus, against careful verdicts and math-verify", "[eval][equivalence]") {
  check_corpus("equivalence corpus", GRPO_EVAL_CORPUS, 400);
}

TEST_CASE("equivalence: the held-out corpus, written after the checker without reading it", "[eval][equivalence]") {
  check_corpus("held-out corpus", GRPO_EVAL_HELDOUT, 250);
}

TEST_CASE("equivalence: forms of the same number", "[eval][equivalence]") {
  struct pair {
    const char *gold, *pred;
    bool same;
  };
  const pair pairs[] = {
      // separators, decimals, signs
      {"8000", "8,000", true}, {"8000", "8{,}000", true}, {"8000", "8\\,000", true}, {"8000", "8 000", true},
      {"1000000", "1,000,000", true}, {"800", "8,00", false}, {"29", "29.00", true}, {"0.5", ".5", true},
      {"0", "-0.0", true}, {"3", "+3", true}, {"-5", "\xE2\x88\x92" "5", true}, {"-5", "-(5)", true},
      // fractions, mixed numbers
      {"\\frac{1}{2}", "\\dfrac12", true}, {"\\frac34", "0.75", true}, {"-\\frac12", "\\frac{-1}{2}", true},
      {"\\frac{1}{3}", "0.333", false}, {"\\frac13", "0.3333333", false}, {"\\frac{5}{2}", "2\\frac{1}{2}", true},
      {"\\frac{5}{2}", "2 1/2", true}, {"-\\frac54", "-1\\frac14", true}, {"\\frac32", "2\\frac12", false},
      {"\\frac12", "{1 \\over 2}", true},
      // percent, scientific, repeating decimals
      {"50", "50\\%", true}, {"1500", "1.5e3", true}, {"0.0015", "1.5E-3", true},
      {"6.02\\times10^{23}", "6.02 \\cdot 10^{23}", true}, {"6.02\\times10^{23}", "6.02\\times10^{22}", false},
      {"\\frac13", "0.\\overline{3}", true}, {"\\frac17", "0.\\overline{142857}", true}, {"2", "1.\\overline{9}", true},
      {"\\frac16", "0.1\\dot{6}", true}, {"\\frac13", "0.333\\ldots", true}, {"0.3", "0.\\overline{3}", false},
      // radicals, pi, closeness
      {"\\sqrt{8}", "2\\sqrt2", true}, {"\\frac{\\sqrt2}{2}", "\\frac{1}{\\sqrt2}", true}, {"3", "\\sqrt[3]{27}", true},
      {"\\sqrt2", "1.414", false}, {"\\sqrt2", "1.41421356", false}, {"2\\pi", "6.283", false},
      {"\\frac{3\\pi}{4}", "3\\pi/4", true}, {"\\pi", "3.14", false}, {"1", "1.0000001", false}, {"0", "1e-12", false},
      {"0.3", "0.1+0.2", true}, {"123456789012345678901234567890", "123456789012345678901234567890", true},
      {"123456789012345678901234567890", "123456789012345678901234567891", false},
  };
  for (const auto& p : pairs) {
    INFO(p.gold << " vs " << p.pred);
    CHECK(equivalent(p.gold, p.pred) == p.same);
  }
}

TEST_CASE("equivalence: expressions, equations, structures, text", "[eval][equivalence]") {
  struct pair {
    const char *gold, *pred;
    bool same;
  };
  const pair pairs[] = {
      {"(x+1)^2", "x^2+2x+1", true}, {"x^2+1", "(x+1)^2", false}, {"e^{x}", "\\exp(x)", true},
      {"1", "\\sin^2 x + \\cos^2 x", true}, {"\\cos 2x", "\\cos^2 x - \\sin^2 x", true}, {"10", "\\binom{5}{2}", true},
      {"120", "5!", true}, {"ab", "ba", true}, {"|x|", "x", false}, {"3", "\\log_2 8", true},
      {"3", "x=3", true}, {"2x+1", "y = 2x+1", true}, {"-3", "x=3", false}, {"y=2x+1", "2x-y+1=0", true},
      {"x=3", "y=3", false}, {"6", "a+b=6", true}, {"(2,5)", "(a,b)=(2,5)", true},
      {"(1,2)", "\\left(1, 2\\right)", true}, {"(1,2)", "(2,1)", false}, {"(1,2)", "(1,2,3)", false},
      {"[1,2)", "[1,2]", false}, {"(-\\infty, 3]", "(-\\infty,3]", true}, {"(1,2)\\cup(3,4)", "(3,4)\\cup(1,2)", true},
      {"(3,\\infty)", "x>3", true}, {"[-2,5]", "-2 \\le x \\le 5", true}, {"(-\\infty,\\infty)", "\\mathbb{R}", true},
      {"\\{1,2\\}", "\\{2,1\\}", true}, {"1, 2", "2, 1", true}, {"\\{3\\}", "3", true}, {"\\{1,2\\}", "\\{1\\}", false},
      {"-2,3", "x=-2 \\text{ or } x=3", true}, {"\\pm 3", "3, -3", true}, {"\\emptyset", "\\varnothing", true},
      {"\\begin{pmatrix} 1 \\\\ -2 \\end{pmatrix}", "\\begin{pmatrix} \\frac{2}{2} \\\\ -2 \\end{pmatrix}", true},
      {"5", "5 \\text{ cm}", true}, {"36\\pi", "36\\pi \\text{ cm}^2", true}, {"5", "\\$5", true}, {"5", "6\\text{ cm}", false},
      {"B", "\\text{(B)}", true}, {"yes", "Yes", true}, {"yes", "no", false}, {"3", "\\text{three}", true},
      {"\\infty", "\\text{infinity}", true}, {"30", "30^\\circ", true}, {"30", "30\xC2\xB0", true}, {"0", "", false},
  };
  for (const auto& p : pairs) {
    INFO(p.gold << " vs " << p.pred);
    CHECK(equivalent(p.gold, p.pred) == p.same);
  }
}

TEST_CASE("equivalence: conventions are options with documented defaults", "[eval][equivalence]") {
  using grpo::eval::degree_reading;
  using grpo::eval::percent_reading;
  equivalence_options o;
  CHECK(equivalent("50", "50\\%", o));
  CHECK_FALSE(equivalent("0.5", "50\\%", o));
  o.percent = percent_reading::fraction;
  CHECK(equivalent("0.5", "50\\%", o));
  CHECK_FALSE(equivalent("50", "50\\%", o));
  o.percent = percent_reading::either;
  CHECK(equivalent("0.5", "50\\%", o));
  CHECK(equivalent("50", "50\\%", o));
  CHECK_FALSE(equivalent("5", "50\\%", o));

  equivalence_options d;
  CHECK(equivalent("30", "30^\\circ", d));
  CHECK_FALSE(equivalent("\\frac{\\pi}{6}", "30^\\circ", d));
  d.degrees = degree_reading::radians;
  CHECK(equivalent("\\frac{\\pi}{6}", "30^\\circ", d));
  d.degrees = degree_reading::either;
  CHECK(equivalent("\\frac{\\pi}{6}", "30^\\circ", d));
  CHECK(equivalent("30", "30^\\circ", d));

  equivalence_options u;
  CHECK(equivalent("5", "5\\text{ cm}", u));
  CHECK(equivalent("5\\text{ m}", "5\\text{ cm}", u));  // the unit is not compared by default
  CHECK_FALSE(equivalent("1\\text{ km}", "1000\\text{ m}", u));  // and never converted
  u.drop_units = false;
  CHECK_FALSE(equivalent("5", "5\\text{ cm}", u));

  equivalence_options t;
  CHECK(equivalent("east", "East", t));
  t.text_case_sensitive = true;
  CHECK_FALSE(equivalent("east", "East", t));
}

TEST_CASE("equivalence: bad input is answered quickly and never crashes", "[eval][equivalence][robust]") {
  const auto t0 = std::chrono::steady_clock::now();
  // deep nesting: past the parser's depth the answers compare as text
  const std::string deep = std::string(100000, '{') + "1" + std::string(100000, '}');
  CHECK(equivalent(deep, deep));
  CHECK_FALSE(equivalent("1", deep + "2"));
  const std::string parens = std::string(5000, '(') + "2" + std::string(5000, ')');
  CHECK_FALSE(equivalent("3", parens));
  // long answers: past max_answer_bytes they compare as text
  std::string big;
  for (int i = 0; i < 200000; ++i) big += "1+";
  big += "1";
  CHECK(equivalent(big, big));
  CHECK_FALSE(equivalent("200001", big));
  // a 10 MB answer
  const std::string huge(10u << 20, '7');
  CHECK_FALSE(equivalent("7", huge));
  CHECK(equivalent(huge, huge));
  // unbalanced, stray and invalid bytes
  for (const char* s : {"{", "}", "\\frac{", "\\frac{1}{", "\\sqrt[", "((", "))", "\\", "^", "_", "1^^2", "\\left(",
                        "\xff\xfe", "\\overline{", "0.\\overline{}", "x=", "=3", "\\{", "\\}", "1,,2", "\\pm", "<",
                        "x<", "\\begin{pmatrix", "2^{2^{2^{2^{2^{2}}}}}", "10^{100000}", "999999999999!",
                        "\\binom{100000}{50000}", "0^{-1}", "\\log_1 5"}) {
    INFO(s);
    CHECK(equivalent(s, s) == !grpo::eval::normalize_latex(s).empty());
    (void)equivalent("1", s);
    (void)equivalent(s, "1");
  }
  // random bytes over the characters answers are made of: reflexive, and no crash
  grpo::task::splitmix64 rng(7);
  const std::string alphabet = "0123456789+-*/^_{}()[],.=<>|!\\ xyzabcepi frac sqrt text left right pm cup ";
  for (int trial = 0; trial < 3000; ++trial) {
    std::string a, b;
    const auto n = rng.below(40), m = rng.below(40);
    for (std::uint64_t i = 0; i < n; ++i) a += alphabet[rng.below(alphabet.size())];
    for (std::uint64_t i = 0; i < m; ++i) b += alphabet[rng.below(alphabet.size())];
    INFO(a << " | " << b);
    if (!grpo::eval::normalize_latex(a).empty()) REQUIRE(equivalent(a, a));
    (void)equivalent(a, b);
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK(secs < 30);
}
