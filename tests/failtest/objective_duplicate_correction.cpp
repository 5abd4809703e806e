// A correction given twice must not compile.
// expect: each correction may appear only once
#include <grpo/objective/objective.hpp>
int main() {
#ifdef GRPO_FAILTEST_CONTROL
  grpo::objective<grpo::ratio::token, grpo::surrogate::ppo_clip, grpo::kl::none,
                  grpo::aggregation::token_mean, grpo::correction::truncated_mask> o;
#else
  grpo::objective<grpo::ratio::token, grpo::surrogate::ppo_clip, grpo::kl::none,
                  grpo::aggregation::token_mean, grpo::correction::truncated_mask,
                  grpo::correction::truncated_mask> o;
#endif
  return o.beta == 0 ? 0 : 1;
}
