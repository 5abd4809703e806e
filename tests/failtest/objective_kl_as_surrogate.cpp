// A KL estimator in the surrogate's position must not compile.
// expect: a KL estimator was given as the surrogate
#include <grpo/objective/objective.hpp>
int main() {
#ifdef GRPO_FAILTEST_CONTROL
  grpo::objective<grpo::ratio::token, grpo::surrogate::ppo_clip, grpo::kl::k3,
                  grpo::aggregation::token_mean> o;
#else
  grpo::objective<grpo::ratio::token, grpo::kl::k3, grpo::kl::k3, grpo::aggregation::token_mean> o;
#endif
  return o.beta == 0 ? 0 : 1;
}
