// The two-script toy world (grpo/task/script.hpp): transliteration, step-wise mixing, the
// bilingual tokenizer, and the language-consistency reward over numerals, against values worked
// out by hand.
#include <catch2/catch.hpp>
#include <grpo/task/tasks.hpp>

#include <string>

using namespace grpo::task;

TEST_CASE("script: transliteration writes each ASCII digit in the other script", "[task][script]") {
  CHECK(transliterate("7+5=12, 4+8+1=13, 47+85=132", toy_digits) == "L+S=IZ, H+B+I=IE, HL+BS=IEZ");
  CHECK(transliterate("0123456789", toy_digits) == toy_digits.glyphs);
  CHECK(transliterate("no digits", toy_digits) == "no digits");
  CHECK(transliterate("L+S=IZ", ascii_digits) == "L+S=IZ");  // only ASCII digits are rewritten
  for (int d = 0; d < 10; ++d) {
    CHECK(toy_digits.digit_of(toy_digits.glyph(d)) == d);
    CHECK(ascii_digits.contains(static_cast<char32_t>('0' + d)));
    CHECK_FALSE(toy_digits.contains(static_cast<char32_t>('0' + d)));
  }
  CHECK(toy_digits.digit_of('a') == -1);
  CHECK_FALSE(toy_digits.contains(U'\u00d8'));  // a code point above ASCII is never a glyph
}

TEST_CASE("script: mixing rewrites whole steps, each with probability p", "[task][script]") {
  const std::string trace = "7+5=12, 4+8+1=13, 47+85=132";
  splitmix64 rng(3);
  CHECK(mix_scripts(trace, toy_digits, 0.0, rng) == trace);
  CHECK(mix_scripts(trace, toy_digits, 1.0, rng) == transliterate(trace, toy_digits));
  CHECK(mix_scripts("", toy_digits, 1.0, rng).empty());
  // every step is one script or the other, and over many draws about half are rewritten
  const char* steps_ascii[] = {"7+5=12", "4+8+1=13", "47+85=132"};
  int toy = 0, total = 0;
  for (int n = 0; n < 2000; ++n) {
    const std::string m = mix_scripts(trace, toy_digits, 0.5, rng);
    std::size_t from = 0;
    for (int s = 0; s < 3; ++s) {
      const auto at = m.find(", ", from);
      const std::string step = m.substr(from, at == std::string::npos ? std::string::npos : at - from);
      const bool is_ascii = step == steps_ascii[s];
      const bool is_toy = step == transliterate(steps_ascii[s], toy_digits);
      REQUIRE((is_ascii || is_toy));
      toy += is_toy;
      ++total;
      from = at + 2;
    }
  }
  // binomial(6000, 0.5): a 5-sigma band is ±194
  CHECK(std::abs(toy - total / 2) < 194);
}

TEST_CASE("script: the bilingual tokenizer has both scripts; bad scripts are errors naming the glyph",
          "[task][script]") {
  const auto tok = bilingual_tokenizer();
  CHECK(tok.vocab_size() == tokenizer::compact().vocab_size() + 10);
  const std::string text = "User: 47+85=?\nAssistant:<think>L+S=IZ, 4+8+1=13</think><answer>132</answer>";
  CHECK(tok.decode_or_throw(tok.encode_or_throw(text)) == text);
  // compact ids are unchanged, so a compact model's data reads the same
  CHECK(tok.encode_or_throw("47+85") == tokenizer::compact().encode_or_throw("47+85"));

  CHECK(validate(toy_digits).ok());
  CHECK(validate(numeral_script{"OIZEHSGLB"}).kind() == grpo::errc::bad_config);
  const auto dup = validate(numeral_script{"OIZEHSGLBO"});
  CHECK(dup.kind() == grpo::errc::bad_config);
  CHECK(dup.index() == 9);
  CHECK(validate(numeral_script{"OIZ HSGLBP"}).index() == 3);
  // a script whose glyph is already a letter of the compact alphabet
  CHECK_THROWS_WITH(bilingual_tokenizer(numeral_script{"OIZEHSGLBa"}), Catch::Contains("'a' appears twice"));
}

TEST_CASE("script: language consistency over numerals", "[task][script][reward]") {
  const auto r = numeral_consistency();
  problem p;
  p.reference = "12";
  auto on = [&](const std::string& text) { return r(grpo::reward::completion{text, 0, &p}); };
  CHECK(on("<think>7+5=12</think><answer>12</answer>") == 1.0);
  CHECK(on("<think>L+S=IZ</think><answer>12</answer>") == 0.0);
  CHECK(on("<think>7+5=12, L+S=IZ</think><answer>12</answer>") == 0.5);
  CHECK(on("<think>7+S=IZ</think>") == Approx(0.25));
  // letters of the template and operators are not numerals: "ten" has no glyph, "=" neither
  CHECK(on("<think>seven = L, 1</think>") == 0.5);
  CHECK(on("<think>no numerals</think><answer>12</answer>") == 0.0);  // nothing counted
  CHECK(on("<answer>12</answer>") == 0.0);                            // no chain of thought
  // the answer block is not part of the thought
  CHECK(on("<think>12</think><answer>IZ</answer>") == 1.0);
  // the other way round: consistency in the second script
  const auto toy = numeral_consistency(toy_digits, ascii_digits);
  CHECK(toy(grpo::reward::completion{"<think>7+S=IZ</think>", 0, &p}) == Approx(0.75));
}
