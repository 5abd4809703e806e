#pragma once
// Shared helpers of the advantage tests: run the library on a test batch, compare with the
// float64 reference.
#include "batch.hpp"
#include "reference.hpp"

#include <grpo/advantage/compute.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

namespace adv_test {

template <class E>
std::vector<float> run(const E& est, const test_batch& b, grpo::advantage_stats* stats = nullptr) {
  std::vector<float> A(static_cast<std::size_t>(E::token_level ? b.N * b.T : b.N), -777.0f);
  grpo::advantage_stats st;
  const grpo::status s = grpo::compute_advantages(est, b.view(), b.layout(), A.data(), st);
  INFO(s.message());
  REQUIRE(s.ok());
  if (stats) *stats = st;
  return A;
}

/// |fast - ref| <= rel·max(|ref|, 1): relative for advantages of size, absolute near zero.
inline void require_close(const std::vector<float>& fast, const std::vector<double>& ref,
                          double rel = 1e-5) {
  REQUIRE(fast.size() == ref.size());
  for (std::size_t i = 0; i < ref.size(); ++i) {
    INFO("index " << i << ": fast " << fast[i] << " reference " << ref[i]);
    REQUIRE(std::isfinite(fast[i]));
    REQUIRE(std::abs(double(fast[i]) - ref[i]) <= rel * std::max(std::abs(ref[i]), 1.0));
  }
}

}  // namespace adv_test
