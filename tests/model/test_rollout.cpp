// Rollouts without copies: a run of rows of a batch read through `sequence_view`, and the
// trainer's in-place rollout edits (`append_group`, `truncate_rollout`) against a rollout rebuilt
// from scratch by `finalize_rollout` from the same sequences.
#include <catch2/catch.hpp>
#include <grpo/model/policy.hpp>
#include <grpo/model/transformer.hpp>

#include <random>
#include <vector>

using grpo::index_t;
namespace gm = grpo::model;

namespace {

struct seq {
  std::vector<gm::token_t> prompt, completion;
  std::vector<float> logp;
  std::uint8_t finished;
};

std::vector<seq> random_sequences(std::uint64_t seed, index_t n, index_t max_completion, int vocab = 7) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> tok(0, vocab - 1), plen(1, 3), clen(0, static_cast<int>(max_completion));
  std::uniform_real_distribution<float> lp(-5.0f, 0.0f);
  std::vector<seq> out(static_cast<size_t>(n));
  for (auto& s : out) {
    s.prompt.resize(static_cast<size_t>(plen(rng)));
    s.completion.resize(static_cast<size_t>(clen(rng)));
    for (auto& t : s.prompt) t = tok(rng);
    for (auto& t : s.completion) t = tok(rng), s.logp.push_back(lp(rng));
    s.finished = static_cast<std::uint8_t>(rng() & 1);
  }
  return out;
}

// The reference: a rollout built from scratch.
gm::rollout build(const std::vector<seq>& ss, index_t G) {
  gm::rollout r;
  r.group_size = G;
  std::vector<std::vector<float>> lps;
  for (const auto& s : ss) {
    r.batch.add(s.prompt, s.completion);
    r.finished.push_back(s.finished);
    lps.push_back(s.logp);
  }
  gm::finalize_rollout(r, lps);
  return r;
}

void require_equal(const gm::rollout& a, const gm::rollout& b) {
  CHECK(a.group_size == b.group_size);
  CHECK(a.width == b.width);
  CHECK(a.batch.tokens == b.batch.tokens);
  CHECK(a.batch.offsets == b.batch.offsets);
  CHECK(a.batch.prompt_lengths == b.batch.prompt_lengths);
  CHECK(a.old_logp == b.old_logp);
  CHECK(a.mask == b.mask);
  CHECK(a.finished == b.finished);
}

}  // namespace

TEST_CASE("append_group: groups of several rollouts appended equal the rollout built from them",
          "[model][rollout]") {
  const index_t G = 3;
  for (std::uint64_t seed = 1; seed <= 40; ++seed) {
    std::mt19937_64 rng(seed);
    gm::rollout dst;
    std::vector<seq> kept;
    for (int round = 0; round < 3; ++round) {
      // rounds of different widths: the destination must widen (and sometimes not)
      const auto ss = random_sequences(seed * 10 + static_cast<std::uint64_t>(round), 4 * G,
                                       static_cast<index_t>(1 + rng() % 6));
      const auto src = build(ss, G);
      for (index_t g = 0; g < 4; ++g) {
        if (rng() % 3 == 0) continue;
        gm::append_group(dst, src, g);
        kept.insert(kept.end(), ss.begin() + g * G, ss.begin() + (g + 1) * G);
      }
    }
    if (kept.empty()) continue;
    INFO("seed " << seed);
    require_equal(dst, build(kept, G));
  }
}

TEST_CASE("truncate_rollout keeps the first n sequences, narrowed to their longest completion",
          "[model][rollout]") {
  for (std::uint64_t seed = 1; seed <= 40; ++seed) {
    const auto ss = random_sequences(seed, 12, 6);
    for (index_t n : {12, 9, 4, 1}) {
      auto r = build(ss, 2);
      gm::truncate_rollout(r, n);
      INFO("seed " << seed << " n " << n);
      require_equal(r, build(std::vector<seq>(ss.begin(), ss.begin() + n), 2));
    }
  }
}

TEST_CASE("sequence_view: a run of rows reads as the batch of those rows", "[model][rollout]") {
  const auto ss = random_sequences(5, 9, 5);
  const auto r = build(ss, 3);
  for (auto [r0, r1] : {std::pair<index_t, index_t>{0, 9}, {3, 6}, {6, 9}, {2, 3}, {4, 4}}) {
    const auto v = r.batch.rows(r0, r1);
    gm::sequence_batch copy;
    for (index_t i = r0; i < r1; ++i) copy.add(ss[static_cast<size_t>(i)].prompt, ss[static_cast<size_t>(i)].completion);
    REQUIRE(v.size() == copy.size());
    CHECK(v.num_tokens() == static_cast<index_t>(copy.tokens.size()));
    CHECK(v.max_completion_length() == copy.max_completion_length());
    CHECK(v.num_completion_tokens() == copy.num_completion_tokens());
    for (index_t i = 0; i < v.size(); ++i) {
      CHECK(v.offset(i) == copy.offsets[static_cast<size_t>(i)]);
      CHECK(v.prompt_length(i) == copy.prompt_length(i));
      CHECK(std::vector<gm::token_t>(v.sequence(i), v.sequence(i) + v.length(i)) ==
            std::vector<gm::token_t>(copy.sequence(i), copy.sequence(i) + copy.length(i)));
    }
    CHECK(gm::validate(v, 7).ok());
  }
}

TEST_CASE("sequence_view: the transformer's log-probs and gradient on a view equal those on a copy",
          "[model][rollout]") {
  const gm::transformer_config c{.vocab_size = 7, .context = 12, .d_model = 8, .n_layers = 1, .n_heads = 2, .d_ff = 12};
  gm::transformer<double> a(c), b(c);
  const auto ss = random_sequences(11, 8, 5);
  const auto r = build(ss, 2);
  const auto v = r.batch.rows(2, 6);
  gm::sequence_batch copy;
  for (index_t i = 2; i < 6; ++i) copy.add(ss[static_cast<size_t>(i)].prompt, ss[static_cast<size_t>(i)].completion);
  const index_t T = 5;
  std::vector<double> la(static_cast<size_t>(4 * T)), lb(la.size()), ea(la.size()), eb(la.size()), g(la.size());
  for (size_t k = 0; k < g.size(); ++k) g[k] = 0.1 * static_cast<double>(k % 7) - 0.3;
  REQUIRE(a.logprobs(v, 0.9, la, ea).ok());
  REQUIRE(b.logprobs(copy, 0.9, lb, eb).ok());
  CHECK(la == lb);
  CHECK(ea == eb);
  a.zero_grad();
  b.zero_grad();
  REQUIRE(a.backward(v, g, g).ok());
  REQUIRE(b.backward(copy, g, g).ok());
  const auto ga = a.gradients(), gb = b.gradients();
  CHECK(std::vector<double>(ga.begin(), ga.end()) == std::vector<double>(gb.begin(), gb.end()));
}

TEST_CASE("sequence_view: malformed views are refused with the input named", "[model][rollout]") {
  const auto r = build(random_sequences(2, 4, 3), 2);
  auto v = r.batch.view();
  v.offsets = v.offsets.first(3);  // N + 1 offsets needed
  CHECK(gm::validate(v, 7).input() == "batch.offsets");
  gm::sequence_batch bad = r.batch;
  bad.offsets[0] = 1;  // a batch's offsets start at 0
  CHECK(gm::validate(bad, 7).input() == "batch.offsets");
}
