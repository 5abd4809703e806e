// GMPO's weight is a geometric mean over the sequence: a token-level ratio must not compile.
// expect: GMPO is a geometric mean over the sequence; use grpo::ratio::sequence
#include <grpo/objective/objective.hpp>
int main() {
#ifdef GRPO_FAILTEST_CONTROL
  grpo::objective<grpo::ratio::sequence, grpo::surrogate::gmpo, grpo::kl::none,
                  grpo::aggregation::seq_mean_token_mean> o;
#else
  grpo::objective<grpo::ratio::token, grpo::surrogate::gmpo, grpo::kl::none,
                  grpo::aggregation::seq_mean_token_mean> o;
#endif
  return o.beta == 0 ? 0 : 1;
}
