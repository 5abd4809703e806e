// A correction must do something: one with none of the correction hooks must not compile.
// expect: a correction must have at least one of the hooks policy_weight
#include <grpo/objective/objective.hpp>
struct my_correction {
  using category = grpo::correction_tag;
  static constexpr const char* name = "my_correction";
  double w = 0.5;
#ifdef GRPO_FAILTEST_CONTROL
  template <class C>
  GRPO_HD auto policy_weight(C&) const {
    return typename C::lane(w);
  }
#endif
};
int main() {
  grpo::objective<grpo::ratio::token, grpo::surrogate::gpg, grpo::kl::none, grpo::aggregation::token_mean, my_correction> o;
  return o.beta == 0 ? 0 : 1;
}
