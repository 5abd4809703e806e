// LUSPO scales a sequence-level loss by its length: a token-level ratio must not compile.
// expect: LUSPO scales a sequence-level loss by its length; use grpo::ratio::sequence
#include <grpo/objective/objective.hpp>
int main() {
#ifdef GRPO_FAILTEST_CONTROL
  grpo::objective<grpo::ratio::sequence, grpo::surrogate::ppo_clip, grpo::kl::none,
                  grpo::aggregation::luspo> o;
#else
  grpo::objective<grpo::ratio::token, grpo::surrogate::ppo_clip, grpo::kl::none,
                  grpo::aggregation::luspo> o;
#endif
  return o.beta == 0 ? 0 : 1;
}
