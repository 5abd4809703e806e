// Properties that must hold whatever the implementation: permuting a group permutes its
// advantages, scale and shift invariances, RLOO's closed form.
#include "check.hpp"
#include "transform.hpp"

#include <grpo/advantage/estimators.hpp>

using namespace adv_test;

namespace {

/// A group whose steps hold a single reward uses mean 0, std 1 (like a group of one), which is
/// neither shift nor scale invariant; the invariance checks skip such batches.
bool has_single_step_pool(const test_batch& b) {
  for (index_t g = 0; g < b.P(); ++g)
    if (b.step_offsets[b.offsets[g + 1]] - b.step_offsets[b.offsets[g]] == 1) return true;
  return false;
}

batch_options continuous_groups_of_two_or_more() {
  batch_options o;
  o.min_G = 2;
  o.max_G = 12;
  o.num_groups = 5;
  o.nan_prob = 0.1;
  return o;
}

void require_near(const std::vector<float>& a, const std::vector<float>& b, double rel) {
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    INFO("index " << i << ": " << a[i] << " vs " << b[i]);
    REQUIRE(std::abs(double(a[i]) - double(b[i])) <=
            rel * std::max({std::abs(double(a[i])), std::abs(double(b[i])), 1.0}));
  }
}

}  // namespace

TEMPLATE_TEST_CASE("permuting the members of a group permutes their advantages",
                   "[advantage][property]", grpo::group_normalized, grpo::mean_only,
                   grpo::group_mean_batch_std, grpo::rloo, grpo::reinforce_pp,
                   grpo::reinforce_pp_baseline, grpo::remax, grpo::opo, grpo::gpg,
                   grpo::passk_grpo, grpo::gdpo, grpo::process_supervision) {
  std::mt19937_64 rng(Catch::rngSeed() + 7);
  for (int trial = 0; trial < 20; ++trial) {
    batch_options o = continuous_groups_of_two_or_more();
    o.K = trial % 2 ? 2 : 1;
    const test_batch b = random_batch(rng, o);
    const auto perm = random_within_group_permutation(b, rng);
    const auto A = run(TestType{}, b);
    const auto Ap = run(TestType{}, permuted(b, perm));
    const index_t W = TestType::token_level ? b.T : 1;
    std::vector<float> expected(A.size());
    for (index_t i = 0; i < b.N; ++i)
      for (index_t t = 0; t < W; ++t) expected[i * W + t] = A[perm[i] * W + t];
    // The batch-wide sums see the members in another order: equal up to rounding.
    require_near(Ap, expected, 1e-6);
  }
}

TEST_CASE("scaling the rewards by c > 0 leaves normalised advantages unchanged",
          "[advantage][property]") {
  std::mt19937_64 rng(Catch::rngSeed() + 8);
  using grpo::std_convention;
  for (int trial = 0; trial < 20; ++trial) {
    const test_batch b = random_batch(rng, continuous_groups_of_two_or_more());
    for (double c : {0.01, 3.7, 250.0}) {
      INFO("c = " << c);
      const test_batch s = map_rewards(b, [c](double r) { return c * r; });
      auto same = [&](const auto& est, double rel) { require_near(run(est, s), run(est, b), rel); };
      // eps = 0: exact invariance up to rounding.
      same(grpo::group_normalized{std_convention::bessel, 0.0}, 1e-5);
      same(grpo::group_normalized{std_convention::population, 0.0}, 1e-5);
      same(grpo::group_mean_batch_std{std_convention::bessel, 0.0}, 1e-5);
      same(grpo::passk_grpo{true, std_convention::bessel, 0.0}, 1e-5);
      same(grpo::gdpo{std_convention::bessel, 0.0, 0.0}, 1e-5);
      same(grpo::reinforce_pp_baseline{0.0}, 1e-5);
      same(grpo::reinforce_pp{0.9, 0.0, 0.0}, 1e-5);
      if (!has_single_step_pool(b)) same(grpo::process_supervision{std_convention::bessel, 0.0}, 1e-5);
      // With eps > 0: c(r - m)/(c·s + eps) = (r - m)/(s + eps/c), so scaling the rewards is
      // the same as dividing eps by c.
      require_near(run(grpo::group_normalized{std_convention::bessel, 1e-3}, s),
                   run(grpo::group_normalized{std_convention::bessel, 1e-3 / c}, b), 1e-5);
    }
  }
}

TEST_CASE("shifting the rewards leaves the centred advantages unchanged", "[advantage][property]") {
  std::mt19937_64 rng(Catch::rngSeed() + 9);
  for (int trial = 0; trial < 20; ++trial) {
    const test_batch b = random_batch(rng, continuous_groups_of_two_or_more());
    const test_batch s = map_rewards(b, [](double r) { return r + 5.0; });
    auto same = [&](const auto& est) { require_near(run(est, s), run(est, b), 1e-5); };
    same(grpo::mean_only{});
    same(grpo::group_normalized{});
    same(grpo::group_mean_batch_std{});
    same(grpo::rloo{});
    same(grpo::remax{});  // the greedy baseline shifts too
    same(grpo::opo{});
    same(grpo::passk_grpo{});
    same(grpo::reinforce_pp_baseline{});
    same(grpo::gdpo{});
    if (!has_single_step_pool(b)) same(grpo::process_supervision{});
  }
}

TEST_CASE("RLOO equals c/(c-1)·(r - mean) over the known rewards", "[advantage][property]") {
  std::mt19937_64 rng(Catch::rngSeed() + 10);
  for (int trial = 0; trial < 30; ++trial) {
    batch_options o = continuous_groups_of_two_or_more();
    o.ragged = trial % 2 == 0;
    o.nan_prob = trial % 3 == 0 ? 0.0 : 0.15;
    const test_batch b = random_batch(rng, o);
    const auto A = run(grpo::rloo{}, b);
    const auto M = run(grpo::mean_only{}, b);
    for (index_t g = 0; g < b.P(); ++g) {
      double c = 0;
      for (index_t i = b.offsets[g]; i < b.offsets[g + 1]; ++i) c += std::isnan(b.rewards[i]) ? 0 : 1;
      for (index_t i = b.offsets[g]; i < b.offsets[g + 1]; ++i) {
        const double expected = c >= 2 ? c / (c - 1) * M[i] : 0.0;
        CHECK(A[i] == Approx(expected).margin(1e-6));
      }
    }
  }
}

TEST_CASE("finite rewards give finite advantages, even huge ones", "[advantage][property]") {
  std::mt19937_64 rng(Catch::rngSeed() + 11);
  batch_options o;
  o.min_G = 1;
  const test_batch b = map_rewards(random_batch(rng, o), [](double r) { return r * 1e30; });
  auto finite = [&](const std::vector<float>& A) {
    for (float a : A) REQUIRE(std::isfinite(a));
  };
  finite(run(grpo::group_normalized{}, b));
  finite(run(grpo::group_mean_batch_std{}, b));
  finite(run(grpo::reinforce_pp_baseline{}, b));
  finite(run(grpo::reinforce_pp{}, b));
  finite(run(grpo::gdpo{}, b));
  finite(run(grpo::process_supervision{}, b));
}
