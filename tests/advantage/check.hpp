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

/// The same inputs in double (reward_view64): the advantages computed in double.
template <class E>
std::vector<double> run64(const E& est, const test_batch& b) {
  auto d = [](const std::vector<float>& v) { return std::vector<double>(v.begin(), v.end()); };
  const std::vector<double> rewards = d(b.rewards), weights = d(b.weights), old = d(b.logp_old), ref = d(b.logp_ref),
                            baseline = d(b.baseline), steps = d(b.step_reward);
  const grpo::reward_view f = b.view();
  grpo::reward_view64 v;
  v.rewards = rewards.data(), v.num_sequences = f.num_sequences, v.num_rewards = f.num_rewards;
  v.reward_weights = weights.empty() ? nullptr : weights.data();
  v.max_length = f.max_length, v.lengths = f.lengths, v.logp_old = old.data(), v.logp_ref = ref.data();
  v.baseline_rewards = baseline.data(), v.step_offsets = f.step_offsets, v.step_end = f.step_end;
  v.step_reward = steps.data();
  std::vector<double> A(static_cast<std::size_t>(E::token_level ? b.N * b.T : b.N), -777.0);
  grpo::advantage_stats st;
  const grpo::status s = grpo::compute_advantages(est, v, b.layout(), A.data(), st);
  INFO(s.message());
  REQUIRE(s.ok());
  return A;
}

/// |fast - ref| <= rel·max(|ref|, 1): relative for advantages of size, absolute near zero.
template <class Real>
void require_close(const std::vector<Real>& fast, const std::vector<double>& ref, double rel = 1e-5) {
  REQUIRE(fast.size() == ref.size());
  for (std::size_t i = 0; i < ref.size(); ++i) {
    INFO("index " << i << ": fast " << fast[i] << " reference " << ref[i]);
    REQUIRE(std::isfinite(fast[i]));
    REQUIRE(std::abs(double(fast[i]) - ref[i]) <= rel * std::max(std::abs(ref[i]), 1.0));
  }
}

}  // namespace adv_test
