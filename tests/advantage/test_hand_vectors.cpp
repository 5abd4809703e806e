// Hand-computed vectors for the edge cases of spec §1: equal rewards, a group of one, a NaN
// reward, a single nonzero reward, and one small worked example per estimator. The expected
// numbers are worked out in the comments, not produced by the library.
#include "check.hpp"

#include <grpo/advantage/advantage.hpp>

using namespace adv_test;

namespace {

test_batch scalar_batch(std::vector<float> r, index_t G) {
  test_batch b;
  b.rewards = std::move(r);
  b.N = index_t(b.rewards.size());
  b.fixed_G = G;
  for (index_t g = 0; g <= b.N / G; ++g) b.offsets.push_back(g * G);
  b.T = 1;
  b.lengths.assign(b.N, 1);
  return b;
}

}  // namespace

TEST_CASE("one nonzero reward in a group of four", "[advantage][hand]") {
  // r = {0,0,0,1}: mean 1/4; Bessel std = sqrt((3·(1/4)^2 + (3/4)^2)/3) = 1/2.
  const test_batch b = scalar_batch({0, 0, 0, 1}, 4);
  auto A = run(grpo::group_normalized{}, b);
  CHECK(A[3] == Approx(0.75 / (0.5 + 1e-6)));
  CHECK(A[0] == Approx(-0.25 / (0.5 + 1e-6)));
  // population std = sqrt(0.75/4)
  A = run(grpo::group_normalized{grpo::std_convention::population, 0.0}, b);
  CHECK(A[3] == Approx(0.75 / std::sqrt(0.1875)));
  A = run(grpo::mean_only{}, b);
  CHECK(A[3] == Approx(0.75));
  CHECK(A[1] == Approx(-0.25));
  // RLOO: 1 - mean(0,0,0) = 1; 0 - mean(0,0,1) = -1/3.
  A = run(grpo::rloo{}, b);
  CHECK(A[3] == Approx(1.0));
  CHECK(A[0] == Approx(-1.0 / 3.0));
  // pass@k: the best gets (1 - 0) / (1/2 + eps) = 2; the others 0.
  A = run(grpo::passk_grpo{}, b);
  CHECK(A[3] == Approx(1.0 / (0.5 + 1e-6)));
  CHECK(A[0] == 0.0f);
  CHECK(A[1] == 0.0f);
  CHECK(A[2] == 0.0f);
  // GPG: alpha = N / #nonzero = 4 / 1; A = 4·(r - 1/4).
  grpo::advantage_stats st;
  A = run(grpo::gpg{}, b, &st);
  CHECK(st.gpg_alpha == 4.0);
  CHECK(A[3] == Approx(3.0));
  CHECK(A[0] == Approx(-1.0));
}

TEST_CASE("all-equal groups get exactly 0 and are counted", "[advantage][hand]") {
  // Group 0 all equal, group 1 {1, 0}. Even with eps = 0 the equal group must not give 0/0.
  const test_batch b = scalar_batch({0.3f, 0.3f, 0.3f, 1, 0, 0}, 3);
  grpo::advantage_stats st;
  auto A = run(grpo::group_normalized{grpo::std_convention::bessel, 0.0}, b, &st);
  CHECK(A[0] == 0.0f);
  CHECK(A[1] == 0.0f);
  CHECK(A[2] == 0.0f);
  CHECK(st.zero_std_groups == 1);
  CHECK(st.num_groups == 2);
  CHECK(st.zero_std_fraction == 0.5);
  // group 1: mean 1/3, Bessel std sqrt((4/9 + 2/9)/2) = sqrt(1/3).
  CHECK(A[3] == Approx((2.0 / 3.0) / std::sqrt(1.0 / 3.0)));
  for (auto* name : {"rloo", "passk", "mean_only", "opo"}) {
    INFO(name);
    std::vector<float> B;
    if (std::string(name) == "rloo") B = run(grpo::rloo{}, b);
    if (std::string(name) == "passk") B = run(grpo::passk_grpo{}, b);
    if (std::string(name) == "mean_only") B = run(grpo::mean_only{}, b);
    if (std::string(name) == "opo") B = run(grpo::opo{}, b);
    CHECK(B[0] == 0.0f);
    CHECK(B[1] == 0.0f);
    CHECK(B[2] == 0.0f);
  }
}

TEST_CASE("a group of one follows verl (mean 0, std 1) or is refused", "[advantage][hand]") {
  const test_batch b = scalar_batch({2.5f, -1.0f}, 1);
  grpo::advantage_stats st;
  auto A = run(grpo::group_normalized{}, b, &st);
  CHECK(A[0] == Approx(2.5 / (1.0 + 1e-6)));
  CHECK(A[1] == Approx(-1.0 / (1.0 + 1e-6)));
  CHECK(st.zero_std_groups == 0);
  A = run(grpo::mean_only{}, b);
  CHECK(A[0] == 2.5f);
  A = run(grpo::opo{}, b);
  CHECK(A[1] == -1.0f);
  std::vector<float> out(2);
  CHECK(grpo::compute_advantages(grpo::rloo{}, b.view(), b.layout(), out.data(), st).kind() ==
        grpo::errc::group_too_small);
  CHECK(grpo::compute_advantages(grpo::passk_grpo{}, b.view(), b.layout(), out.data(), st).kind() ==
        grpo::errc::group_too_small);
}

TEST_CASE("a NaN reward is left out of the group statistics and gets 0", "[advantage][hand]") {
  // Known rewards {1, 0, 0}: mean 1/3, Bessel std sqrt(1/3).
  const test_batch b = scalar_batch({1, kNaN, 0, 0}, 4);
  grpo::advantage_stats st;
  auto A = run(grpo::group_normalized{grpo::std_convention::bessel, 0.0}, b, &st);
  CHECK(A[1] == 0.0f);
  CHECK(A[0] == Approx((2.0 / 3.0) / std::sqrt(1.0 / 3.0)));
  CHECK(A[2] == Approx((-1.0 / 3.0) / std::sqrt(1.0 / 3.0)));
  CHECK(st.nan_rewards == 1);
  // RLOO over the known members: 1 - 0 = 1, 0 - (1 + 0)/2 = -1/2.
  A = run(grpo::rloo{}, b);
  CHECK(A[0] == Approx(1.0));
  CHECK(A[2] == Approx(-0.5));
  CHECK(A[1] == 0.0f);
  // Only one known reward left: no comparison possible, the group is degenerate.
  const test_batch c = scalar_batch({kNaN, 1.0f, kNaN}, 3);
  A = run(grpo::group_normalized{}, c, &st);
  CHECK(A == std::vector<float>{0, 0, 0});
  CHECK(st.zero_std_groups == 1);
}

TEST_CASE("group mean with batch std (TRL scale_rewards=batch)", "[advantage][hand]") {
  // Groups {1, 0} and {1, 1}; the batch {1,0,1,1} has mean 3/4 and Bessel std 1/2.
  const test_batch b = scalar_batch({1, 0, 1, 1}, 2);
  grpo::advantage_stats st;
  const auto A = run(grpo::group_mean_batch_std{}, b, &st);
  CHECK(st.batch_std == Approx(0.5));
  CHECK(A[0] == Approx(0.5 / (0.5 + 1e-4)));
  CHECK(A[1] == Approx(-0.5 / (0.5 + 1e-4)));
  CHECK(A[2] == 0.0f);
  CHECK(st.zero_std_groups == 1);
}

TEST_CASE("OPO and ReMax worked examples", "[advantage][hand]") {
  // OPO: r = {1, 0}, T = {1, 3}: baseline (1·1 + 3·0)/4 = 1/4.
  test_batch b = scalar_batch({1, 0}, 2);
  b.T = 3;
  b.lengths = {1, 3};
  auto A = run(grpo::opo{}, b);
  CHECK(A[0] == Approx(0.75));
  CHECK(A[1] == Approx(-0.25));
  // ReMax: greedy rewards 0.5 for group 0, NaN (unknown) for group 1.
  test_batch c = scalar_batch({1, 0.5f, 1, 0}, 2);
  c.baseline = {0.5f, kNaN};
  A = run(grpo::remax{}, c);
  CHECK(A == std::vector<float>{0.5f, 0.0f, 0.0f, 0.0f});
}

TEST_CASE("REINFORCE++ worked example", "[advantage][hand]") {
  // One sequence of 3 tokens (T = 4), reward 1, k1 = old - ref = {0.2, 0.4, 0}, beta 0.5,
  // gamma 0.5: token rewards {-0.1, -0.2, 1}; returns G2 = 1, G1 = -0.2 + 0.5 = 0.3,
  // G0 = -0.1 + 0.15 = 0.05; whitening: mean 0.45, unbiased var 0.485/2.
  test_batch b = scalar_batch({1}, 1);
  b.T = 4;
  b.lengths = {3};
  b.logp_old = {-1.0f, -1.0f, -1.0f, 0.0f};
  b.logp_ref = {-1.2f, -1.4f, -1.0f, 0.0f};
  const auto A = run(grpo::reinforce_pp{0.5, 0.5, 1e-8}, b);
  const double sd = std::sqrt(0.485 / 2.0 + 1e-8);
  CHECK(A[0] == Approx((0.05 - 0.45) / sd).margin(1e-5));
  CHECK(A[1] == Approx((0.3 - 0.45) / sd).margin(1e-5));
  CHECK(A[2] == Approx((1.0 - 0.45) / sd).margin(1e-5));
  CHECK(A[3] == 0.0f);
}

TEST_CASE("REINFORCE++-baseline worked example", "[advantage][hand]") {
  // Groups {1, 0}, {1, 1}, one token each: centred {1/2, -1/2, 0, 0}; token mean 0, unbiased
  // var (1/4 + 1/4)/3 = 1/6. The all-equal group is shifted by the batch mean (here 0).
  const test_batch b = scalar_batch({1, 0, 1, 1}, 2);
  const auto A = run(grpo::reinforce_pp_baseline{}, b);
  const double sd = std::sqrt(1.0 / 6.0 + 1e-8);
  CHECK(A[0] == Approx(0.5 / sd));
  CHECK(A[1] == Approx(-0.5 / sd));
  CHECK(A[2] == 0.0f);
}

TEST_CASE("GDPO worked example", "[advantage][hand]") {
  // Two sequences, K = 2, w = {1, 1}: reward 0 is {1, 0} -> ±s, s = 0.5/(sqrt(1/2) + eps);
  // reward 1 is {0, 0}, degenerate -> 0. Sum {s, -s}; whitening: mean 0, Bessel std s·sqrt(2).
  test_batch b = scalar_batch({1, 0}, 2);
  b.K = 2;
  b.rewards = {1, 0, 0, 0};
  b.weights = {1, 1};
  const double s = 0.5 / (std::sqrt(0.5) + 1e-6);
  const auto A = run(grpo::gdpo{}, b);
  CHECK(A[0] == Approx(s / (s * std::sqrt(2.0) + 1e-6)));
  CHECK(A[1] == Approx(-s / (s * std::sqrt(2.0) + 1e-6)));
}

TEST_CASE("process supervision worked example", "[advantage][hand]") {
  // Group of two, T = 3. Sequence 0 (3 tokens): steps (end 0, r 1), (end 2, r 0). Sequence 1
  // (2 tokens): steps (end 1, r 1), (end 0, r 0), given out of order. Pooled {1,0,1,0}: mean
  // 1/2, Bessel std sqrt(1/3), so the normalised step rewards are ±q, q = 0.5/sqrt(1/3).
  test_batch b = scalar_batch({0, 0}, 2);
  b.T = 3;
  b.lengths = {3, 2};
  b.step_offsets = {0, 2, 4};
  b.step_end = {0, 2, 1, 0};
  b.step_reward = {1, 0, 1, 0};
  const double q = 0.5 / (std::sqrt(1.0 / 3.0) + 1e-6);
  const auto A = run(grpo::process_supervision{}, b);
  // seq 0: t0 sees both steps (q - q), t1 and t2 only the step ending at 2 (-q).
  CHECK(A[0] == Approx(0.0).margin(1e-6));
  CHECK(A[1] == Approx(-q));
  CHECK(A[2] == Approx(-q));
  // seq 1: t0 sees both steps (0), t1 the step ending at 1 (+q), t2 is padding.
  CHECK(A[3] == Approx(0.0).margin(1e-6));
  CHECK(A[4] == Approx(q));
  CHECK(A[5] == 0.0f);
}

TEST_CASE("several rewards: weighted sum, unknown entries skipped", "[advantage][hand]") {
  const float r[] = {1, 2, 0, kNaN, kNaN, kNaN};
  const float w[] = {2.0f, 0.5f};
  float R[3];
  REQUIRE(grpo::sum_then_normalize(r, 3, 2, w, R).ok());
  CHECK(R[0] == 3.0f);
  CHECK(R[1] == 0.0f);
  CHECK(std::isnan(R[2]));
  // compute_advantages combines them the same way before the estimator.
  test_batch b = scalar_batch({0, 0, 0}, 3);
  b.K = 2;
  b.rewards.assign(std::begin(r), std::end(r));
  b.weights.assign(std::begin(w), std::end(w));
  const auto A = run(grpo::mean_only{}, b);
  CHECK(A[0] == Approx(1.5));
  CHECK(A[1] == Approx(-1.5));
  CHECK(A[2] == 0.0f);
}

TEST_CASE("KL in the reward, fixed and adaptive beta", "[advantage][hand][kl]") {
  // k1 sums: sequence 0 (2 tokens) 0.1 + 0.3; sequence 1 (1 token) 0.2; padding ignored.
  float rewards[] = {1.0f, kNaN};
  const float old[] = {-1.0f, -1.0f, -1.0f, 5.0f};
  const float ref[] = {-1.1f, -1.3f, -1.2f, 0.0f};
  const std::int32_t len[] = {2, 1};
  double mean_kl = 0.0;
  REQUIRE(grpo::apply_kl_penalty(rewards, 2, old, ref, len, 2, 0.5, &mean_kl).ok());
  CHECK(rewards[0] == Approx(1.0 - 0.5 * 0.4));
  CHECK(std::isnan(rewards[1]));
  CHECK(mean_kl == Approx(0.3));

  grpo::adaptive_kl_controller c{0.1, 6.0, 10000.0};
  c.update(12.0, 1000);  // KL/target - 1 = 1, clipped to 0.2
  CHECK(c.beta == Approx(0.1 * (1.0 + 0.2 * 0.1)));
  c.beta = 0.1;
  c.update(5.7, 1000);  // -0.05
  CHECK(c.beta == Approx(0.1 * (1.0 - 0.05 * 0.1)));
  grpo::fixed_kl_controller f{0.001};
  f.update(100.0, 1000);
  CHECK(f.beta == 0.001);
}

TEST_CASE("Hana reflection prints every hyper-parameter", "[advantage][reflect]") {
  CHECK(grpo::describe(grpo::group_normalized{}) == "group_normalized{convention=bessel, eps=1e-06}");
  CHECK(grpo::describe(grpo::rloo{}) == "rloo{}");
  CHECK(grpo::describe(grpo::reinforce_pp{0.99, 0.01, 1e-8}) ==
        "reinforce_pp{gamma=0.99, beta=0.01, whiten_eps=1e-08}");
  CHECK(grpo::describe(grpo::passk_grpo{}) ==
        "passk_grpo{scale_by_std=true, convention=bessel, eps=1e-06}");
  int estimators = 0;
  boost::hana::for_each(grpo::advantage_estimator_types, [&](auto t) {
    using E = typename decltype(t)::type;
    CHECK(grpo::describe(E{}).rfind(E::name, 0) == 0);
    ++estimators;
  });
  CHECK(estimators == 12);
}

TEST_CASE("the first example of docs/advantage.md", "[advantage][docs]") {
  std::vector<float> rewards = {1, 0, 0, 1, 0.5f, 0.5f, 0.5f, NAN};  // N = 8, two groups of 4
  grpo::reward_view view;
  view.rewards = rewards.data();
  view.num_sequences = 8;
  std::vector<float> A(8);
  grpo::advantage_stats stats;
  grpo::status s = grpo::compute_advantages(grpo::group_normalized{grpo::std_convention::bessel, 1e-4},
                                            view, grpo::group_layout::fixed(8, 4), A.data(), stats);
  REQUIRE(s.ok());
  CHECK(stats.zero_std_groups == 1);
  CHECK(stats.nan_rewards == 1);
  // group 0: mean 1/2, Bessel std sqrt(1/3)
  CHECK(A[0] == Approx(0.5 / (std::sqrt(1.0 / 3.0) + 1e-4)));
  CHECK(A[7] == 0.0f);
  rewards[3] = INFINITY;
  CHECK(grpo::compute_advantages(grpo::group_normalized{}, view, grpo::group_layout::fixed(8, 4),
                                 A.data(), stats)
            .message()
            .rfind("non-finite value in `rewards` at index 3", 0) == 0);
}
