#include <catch2/catch.hpp>
#include <grpo/model/adapter.hpp>

#include "gradcheck.hpp"

#include <random>
#include <vector>

namespace gm = grpo::model;

namespace {
// A user "model": a bigram logit table, z(row m) = table[tok_m].
struct bigram {
  int vocab;
  std::vector<double> table, grad;
};

auto make_bigram_policy(int vocab, std::uint64_t seed) {
  bigram m{vocab, std::vector<double>(size_t(vocab * vocab)), std::vector<double>(size_t(vocab * vocab), 0.0)};
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> nd;
  for (auto& t : m.table) t = nd(rng);
  return gm::make_policy_adapter(
      m, vocab, 6,
      [](bigram& net, gm::sequence_view b, double* z) {
        for (size_t k = 0; k < b.tokens.size(); ++k)
          for (int v = 0; v < net.vocab; ++v) z[k * size_t(net.vocab) + size_t(v)] = net.table[size_t(b.tokens[k] * net.vocab + v)];
      },
      [](bigram& net, gm::sequence_view b, const double* dz) {
        for (size_t k = 0; k < b.tokens.size(); ++k)
          for (int v = 0; v < net.vocab; ++v) net.grad[size_t(b.tokens[k] * net.vocab + v)] += dz[k * size_t(net.vocab) + size_t(v)];
      },
      [](bigram& net) { return std::span<double>(net.table); },
      [](bigram& net) { return std::span<double>(net.grad); });
}
}  // namespace

TEST_CASE("policy adapter: gradient through a user model matches finite differences", "[model][adapter][gradcheck]") {
  auto pol = make_bigram_policy(5, 1);
  static_assert(gm::policy<decltype(pol)>);
  gm::sequence_batch b;
  b.add(std::vector<gm::token_t>{0, 3}, std::vector<gm::token_t>{1, 4, 2});
  b.add(std::vector<gm::token_t>{2}, std::vector<gm::token_t>{2});
  const std::vector<double> wl{0.5, -1.0, 0.3, 0.0, 1.2, 0.0, 0.0, 0.0}, wh{0.2, 0.4, -0.6, 0.0, 0.9, 0.0, 0.0, 0.0};
  grpo_test::check_policy_gradient(pol, b, wl, wh, 0.9);
}

TEST_CASE("policy adapter: sampling records the logp the forward recomputes; snapshot is independent", "[model][adapter]") {
  auto pol = make_bigram_policy(6, 2);
  std::vector<std::vector<gm::token_t>> prompts{{1, 2}, {5}};
  gm::rng_type rng(3);
  gm::rollout r;
  REQUIRE(pol.sample(prompts, 4, {.temperature = 0.7, .top_k = 0, .top_p = 1.0, .max_new_tokens = 5, .stop_token = 0}, rng, r).ok());
  REQUIRE(r.size() == 8);
  std::vector<double> lp(static_cast<size_t>(r.size() * r.width));
  REQUIRE(pol.logprobs(r.batch, 0.7, lp, {}).ok());
  for (size_t k = 0; k < lp.size(); ++k) CHECK(lp[k] == Approx(r.old_logp[k]).margin(1e-6));
  for (grpo::index_t i = 0; i < r.size(); ++i) CHECK(r.batch.length(i) <= 6);  // max_length
  auto snap = pol.snapshot();
  pol.parameters()[0] += 1.0;
  CHECK(snap.parameters()[0] != pol.parameters()[0]);
  std::vector<std::vector<gm::token_t>> bad{{9}};
  CHECK(pol.sample(bad, 2, {}, rng, r).kind() == grpo::errc::out_of_range);
  gm::sequence_batch other;
  other.add(std::vector<gm::token_t>{1}, std::vector<gm::token_t>{2});
  std::vector<double> one(1);
  CHECK(pol.backward(other, one, {}).kind() == grpo::errc::shape_mismatch);
}
