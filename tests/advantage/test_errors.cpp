// Every validation error of the advantage layer: the kind, the input it names and the index.
#include "check.hpp"

#include <grpo/advantage/advantage.hpp>

#include <limits>

using namespace adv_test;

namespace {

const float kInf = std::numeric_limits<float>::infinity();

test_batch small_batch() {
  std::mt19937_64 rng(5);
  batch_options o;
  o.num_groups = 3;
  o.min_G = o.max_G = 2;
  o.ragged = false;
  o.nan_prob = 0.0;
  o.T = 4;
  return random_batch(rng, o);
}

template <class E>
grpo::status attempt(const E& est, const grpo::reward_view& v, const grpo::group_layout& l,
                     bool with_output = true) {
  std::vector<float> A(static_cast<std::size_t>(std::max<index_t>(v.num_sequences, 1) *
                                                std::max<index_t>(v.max_length, 1)));
  grpo::advantage_stats st;
  return grpo::compute_advantages(est, v, l, with_output ? A.data() : nullptr, st);
}

void expect(const grpo::status& s, grpo::errc kind, const std::string& input, index_t index) {
  INFO(s.message());
  CHECK(s.kind() == kind);
  CHECK(s.input() == input);
  CHECK(s.index() == index);
}

}  // namespace

TEST_CASE("null pointers are reported by name", "[advantage][errors]") {
  const test_batch b = small_batch();
  expect(attempt(grpo::group_normalized{}, b.view(), b.layout(), false), grpo::errc::null_pointer,
         "A_out", -1);
  auto v = b.view();
  v.rewards = nullptr;
  expect(attempt(grpo::group_normalized{}, v, b.layout()), grpo::errc::null_pointer, "rewards", -1);
  v = b.view();
  v.lengths = nullptr;
  expect(attempt(grpo::opo{}, v, b.layout()), grpo::errc::null_pointer, "lengths", -1);
  expect(attempt(grpo::reinforce_pp{}, v, b.layout()), grpo::errc::null_pointer, "lengths", -1);
  CHECK(attempt(grpo::reinforce_pp_baseline{}, v, b.layout()).ok());  // lengths optional there
  v = b.view();
  v.logp_ref = nullptr;
  CHECK(attempt(grpo::reinforce_pp{}, v, b.layout()).ok());  // beta = 0 does not read them
  expect(attempt(grpo::reinforce_pp{1.0, 0.1, 1e-8}, v, b.layout()), grpo::errc::null_pointer,
         "logp_ref", -1);
  v = b.view();
  v.baseline_rewards = nullptr;
  expect(attempt(grpo::remax{}, v, b.layout()), grpo::errc::null_pointer, "baseline_rewards", -1);
  v = b.view();
  v.step_end = nullptr;
  expect(attempt(grpo::process_supervision{}, v, b.layout()), grpo::errc::null_pointer, "step_end", -1);
  v = b.view();
  v.rewards = nullptr;  // process supervision reads step rewards only
  CHECK(attempt(grpo::process_supervision{}, v, b.layout()).ok());
  expect(attempt(grpo::group_normalized{}, b.view(), grpo::group_layout::ragged(b.N, 3, nullptr)),
         grpo::errc::null_pointer, "offsets", -1);
}

TEST_CASE("sizes: N mismatch, G not dividing N, groups too small, T", "[advantage][errors]") {
  const test_batch b = small_batch();  // N = 6, G = 2
  expect(attempt(grpo::group_normalized{}, b.view(), grpo::group_layout::fixed(8, 2)),
         grpo::errc::shape_mismatch, "rewards", -1);
  expect(attempt(grpo::group_normalized{}, b.view(), grpo::group_layout::fixed(6, 4)),
         grpo::errc::bad_group, "group_size", -1);
  expect(attempt(grpo::rloo{}, b.view(), grpo::group_layout::fixed(6, 1)),
         grpo::errc::group_too_small, "group_size", -1);
  expect(attempt(grpo::passk_grpo{}, b.view(), grpo::group_layout::fixed(6, 1)),
         grpo::errc::group_too_small, "group_size", -1);
  const index_t offsets[] = {0, 2, 3, 6};
  expect(attempt(grpo::rloo{}, b.view(), grpo::group_layout::ragged(6, 3, offsets)),
         grpo::errc::group_too_small, "offsets", 1);
  CHECK(attempt(grpo::group_normalized{}, b.view(), grpo::group_layout::ragged(6, 3, offsets)).ok());
  auto v = b.view();
  v.num_rewards = 0;
  expect(attempt(grpo::group_normalized{}, v, b.layout()), grpo::errc::shape_mismatch,
         "num_rewards", -1);
  v = b.view();
  v.max_length = 0;
  expect(attempt(grpo::reinforce_pp{}, v, b.layout()), grpo::errc::shape_mismatch, "max_length", -1);
}

TEST_CASE("lengths must lie in [0, T]", "[advantage][errors]") {
  test_batch b = small_batch();
  b.lengths[3] = -1;
  expect(attempt(grpo::opo{}, b.view(), b.layout()), grpo::errc::out_of_range, "lengths", 3);
  expect(attempt(grpo::reinforce_pp_baseline{}, b.view(), b.layout()), grpo::errc::out_of_range,
         "lengths", 3);
  b.lengths[3] = b.T + 1;
  expect(attempt(grpo::reinforce_pp{}, b.view(), b.layout()), grpo::errc::out_of_range, "lengths", 3);
}

TEST_CASE("infinite values are errors, NaN rewards are not", "[advantage][errors]") {
  test_batch b = small_batch();
  b.rewards[4] = kNaN;
  CHECK(attempt(grpo::group_normalized{}, b.view(), b.layout()).ok());
  b.rewards[4] = kInf;
  expect(attempt(grpo::group_normalized{}, b.view(), b.layout()), grpo::errc::non_finite, "rewards", 4);
  b.rewards[4] = -kInf;
  expect(attempt(grpo::mean_only{}, b.view(), b.layout()), grpo::errc::non_finite, "rewards", 4);

  test_batch m = small_batch();
  m.K = 2;
  m.rewards.resize(12, 0.5f);
  m.rewards[7] = kInf;
  expect(attempt(grpo::gdpo{}, m.view(), m.layout()), grpo::errc::non_finite, "rewards", 7);
  m.rewards[7] = 0.0f;
  m.weights = {1.0f, kNaN};
  expect(attempt(grpo::group_normalized{}, m.view(), m.layout()), grpo::errc::non_finite,
         "reward_weights", 1);

  test_batch r = small_batch();
  r.baseline[2] = kInf;
  expect(attempt(grpo::remax{}, r.view(), r.layout()), grpo::errc::non_finite, "baseline_rewards", 2);

  test_batch k = small_batch();
  k.lengths[1] = 3;
  k.logp_old[1 * k.T + 2] = kNaN;
  expect(attempt(grpo::reinforce_pp{1.0, 0.1, 1e-8}, k.view(), k.layout()), grpo::errc::non_finite,
         "logp_old", 1 * k.T + 2);
  k.logp_old[1 * k.T + 2] = 0.0f;
  k.logp_ref[1 * k.T + 3] = kInf;  // padding: never read
  CHECK(attempt(grpo::reinforce_pp{1.0, 0.1, 1e-8}, k.view(), k.layout()).ok());
}

TEST_CASE("process supervision: step layout errors", "[advantage][errors]") {
  test_batch b = small_batch();
  b.lengths = {4, 4, 2, 4, 4, 4};
  b.step_offsets = {0, 1, 2, 3, 3, 3, 3};
  b.step_end = {0, 3, 1};
  b.step_reward = {1, 0, 1};
  REQUIRE(attempt(grpo::process_supervision{}, b.view(), b.layout()).ok());
  b.step_end[2] = 2;  // sequence 2 has 2 tokens
  expect(attempt(grpo::process_supervision{}, b.view(), b.layout()), grpo::errc::out_of_range,
         "step_end", 2);
  b.step_end[2] = -1;
  expect(attempt(grpo::process_supervision{}, b.view(), b.layout()), grpo::errc::out_of_range,
         "step_end", 2);
  b.step_end[2] = 1;
  b.step_reward[1] = -kInf;
  expect(attempt(grpo::process_supervision{}, b.view(), b.layout()), grpo::errc::non_finite,
         "step_reward", 1);
  b.step_reward[1] = 0;
  b.step_offsets = {0, 2, 1, 3, 3, 3, 3};
  expect(attempt(grpo::process_supervision{}, b.view(), b.layout()), grpo::errc::out_of_range,
         "step_offsets", 2);
  b.step_offsets = {0, 0, 0, 0, 0, 0, 0};  // no steps at all: the step arrays may be null
  auto v = b.view();
  v.step_end = nullptr;
  v.step_reward = nullptr;
  CHECK(attempt(grpo::process_supervision{}, v, b.layout()).ok());
  b.step_offsets = {1, 1, 2, 3, 3, 3, 3};
  expect(attempt(grpo::process_supervision{}, b.view(), b.layout()), grpo::errc::out_of_range,
         "step_offsets", 0);
}

TEST_CASE("hyper-parameters outside their domain", "[advantage][errors]") {
  const test_batch b = small_batch();
  expect(attempt(grpo::group_normalized{grpo::std_convention::bessel, -1e-6}, b.view(), b.layout()),
         grpo::errc::bad_config, "eps", -1);
  expect(attempt(grpo::group_mean_batch_std{grpo::std_convention::bessel, std::nan("")}, b.view(),
                 b.layout()),
         grpo::errc::bad_config, "eps", -1);
  expect(attempt(grpo::reinforce_pp{1.5, 0.0, 1e-8}, b.view(), b.layout()), grpo::errc::bad_config,
         "gamma", -1);
  expect(attempt(grpo::reinforce_pp{1.0, -0.1, 1e-8}, b.view(), b.layout()), grpo::errc::bad_config,
         "beta", -1);
  expect(attempt(grpo::reinforce_pp_baseline{-1.0}, b.view(), b.layout()), grpo::errc::bad_config,
         "whiten_eps", -1);
  expect(attempt(grpo::gdpo{grpo::std_convention::bessel, 1e-6, -1.0}, b.view(), b.layout()),
         grpo::errc::bad_config, "batch_eps", -1);
  expect(attempt(grpo::passk_grpo{true, grpo::std_convention::bessel, -1.0}, b.view(), b.layout()),
         grpo::errc::bad_config, "eps", -1);
  expect(attempt(grpo::gpg{true, grpo::std_convention::bessel, -1.0}, b.view(), b.layout()),
         grpo::errc::bad_config, "eps", -1);
  expect(attempt(grpo::process_supervision{grpo::std_convention::bessel, -1.0}, b.view(), b.layout()),
         grpo::errc::bad_config, "eps", -1);
}

TEST_CASE("the throwing wrapper and the helpers report the same errors", "[advantage][errors]") {
  test_batch b = small_batch();
  b.rewards[0] = kInf;
  std::vector<float> A(b.N);
  try {
    (void)grpo::compute_advantages_or_throw(grpo::group_normalized{}, b.view(), b.layout(), A.data());
    FAIL("no exception");
  } catch (const grpo::error& e) {
    CHECK(e.get_status().input() == "rewards");
    CHECK(std::string(e.what()).find("index 0") != std::string::npos);
  }
  float out[2];
  const float inf_reward[] = {kInf, 0.0f};
  expect(grpo::sum_then_normalize(inf_reward, 2, 1, nullptr, out), grpo::errc::non_finite, "rewards", 0);
  expect(grpo::sum_then_normalize(nullptr, 2, 1, nullptr, out), grpo::errc::null_pointer, "rewards", -1);
  expect(grpo::sum_then_normalize(inf_reward, 2, 1, nullptr, static_cast<float*>(nullptr)), grpo::errc::null_pointer,
         "out", -1);
  expect(grpo::sum_then_normalize(inf_reward, 2, 0, nullptr, out), grpo::errc::shape_mismatch,
         "num_rewards", -1);
  const float bad_w[] = {kInf};
  const float ok_r[] = {1.0f, 2.0f};
  expect(grpo::sum_then_normalize(ok_r, 2, 1, bad_w, out), grpo::errc::non_finite, "reward_weights", 0);

  float r[] = {1.0f, 1.0f};
  const float lp[] = {0.0f, kNaN}, ref[] = {0.0f, 0.0f};
  const std::int32_t len[] = {1, 1}, bad_len[] = {1, 2};
  expect(grpo::apply_kl_penalty(r, 2, lp, ref, len, 1, 0.1), grpo::errc::non_finite, "logp_old", 1);
  expect(grpo::apply_kl_penalty(r, 2, ref, lp, len, 1, 0.1), grpo::errc::non_finite, "logp_ref", 1);
  expect(grpo::apply_kl_penalty(r, 2, ref, ref, bad_len, 1, 0.1), grpo::errc::out_of_range, "lengths", 1);
  expect(grpo::apply_kl_penalty(r, 2, ref, ref, len, 1, -0.1), grpo::errc::bad_config, "beta", -1);
  expect(grpo::apply_kl_penalty(static_cast<float*>(nullptr), 2, ref, ref, len, 1, 0.1), grpo::errc::null_pointer,
         "rewards", -1);
  expect(grpo::apply_kl_penalty(r, 2, nullptr, ref, len, 1, 0.1), grpo::errc::null_pointer, "logp_old", -1);
  expect(grpo::apply_kl_penalty(r, 2, ref, nullptr, len, 1, 0.1), grpo::errc::null_pointer, "logp_ref", -1);
  expect(grpo::apply_kl_penalty(r, 2, ref, ref, nullptr, 1, 0.1), grpo::errc::null_pointer, "lengths", -1);
  const float inf_r[] = {kInf, 0.0f};
  float inf_copy[] = {inf_r[0], inf_r[1]};
  expect(grpo::apply_kl_penalty(inf_copy, 2, ref, ref, len, 1, 0.1), grpo::errc::non_finite, "rewards", 0);
}
