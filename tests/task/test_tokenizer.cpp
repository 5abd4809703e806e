#include <catch2/catch.hpp>
#include <grpo/task/tasks.hpp>

#include <string>
#include <vector>

using namespace grpo::task;

TEST_CASE("tokenizer: special tokens are one id each, fixed across alphabets",
          "[task][tokenizer]") {
  for (const auto& tok : {tokenizer::compact(), tokenizer::ascii()}) {
    const auto ids = tok.encode_or_throw("<think>1</think><answer>2</answer>");
    REQUIRE(ids.size() == 6);
    CHECK(ids[0] == think_open_token);
    CHECK(ids[2] == think_close_token);
    CHECK(ids[3] == answer_open_token);
    CHECK(ids[5] == answer_close_token);
    CHECK(tok.encode_or_throw("<eos><pad>") == std::vector<token_id>{eos_token, pad_token});
    CHECK(tok.token_text(think_open_token) == "<think>");
    CHECK(tokenizer::is_special(answer_close_token));
    CHECK_FALSE(tokenizer::is_special(ids[1]));
  }
  CHECK(tokenizer::compact().vocab_size() == 41);
  CHECK(tokenizer::ascii().vocab_size() == 6 + 95 + 1);
}

TEST_CASE("tokenizer: text round trip through encode and decode", "[task][tokenizer]") {
  const auto tok = tokenizer::compact();
  for (const std::string text :
       {"", "User: 47+85=?\nAssistant:<think>7+5=12, 4+8+1=13</think><answer>132</answer>",
        "reach 22 with 3 5 7", "(1+7)*4/2-3 = 13.5, 1,000?"}) {
    const auto ids = tok.encode_or_throw(text);
    CHECK(tok.decode_or_throw(ids) == text);
    for (auto id : ids) CHECK((id >= 0 && id < tok.vocab_size()));
  }
  // every character of the alphabet is one token and decodes to itself
  for (char c : tokenizer::compact_alphabet) {
    const auto ids = tok.encode_or_throw(std::string(1, c));
    REQUIRE(ids.size() == 1);
    CHECK(tok.token_text(ids[0]) == std::string(1, c));
  }
  // the full template fits the ASCII alphabet
  const auto ascii = tokenizer::ascii();
  const std::string prompt = r1_zero.render("12+3=?");
  CHECK(ascii.decode_or_throw(ascii.encode_or_throw(prompt)) == prompt);
}

TEST_CASE("tokenizer: pad and eos are dropped by default, rendered or stopped at on request",
          "[task][tokenizer]") {
  const auto tok = tokenizer::compact();
  auto ids = tok.encode_or_throw("12");
  ids.push_back(eos_token);
  const auto more = tok.encode_or_throw("34");
  ids.insert(ids.end(), more.begin(), more.end());
  ids.push_back(pad_token);
  CHECK(tok.decode_or_throw(ids) == "1234");
  CHECK(tok.decode_or_throw(ids, {.render_pad_eos = true}) == "12<eos>34<pad>");
  CHECK(tok.decode_or_throw(ids, {.stop_at_eos = true}) == "12");
}

TEST_CASE("tokenizer: unknown characters and ids are errors naming the position",
          "[task][tokenizer]") {
  const auto tok = tokenizer::compact();
  std::vector<token_id> ids = {7};
  auto s = tok.encode("12+x", ids);
  CHECK(s.kind() == grpo::errc::out_of_range);
  CHECK(s.input() == "text");
  CHECK(s.index() == 3);
  CHECK(s.detail().find("'x'") != std::string::npos);
  CHECK(ids == std::vector<token_id>{7});  // nothing appended
  s = tok.encode(std::string("1\xff"), ids);
  CHECK(s.index() == 1);
  CHECK(s.detail().find("0xFF") != std::string::npos);
  CHECK(tok.encode("<", ids).index() == 0);  // '<' alone is not in the compact alphabet
  std::string out = "keep";
  const std::vector<token_id> bad = {6, 41};
  s = tok.decode(bad, out);
  CHECK(s.input() == "ids");
  CHECK(s.index() == 1);
  CHECK(out == "keep");
  CHECK(tok.decode(std::vector<token_id>{-1}, out).index() == 0);
  CHECK_THROWS_AS(tok.encode_or_throw("Z"), grpo::error);
  tokenizer t;
  CHECK(tokenizer::make("abca", t).index() == 3);
  CHECK(tokenizer::make("", t).kind() == grpo::errc::shape_mismatch);
  CHECK(tokenizer::make(std::string("a\0", 2), t).index() == 1);
}

TEST_CASE("templates: full R1-Zero text and the compact variant", "[task][template]") {
  const auto full = r1_zero.render("2+2=?");
  CHECK(full.rfind("A conversation between User and Assistant.", 0) == 0);
  CHECK(full.find("<think> </think> and <answer> </answer>") != std::string::npos);
  CHECK(full.ends_with("User: 2+2=?. Assistant:"));
  CHECK(r1_zero_compact.render("2+2=?") == "User: 2+2=?\nAssistant:");
  // the compact template and every task prompt fit the compact alphabet
  const auto tok = tokenizer::compact();
  std::vector<token_id> ids;
  CHECK(tok.encode(r1_zero_compact.render("reach 22 with 3 5 7"), ids).ok());
  CHECK_FALSE(tok.encode(full, ids).ok());
}
