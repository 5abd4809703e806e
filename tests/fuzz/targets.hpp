#pragma once
// The fuzz targets: every parser and entry point that takes untrusted bytes or values. Each
// target is a function of a byte string that returns normally or aborts with a message
// (fuzz_require). The same functions run
//   - under libFuzzer (fuzz_main.cpp, clang, `make fuzz`: -fsanitize=fuzzer,address,undefined),
//   - in the Catch2 suite (replay.cpp) over the committed seed corpora and the regression
//     inputs, so every crash ever found stays a test in `make test` and `make check-sanitize`.
//
// Properties asserted beyond "no crash, no sanitizer report":
//   answer      extraction returns a substring of the text; a number's canonical form is a fixed
//               point of normalize_number; answers_match is reflexive and symmetric on non-empty
//               answers;
//   tokenizer   decode never fails on an in-range id and refuses an out-of-range one by index;
//               decode(encode(text)) == text whenever encode accepts the text;
//   checkpoint  parse_checkpoint accepts or refuses with corrupt_data (the header can be repaired
//               by the input's first byte so that the section decoder is reached); an accepted
//               checkpoint re-serialises to the very same bytes;
//   json        parse accepts or refuses with a message naming a byte offset within the text;
//   equivalence equivalent(a, a) holds for every answer that normalises to something; any pair of
//               byte strings is compared without a crash, a hang or unbounded memory, under every
//               option setting;
//   eval_records the JSONL scorer behind grpo-eval: every non-blank line is scored or, with
//               skip_bad, counted as skipped (never lost); without skip_bad an error names the
//               line it came from; every metric is in [0, 1];
//   objective   validated evaluate on random objectives and batches (shapes, masks, lengths,
//               NaN / ±Inf / huge values): either a named error (input and index in range), or a
//               finite loss, finite gradients, zero gradients outside the mask, and the same loss
//               and gradients as the unchecked pass bit for bit.
#include <grpo/eval/answer.hpp>
#include <grpo/eval/completions.hpp>
#include <grpo/eval/equivalence.hpp>
#include <grpo/exec/cpu.hpp>
#include <grpo/io/json.hpp>
#include <grpo/objective/presets.hpp>
#include <grpo/task/tokenizer.hpp>
#include <grpo/train/checkpoint.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace grpo_fuzz {

[[noreturn]] inline void fail(const char* target, const std::string& what) {
  std::fprintf(stderr, "fuzz target %s: property violated: %s\n", target, what.c_str());
  std::abort();
}
#define fuzz_require(cond, what)                 \
  do {                                           \
    if (!(cond)) ::grpo_fuzz::fail(kName, what); \
  } while (0)

/// Reads typed values off the input; exhausted input reads as zeros.
struct bytes {
  const std::uint8_t* p;
  std::size_t n, at = 0;
  std::uint8_t u8() { return at < n ? p[at++] : 0; }
  std::uint32_t u32() {
    std::uint32_t v = 0;
    for (int k = 0; k < 4; ++k) v |= std::uint32_t(u8()) << (8 * k);
    return v;
  }
  std::string_view rest() const { return {reinterpret_cast<const char*>(p + at), n - std::min(n, at)}; }
};

// ---- answer extraction and equivalence -------------------------------------------------------
inline void answer(const std::uint8_t* data, std::size_t size) {
  static constexpr const char* kName = "answer";
  const std::string_view all(reinterpret_cast<const char*>(data), size);
  // the input is "prediction \x01 reference" (no separator: both are the whole input)
  const auto cut = all.find('\x01');
  const std::string_view a = all.substr(0, cut), b = cut == all.npos ? all : all.substr(cut + 1);
  for (const auto mode : {grpo::eval::extraction::answer_block, grpo::eval::extraction::boxed,
                          grpo::eval::extraction::last_number, grpo::eval::extraction::answer_block_then_boxed}) {
    if (const auto got = grpo::eval::extract_answer(a, mode)) {
      const bool inside = got->data() >= a.data() && got->data() + got->size() <= a.data() + a.size();
      fuzz_require(inside || got->empty(), "extract_answer returned text outside its input");
    }
  }
  if (const auto c = grpo::eval::normalize_number(a)) {
    const auto again = grpo::eval::normalize_number(*c);
    fuzz_require(again && *again == *c, "normalize_number(" + std::string(a) + ") = " + *c + " is not a fixed point");
  }
  const bool ea = grpo::eval::trim(a).empty(), eb = grpo::eval::trim(b).empty();
  fuzz_require(grpo::eval::answers_match(a, a) == !ea, "answers_match is not reflexive");
  if (!ea && !eb)
    fuzz_require(grpo::eval::answers_match(a, b) == grpo::eval::answers_match(b, a), "answers_match is not symmetric");
  (void)grpo::eval::canonical_answer(a);
}

inline void equivalence(const std::uint8_t* data, std::size_t size) {
  static constexpr const char* kName = "equivalence";
  bytes in{data, size};
  // the first byte chooses the options, the rest is "reference \x01 prediction"
  const std::uint8_t how = in.u8();
  grpo::eval::equivalence_options opt;
  opt.percent = static_cast<grpo::eval::percent_reading>(how % 3);
  opt.degrees = static_cast<grpo::eval::degree_reading>((how / 3) % 3);
  opt.drop_units = (how & 16) == 0;
  opt.text_case_sensitive = (how & 32) != 0;
  const std::string_view all = in.rest();
  const auto cut = all.find('\x01');
  const std::string_view a = all.substr(0, cut), b = cut == all.npos ? all : all.substr(cut + 1);
  if (!grpo::eval::normalize_latex(a).empty())
    fuzz_require(grpo::eval::equivalent(a, a, opt), "equivalent is not reflexive on `" + std::string(a) + "`");
  (void)grpo::eval::equivalent(a, b, opt);
  (void)grpo::eval::equivalent(b, a, opt);
}

inline void eval_records(const std::uint8_t* data, std::size_t size) {
  static constexpr const char* kName = "eval_records";
  bytes in{data, size};
  const std::uint8_t how = in.u8();
  grpo::eval::completions_config cfg;
  cfg.skip_bad = how & 1;
  cfg.allow_missing = how & 2;
  cfg.pass_k = {1, 2};
  cfg.cons_k = {0, 2};
  cfg.bootstrap = how & 4 ? 20 : 0;
  if (how & 8) cfg.by_field = "level";
  cfg.extract = static_cast<grpo::eval::extraction>((how >> 4) % 4);
  grpo::eval::completions_scorer scorer(cfg);
  const std::string_view text = in.rest();
  std::uint64_t line_no = 0, nonblank = 0;
  std::size_t from = 0;
  while (from <= text.size()) {
    const auto nl = text.find('\n', from);
    const auto line = text.substr(from, nl == text.npos ? text.npos : nl - from);
    ++line_no;
    nonblank += !grpo::eval::trim(line).empty();
    const grpo::status s = scorer.add_line(line, line_no);
    if (!s.ok()) {
      fuzz_require(!cfg.skip_bad, "an error with skip_bad: " + s.message());
      fuzz_require(s.detail().rfind("line " + std::to_string(line_no) + ": ", 0) == 0, "the error names another line: " + s.detail());
      return;
    }
    if (nl == text.npos) break;
    from = nl + 1;
  }
  grpo::eval::completions_summary sum;
  const grpo::status s = scorer.summarize(sum);
  if (!s.ok()) {
    fuzz_require(s.kind() == grpo::errc::shape_mismatch || s.kind() == grpo::errc::out_of_range, s.message());
    return;
  }
  fuzz_require(sum.records + sum.skipped == nonblank, "a line was neither scored nor skipped");
  for (const auto& m : sum.all.metrics)
    fuzz_require(std::isnan(m.value) || (m.value >= 0 && m.value <= 1), m.name + " outside [0, 1]");
}

// ---- the tokenizer ---------------------------------------------------------------------------
inline void tokenizer(const std::uint8_t* data, std::size_t size) {
  static constexpr const char* kName = "tokenizer";
  static const grpo::task::tokenizer tok[2] = {grpo::task::tokenizer::compact(), grpo::task::tokenizer::ascii()};
  bytes in{data, size};
  const auto& t = tok[in.u8() & 1];
  const std::uint8_t how = in.u8();
  if (how & 1) {  // the rest as text: encode, then decode must give it back
    const std::string_view text = in.rest();
    std::vector<grpo::task::token_id> ids;
    const grpo::status s = t.encode(text, ids);
    if (s.ok()) {
      std::string back;
      fuzz_require(t.decode(ids, back, {.render_pad_eos = true}).ok(), "decode refused encode's ids");
      fuzz_require(back == text, "decode(encode(text)) != text");
    } else {
      fuzz_require(s.index() >= 0 && std::size_t(s.index()) < text.size(), "encode's error index out of range");
    }
    return;
  }
  // the rest as ids (int32 little-endian, reduced into [-8, vocab + 8) half the time)
  std::vector<grpo::task::token_id> ids;
  while (in.at + 4 <= in.n) {
    auto v = static_cast<std::int32_t>(in.u32());
    if (how & 2) v = static_cast<std::int32_t>(std::uint32_t(v) % std::uint32_t(t.vocab_size() + 16)) - 8;
    ids.push_back(v);
  }
  std::string out;
  const grpo::status s = t.decode(ids, out, {.render_pad_eos = bool(how & 4), .stop_at_eos = bool(how & 8)});
  bool in_range = true;
  for (const auto id : ids) in_range = in_range && id >= 0 && id < t.vocab_size();
  if (in_range) fuzz_require(s.ok(), "decode refused in-range ids: " + s.message());
  if (!s.ok()) fuzz_require(s.index() >= 0 && std::size_t(s.index()) < ids.size(), "decode's error index out of range");
}

// ---- checkpoints -----------------------------------------------------------------------------
inline void checkpoint(const std::uint8_t* data, std::size_t size) {
  static constexpr const char* kName = "checkpoint";
  if (size == 0) return;
  std::string file(reinterpret_cast<const char*>(data) + 1, size - 1);
  if ((data[0] & 1) && file.size() >= grpo::train::checkpoint_header_size) {
    // repair what a random input almost never gets right, so the section decoder is fuzzed too
    std::memcpy(file.data(), grpo::train::checkpoint_magic, 8);
    const std::uint32_t version = grpo::train::checkpoint_version, header = grpo::train::checkpoint_header_size;
    const std::uint64_t payload = file.size() - header;
    const std::uint64_t sum = grpo::train::fnv1a64(reinterpret_cast<const unsigned char*>(file.data()) + header, payload);
    std::memcpy(file.data() + 8, &version, 4);
    std::memcpy(file.data() + 12, &header, 4);
    std::memcpy(file.data() + 16, &payload, 8);
    if (data[0] & 2) {  // a small section count
      const std::uint64_t count = data[0] >> 2;
      std::memcpy(file.data() + 24, &count, 8);
    }
    std::memcpy(file.data() + 32, &sum, 8);
  }
  grpo::train::checkpoint c;
  const grpo::status s = grpo::train::parse_checkpoint(file, "fuzz", c);
  if (!s.ok()) {
    fuzz_require(s.kind() == grpo::errc::corrupt_data, "parse_checkpoint failed with " + s.message());
    return;
  }
  // accepted: the typed readers must not crash, and the bytes must round-trip
  std::vector<float> f;
  std::int64_t i = 0;
  std::mt19937_64 rng;
  grpo::optim::adamw_state st;
  for (const auto& [name, bytes] : c.sections()) {
    (void)c.get_array(name, f);
    (void)c.get_i64(name, i);
    (void)c.get_rng(name, rng);
  }
  (void)c.get_optimizer(st);
  const std::string tmp = std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") + "/grpo_fuzz_ckpt_" +
                          std::to_string(::getpid()) + ".bin";
  fuzz_require(grpo::train::save_checkpoint(tmp, c).ok(), "save_checkpoint failed");
  grpo::train::checkpoint d;
  fuzz_require(grpo::train::load_checkpoint(tmp, d).ok(), "load_checkpoint refused a saved checkpoint");
  std::remove(tmp.c_str());
  fuzz_require(d.sections() == c.sections(), "checkpoint sections changed across save and load");
}

// ---- JSON ------------------------------------------------------------------------------------
inline void json(const std::uint8_t* data, std::size_t size) {
  static constexpr const char* kName = "json";
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  grpo::json::value v;
  const grpo::status s = grpo::json::parse(text, v);
  if (!s.ok()) {
    fuzz_require(!s.message().empty(), "an error without a message");
    fuzz_require(s.index() >= -1 && s.index() <= grpo::index_t(text.size()), "error offset outside the text");
  }
}

// ---- validate + evaluate over random objectives and batches ----------------------------------
/// A value from one byte: the edge cases of a log-probability, or a random float from 4 more bytes.
inline float value_of(bytes& in) {
  const std::uint8_t b = in.u8();
  constexpr float inf = std::numeric_limits<float>::infinity();
  switch (b % 16) {
    case 0: return 0.0f;
    case 1: return -0.1f;
    case 2: return -1.0f;
    case 3: return -20.5f;
    case 4: return -88.0f;
    case 5: return -200.0f;
    case 6: return -1e30f;
    case 7: return std::numeric_limits<float>::quiet_NaN();
    case 8: return b & 16 ? inf : -inf;
    case 9: return std::numeric_limits<float>::denorm_min();
    case 10: return -std::numeric_limits<float>::max();
    case 11: return 3.0f;  // out of the log-prob domain
    default: {
      float f;
      const std::uint32_t u = in.u32();
      std::memcpy(&f, &u, 4);
      return f;
    }
  }
}

struct batch_data {
  grpo::index_t N = 1, T = 1;
  std::vector<float> logp, old, ref, adv, tadv, ent, sampler;
  std::vector<std::uint8_t> mask, truncated;
  std::vector<std::int32_t> lengths;
  std::uint8_t flags = 0;
  grpo::token_batch<float> view() const {
    grpo::token_batch<float> b;
    b.N = N;
    b.T = T;
    b.logp = logp.data();
    b.old = flags & 1 ? old.data() : nullptr;
    b.ref = ref.data();
    b.mask = flags & 2 ? mask.data() : nullptr;
    b.lengths = flags & 4 || !(flags & 2) ? lengths.data() : nullptr;
    if (flags & 8) b.token_advantages = tadv.data();
    else b.advantages = adv.data();
    b.entropy = ent.data();
    b.sampler_logp = sampler.data();
    b.truncated = truncated.data();
    return b;
  }
};

inline batch_data make_batch(bytes& in) {
  batch_data d;
  d.N = 1 + in.u8() % 6;
  d.T = 1 + in.u8() % 19;  // crosses the 8- and 16-wide lanes
  d.flags = in.u8();
  const auto nt = std::size_t(d.N * d.T);
  for (auto* v : {&d.logp, &d.old, &d.ref, &d.tadv, &d.ent, &d.sampler}) {
    v->resize(nt);
    for (auto& x : *v) x = value_of(in);
  }
  d.adv.resize(std::size_t(d.N));
  for (auto& x : d.adv) x = value_of(in);
  d.mask.resize(nt);
  for (auto& m : d.mask) {
    const std::uint8_t b = in.u8();
    m = b < 250 ? std::uint8_t(b & 1) : b;  // mostly 0/1, sometimes an invalid mask value
  }
  d.lengths.resize(std::size_t(d.N));
  for (auto& l : d.lengths) l = static_cast<std::int8_t>(in.u8()) % (d.T + 3);
  d.truncated.resize(std::size_t(d.N));
  for (auto& t : d.truncated) t = in.u8() & 1;
  return d;
}

template <class O>
void check_objective(const char* kName, const O& obj, const batch_data& d, std::uint8_t how) {
  const auto b = d.view();
  const auto nt = std::size_t(d.N * d.T);
  std::vector<float> g(nt, -7.0f), gu(nt, -7.0f);
  grpo::objective_result r, ru;
  const grpo::exec::serial ex{.vectorize = bool(how & 1)};
  const grpo::status s = grpo::evaluate(obj, b, grpo::gradient_out<float>{g.data()}, r, ex);
  if (!s.ok()) {
    fuzz_require(!s.message().empty() && !s.input().empty(), "an error that names no input");
    fuzz_require(s.index() >= -1 && s.index() < grpo::index_t(nt), "error index out of range: " + s.message());
    return;
  }
  fuzz_require(std::isfinite(r.loss), "validated evaluate returned a non-finite loss");
  for (std::size_t k = 0; k < nt; ++k) {
    fuzz_require(std::isfinite(g[k]), "non-finite dL/dlogp at flat index " + std::to_string(k));
    const auto i = grpo::index_t(k) / d.T, t = grpo::index_t(k) % d.T;
    if (!b.in(i, t)) fuzz_require(g[k] == 0.0f, "non-zero gradient outside the mask");
  }
  const grpo::status su = grpo::evaluate(grpo::unchecked, obj, b, grpo::gradient_out<float>{gu.data()}, ru, ex);
  fuzz_require(su.ok(), "unchecked refused what validated accepted: " + su.message());
  fuzz_require(std::memcmp(&r.loss, &ru.loss, sizeof(double)) == 0, "validated and unchecked losses differ");
  fuzz_require(std::memcmp(g.data(), gu.data(), nt * sizeof(float)) == 0, "validated and unchecked gradients differ");
}

inline void objective(const std::uint8_t* data, std::size_t size) {
  static constexpr const char* kName = "objective";
  bytes in{data, size};
  const std::uint8_t which = in.u8(), how = in.u8();
  const batch_data d = make_batch(in);
  namespace p = grpo::presets;
  namespace c = grpo::correction;
  switch (which % 12) {
    case 0: { auto o = p::trl::grpo(); o.beta = 0.04; check_objective(kName, o, d, how); break; }
    case 1: check_objective(kName, p::trl::dapo(), d, how); break;
    case 2: check_objective(kName, p::trl::cispo(5.0), d, how); break;
    case 3: check_objective(kName, p::trl::sapo(), d, how); break;
    case 4: check_objective(kName, p::verl::vanilla(), d, how); break;
    case 5: check_objective(kName, p::verl::gspo(), d, how); break;
    case 6: check_objective(kName, p::openrlhf::ppo<grpo::kl::k3>(0.01), d, how); break;
    case 7: check_objective(kName, p::trl::luspo(), d, how); break;
    case 8: {  // every correction on a token ratio with k3
      grpo::objective<grpo::ratio::token, grpo::surrogate::ppo_clip, grpo::kl::k3, grpo::aggregation::token_mean,
                      c::entropy_bonus, c::sampler_mismatch, c::truncated_mask, c::off_policy_mask>
          o;
      o.beta = 0.04;
      o.corrections.get<c::entropy_bonus>().coef = 0.01;
      check_objective(kName, o, d, how);
      break;
    }
    case 9: {  // top-entropy's batch quantile (a host prepare step)
      grpo::objective<grpo::ratio::token, grpo::surrogate::ppo_clip, grpo::kl::none, grpo::aggregation::seq_mean_token_mean,
                      c::top_entropy>
          o;
      check_objective(kName, o, d, how);
      break;
    }
    case 10: check_objective(kName, p::verl::geo_mean(), d, how); break;
    default: {
      grpo::objective<grpo::ratio::token, grpo::surrogate::dro, grpo::kl::k1, grpo::aggregation::seq_mean_token_sum> o;
      o.beta = 0.1;
      check_objective(kName, o, d, how);
      break;
    }
  }
}

#undef fuzz_require

}  // namespace grpo_fuzz
