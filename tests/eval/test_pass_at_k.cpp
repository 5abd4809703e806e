#include "reference.hpp"

#include <catch2/catch.hpp>
#include <grpo/eval/metrics.hpp>

#include <cmath>
#include <cstdint>
#include <vector>

using grpo::eval::pass_at_k_or_throw;

TEST_CASE("pass@k: the spec's values for n = 64, c = 10", "[eval][pass_at_k]") {
  CHECK(pass_at_k_or_throw(64, 10, 1) == Approx(0.15625).margin(5e-6));
  CHECK(pass_at_k_or_throw(64, 10, 4) == Approx(0.50226).margin(5e-6));
  CHECK(pass_at_k_or_throw(64, 10, 8) == Approx(0.76493).margin(5e-6));
}

TEST_CASE("pass@k equals the probability over all k-subsets", "[eval][pass_at_k]") {
  for (int n = 1; n <= 12; ++n)
    for (int c = 0; c <= n; ++c)
      for (int k = 1; k <= n; ++k) {
        INFO("n=" << n << " c=" << c << " k=" << k);
        CHECK(pass_at_k_or_throw(n, c, k) ==
              Approx(grpo_test::pass_at_k_by_subsets(n, c, k)).epsilon(1e-12));
      }
}

TEST_CASE("pass@k: edge cases and the 1 - C(n-c,k)/C(n,k) form", "[eval][pass_at_k]") {
  CHECK(pass_at_k_or_throw(10, 0, 3) == 0.0);
  CHECK(pass_at_k_or_throw(10, 10, 3) == 1.0);
  CHECK(pass_at_k_or_throw(10, 8, 3) == 1.0);  // n - c = 2 < k: every 3-subset has a correct one
  CHECK(pass_at_k_or_throw(5, 2, 1) == Approx(0.4));
  // large n: compare with lgamma binomials
  const int n = 1000, c = 37, k = 50;
  const double log_ratio = std::lgamma(n - c + 1) - std::lgamma(n - c - k + 1) -
                           std::lgamma(n + 1) + std::lgamma(n - k + 1);
  CHECK(pass_at_k_or_throw(n, c, k) == Approx(1 - std::exp(log_ratio)).epsilon(1e-9));
}

TEST_CASE("pass@k: invalid n, c, k are errors naming the input", "[eval][pass_at_k]") {
  double v = 0;
  CHECK(grpo::eval::pass_at_k(0, 0, 1, v).input() == "n");
  CHECK(grpo::eval::pass_at_k(4, 5, 1, v).input() == "c");
  CHECK(grpo::eval::pass_at_k(4, -1, 1, v).input() == "c");
  CHECK(grpo::eval::pass_at_k(4, 1, 0, v).input() == "k");
  CHECK(grpo::eval::pass_at_k(4, 1, 5, v).input() == "k");
  CHECK_THROWS_AS(pass_at_k_or_throw(4, 1, 5), grpo::error);
}

TEST_CASE("pass@1 is the mean correctness per problem, averaged over problems", "[eval][pass1]") {
  // problem 0: 3 of 4 right; problem 1: 0 of 4; problem 2: 4 of 4
  const std::vector<std::uint8_t> correct = {1, 1, 0, 1, 0, 0, 0, 0, 1, 1, 1, 1};
  double p1 = 0;
  REQUIRE(grpo::eval::pass1_mean(correct, grpo::group_layout::fixed(12, 4), p1).ok());
  CHECK(p1 == Approx((0.75 + 0 + 1) / 3));
  double p2 = 0;
  REQUIRE(grpo::eval::mean_pass_at_k(correct, grpo::group_layout::fixed(12, 4), 2, p2).ok());
  CHECK(p2 == Approx((1.0 + 0 + 1) / 3));
  // ragged: problem sizes 2 and 3, equal weight per problem
  const grpo::index_t offsets[] = {0, 2, 5};
  const std::vector<std::uint8_t> c2 = {1, 0, 1, 1, 1};
  REQUIRE(grpo::eval::pass1_mean(c2, grpo::group_layout::ragged(5, 2, offsets), p1).ok());
  CHECK(p1 == Approx((0.5 + 1.0) / 2));
  // k larger than a group is an error naming the group
  const auto s = grpo::eval::mean_pass_at_k(c2, grpo::group_layout::ragged(5, 2, offsets), 3, p2);
  CHECK(s.kind() == grpo::errc::out_of_range);
  CHECK(s.index() == 0);
  CHECK(grpo::eval::pass1_mean(c2, grpo::group_layout::fixed(4, 2), p1).kind() ==
        grpo::errc::shape_mismatch);
}
