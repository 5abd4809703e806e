// IS-corrected k3 multiplies each token's k3 by that token's ratio: a sequence ratio must not compile.
// expect: IS-corrected k3 weights each token by its own ratio; use grpo::ratio::token
#include <grpo/objective/objective.hpp>
int main() {
#ifdef GRPO_FAILTEST_CONTROL
  grpo::objective<grpo::ratio::token, grpo::surrogate::ppo_clip, grpo::kl::is_corrected_k3,
                  grpo::aggregation::token_mean> o;
#else
  grpo::objective<grpo::ratio::sequence, grpo::surrogate::ppo_clip, grpo::kl::is_corrected_k3,
                  grpo::aggregation::token_mean> o;
#endif
  return o.beta == 0 ? 0 : 1;
}
