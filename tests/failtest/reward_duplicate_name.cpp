// Two rewards under one name in a reward set must not compile.
// expect: two rewards have the same name
#include <grpo/reward/rewards.hpp>
namespace hana = boost::hana;
int main() {
  auto rs = grpo::reward::combine(
      hana::make_pair(BOOST_HANA_STRING("accuracy"), grpo::reward::accuracy{}),
#ifdef GRPO_FAILTEST_CONTROL
      hana::make_pair(BOOST_HANA_STRING("format"), grpo::reward::strict_format{}));
#else
      hana::make_pair(BOOST_HANA_STRING("accuracy"), grpo::reward::strict_format{}));
#endif
  return static_cast<int>(rs.weights()[0]) - 1;
}
