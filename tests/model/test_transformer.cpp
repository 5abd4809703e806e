#include <catch2/catch.hpp>
#include <grpo/model/transformer.hpp>

#include "reference_transformer.hpp"

#include <grpo/optim/adamw.hpp>
#include <grpo/optim/clip.hpp>

#include <cmath>
#include <random>
#include <vector>

using grpo::index_t;
using grpo::model::sequence_batch;
using grpo::model::token_t;
using grpo::model::transformer;
using grpo::model::transformer_config;

static_assert(grpo::model::policy<transformer<float>>);
static_assert(grpo::model::policy<transformer<double>>);

namespace {

transformer_config tiny_config() {
  transformer_config c;
  c.vocab_size = 7;
  c.context = 9;
  c.d_model = 8;
  c.n_layers = 2;
  c.n_heads = 2;
  c.d_ff = 12;
  c.seed = 42;
  return c;
}

// Moves every parameter off its initial value (gains off 1, biases off 0) so no term vanishes.
template <class S>
void perturb(transformer<S>& m, std::uint64_t seed, double scale = 0.3) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-scale, scale);
  for (auto& p : m.parameters()) p += static_cast<S>(u(rng));
}

sequence_batch make_batch(std::uint64_t seed, index_t vocab) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> tok(0, static_cast<int>(vocab) - 1);
  sequence_batch b;
  const index_t shapes[][2] = {{2, 3}, {4, 1}, {1, 5}, {3, 4}};
  for (auto& s : shapes) {
    std::vector<token_t> p(static_cast<size_t>(s[0])), c(static_cast<size_t>(s[1]));
    for (auto& t : p) t = tok(rng);
    for (auto& t : c) t = tok(rng);
    b.add(p, c);
  }
  return b;
}

}  // namespace

TEST_CASE("transformer forward matches the float64 token-by-token reference", "[model][transformer]") {
  transformer<double> m(tiny_config());
  perturb(m, 7);
  const grpo_test::reference_transformer ref(m);
  const auto b = make_batch(3, 7);
  const index_t T = 6;  // wider than the longest completion: padding must read 0
  for (double tau : {1.0, 0.7, 1.9}) {
    std::vector<double> logp(static_cast<size_t>(b.size() * T), -99), ent(logp.size(), -99);
    REQUIRE(m.logprobs(b, tau, logp, ent).ok());
    for (index_t i = 0; i < b.size(); ++i) {
      std::vector<token_t> seq(b.sequence(i), b.sequence(i) + b.length(i));
      const auto z = ref.logits(seq);
      for (index_t t = 0; t < T; ++t) {
        const size_t at = static_cast<size_t>(i * T + t);
        if (t >= b.completion_length(i)) {
          CHECK(logp[at] == 0.0);
          CHECK(ent[at] == 0.0);
          continue;
        }
        const index_t pos = b.prompt_length(i) + t;
        const auto [lp, h] = grpo_test::reference_tempered(z[static_cast<size_t>(pos - 1)], seq[static_cast<size_t>(pos)], tau);
        CHECK(logp[at] == Approx(lp).epsilon(1e-12).margin(1e-12));
        CHECK(ent[at] == Approx(h).epsilon(1e-12).margin(1e-12));
      }
    }
  }
}

TEST_CASE("transformer float32 forward agrees with float64", "[model][transformer]") {
  transformer<double> md(tiny_config());
  perturb(md, 11);
  transformer<float> mf(tiny_config());
  for (size_t k = 0; k < md.parameters().size(); ++k) mf.parameters()[k] = static_cast<float>(md.parameters()[k]);
  const auto b = make_batch(5, 7);
  const index_t T = b.max_completion_length();
  std::vector<double> ld(static_cast<size_t>(b.size() * T));
  std::vector<float> lf(ld.size());
  REQUIRE(md.logprobs(b, 0.8, ld, {}).ok());
  REQUIRE(mf.logprobs(b, 0.8f, lf, {}).ok());
  for (size_t k = 0; k < ld.size(); ++k) CHECK(lf[k] == Approx(ld[k]).margin(2e-5));
}

TEST_CASE("transformer backward matches float64 finite differences in every block", "[model][transformer][gradcheck]") {
  transformer<double> m(tiny_config());
  perturb(m, 19);
  const auto b = make_batch(23, 7);
  const index_t T = 5;
  const double tau = 0.8;
  // L = Σ w·logp + Σ u·H with random weights: exercises both output paths
  std::mt19937_64 rng(29);
  std::normal_distribution<double> nd;
  std::vector<double> wl(static_cast<size_t>(b.size() * T)), wh(wl.size());
  for (auto& v : wl) v = nd(rng);
  for (auto& v : wh) v = nd(rng);
  auto loss = [&]() {
    std::vector<double> lp(wl.size()), h(wl.size());
    REQUIRE(m.logprobs(b, tau, lp, h).ok());
    double s = 0;
    for (size_t k = 0; k < lp.size(); ++k) s += wl[k] * lp[k] + wh[k] * h[k];
    return s;
  };
  m.zero_grad();
  loss();
  REQUIRE(m.backward(b, wl, wh).ok());
  const std::vector<double> grad(m.gradients().begin(), m.gradients().end());
  auto params = m.parameters();
  std::uniform_int_distribution<index_t> pick;
  for (const auto& blk : m.blocks()) {
    std::vector<index_t> idx{0, blk.size() - 1};
    for (int r = 0; r < 6; ++r) idx.push_back(pick(rng) % blk.size());
    for (index_t j : idx) {
      const size_t at = static_cast<size_t>(blk.offset + j);
      const double keep = params[at], h = 1e-5;
      params[at] = keep + h;
      const double up = loss();
      params[at] = keep - h;
      const double down = loss();
      params[at] = keep;
      const double fd = (up - down) / (2 * h);
      INFO(blk.name << "[" << j << "] analytic " << grad[at] << " fd " << fd);
      CHECK(grad[at] == Approx(fd).epsilon(1e-6).margin(1e-8));
    }
  }
}

TEST_CASE("transformer backward accumulates into the gradients", "[model][transformer]") {
  transformer<double> m(tiny_config());
  perturb(m, 31);
  const auto b = make_batch(37, 7);
  const index_t T = b.max_completion_length();
  std::vector<double> lp(static_cast<size_t>(b.size() * T)), g(lp.size(), 0.5);
  m.zero_grad();
  REQUIRE(m.logprobs(b, 1.0, lp, {}).ok());
  REQUIRE(m.backward(b, g, {}).ok());
  const std::vector<double> once(m.gradients().begin(), m.gradients().end());
  REQUIRE(m.backward(b, g, {}).ok());
  for (size_t k = 0; k < once.size(); ++k) CHECK(m.gradients()[k] == Approx(2 * once[k]).margin(1e-14));
}

TEST_CASE("transformer initialisation is reproducible from its seed", "[model][transformer]") {
  auto c = tiny_config();
  transformer<float> a(c), b(c);
  REQUIRE(a.num_parameters() == b.num_parameters());
  CHECK(std::equal(a.parameters().begin(), a.parameters().end(), b.parameters().begin()));
  c.seed = 43;
  transformer<float> other(c);
  CHECK_FALSE(std::equal(a.parameters().begin(), a.parameters().end(), other.parameters().begin()));
  // the draw is not just a constant: weights have roughly the configured spread
  double s2 = 0;
  const auto& wq = a.blocks()[4];  // h0.w_qkv
  REQUIRE(wq.name == "h0.w_qkv");
  for (index_t k = 0; k < wq.size(); ++k) s2 += std::pow(a.parameters()[static_cast<size_t>(wq.offset + k)], 2);
  CHECK(std::sqrt(s2 / double(wq.size())) == Approx(0.02).epsilon(0.3));
  // snapshot: same values, independent storage
  auto snap = a.snapshot();
  CHECK(std::equal(a.parameters().begin(), a.parameters().end(), snap.parameters().begin()));
  a.parameters()[0] += 1.0f;
  CHECK(snap.parameters()[0] != a.parameters()[0]);
}

TEMPLATE_TEST_CASE("KV-cached sampling records the same logp as the full forward", "[model][transformer][sampler]", float, double) {
  auto c = tiny_config();
  c.context = 12;
  transformer<TestType> m(c);
  perturb(m, 41, 0.5);
  std::vector<std::vector<token_t>> prompts{{1, 2, 3}, {4}, {5, 6, 0, 1, 2}};
  grpo::model::sampler_config sc;
  sc.temperature = 0.9;
  sc.max_new_tokens = 8;  // third prompt is capped by the context (12 − 5 = 7)
  sc.stop_token = 6;
  grpo::model::rng_type rng(5);
  grpo::model::rollout r;
  REQUIRE(m.sample(prompts, 3, sc, rng, r).ok());
  REQUIRE(r.size() == 9);
  REQUIRE(r.group_size == 3);
  for (index_t i = 0; i < r.size(); ++i) {
    CHECK(r.batch.prompt_length(i) == static_cast<index_t>(prompts[static_cast<size_t>(i / 3)].size()));
    CHECK(r.batch.length(i) <= c.context);
    const bool stopped = r.batch.sequence(i)[r.batch.length(i) - 1] == 6;
    CHECK(r.finished[static_cast<size_t>(i)] == (stopped ? 1 : 0));
    if (!stopped) CHECK(r.batch.completion_length(i) == std::min<index_t>(8, c.context - r.batch.prompt_length(i)));
  }
  std::vector<TestType> lp(static_cast<size_t>(r.size() * r.width));
  REQUIRE(m.logprobs(r.batch, TestType(0.9), lp, {}).ok());
  for (size_t k = 0; k < lp.size(); ++k) {
    CHECK(static_cast<double>(lp[k]) == Approx(r.old_logp[k]).margin(std::is_same_v<TestType, float> ? 2e-5 : 1e-6));
    CHECK((r.mask[k] != 0) == (k % static_cast<size_t>(r.width) < static_cast<size_t>(r.batch.completion_length(static_cast<index_t>(k) / r.width))));
  }
  // same seed, same rollout
  grpo::model::rng_type rng2(5);
  grpo::model::rollout r2;
  REQUIRE(m.sample(prompts, 3, sc, rng2, r2).ok());
  CHECK(r2.batch.tokens == r.batch.tokens);
  CHECK(r2.old_logp == r.old_logp);
}

TEST_CASE("transformer reports bad inputs", "[model][transformer][errors]") {
  transformer<float> m(tiny_config());
  auto b = make_batch(1, 7);
  const index_t T = b.max_completion_length();
  std::vector<float> lp(static_cast<size_t>(b.size() * T));
  CHECK(m.logprobs(b, 0.0f, lp, {}).kind() == grpo::errc::bad_config);
  std::vector<float> short_buf(static_cast<size_t>(b.size() * (T - 1)));
  CHECK(m.logprobs(b, 1.0f, short_buf, {}).kind() == grpo::errc::shape_mismatch);
  std::vector<float> odd(lp.size() + 1);
  CHECK(m.logprobs(b, 1.0f, odd, {}).input() == "logp");
  std::vector<float> ent_bad(lp.size() * 2);
  CHECK(m.logprobs(b, 1.0f, lp, ent_bad).kind() == grpo::errc::shape_mismatch);
  auto bad = b;
  bad.tokens[3] = 7;
  auto s = m.logprobs(bad, 1.0f, lp, {});
  CHECK(s.kind() == grpo::errc::out_of_range);
  CHECK(s.index() == 3);
  sequence_batch too_long;
  too_long.add(std::vector<token_t>(5, 1), std::vector<token_t>(5, 2));  // 10 > context 9
  std::vector<float> lp2(5);
  CHECK(m.logprobs(too_long, 1.0f, lp2, {}).kind() == grpo::errc::out_of_range);
  // backward needs its forward
  transformer<float> fresh(tiny_config());
  CHECK(fresh.backward(b, lp, {}).kind() == grpo::errc::shape_mismatch);
  // sampling: a prompt that fills the context, bad configs
  grpo::model::rng_type rng(1);
  grpo::model::rollout r;
  std::vector<std::vector<token_t>> full{std::vector<token_t>(9, 1)};
  CHECK(m.sample(full, 2, {}, rng, r).kind() == grpo::errc::out_of_range);
  std::vector<std::vector<token_t>> ok{{1}};
  CHECK(m.sample(ok, 0, {}, rng, r).kind() == grpo::errc::bad_config);
  grpo::model::sampler_config sc;
  sc.top_p = 0;
  CHECK(m.sample(ok, 2, sc, rng, r).input() == "top_p");
  std::vector<std::vector<token_t>> oov{{9}};
  CHECK(m.sample(oov, 2, {}, rng, r).kind() == grpo::errc::out_of_range);
  auto bad_cfg = tiny_config();
  bad_cfg.n_heads = 3;
  CHECK(grpo::model::validate(bad_cfg).input() == "n_heads");
  CHECK_THROWS_AS(transformer<float>(bad_cfg), grpo::error);
}

TEST_CASE("transformer + AdamW learns a copy task by teacher forcing", "[model][transformer][train]") {
  // prompt: 4 random letters and a separator; completion: the same 4 letters (needs attention)
  transformer_config c;
  c.vocab_size = 9;
  c.context = 10;
  c.d_model = 32;
  c.n_layers = 2;
  c.n_heads = 4;
  c.seed = 3;
  transformer<float> m(c);
  grpo::optim::adamw opt({.lr = 3e-3, .beta1 = 0.9, .beta2 = 0.99, .eps = 1e-8, .weight_decay = 0.0});
  grpo::model::rng_type rng(11);
  auto batch = [&] {
    sequence_batch b;
    for (int k = 0; k < 32; ++k) {
      std::vector<token_t> p(5), q(4);
      for (int j = 0; j < 4; ++j) p[static_cast<size_t>(j)] = q[static_cast<size_t>(j)] = static_cast<token_t>(rng() % 8);
      p[4] = 8;
      b.add(p, q);
    }
    return b;
  };
  auto step = [&](bool train) {
    const auto b = batch();
    std::vector<float> lp(static_cast<size_t>(b.size() * 4)), g(lp.size(), -1.0f / float(lp.size()));
    m.zero_grad();
    REQUIRE(m.logprobs(b, 1.0f, lp, {}).ok());
    double ce = 0;
    for (float v : lp) ce -= v / double(lp.size());
    if (train) {
      REQUIRE(m.backward(b, g, {}).ok());
      grpo::optim::clip_grad_norm(m.gradients(), 1.0);
      REQUIRE(opt.step(m.parameters(), m.gradients()).ok());
    }
    return ce;
  };
  const double before = step(false);
  CHECK(before == Approx(std::log(9.0)).epsilon(0.1));
  for (int s = 0; s < 300; ++s) step(true);
  const double after = step(false);
  INFO("cross-entropy " << before << " -> " << after);
  CHECK(after < 0.3 * before);
}
