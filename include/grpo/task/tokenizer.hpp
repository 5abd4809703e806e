#pragma once
// A character-level tokenizer with six special tokens, each ONE id:
//   0 <pad>   1 <eos>   2 <think>   3 </think>   4 <answer>   5 </answer>
// followed by one id per character of an alphabet. `encode` reads the tag texts as their special
// token (as an LLM tokenizer does with added tokens) and every other byte as a character; a byte
// outside the alphabet is an error naming its position. `decode` renders the four reasoning tags
// as their text so the reward functors can parse it, and drops <pad>/<eos> unless asked.
//
// Two alphabets are provided:
//   compact(): 35 characters (41 ids in all) - digits, + - * / = ( ), space, newline, , . : ?
//              and the 12 letters the compact template and the task prompts need (A U a c e h i
//              n r s t w). For the tiny model: every id costs a row of the embedding and output.
//   ascii():   printable ASCII and newline (95 + 1 characters), needed by the full R1-Zero
//              template text.
#include <grpo/core/error.hpp>

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace grpo::task {

using token_id = std::int32_t;

/// The special token ids, the same in every alphabet.
enum special_token : token_id {
  pad_token = 0,
  eos_token = 1,
  think_open_token = 2,
  think_close_token = 3,
  answer_open_token = 4,
  answer_close_token = 5,
};
inline constexpr token_id num_special_tokens = 6;

inline constexpr std::array<std::string_view, num_special_tokens> special_token_text = {
    "<pad>", "<eos>", "<think>", "</think>", "<answer>", "</answer>"};

struct decode_options {
  bool render_pad_eos = false;  // write <pad>/<eos> as text instead of dropping them
  bool stop_at_eos = false;     // end the text at the first <eos>
};

class tokenizer {
 public:
  /// The alphabet used by the compact template and the procedural tasks (35 characters).
  static constexpr std::string_view compact_alphabet = "0123456789+-*/=() \n,.:?AUacehinrstw";

  /// A tokenizer over `alphabet` (each byte once; no NUL). Errors name the offending position.
  static status make(std::string_view alphabet, tokenizer& out) {
    tokenizer t;
    t.char_to_id_.fill(-1);
    if (alphabet.empty()) return {errc::shape_mismatch, "alphabet", -1, "empty alphabet"};
    for (std::size_t i = 0; i < alphabet.size(); ++i) {
      const auto c = static_cast<unsigned char>(alphabet[i]);
      if (c == 0) return {errc::out_of_range, "alphabet", static_cast<index_t>(i), "NUL character"};
      if (t.char_to_id_[c] >= 0)
        return {errc::bad_config, "alphabet", static_cast<index_t>(i),
                "character '" + std::string(1, alphabet[i]) + "' appears twice"};
      t.char_to_id_[c] = static_cast<token_id>(num_special_tokens + static_cast<token_id>(i));
    }
    t.alphabet_ = std::string(alphabet);
    out = std::move(t);
    return {};
  }

  static tokenizer compact() { return make_or_throw(compact_alphabet); }

  static tokenizer ascii() {
    std::string a;
    for (char c = ' '; c <= '~'; ++c) a += c;
    a += '\n';
    return make_or_throw(a);
  }

  static tokenizer make_or_throw(std::string_view alphabet) {
    tokenizer t;
    throw_if_error(make(alphabet, t));
    return t;
  }

  [[nodiscard]] index_t vocab_size() const noexcept {
    return num_special_tokens + static_cast<index_t>(alphabet_.size());
  }
  [[nodiscard]] std::string_view alphabet() const noexcept { return alphabet_; }
  [[nodiscard]] static bool is_special(token_id id) noexcept {
    return id >= 0 && id < num_special_tokens;
  }
  /// Whether the byte `c` has its own id.
  [[nodiscard]] bool has_char(char c) const noexcept {
    return char_to_id_[static_cast<unsigned char>(c)] >= 0;
  }
  /// The id of a character of the alphabet, or -1.
  [[nodiscard]] token_id char_id(char c) const noexcept {
    return char_to_id_[static_cast<unsigned char>(c)];
  }

  /// Appends the ids of `text` to `out`. On an unknown character nothing is appended and the
  /// status names the byte offset in `text`.
  status encode(std::string_view text, std::vector<token_id>& out) const {
    const auto start = out.size();
    std::size_t i = 0;
    while (i < text.size()) {
      token_id id = -1;
      std::size_t len = 1;
      if (text[i] == '<') {
        for (token_id s = 0; s < num_special_tokens; ++s) {
          if (text.substr(i, special_token_text[static_cast<std::size_t>(s)].size()) ==
              special_token_text[static_cast<std::size_t>(s)]) {
            id = s;
            len = special_token_text[static_cast<std::size_t>(s)].size();
            break;
          }
        }
      }
      if (id < 0) id = char_to_id_[static_cast<unsigned char>(text[i])];
      if (id < 0) {
        out.resize(start);
        const auto byte = static_cast<unsigned char>(text[i]);
        std::string shown =
            (byte >= 0x20 && byte < 0x7F) ? std::string("'") + text[i] + "'" : std::string("byte");
        static constexpr char hex[] = "0123456789ABCDEF";
        shown += " (0x";
        shown += hex[byte >> 4];
        shown += hex[byte & 15];
        shown += ")";
        return {errc::out_of_range, "text", static_cast<index_t>(i),
                "character " + shown + " is not in the tokenizer's alphabet"};
      }
      out.push_back(id);
      i += len;
    }
    return {};
  }

  [[nodiscard]] std::vector<token_id> encode_or_throw(std::string_view text) const {
    std::vector<token_id> ids;
    throw_if_error(encode(text, ids));
    return ids;
  }

  /// Appends the text of `ids` to `out`. An id outside [0, vocab_size) is an error naming its
  /// position (nothing is appended).
  status decode(std::span<const token_id> ids, std::string& out,
                decode_options options = {}) const {
    const auto start = out.size();
    for (std::size_t i = 0; i < ids.size(); ++i) {
      const token_id id = ids[i];
      if (id < 0 || id >= vocab_size()) {
        out.resize(start);
        return {errc::out_of_range, "ids", static_cast<index_t>(i),
                "token id " + std::to_string(id) + " outside [0, " + std::to_string(vocab_size()) +
                    ")"};
      }
      if (id == eos_token && options.stop_at_eos) break;
      if (is_special(id)) {
        if ((id == pad_token || id == eos_token) && !options.render_pad_eos) continue;
        out += special_token_text[static_cast<std::size_t>(id)];
      } else {
        out += alphabet_[static_cast<std::size_t>(id - num_special_tokens)];
      }
    }
    return {};
  }

  [[nodiscard]] std::string decode_or_throw(std::span<const token_id> ids,
                                            decode_options options = {}) const {
    std::string s;
    throw_if_error(decode(ids, s, options));
    return s;
  }

  /// The text of one id (a tag for specials); empty for an id outside the vocabulary.
  [[nodiscard]] std::string_view token_text(token_id id) const noexcept {
    if (id < 0 || id >= vocab_size()) return {};
    if (is_special(id)) return special_token_text[static_cast<std::size_t>(id)];
    return std::string_view(alphabet_).substr(static_cast<std::size_t>(id - num_special_tokens), 1);
  }

 private:
  std::string alphabet_;
  std::array<token_id, 256> char_to_id_{};
};

}  // namespace grpo::task
