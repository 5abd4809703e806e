#pragma once
// The objectives the tests sweep: together they use every ratio, surrogate, KL estimator,
// aggregation and correction at least once. `configure` sets non-default hyper-parameters so
// that every branch is exercised (dual clip, clamps, masks).
#include <grpo/objective/objective.hpp>

namespace objtest::types {
using namespace grpo;
namespace su = grpo::surrogate;
namespace ag = grpo::aggregation;
namespace co = grpo::correction;

using ppo_k3_seqmean = objective<ratio::token, su::ppo_clip, kl::k3, ag::seq_mean_token_mean>;
using ppo_dual_tokmean = objective<ratio::token, su::ppo_clip, kl::k1, ag::token_mean>;
using ppo_k2_bnpo = objective<ratio::token, su::ppo_clip, kl::k2, ag::bnpo>;
using ppo_abs_constant = objective<ratio::token, su::ppo_clip, kl::abs, ag::constant>;
using ppo_lowvar_seqsum = objective<ratio::token, su::ppo_clip, kl::clamped<kl::k3>, ag::seq_mean_token_sum>;
using ppo_st_toksum = objective<ratio::token, su::ppo_clip, kl::straight_through<kl::k3>, ag::token_sum>;
using ppo_isk3 = objective<ratio::token, su::ppo_clip, kl::is_corrected_k3, ag::token_mean>;
using ppo_clampk1 = objective<ratio::token, su::ppo_clip, kl::clamped<kl::k1>, ag::token_mean>;
using cispo_trl_t = objective<ratio::token, su::cispo_trl, kl::none, ag::token_mean>;
using cispo_clip_t = objective<ratio::token, su::cispo_clipped, kl::k3, ag::token_mean>;
using sapo_t = objective<ratio::token, su::sapo, kl::none, ag::seq_mean_token_mean>;
using gpg_t = objective<ratio::token, su::gpg, kl::none, ag::token_mean>;
using dro_t = objective<ratio::token, su::dro, kl::k3, ag::seq_mean_token_mean>;
using gspo_t = objective<ratio::sequence, su::ppo_clip, kl::none, ag::seq_mean_token_mean>;
using gspo_token_t = objective<ratio::gspo_token, su::ppo_clip, kl::k3, ag::token_mean>;
using gmpo_t = objective<ratio::sequence, su::gmpo, kl::none, ag::seq_mean_token_mean>;
using luspo_t = objective<ratio::sequence, su::ppo_clip, kl::none, ag::luspo>;
using entropy_t = objective<ratio::token, su::ppo_clip, kl::none, ag::token_mean, co::entropy_bonus, co::top_entropy>;
using trunc_t = objective<ratio::token, su::ppo_clip, kl::k3, ag::token_mean, co::truncated_mask>;
using sampler_seq_t = objective<ratio::token, su::ppo_clip, kl::none, ag::token_mean, co::sampler_mismatch>;
using sampler_tok_t = objective<ratio::token, su::sapo, kl::none, ag::seq_mean_token_mean, co::sampler_mismatch, co::off_policy_mask>;
using gspo_corr_t = objective<ratio::sequence, su::ppo_clip, kl::none, ag::seq_mean_token_mean, co::top_entropy, co::sampler_mismatch>;
using ppo_verl_dual_t = objective<ratio::token, su::ppo_clip, kl::clamped<kl::k3>, ag::seq_mean_token_sum>;
using ppo_own_kl_t = objective<ratio::token, su::ppo_clip, grpo::aggregated<kl::clamped<kl::k1>, ag::token_mean>,
                               ag::seq_mean_token_mean, grpo::aggregated<co::entropy_bonus, ag::token_mean>>;
using gspo_isk3_t = objective<ratio::sequence, su::ppo_clip, kl::is_corrected_k3, ag::seq_mean_token_mean>;

/// Sets hyper-parameters away from the defaults where that exercises more branches.
template <class O>
O configure() {
  O o;
  if constexpr (O::has_kl) o.beta = 0.05;
  if constexpr (std::is_same_v<O, ppo_dual_tokmean>) { o.surrogate.delta = 1.15; o.surrogate.eps_high = 0.28; }
  if constexpr (std::is_same_v<O, ppo_lowvar_seqsum>) {
    o.kl.lo = -0.3; o.kl.hi = 0.3; o.kl.inner.exp_min = -0.6; o.kl.inner.exp_max = 0.4;
    o.ratio.log_min = -0.35; o.ratio.log_max = 0.25;
  }
  if constexpr (std::is_same_v<O, ppo_k3_seqmean>) o.ratio.approx_kl_raw = true, o.ratio.log_max = 0.3;
  if constexpr (std::is_same_v<O, ppo_verl_dual_t>) { o.surrogate.dual_clip = 1.1; o.aggregation.over = ag::count::nonempty; }
  if constexpr (std::is_same_v<O, ppo_own_kl_t>) {
    o.aggregation.over = ag::count::nonempty; o.kl.lo = -0.2; o.kl.hi = 0.3;
    o.corrections.template get<grpo::aggregated<co::entropy_bonus, ag::token_mean>>().coef = 0.02;
  }
  if constexpr (std::is_same_v<O, gspo_token_t>) o.ratio.log_max = 0.02;
  if constexpr (std::is_same_v<O, ppo_abs_constant>) o.aggregation.per_sequence = false;
  if constexpr (std::is_same_v<O, ppo_clampk1>) { o.kl.lo = -0.4; o.kl.hi = 0.4; }
  if constexpr (std::is_same_v<O, ppo_abs_constant>) o.aggregation.max_length = 40;
  if constexpr (std::is_same_v<O, cispo_trl_t>) o.surrogate.eps_max = 1.2;
  if constexpr (std::is_same_v<O, gmpo_t>) { o.surrogate.eps_low = 0.05; o.surrogate.eps_high = 0.05; }
  if constexpr (std::is_same_v<O, entropy_t>) {
    o.corrections.template get<co::entropy_bonus>().coef = 0.01;
    o.corrections.template get<co::top_entropy>().keep_fraction = 0.4;
  }
  if constexpr (std::is_same_v<O, sampler_seq_t>) o.corrections.template get<co::sampler_mismatch>().c_max = 1.5;
  if constexpr (std::is_same_v<O, sampler_tok_t>) {
    auto& s = o.corrections.template get<co::sampler_mismatch>();
    s.level = co::is_level::token; s.mode = co::is_mode::truncate; s.c_min = 0.9; s.c_max = 1.1;
    o.corrections.template get<co::off_policy_mask>().delta = 0.02;
  }
  if constexpr (std::is_same_v<O, gspo_corr_t>) {
    o.corrections.template get<co::top_entropy>().keep_fraction = 0.6;
    auto& s = o.corrections.template get<co::sampler_mismatch>();
    s.level = co::is_level::token; s.mode = co::is_mode::mask; s.c_min = 0.9; s.c_max = 1.12;
  }
  return o;
}
}  // namespace objtest::types

#define OBJTEST_ALL_TYPES                                                                        \
  objtest::types::ppo_k3_seqmean, objtest::types::ppo_dual_tokmean, objtest::types::ppo_k2_bnpo, \
      objtest::types::ppo_abs_constant, objtest::types::ppo_lowvar_seqsum,                       \
      objtest::types::ppo_st_toksum, objtest::types::ppo_isk3, objtest::types::ppo_clampk1,      \
      objtest::types::cispo_trl_t, objtest::types::cispo_clip_t, objtest::types::sapo_t,         \
      objtest::types::gpg_t, objtest::types::dro_t, objtest::types::gspo_t,                      \
      objtest::types::gspo_token_t, objtest::types::gmpo_t, objtest::types::luspo_t,             \
      objtest::types::entropy_t, objtest::types::trunc_t, objtest::types::sampler_seq_t,         \
      objtest::types::sampler_tok_t, objtest::types::gspo_corr_t, objtest::types::ppo_verl_dual_t, \
      objtest::types::ppo_own_kl_t, objtest::types::gspo_isk3_t
