// A user-defined surrogate must have the policy hook: one without it must not compile, and the
// message says what to write.
// expect: the surrogate has no policy hook; write `template <class C> auto policy(C& c) const`
#include <grpo/objective/objective.hpp>
struct my_surrogate {
  using category = grpo::surrogate_tag;
  static constexpr const char* name = "my_surrogate";
  double scale = 1.0;
#ifdef GRPO_FAILTEST_CONTROL
  template <class C>
  GRPO_HD auto policy(C& c) const {
    using L = typename C::lane;
    return grpo::policy_value<L>{-L(scale) * c.ratio * c.A, -L(scale) * c.ratio * c.A, L(0.0f)};
  }
#endif
};
int main() {
  grpo::objective<grpo::ratio::token, my_surrogate, grpo::kl::none, grpo::aggregation::token_mean> o;
  return o.beta == 0 ? 0 : 1;
}
