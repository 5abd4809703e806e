// Every estimator, in float and in double, against its float64 reference on fresh random batches: fixed and ragged
// groups (sizes 1 to 64), continuous and binary rewards, NaN rewards, several reward functions.
#include "check.hpp"

#include <grpo/advantage/estimators.hpp>

using namespace adv_test;

namespace {

template <class E>
void compare_on_random_batches(const E& est, index_t min_G) {
  std::mt19937_64 rng(Catch::rngSeed() + 1234);
  for (int trial = 0; trial < 60; ++trial) {
    batch_options o;
    o.ragged = trial % 2 == 0;
    o.binary = trial % 3 == 0;
    o.min_G = trial % 5 == 0 ? 1 : 2;
    if (o.min_G < min_G) o.min_G = min_G;
    o.max_G = trial % 7 == 0 ? 64 : 8;
    o.num_groups = 1 + trial % 9;
    o.nan_prob = trial % 4 == 0 ? 0.0 : 0.1;
    o.K = trial % 6 == 5 ? 3 : 1;
    o.T = 1 + trial % 9;
    o.offset = trial % 10 == 9 ? 100.0 : 0.0;
    const test_batch b = random_batch(rng, o);
    INFO("trial " << trial << " N " << b.N << " P " << b.P() << " K " << b.K << " T " << b.T);
    grpo::advantage_stats st;
    const auto fast = run(est, b, &st);
    const auto want = adv_ref::reference(est, b);
    require_close(fast, want);
    adv_ref::combined_in_float() = false;  // the same code in double
    const auto want64 = adv_ref::reference(est, b);
    adv_ref::combined_in_float() = true;
    require_close(run64(est, b), want64, 1e-12);
    if constexpr (!std::is_same_v<E, grpo::gdpo> && !std::is_same_v<E, grpo::process_supervision>) {
      const auto R = adv_ref::combined_rewards(b);
      CHECK(st.zero_std_groups == adv_ref::zero_std_groups(R, b));
      index_t nan = 0;
      for (double r : R) nan += std::isnan(r) ? 1 : 0;
      CHECK(st.nan_rewards == nan);
      CHECK(st.num_groups == b.P());
      CHECK(st.zero_std_fraction == Approx(double(st.zero_std_groups) / double(b.P())));
    }
  }
}

}  // namespace

TEMPLATE_TEST_CASE("advantage estimators match their float64 reference", "[advantage][parity]",
                   grpo::group_normalized, grpo::mean_only, grpo::group_mean_batch_std,
                   grpo::rloo, grpo::reinforce_pp, grpo::reinforce_pp_baseline, grpo::remax,
                   grpo::opo, grpo::gpg, grpo::passk_grpo, grpo::gdpo,
                   grpo::process_supervision) {
  compare_on_random_batches(TestType{}, TestType::min_group_size);
}

TEST_CASE("hyper-parameter variants match the reference", "[advantage][parity]") {
  SECTION("population std, large eps") {
    compare_on_random_batches(grpo::group_normalized{grpo::std_convention::population, 0.1}, 1);
  }
  SECTION("TRL's eps and OpenRLHF's eps") {
    compare_on_random_batches(grpo::group_normalized{grpo::std_convention::bessel, 1e-4}, 1);
    compare_on_random_batches(grpo::group_normalized{grpo::std_convention::bessel, 1e-9}, 1);
  }
  SECTION("batch std with the population convention") {
    compare_on_random_batches(grpo::group_mean_batch_std{grpo::std_convention::population, 1e-6}, 1);
  }
  SECTION("REINFORCE++ with a KL penalty per token and a discount") {
    compare_on_random_batches(grpo::reinforce_pp{0.9, 0.05, 1e-8}, 1);
    compare_on_random_batches(grpo::reinforce_pp{0.0, 0.1, 1e-8}, 1);
  }
  SECTION("GPG divided by the group std") {
    compare_on_random_batches(grpo::gpg{true, grpo::std_convention::bessel, 1e-6}, 1);
  }
  SECTION("pass@k without the std") {
    compare_on_random_batches(grpo::passk_grpo{false, grpo::std_convention::bessel, 1e-6}, 2);
  }
  SECTION("GDPO and process supervision, population std") {
    compare_on_random_batches(grpo::gdpo{grpo::std_convention::population, 1e-4, 1e-4}, 1);
    compare_on_random_batches(grpo::process_supervision{grpo::std_convention::population, 1e-3}, 1);
  }
}

TEST_CASE("REINFORCE++-baseline without lengths weights every sequence once", "[advantage][parity]") {
  std::mt19937_64 rng(Catch::rngSeed() + 99);
  for (int trial = 0; trial < 20; ++trial) {
    const test_batch b = random_batch(rng, {});
    grpo::reward_view v = b.view();
    v.lengths = nullptr;
    std::vector<float> A(b.N);
    grpo::advantage_stats st;
    REQUIRE(grpo::compute_advantages(grpo::reinforce_pp_baseline{}, v, b.layout(), A.data(), st).ok());
    require_close(A, adv_ref::reinforce_pp_baseline_ref({}, b, false));
  }
}
