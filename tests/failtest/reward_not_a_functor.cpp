// A reward that is neither a completion reward nor a group reward must not compile.
// expect: each functor must satisfy completion_reward or group_reward
#include <grpo/reward/rewards.hpp>
#include <string>
namespace hana = boost::hana;
struct takes_a_string {
  double operator()(const std::string&) const { return 0; }
};
int main() {
  auto rs = grpo::reward::combine(
#ifdef GRPO_FAILTEST_CONTROL
      hana::make_pair(BOOST_HANA_STRING("ok"), grpo::reward::tag_count{}));
#else
      hana::make_pair(BOOST_HANA_STRING("bad"), takes_a_string{}));
#endif
  return static_cast<int>(rs.weights()[0]) - 1;
}
